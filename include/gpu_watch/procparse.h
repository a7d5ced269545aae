/* Parsers for /proc text: pure functions, a buffer and its length in,
 * values out. The readers that open the files are in procfs.h. */
#ifndef GPU_WATCH_PROCPARSE_H
#define GPU_WATCH_PROCPARSE_H

#include <stddef.h>
#include <stdint.h>

/* The fields of /proc/<pid>/stat (or task/<tid>/stat) that we use. */
struct proc_stat {
    long pid;           /* field 1 */
    char state;         /* field 3: R, S, D, Z, ... */
    long ppid;          /* field 4 */
    uint64_t utime;     /* field 14, clock ticks */
    uint64_t stime;     /* field 15, clock ticks */
    uint64_t starttime; /* field 22, clock ticks after boot: tells a reused PID apart */
    int processor;      /* field 39: the CPU it last ran on; -1 if the line ends before */
};

/* Parse a stat line, e.g.
 *   "442 (python3) R 396 395 395 0 -1 4194560 ... 1796 64 ... 2241 ... 12 ..."
 * The command name (field 2) may hold spaces and ')': the fields are counted
 * from the last ')'. Fields 1 to 22 must be there. 0 or -EINVAL. */
int procparse_stat(const char *buf, size_t len, struct proc_stat *out);

/* VmRSS of /proc/<pid>/status, in kB; -EINVAL when absent (a kernel
 * thread or a zombie has none). */
int procparse_status_rss_kb(const char *buf, size_t len, int64_t *kb);

/* MemTotal - MemAvailable of /proc/meminfo, in kB. 0 or -EINVAL. */
int procparse_meminfo_used_kb(const char *buf, size_t len, int64_t *kb);

/* The first field of /proc/uptime, in seconds. 0 or -EINVAL. */
int procparse_uptime(const char *buf, size_t len, double *seconds);

/* CPU use as ps -o pcpu computes it: CPU time over the time since the
 * process started, in % of one core; -1 when the elapsed time is not
 * positive. ticks and starttime in clock ticks, uptime in seconds. */
double procparse_pcpu_since_start(uint64_t ticks, uint64_t starttime, double uptime, long hz);

#endif
