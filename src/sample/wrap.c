/* Starting and following the command of `gpu_watch -- COMMAND`, and the
 * --pid list of --until-exit. */
#include "gpu_watch/wrap.h"

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gpu_watch/monotime.h"
#include "gpu_watch/proctree.h"

extern char **environ;

struct target {
    long pid;
    uint64_t start; /* start time (ticks) when first seen; tells a reused PID apart */
    bool gone;
};

struct wrap {
    const char *proc_root;
    /* Command mode. */
    pid_t child; /* 0 in --pid mode */
    bool reaped;
    int wstatus; /* from waitpid, once reaped */
    struct proctree tree;
    struct proc_list scan;
    bool sampled; /* wrap_refresh has run: the first sample is taken */
    double next_gpu_check;
    /* --pid mode. */
    struct target *targets;
    size_t ntargets;
};

/* Pending SIGINT/SIGTERM: 0 none, 1 from the kernel (the terminal), 2 sent
 * by a process. */
static volatile sig_atomic_t pending_int;
static volatile sig_atomic_t pending_term;

static void on_signal(int sig, siginfo_t *si, void *ctx)
{
    (void)ctx;
    /* SI_USER, SI_QUEUE, SI_TKILL are <= 0; the tty driver sends SI_KERNEL. */
    sig_atomic_t from = si && si->si_code <= 0 ? 2 : 1;
    if (sig == SIGINT)
        pending_int = from > pending_int ? from : pending_int;
    else
        pending_term = from > pending_term ? from : pending_term;
}

void wrap_install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART | SA_SIGINFO;
    sa.sa_sigaction = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int wrap_exec_status(int err)
{
    return err == ENOENT || err == ENOTDIR ? 127 : 126;
}

/* The command's signals: back to their defaults (we ignore SIGPIPE and
 * SIGXFSZ; the command must not inherit that), none blocked. posix_spawn,
 * not fork: this process may run the NVML thread, and a forked child of a
 * threaded process may only call async-signal-safe functions before exec
 * (execvp's PATH search is not one). 0 or an errno. */
static int spawn_attr(posix_spawnattr_t *at)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGCHLD, SIGQUIT, SIGXFSZ};
    sigset_t def, none;
    sigemptyset(&def);
    sigemptyset(&none);
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaddset(&def, sigs[i]);
    int rc = posix_spawnattr_init(at);
    if (rc)
        return rc;
    if ((rc = posix_spawnattr_setsigdefault(at, &def)) != 0 ||
        (rc = posix_spawnattr_setsigmask(at, &none)) != 0 ||
        (rc = posix_spawnattr_setflags(at, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK)) != 0)
        posix_spawnattr_destroy(at);
    return rc;
}

/* A file without "#!" (ENOEXEC): run by the shell, as execvp and the
 * shells do: sh -c 'exec "$0" "$@"' CMD ARGS, whose exec, failing with
 * ENOEXEC, runs CMD as a script (POSIX). 0 or an errno. */
static int spawn_script(pid_t *pid, char *const argv[], const posix_spawnattr_t *at)
{
    size_t argc = 0;
    while (argv[argc])
        argc++;
    char **sh = calloc(argc + 4, sizeof *sh);
    if (!sh)
        return ENOMEM;
    sh[0] = "sh";
    sh[1] = "-c";
    sh[2] = "exec \"$0\" \"$@\"";
    memcpy(sh + 3, argv, argc * sizeof *sh);
    int rc = posix_spawn(pid, "/bin/sh", NULL, at, sh, environ);
    free(sh);
    return rc;
}

static struct wrap *wrap_alloc(const char *proc_root)
{
    struct wrap *w = calloc(1, sizeof *w);
    if (w)
        w->proc_root = proc_root;
    return w;
}

int wrap_spawn(char *const argv[], const char *proc_root, struct wrap **out)
{
    *out = NULL;
    struct wrap *w = wrap_alloc(proc_root);
    if (!w)
        return -ENOMEM;
    posix_spawnattr_t at;
    int rc = spawn_attr(&at);
    if (rc) {
        free(w);
        return -rc;
    }
    /* glibc's posix_spawnp returns exec's errno (ENOENT, EACCES, ...): the
     * child never runs when exec fails. */
    pid_t pid;
    rc = posix_spawnp(&pid, argv[0], NULL, &at, argv, environ);
    if (rc == ENOEXEC)
        rc = spawn_script(&pid, argv, &at);
    posix_spawnattr_destroy(&at);
    if (rc) {
        free(w);
        return -rc;
    }
    w->child = pid;
    struct proc_stat st;
    uint64_t start = proctree_read_stat(proc_root, pid, &st) == 0 ? st.starttime : 0;
    /* Out of memory here leaves the tree empty; the command is running and
     * still ours to wait for, so go on (the next refresh tries again). */
    (void)proctree_add(&w->tree, pid, start);
    *out = w;
    return 0;
}

int wrap_pids(const long *pids, size_t n, const char *proc_root, struct wrap **out, size_t *running)
{
    *out = NULL;
    *running = 0;
    struct wrap *w = wrap_alloc(proc_root);
    if (!w || !(w->targets = calloc(n ? n : 1, sizeof *w->targets))) {
        free(w);
        return -ENOMEM;
    }
    w->ntargets = n;
    for (size_t i = 0; i < n; i++) {
        struct proc_stat st;
        w->targets[i].pid = pids[i];
        if (proctree_read_stat(proc_root, pids[i], &st) == 0 && st.state != 'Z') {
            w->targets[i].start = st.starttime;
            (*running)++;
        } else {
            w->targets[i].gone = true;
        }
    }
    *out = w;
    return 0;
}

long wrap_child(const struct wrap *w)
{
    return w->child;
}

static void poll_child(struct wrap *w)
{
    if (!w->child || w->reaped)
        return;
    int st;
    pid_t r;
    do
        r = waitpid(w->child, &st, WNOHANG);
    while (r < 0 && errno == EINTR);
    if (r == w->child) {
        w->reaped = true;
        w->wstatus = st;
    } else if (r < 0 && errno == ECHILD) {
        w->reaped = true; /* not ours any more: nothing to wait for */
        w->wstatus = 0;
    }
}

static void poll_targets(struct wrap *w)
{
    for (size_t i = 0; i < w->ntargets; i++) {
        struct target *t = &w->targets[i];
        struct proc_stat st;
        if (t->gone)
            continue;
        if (proctree_read_stat(w->proc_root, t->pid, &st) != 0 || st.starttime != t->start ||
            st.state == 'Z')
            t->gone = true;
    }
}

static void forward_signals(struct wrap *w)
{
    if (!w->child || w->reaped)
        return;
    /* A command in another process group does not hear the terminal. */
    bool own_group = getpgid(w->child) == getpgrp();
    sig_atomic_t i = pending_int, t = pending_term;
    pending_int = pending_term = 0;
    if (i == 2 || (i == 1 && !own_group))
        kill(w->child, SIGINT);
    if (t == 2 || (t == 1 && !own_group))
        kill(w->child, SIGTERM);
}

bool wrap_ended(struct wrap *w)
{
    if (w->child) {
        poll_child(w);
        return w->reaped;
    }
    poll_targets(w);
    for (size_t i = 0; i < w->ntargets; i++)
        if (!w->targets[i].gone)
            return false;
    return true;
}

static void sleep_s(double s)
{
    if (s <= 0)
        return;
    struct timespec ts;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    nanosleep(&ts, NULL); /* a signal ends it early: the caller looks again */
}

static int update_tree(struct wrap *w)
{
    int rc = proctree_scan(w->proc_root, &w->scan);
    if (rc < 0)
        return rc;
    return proctree_update(&w->tree, &w->scan);
}

enum wrap_wake wrap_sleep_until(struct wrap *w, double t, const volatile sig_atomic_t *stop,
                                const volatile sig_atomic_t *hup)
{
    for (;;) {
        forward_signals(w);
        if (wrap_ended(w))
            return WRAP_EXITED;
        if ((stop && *stop) || (hup && *hup))
            return WRAP_FLAG;
        double now = monotime_now();
        if (w->child && !w->sampled && now >= w->next_gpu_check) {
            w->next_gpu_check = now + WRAP_GPU_POLL_S;
            if (update_tree(w) == 0 && proctree_uses_gpu(&w->tree, w->proc_root))
                return WRAP_ON_GPU;
        }
        if (now >= t)
            return WRAP_SLOT;
        sleep_s(t - now < WRAP_POLL_S ? t - now : WRAP_POLL_S);
    }
}

int wrap_refresh(struct wrap *w, const long **pids, size_t *n)
{
    w->sampled = true;
    *pids = NULL;
    *n = 0;
    if (!w->child)
        return 0;
    static const long none[1];
    int rc = update_tree(w);
    /* Never NULL here: an empty tree keeps every row out, it is no "all". */
    *pids = w->tree.pids ? w->tree.pids : none;
    *n = w->tree.pids ? w->tree.npids : 0;
    return rc;
}

void wrap_wait(struct wrap *w)
{
    /* Polled rather than a blocking waitpid: SA_RESTART would restart it
     * and hold back the signals to forward. */
    for (;;) {
        forward_signals(w);
        poll_child(w);
        if (!w->child || w->reaped)
            return;
        sleep_s(WRAP_POLL_S);
    }
}

int wrap_status(const struct wrap *w)
{
    if (!w->child || !w->reaped)
        return 0;
    if (WIFEXITED(w->wstatus))
        return WEXITSTATUS(w->wstatus);
    if (WIFSIGNALED(w->wstatus))
        return 128 + WTERMSIG(w->wstatus);
    return 1;
}

void wrap_free(struct wrap *w)
{
    if (!w)
        return;
    proctree_free(&w->tree);
    free(w->scan.v);
    free(w->targets);
    free(w);
}
