/* Run commands without a shell: posix_spawnp, stdout through a pipe, a
 * deadline for the whole batch, and bookkeeping for children that a SIGKILL
 * cannot reap at once (a process stuck in the GPU driver). */
#include "gpu_watch/run_cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gpu_watch/monotime.h"

extern char **environ;

/* Children killed but not yet reaped, with the key of their query. */
#define MAX_PENDING 64
static struct {
    pid_t pid;
    char key[32];
} pending[MAX_PENDING];
static size_t n_pending;

size_t run_cmd_pending(void)
{
    size_t i = 0;
    while (i < n_pending) {
        pid_t r = waitpid(pending[i].pid, NULL, WNOHANG);
        if (r == pending[i].pid || (r < 0 && errno == ECHILD)) {
            pending[i] = pending[--n_pending];
            continue;
        }
        i++;
    }
    return n_pending;
}

size_t run_cmd_drain(int wait_ms)
{
    double end = monotime_now() * 1e3 + wait_ms;
    while (run_cmd_pending() > 0 && monotime_now() * 1e3 < end)
        poll(NULL, 0, 5);
    return n_pending;
}

static int key_is_stuck(const char *key)
{
    for (size_t i = 0; i < n_pending; i++)
        if (strcmp(pending[i].key, key) == 0)
            return 1;
    return 0;
}

static void remember_stuck(pid_t pid, const char *key)
{
    if (n_pending == MAX_PENDING) {
        /* Keep the newest: an old entry's child may be reaped by the kernel's
         * reparenting only when we exit, but we must not grow without bound. */
        memmove(&pending[0], &pending[1], sizeof pending[0] * (MAX_PENDING - 1));
        n_pending--;
    }
    pending[n_pending].pid = pid;
    snprintf(pending[n_pending].key, sizeof pending[n_pending].key, "%s", key ? key : "");
    n_pending++;
}

/* Per-call state during one batch. */
struct slot {
    pid_t pid;
    int fd;     /* read end of the stdout pipe, -1 once closed */
    int reaped; /* waitpid has collected it */
    int killed; /* we sent SIGKILL (and why) */
    enum cmd_state kill_reason;
};

static int spawn_one(struct cmd_call *c, struct slot *s)
{
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0)
        return -errno;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    bool fa_ok = false, at_ok = false;
    int rc = posix_spawn_file_actions_init(&fa);
    if (rc)
        goto out;
    fa_ok = true;
    if ((rc = posix_spawnattr_init(&at)) != 0)
        goto out;
    at_ok = true;
    /* stdin and stderr to /dev/null (nvidia-smi prints its errors on
     * stdout), stdout to the pipe. */
    if ((rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0)) != 0 ||
        (rc = posix_spawn_file_actions_adddup2(&fa, pfd[1], 1)) != 0 ||
        (rc = posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0)) != 0)
        goto out;
    /* Own process group, so a kill reaches its helpers too and a Ctrl+C on
     * the terminal reaches only us; default signal dispositions, since we
     * ignore SIGPIPE and ignored signals survive exec. */
    sigset_t def, none;
    sigemptyset(&none);
    sigemptyset(&def);
    sigaddset(&def, SIGPIPE);
    sigaddset(&def, SIGXFSZ);
    sigaddset(&def, SIGINT);
    sigaddset(&def, SIGTERM);
    sigaddset(&def, SIGHUP);
    if ((rc = posix_spawnattr_setsigdefault(&at, &def)) != 0 ||
        (rc = posix_spawnattr_setsigmask(&at, &none)) != 0 ||
        (rc = posix_spawnattr_setpgroup(&at, 0)) != 0 ||
        (rc = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF |
                                                POSIX_SPAWN_SETSIGMASK)) != 0)
        goto out;
    pid_t pid;
    rc = posix_spawnp(&pid, c->argv[0], &fa, &at, (char *const *)c->argv, environ);
    if (rc)
        goto out;
    /* Non-blocking reads: without them one child's pipe could block the
     * batch. This cannot fail on a pipe of ours; if it did, the child goes
     * at once, and the call did not start. */
    int fl = fcntl(pfd[0], F_GETFL);
    if (fl < 0 || fcntl(pfd[0], F_SETFL, fl | O_NONBLOCK) < 0) {
        rc = errno;
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
        goto out;
    }
    s->pid = pid;
    s->fd = pfd[0];
    pfd[0] = -1;
out:
    if (fa_ok)
        posix_spawn_file_actions_destroy(&fa);
    if (at_ok)
        posix_spawnattr_destroy(&at);
    close(pfd[1]);
    if (pfd[0] >= 0)
        close(pfd[0]);
    return -rc;
}

static void kill_slot(struct slot *s, enum cmd_state why)
{
    if (s->reaped || s->killed)
        return;
    kill(-s->pid, SIGKILL);
    kill(s->pid, SIGKILL);
    s->killed = 1;
    s->kill_reason = why;
    if (s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
    }
}

static void try_reap(struct cmd_call *c, struct slot *s)
{
    if (s->reaped || s->pid <= 0)
        return;
    int st;
    pid_t r = waitpid(s->pid, &st, WNOHANG);
    if (r == 0)
        return;
    s->reaped = 1;
    if (r < 0) { /* ECHILD: someone else reaped it; nothing to report */
        c->state = CMD_SIGNALED;
        c->status = 0;
        return;
    }
    if (s->killed) {
        c->state = s->kill_reason;
    } else if (WIFEXITED(st)) {
        c->status = WEXITSTATUS(st);
        c->state = c->status == 0 ? CMD_OK : CMD_EXIT_NONZERO;
        /* posix_spawnp in glibc reports exec failure as exit status 127 */
    } else {
        c->status = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
        c->state = CMD_SIGNALED;
    }
}

/* Read what is available; returns 1 at EOF or error, 0 otherwise. */
static int drain_fd(struct cmd_call *c, struct slot *s)
{
    for (;;) {
        if (buf_reserve(&c->out, 16384) < 0) {
            kill_slot(s, CMD_OVERFLOW);
            return 1;
        }
        ssize_t r = read(s->fd, c->out.p + c->out.len, c->out.cap - c->out.len - 1);
        if (r > 0) {
            c->out.len += (size_t)r;
            c->out.p[c->out.len] = '\0';
            if (c->out.len > CMD_MAX_OUTPUT) {
                kill_slot(s, CMD_OVERFLOW);
                return 1;
            }
            continue;
        }
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        return 1; /* EOF or a read error */
    }
}

int run_cmd(struct cmd_call *calls, size_t n, double timeout_s, const volatile sig_atomic_t *cancel)
{
    struct cmd_call *stack_ptrs[8] = {NULL};
    struct cmd_call **ptrs = n > 8 ? calloc(n, sizeof(struct cmd_call *)) : stack_ptrs;
    if (!ptrs)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        ptrs[i] = &calls[i];
    int rc = run_cmd_batch(ptrs, n, timeout_s, cancel);
    if (ptrs != stack_ptrs)
        free(ptrs);
    return rc;
}

/* Start each call in its slot: a key still stuck is CMD_BUSY, a spawn
 * that failed CMD_SPAWN_FAILED. */
static void start_all(struct cmd_call *const *calls, struct slot *slots, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct cmd_call *c = calls[i];
        memset(&slots[i], 0, sizeof slots[i]);
        slots[i].fd = -1;
        buf_clear(&c->out);
        c->status = 0;
        c->err = 0;
        c->elapsed_ms = 0;
        if (c->key && key_is_stuck(c->key)) {
            c->state = CMD_BUSY;
            slots[i].reaped = 1;
            continue;
        }
        int rc = spawn_one(c, &slots[i]);
        if (rc < 0) {
            c->state = CMD_SPAWN_FAILED;
            c->err = -rc;
            slots[i].reaped = 1;
        }
    }
}

/* Read the children's output and reap them until all are done, the deadline
 * (ms, monotonic) passes or *cancel is set: the rest are killed. */
static void collect_all(struct cmd_call *const *calls, struct slot *slots, struct pollfd *pfd,
                        size_t n, double deadline, const volatile sig_atomic_t *cancel)
{
    for (;;) {
        size_t nfds = 0, alive = 0;
        for (size_t i = 0; i < n; i++) {
            if (slots[i].fd >= 0) {
                pfd[nfds].fd = slots[i].fd;
                pfd[nfds].events = POLLIN;
                pfd[nfds].revents = 0;
                nfds++;
            }
            if (!slots[i].reaped) {
                try_reap(calls[i], &slots[i]);
                if (!slots[i].reaped)
                    alive++;
            }
        }
        if (alive == 0 && nfds == 0)
            break;
        double left = deadline - monotime_now() * 1e3;
        int stop = cancel && *cancel;
        if (left <= 0 || stop) {
            for (size_t i = 0; i < n; i++)
                kill_slot(&slots[i], stop ? CMD_CANCELLED : CMD_TIMEOUT);
            break;
        }
        /* Output all read: the children are exiting; look again shortly. */
        int wait = nfds ? (int)(left + 1) : 1;
        if (wait > (int)left + 1)
            wait = (int)left + 1;
        int pr = poll(nfds ? pfd : NULL, nfds, wait);
        if (pr < 0 && errno != EINTR)
            break;
        for (size_t i = 0, k = 0; i < n; i++) {
            if (slots[i].fd < 0)
                continue;
            if (pr > 0 && k < nfds && pfd[k].revents && drain_fd(calls[i], &slots[i])) {
                if (slots[i].fd >= 0) {
                    close(slots[i].fd);
                    slots[i].fd = -1;
                }
            }
            k++;
        }
    }
}

/* Killed children: give the kernel a moment, then leave them for later. */
static void reap_killed(struct cmd_call *const *calls, struct slot *slots, size_t n)
{
    double grace_end = monotime_now() * 1e3 + 50;
    for (;;) {
        int left = 0;
        for (size_t i = 0; i < n; i++) {
            try_reap(calls[i], &slots[i]);
            if (!slots[i].reaped)
                left++;
        }
        if (!left || monotime_now() * 1e3 >= grace_end)
            break;
        poll(NULL, 0, 2);
    }
}

/* Each call's final state and time (t0: the start, ms); a child still
 * unreaped is remembered as stuck. */
static void finish_all(struct cmd_call *const *calls, struct slot *slots, size_t n, double t0)
{
    double t1 = monotime_now() * 1e3;
    for (size_t i = 0; i < n; i++) {
        if (slots[i].fd >= 0)
            close(slots[i].fd);
        if (!slots[i].reaped) {
            calls[i]->state = slots[i].kill_reason;
            remember_stuck(slots[i].pid, calls[i]->key);
        }
        if (slots[i].pid > 0)
            calls[i]->elapsed_ms = t1 - t0;
    }
}

int run_cmd_batch(struct cmd_call *const *calls, size_t n, double timeout_s,
                  const volatile sig_atomic_t *cancel)
{
    /* No time left (a sample's budget spent by earlier calls): nothing is
     * started, each call timed out. */
    if (timeout_s <= 0) {
        for (size_t i = 0; i < n; i++) {
            buf_clear(&calls[i]->out);
            calls[i]->state = CMD_NO_TIME;
            calls[i]->status = calls[i]->err = 0;
            calls[i]->elapsed_ms = 0;
        }
        return 0;
    }
    struct slot stack_slots[8];
    struct pollfd stack_pfd[8];
    struct slot *slots = stack_slots;
    struct pollfd *pfd = stack_pfd;
    if (n > 8) {
        slots = calloc(n, sizeof *slots);
        pfd = calloc(n, sizeof *pfd);
        if (!slots || !pfd) {
            free(slots);
            free(pfd);
            return -ENOMEM;
        }
    }
    run_cmd_pending();
    double t0 = monotime_now() * 1e3;
    double deadline = t0 + timeout_s * 1e3;
    start_all(calls, slots, n);
    collect_all(calls, slots, pfd, n, deadline, cancel);
    reap_killed(calls, slots, n);
    finish_all(calls, slots, n, t0);
    if (slots != stack_slots) {
        free(slots);
        free(pfd);
    }
    return 0;
}

void run_cmd_describe(const struct cmd_call *c, double timeout_s, char *dst, size_t len)
{
    switch (c->state) {
    case CMD_OK:
        snprintf(dst, len, "ok");
        break;
    case CMD_EXIT_NONZERO: {
        /* nvidia-smi's message is on stdout: show its first non-empty line. */
        const char *p = c->out.p ? c->out.p : "";
        while (*p == '\n' || *p == '\r' || *p == ' ')
            p++;
        size_t l = strcspn(p, "\r\n");
        if (l > 160)
            l = 160;
        int printable = 1;
        for (size_t i = 0; i < l; i++)
            if ((unsigned char)p[i] < 0x20 || (unsigned char)p[i] >= 0x7f)
                printable = 0;
        if (c->status == 127 && l == 0)
            snprintf(dst, len, "could not be run (exit status 127)");
        else if (l && printable)
            snprintf(dst, len, "exit status %d: %.*s", c->status, (int)l, p);
        else
            snprintf(dst, len, "exit status %d", c->status);
        break;
    }
    case CMD_SIGNALED:
        snprintf(dst, len, "killed by signal %d", c->status);
        break;
    case CMD_TIMEOUT:
        snprintf(dst, len, "timed out after %g s and was killed", timeout_s);
        break;
    case CMD_OVERFLOW:
        snprintf(dst, len, "printed more than %u bytes and was killed", CMD_MAX_OUTPUT);
        break;
    case CMD_SPAWN_FAILED:
        snprintf(dst, len, "could not be started: %s", strerror(c->err));
        break;
    case CMD_BUSY:
        snprintf(dst, len, "skipped: an earlier call is still stuck");
        break;
    case CMD_CANCELLED:
        snprintf(dst, len, "cancelled");
        break;
    case CMD_NO_TIME:
        snprintf(dst, len, "not started: the sample's %g s were spent by the calls before it",
                 timeout_s);
        break;
    }
}
