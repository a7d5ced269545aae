/* The --host figures of a process (CPU %, cores, RSS) and of the machine
 * (used RAM), read from /proc; per-process state lives in its PID-table
 * entry so CPU % is measured over the last interval. */
#ifndef GPU_WATCH_HOST_H
#define GPU_WATCH_HOST_H

#include <stdbool.h>
#include <stdint.h>

#include "gpu_watch/pidtab.h"

/* --host figures of one process. */
struct host_fields {
    double cpu_pct;    /* % of one core over the last interval (since start when first seen); < 0
                          unknown */
    const char *cores; /* "8/9/11"; NULL unknown; valid until the next sample */
    int64_t rss_mib;   /* resident memory; < 0 unknown */
};

extern const struct host_fields host_unknown;

struct host;

/* A reader of root ("/proc" or a fixture tree). NULL when out of memory. */
struct host *host_new(const char *root);
void host_free(struct host *h);

/* Start a sample: the machine's uptime is read again, at most once. */
void host_begin(struct host *h);

/* Read one process's figures into e (kept for the next interval) and *out.
 * CPU % is the change of utime+stime over the wall time since the last
 * reading; for a process seen the first time (or a reused PID) the average
 * since it started, as ps -o pcpu prints. 0 with *alive saying whether the
 * process exists, or -ENOMEM. */
int host_read(struct host *h, struct pid_entry *e, struct host_fields *out, bool *alive);

/* The machine's used RAM, MemTotal - MemAvailable, MiB; GW_UNKNOWN (-1)
 * when /proc/meminfo cannot be read. */
int64_t host_sys_used_mib(struct host *h);

#endif
