/* The process tree of a watched command, from the parent PIDs in /proc. */
#include "gpu_watch/proctree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gpu_watch/array.h"
#include "gpu_watch/buf.h"
#include "gpu_watch/procfs.h"

/* A stat line is about 300 bytes; a name is at most 64 (TASK_COMM_LEN 16 in
 * practice), so 4 KiB is ample. */
#define STAT_MAX 4096

int proctree_read_stat(const char *root, long pid, struct proc_stat *out)
{
    char rel[32];
    struct gw_buf b = {0};
    snprintf(rel, sizeof rel, "%ld/stat", pid);
    int rc = procfs_read_file(root, rel, &b, STAT_MAX);
    if (rc == 0)
        rc = b.len ? procparse_stat(b.p, b.len, out) : -ESRCH;
    buf_free(&b);
    return rc;
}

static int cmp_stat(const void *a, const void *b)
{
    const struct proc_stat *x = a, *y = b;
    return (x->pid > y->pid) - (x->pid < y->pid);
}

int proctree_scan(const char *root, struct proc_list *out)
{
    out->n = 0;
    DIR *d = opendir(root);
    if (!d)
        return -errno;
    struct gw_buf b = {0};
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *s = de->d_name;
        if (*s < '1' || *s > '9' || strspn(s, "0123456789") != strlen(s) || strlen(s) > 10)
            continue;
        char rel[32];
        if ((size_t)snprintf(rel, sizeof rel, "%.12s/stat", s) >= sizeof rel)
            continue;
        struct proc_stat ps;
        if (procfs_read_file(root, rel, &b, STAT_MAX) < 0 || !b.len ||
            procparse_stat(b.p, b.len, &ps) < 0)
            continue; /* gone since readdir, or not a process */
        if (array_reserve(&out->v, &out->cap, out->n + 1, sizeof *out->v) < 0) {
            rc = -ENOMEM;
            break;
        }
        out->v[out->n++] = ps;
    }
    closedir(d);
    buf_free(&b);
    if (rc == 0 && out->n > 1) /* v is NULL with no entry: qsort(NULL) is UB */
        qsort(out->v, out->n, sizeof *out->v, cmp_stat);
    return rc;
}

static struct proc_member *find_member(const struct proctree *t, long pid)
{
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->v[mid].pid == pid)
            return &t->v[mid];
        if (t->v[mid].pid < pid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static const struct proc_stat *find_stat(const struct proc_list *all, long pid)
{
    struct proc_stat key = {.pid = pid};
    if (all->n == 0) /* v is NULL then: bsearch(.., NULL, 0, ..) is UB */
        return NULL;
    return bsearch(&key, all->v, all->n, sizeof *all->v, cmp_stat);
}

static int cmp_member(const void *a, const void *b)
{
    const struct proc_member *x = a, *y = b;
    return (x->pid > y->pid) - (x->pid < y->pid);
}

/* Append without keeping the order; the caller sorts. */
static int push_member(struct proctree *t, long pid, uint64_t start)
{
    if (array_reserve(&t->v, &t->cap, t->n + 1, sizeof *t->v) < 0)
        return -ENOMEM;
    t->v[t->n++] = (struct proc_member){.pid = pid, .start = start, .dead_for = 0};
    return 0;
}

static int rebuild_pids(struct proctree *t)
{
    if (t->n > 1) /* v is NULL with no member: qsort(NULL) is UB */
        qsort(t->v, t->n, sizeof *t->v, cmp_member);
    long *p = realloc(t->pids, (t->n ? t->n : 1) * sizeof *p);
    if (!p)
        return -ENOMEM;
    t->pids = p;
    for (size_t i = 0; i < t->n; i++)
        p[i] = t->v[i].pid;
    t->npids = t->n;
    return 0;
}

int proctree_add(struct proctree *t, long pid, uint64_t start)
{
    struct proc_member *m = find_member(t, pid);
    if (m) {
        m->start = start;
        m->dead_for = 0;
        return 0;
    }
    int rc = push_member(t, pid, start);
    return rc < 0 ? rc : rebuild_pids(t);
}

int proctree_update(struct proctree *t, const struct proc_list *all)
{
    /* Existing members: alive with the same start time, reused, or gone. */
    size_t kept = 0;
    for (size_t i = 0; i < t->n; i++) {
        struct proc_member m = t->v[i];
        const struct proc_stat *s = find_stat(all, m.pid);
        if (s && m.start == 0)
            m.start = s->starttime; /* added before its start time was known */
        if (s && s->starttime == m.start)
            m.dead_for = 0;
        else if (s)
            continue; /* the PID now names another process */
        else if (++m.dead_for > PROCTREE_KEEP_DEAD)
            continue;
        t->v[kept++] = m;
    }
    t->n = kept;
    /* New members: children of live members, to any depth. Each pass adds
     * one more generation; a pass that adds nothing ends it. */
    for (;;) {
        size_t before = t->n;
        for (size_t i = 0; i < all->n; i++) {
            const struct proc_stat *s = &all->v[i];
            if (find_member(t, s->pid))
                continue;
            const struct proc_member *parent = find_member(t, s->ppid);
            if (!parent || parent->dead_for)
                continue;
            const struct proc_stat *ps = find_stat(all, s->ppid);
            if (!ps || ps->starttime > s->starttime)
                continue; /* the parent is younger: a reused PID, not a parent */
            int rc = push_member(t, s->pid, s->starttime);
            if (rc < 0)
                return rc;
            /* Keep the sorted order that find_member relies on. */
            qsort(t->v, t->n, sizeof *t->v, cmp_member);
        }
        if (t->n == before)
            break;
    }
    return rebuild_pids(t);
}

bool proctree_has(const struct proctree *t, long pid)
{
    return find_member(t, pid) != NULL;
}

size_t proctree_alive(const struct proctree *t)
{
    size_t n = 0;
    for (size_t i = 0; i < t->n; i++)
        n += t->v[i].dead_for == 0;
    return n;
}

bool proctree_is_gpu_node(const char *target)
{
    static const char prefix[] = "/dev/nvidia";
    if (strncmp(target, prefix, sizeof prefix - 1) != 0)
        return false;
    const char *d = target + sizeof prefix - 1;
    return *d && strspn(d, "0123456789") == strlen(d);
}

static bool pid_uses_gpu(const char *root, long pid)
{
    char path[512];
    if ((size_t)snprintf(path, sizeof path, "%s/%ld/fd", root, pid) >= sizeof path)
        return false;
    DIR *d = opendir(path);
    if (!d)
        return false;
    bool found = false;
    struct dirent *de;
    while (!found && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char target[64];
        ssize_t n = readlinkat(dirfd(d), de->d_name, target, sizeof target - 1);
        if (n <= 0)
            continue;
        target[n] = '\0';
        found = proctree_is_gpu_node(target);
    }
    closedir(d);
    return found;
}

bool proctree_uses_gpu(const struct proctree *t, const char *root)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->v[i].dead_for == 0 && pid_uses_gpu(root, t->v[i].pid))
            return true;
    return false;
}

void proctree_free(struct proctree *t)
{
    free(t->v);
    free(t->pids);
    memset(t, 0, sizeof *t);
}
