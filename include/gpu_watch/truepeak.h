/* gpu_watch --peaks -- CMD: the true peak of each process of the command
 * that was seen on a GPU, from the driver's accounting read once more after
 * the command ended (the records outlive the processes), beside the highest
 * sample. Nothing here runs commands or prints: the top level reads the
 * accounting (source_smi.h) and writes the text. */
#ifndef GPU_WATCH_TRUEPEAK_H
#define GPU_WATCH_TRUEPEAK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gpu_watch/buf.h"
#include "gpu_watch/parse.h"
#include "gpu_watch/sampler.h"
#include "gpu_watch/source_smi.h"

/* One process on one GPU, seen in some sample. */
struct truepeak_proc {
    long pid;
    int gpu;                /* GPU index; -1 unknown */
    char uuid[GW_UUID_MAX]; /* "" unknown */
    char *cmd;              /* owned; "" unknown */
    uint64_t start;         /* start time, clock ticks after boot (/proc/<pid>/stat) */
    bool start_ok;
    int64_t sampled_mib; /* highest gpu_mem_mib of its samples; GW_UNKNOWN none */
    int64_t driver_mib;  /* after truepeak_finish: its own record's peak; GW_UNKNOWN */
    /* In a child PID namespace (pidns_of, read when first seen): drivers
     * from R565 on may never update such a process's accounting peak
     * (unverified: tests/gpu/check_containers.sh), so an unknown one says
     * why. */
    bool in_pidns;
};

struct truepeak {
    const char *proc_root; /* not owned */
    long hz;               /* clock ticks a second */
    struct truepeak_proc *v;
    size_t n;
    size_t cap;
    struct acct_rec *before; /* records already finished when the command started */
    size_t nbefore;
    size_t nbefore_cap;
};

/* Zeroed and ready; proc_root "/proc" or a fixture tree. */
void truepeak_init(struct truepeak *t, const char *proc_root);

/* Remember the finished records of a read made before the command
 * started: never the command's own. 0 or -ENOMEM. */
int truepeak_set_before(struct truepeak *t, const struct acct_list *recs);

/* Note the rows of one sample (the command's processes): the start time of
 * a process seen the first time, the highest sampled memory. 0 or -ENOMEM. */
int truepeak_add_sample(struct truepeak *t, const struct sample *smp);

/* Give each process its own record's peak from a read made after the
 * command ended (peaks.h's rules; a process still alive, same start time,
 * takes its running record). GPUs with accounting off give none. */
void truepeak_finish(struct truepeak *t, const struct smi_acct *after);

/* The report, text: one line per process and GPU (true peak, where it came
 * from, the highest sample, command) and a line per GPU. 0 or -ENOMEM. */
int truepeak_format(const struct truepeak *t, const struct smi_acct *after, struct gw_buf *b);

/* Whether some GPU of the read has accounting on. */
bool truepeak_acct_on(const struct smi_acct *a);

/* The line that says accounting is off, the peaks are lower bounds, and how
 * an administrator turns it on. 0 or -ENOMEM. */
int truepeak_hint(struct gw_buf *b);

void truepeak_free(struct truepeak *t);

#endif
