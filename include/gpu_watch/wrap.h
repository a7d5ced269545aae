/* The processes a run follows and waits for: a command that gpu_watch
 * starts (with everything it starts, through the process tree), or the
 * --pid list of --until-exit. Starting, polling, forwarding Ctrl+C/SIGTERM,
 * and the exit status. Nothing here prints; the top level reports. */
#ifndef GPU_WATCH_WRAP_H
#define GPU_WATCH_WRAP_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

/* How often the waits below look at the targets (seconds). */
#define WRAP_POLL_S 0.1
/* How often, before the first sample, the tree is checked for an open GPU
 * device (seconds): each check reads every /proc/<pid>/stat. */
#define WRAP_GPU_POLL_S 0.25

struct wrap;

/* Start argv (argv[0] looked up in PATH, no shell; a file without "#!"
 * runs in /bin/sh, as with execvp) with gpu_watch's stdin, stdout, stderr,
 * environment and process group, signals at their defaults, through
 * posix_spawnp (no fork: the NVML thread may be running). Whether exec
 * worked is known on return (posix_spawnp answers exec's errno). Returns 0
 * and *out (free with wrap_free), or a negative errno: the error of exec
 * (-ENOENT not found, -EACCES not executable, ...) or of the spawn. */
int wrap_spawn(char *const argv[], const char *proc_root, struct wrap **out);

/* Follow existing processes (--pid with --until-exit). *running says how
 * many of them exist now. 0 and *out, or -ENOMEM. */
int wrap_pids(const long *pids, size_t n, const char *proc_root, struct wrap **out,
              size_t *running);

/* The exit status a shell gives when exec failed with errno err (positive):
 * 127 when the command was not found, 126 when it could not be run. */
int wrap_exec_status(int err);

/* Route SIGINT and SIGTERM to the started command instead of stopping the
 * run: a signal sent by a process (kill, systemd) is forwarded; Ctrl+C on
 * the terminal already reaches the command through the process group, so it
 * is not sent twice (unless the command left our process group). */
void wrap_install_signals(void);

enum wrap_wake {
    WRAP_SLOT,   /* time t was reached */
    WRAP_EXITED, /* every target has ended: take the last sample */
    WRAP_ON_GPU, /* before the first sample, the tree opened a GPU: sample now */
    WRAP_FLAG,   /* *stop or *hup became non-zero */
};

/* Wait until monotonic time t (seconds), looking at the targets every
 * WRAP_POLL_S, and return early for the reasons above. Forwards pending
 * signals. stop and hup may be NULL. */
enum wrap_wake wrap_sleep_until(struct wrap *w, double t, const volatile sig_atomic_t *stop,
                                const volatile sig_atomic_t *hup);

/* Update the process tree before a sample (command mode) and give the PIDs
 * the sample may keep, sorted: *pids is valid until the next call, and NULL
 * in --pid mode (no extra filter). 0 or a negative errno. */
int wrap_refresh(struct wrap *w, const long **pids, size_t *n);

/* Have all targets ended (the command reaped, or every --pid gone)? */
bool wrap_ended(struct wrap *w);

/* Block until the command has ended, forwarding signals; nothing to do in
 * --pid mode. */
void wrap_wait(struct wrap *w);

/* The command's status as a shell reports it: its exit code, or 128 + the
 * signal that killed it; 0 in --pid mode. Valid once wrap_ended. */
int wrap_status(const struct wrap *w);

/* The PID of the started command (0 in --pid mode). */
long wrap_child(const struct wrap *w);

void wrap_free(struct wrap *w);

#endif
