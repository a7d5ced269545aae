/* Running external commands (nvidia-smi, ps) without a shell, several at
 * once, each bounded in time and in output size. */
#ifndef GPU_WATCH_RUN_CMD_H
#define GPU_WATCH_RUN_CMD_H

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

#include "gpu_watch/buf.h"

/* Largest stdout accepted from one call (bytes). 8 GPUs x 1,000 processes of
 * pmon output is about 100 KiB; anything past this is a broken tool. */
#define CMD_MAX_OUTPUT (4u * 1024u * 1024u)

enum cmd_state {
    CMD_OK = 0,       /* exited with status 0; out holds its stdout */
    CMD_EXIT_NONZERO, /* exited with status != 0; out holds its stdout (the message) */
    CMD_SIGNALED,     /* killed by a signal we did not send */
    CMD_TIMEOUT,      /* outlived the timeout and was killed */
    CMD_OVERFLOW,     /* printed more than CMD_MAX_OUTPUT and was killed */
    CMD_SPAWN_FAILED, /* could not be started; err holds the errno (ENOENT: not in PATH) */
    CMD_BUSY,         /* an earlier call with the same key is still stuck; not started */
    CMD_CANCELLED,    /* *cancel became non-zero while it ran; killed */
    CMD_NO_TIME,      /* not started: the sample's time (--timeout) was spent */
};

/* One command of a batch. The caller fills argv and key and keeps the struct
 * between samples so the output buffer is reused; run_cmd fills the rest. */
struct cmd_call {
    const char *const *argv; /* argv[0] is looked up in PATH; NULL-terminated */
    const char *key;         /* names the query; one stuck child per key blocks the next */
    struct gw_buf out;       /* stdout, NUL-terminated; owned by the caller (buf_free) */
    enum cmd_state state;
    int status; /* exit status for CMD_OK/CMD_EXIT_NONZERO, signal for CMD_SIGNALED */
    int err;    /* errno for CMD_SPAWN_FAILED */
    double elapsed_ms;
};

/* Start every call at once, collect their stdout through pipes, and wait
 * until each has exited or timeout_s seconds have passed since the start.
 * Children still running then are killed (SIGKILL to their process group);
 * one that cannot be reaped at once is remembered and reaped later, and no
 * call with its key is started until it has been. If cancel is non-NULL and
 * becomes non-zero (a signal handler), the remaining children are killed.
 * Returns 0 (each call's own state says how it went) or -ENOMEM. */
int run_cmd(struct cmd_call *calls, size_t n, double timeout_s,
            const volatile sig_atomic_t *cancel);

/* run_cmd on calls that need not be adjacent: calls[0..n) point at them.
 * timeout_s <= 0 (no time left) starts none: each is CMD_NO_TIME. */
int run_cmd_batch(struct cmd_call *const *calls, size_t n, double timeout_s,
                  const volatile sig_atomic_t *cancel);

/* Reap remembered stuck children without blocking; returns how many remain. */
size_t run_cmd_pending(void);

/* Reap stuck children, waiting at most wait_ms in total; returns how many remain. */
size_t run_cmd_drain(int wait_ms);

/* A short description of a call's failure, e.g. "timed out after 10 s" or the
 * first line of the message it printed. Writes at most len bytes to dst. */
void run_cmd_describe(const struct cmd_call *c, double timeout_s, char *dst, size_t len);

#endif
