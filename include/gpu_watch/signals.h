/* The sampler's signal flags and the sleep they interrupt. */
#ifndef GPU_WATCH_SIGNALS_H
#define GPU_WATCH_SIGNALS_H

#include <signal.h>

/* Set by the handlers, cleared by the top level. */
extern volatile sig_atomic_t sig_stop;  /* SIGINT, SIGTERM, a terminal's SIGHUP: stop */
extern volatile sig_atomic_t sig_hup;   /* kill -HUP (logrotate): reopen the log */
extern volatile sig_atomic_t sig_winch; /* SIGWINCH: read the terminal's width again */

/* Install the handlers; ignore SIGPIPE and SIGXFSZ (write errors instead). */
void signals_install(void);

/* Sleep until monotonic time t (seconds), or until sig_stop or sig_hup is set. */
void signals_sleep_until(double t);

#endif
