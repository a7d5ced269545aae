/* The run's signals: handlers that only set flags (SIGINT, SIGTERM, a
 * terminal's SIGHUP: stop; kill -HUP: reopen the log; SIGWINCH: the
 * terminal's width changed), SIGPIPE and SIGXFSZ ignored so that writes
 * fail with an error instead of killing the process, and the sleep until
 * the next sample that a signal ends early. */
#include "gpu_watch/signals.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "gpu_watch/monotime.h"

volatile sig_atomic_t sig_stop;
volatile sig_atomic_t sig_hup;
volatile sig_atomic_t sig_winch;

static void on_stop(int sig)
{
    (void)sig;
    sig_stop = 1;
}

/* SIGHUP: the terminal hung up (closed window, dropped ssh: the tty driver
 * sends it, si_code SI_KERNEL) ends the run like SIGTERM; one sent by a
 * process (kill -HUP from logrotate: SI_USER) asks to reopen the log. */
static void on_hup(int sig, siginfo_t *si, void *ctx)
{
    (void)sig;
    (void)ctx;
    if (si && si->si_code == SI_KERNEL)
        sig_stop = 1;
    else
        sig_hup = 1;
}

static void on_winch(int sig)
{
    (void)sig;
    sig_winch = 1;
}

/* Sleep until monotonic time t (seconds), or until a signal sets a flag.
 * The stop signals are blocked while the flags are looked at and let in
 * only inside ppoll(): one that lands between the look and the sleep is
 * not lost for a whole --interval. */
void signals_sleep_until(double t)
{
    sigset_t stops, old;
    sigemptyset(&stops);
    sigaddset(&stops, SIGINT);
    sigaddset(&stops, SIGTERM);
    sigaddset(&stops, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stops, &old);
    while (!sig_stop && !sig_hup) {
        double left = t - monotime_now();
        if (left <= 0)
            break;
        struct timespec ts;
        ts.tv_sec = (time_t)left;
        ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        if (ppoll(NULL, 0, &ts, &old) < 0 && errno != EINTR)
            break;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void signals_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sa.sa_handler = on_stop;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = on_winch;
    sigaction(SIGWINCH, &sa, NULL);
    sa.sa_flags = SA_RESTART | SA_SIGINFO;
    sa.sa_sigaction = on_hup;
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_flags = SA_RESTART;
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    /* Past ulimit -f, write(2) must fail with EFBIG (reported, exit 1)
     * instead of the default SIGXFSZ killing the process mid-row. */
    sigaction(SIGXFSZ, &sa, NULL);
}
