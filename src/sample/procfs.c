/* Reading /proc: small files whole, EINTR retried, always NUL-terminated. */
#include "gpu_watch/procfs.h"
#include "gpu_watch/procparse.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Read the file rel under directory fd dirfd whole into b (emptied first). */
static int read_at(int dirfd, const char *rel, struct gw_buf *b, size_t max)
{
    buf_clear(b);
    int fd;
    do
        fd = openat(dirfd, rel, O_RDONLY | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return -errno;
    int rc = 0;
    for (;;) {
        if (b->len >= max)
            break;
        if ((rc = buf_reserve(b, 4096)) < 0)
            break;
        size_t room = b->cap - b->len - 1;
        if (room > max - b->len)
            room = max - b->len;
        ssize_t r = read(fd, b->p + b->len, room);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = -errno;
            break;
        }
        if (r == 0)
            break;
        b->len += (size_t)r;
        b->p[b->len] = '\0';
    }
    close(fd);
    return rc;
}

int procfs_read_file(const char *root, const char *rel, struct gw_buf *b, size_t max)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", root, rel) >= sizeof path) {
        buf_clear(b);
        return -ENAMETOOLONG;
    }
    return read_at(AT_FDCWD, path, b, max);
}

size_t procfs_clean_cmdline(char *s, size_t len)
{
    while (len && (s[len - 1] == '\0' || s[len - 1] == ' '))
        len--;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            s[i] = ' ';
    }
    s[len] = '\0';
    return len;
}

char *procfs_cmdline(const char *root, long pid, int *err)
{
    char rel[64];
    struct gw_buf b = {0};
    snprintf(rel, sizeof rel, "%ld/cmdline", pid);
    /* No limit but memory: command lines of any length are written whole
     * (Linux caps them at a few MiB anyway). */
    int rc = procfs_read_file(root, rel, &b, 16u * 1024u * 1024u);
    if (rc == 0 && b.len == 0)
        rc = -ENODATA;
    if (rc < 0) {
        buf_free(&b);
        *err = rc;
        return NULL;
    }
    size_t n = procfs_clean_cmdline(b.p, b.len);
    if (n == 0) {
        buf_free(&b);
        *err = -ENODATA;
        return NULL;
    }
    /* Shrink to fit; if that fails the larger block is as good. */
    char *s = realloc(b.p, n + 1);
    if (s)
        b.p = s;
    return b.p;
}

bool procfs_available(const char *root)
{
    struct stat st;
    return stat(root, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Append the CPUs set in seen[0..n) to b as "1/5/9". */
static int format_cores(const unsigned char *seen, size_t n, struct gw_buf *b)
{
    buf_clear(b);
    for (size_t c = 0; c < n; c++)
        if (seen[c]) {
            int rc = buf_printf(b, "%s%zu", b->len ? "/" : "", c);
            if (rc)
                return rc;
        }
    return 0;
}

/* Logical CPUs we track per process; Linux numbers them densely from 0. */
#define MAX_CPUS 4096

int procfs_starttime(const char *root, long pid, uint64_t *start, struct gw_buf *scratch)
{
    char rel[32];
    struct proc_stat st;
    snprintf(rel, sizeof rel, "%ld/stat", pid);
    int rc = procfs_read_file(root, rel, scratch, 4096);
    if (rc < 0)
        return rc;
    if (procparse_stat(scratch->p, scratch->len, &st) < 0)
        return -ESRCH; /* a process between fork and exec, or gone */
    *start = st.starttime;
    return 0;
}

int procfs_host(const char *root, long pid, struct proc_host *out, struct gw_buf *scratch)
{
    char dir[4096];
    int rc;
    out->cores = NULL;
    out->rss_kb = -1;
    /* A root too long for the path is an error, not a process that is gone. */
    if ((size_t)snprintf(dir, sizeof dir, "%s/%ld", root, pid) >= sizeof dir)
        return -ENAMETOOLONG;
    int pfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (pfd < 0)
        return -errno;
    struct proc_stat st;
    if ((rc = read_at(pfd, "stat", scratch, 4096)) < 0)
        goto out;
    if (procparse_stat(scratch->p, scratch->len, &st) < 0) {
        rc = -ESRCH; /* a process between fork and exec, or gone */
        goto out;
    }
    out->ticks = st.utime + st.stime;
    out->starttime = st.starttime;
    if (read_at(pfd, "status", scratch, 65536) == 0) {
        int64_t kb;
        if (procparse_status_rss_kb(scratch->p, scratch->len, &kb) == 0)
            out->rss_kb = kb;
    }
    /* Each thread's last CPU: task/<tid>/stat field 39. */
    int tfd = openat(pfd, "task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = tfd >= 0 ? fdopendir(tfd) : NULL;
    if (!d) {
        if (tfd >= 0)
            close(tfd);
        rc = 0; /* cores unknown */
        goto out;
    }
    unsigned char seen[MAX_CPUS];
    size_t top = 0;
    memset(seen, 0, sizeof seen);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] < '0' || de->d_name[0] > '9')
            continue;
        char t[300];
        snprintf(t, sizeof t, "%s/stat", de->d_name);
        struct proc_stat ts;
        if (read_at(dirfd(d), t, scratch, 4096) < 0 ||
            procparse_stat(scratch->p, scratch->len, &ts) < 0 || ts.processor < 0 ||
            ts.processor >= MAX_CPUS)
            continue; /* a thread that just ended */
        seen[ts.processor] = 1;
        if ((size_t)ts.processor + 1 > top)
            top = (size_t)ts.processor + 1;
    }
    closedir(d);
    rc = 0;
    if (top > 0) {
        if ((rc = format_cores(seen, top, scratch)) < 0)
            goto out;
        out->cores = strdup(scratch->p);
        if (!out->cores)
            rc = -ENOMEM;
    }
out:
    close(pfd);
    return rc;
}

int procfs_mem_used_kb(const char *root, int64_t *kb, struct gw_buf *scratch)
{
    int rc = procfs_read_file(root, "meminfo", scratch, 65536);
    if (rc < 0)
        return rc;
    return procparse_meminfo_used_kb(scratch->p, scratch->len, kb);
}

int procfs_uptime(const char *root, double *seconds, struct gw_buf *scratch)
{
    int rc = procfs_read_file(root, "uptime", scratch, 256);
    if (rc < 0)
        return rc;
    return procparse_uptime(scratch->p, scratch->len, seconds);
}
