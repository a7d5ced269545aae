/* Reading /proc. Every function takes the /proc root as a parameter
 * ("/proc" in production, a fixture directory in tests). A vanished process
 * is normal: it gives -ENOENT or -ESRCH, not a crash. */
#ifndef GPU_WATCH_PROCFS_H
#define GPU_WATCH_PROCFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gpu_watch/buf.h"

/* Read root/rel whole into b (emptied first, NUL-terminated), at most max
 * bytes. 0 or a negative errno. */
int procfs_read_file(const char *root, const char *rel, struct gw_buf *b, size_t max);

/* The command line of pid as ps prints it: arguments joined by single
 * spaces, control characters (newline, tab, CR...) turned into spaces.
 * Returns a malloc'd string the caller frees, or NULL with *err set to a
 * negative errno (-ENOENT gone, -ENODATA empty: a zombie or kernel thread). */
char *procfs_cmdline(const char *root, long pid, int *err);

/* Turn raw /proc/<pid>/cmdline bytes into a printable command line in
 * place (NULs and control characters to spaces, trailing separators
 * dropped); returns the new length. Pure; exposed for tests. */
size_t procfs_clean_cmdline(char *s, size_t len);

/* What --host reads about one process. */
struct proc_host {
    uint64_t ticks;     /* utime + stime, clock ticks */
    uint64_t starttime; /* clock ticks after boot: tells a reused PID apart */
    int64_t rss_kb;     /* VmRSS, kB; -1 when not reported */
    char *cores;        /* CPUs its threads last ran on, ascending, "8/9/11";
                         * malloc'd, the caller frees; NULL when unknown */
};

/* Read /proc/<pid>/stat, status and task/<tid>/stat of every thread.
 * scratch is a reusable buffer. 0, -ENOENT/-ESRCH when the process is gone,
 * -ENOMEM, or another negative errno. */
int procfs_host(const char *root, long pid, struct proc_host *out, struct gw_buf *scratch);

/* The start time of pid (field 22 of /proc/<pid>/stat: clock ticks after
 * boot), which tells a reused PID apart: one small read. scratch is a
 * reusable buffer. 0, -ENOENT/-ESRCH when the process is gone, -ENOMEM. */
int procfs_starttime(const char *root, long pid, uint64_t *start, struct gw_buf *scratch);

/* MemTotal - MemAvailable from root/meminfo, in kB. 0 or -errno. */
int procfs_mem_used_kb(const char *root, int64_t *kb, struct gw_buf *scratch);

/* Seconds since boot from root/uptime. 0 or -errno. */
int procfs_uptime(const char *root, double *seconds, struct gw_buf *scratch);

/* True when root is a directory (a mounted /proc, or a fixture tree). */
bool procfs_available(const char *root);

#endif
