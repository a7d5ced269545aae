/* Which accounting record is a process's own. The driver's accounting
 * buffer (nvidia-smi --query-accounted-apps) is keyed by PID only: it keeps
 * finished processes' records (the last 4,000), a reused PID may be listed
 * twice, and the output carries no start time. A process must never get a
 * record that is not its own, so when in doubt the answer is "unknown".
 * Pure: no I/O. */
#ifndef GPU_WATCH_PEAKS_H
#define GPU_WATCH_PEAKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gpu_watch/parse.h" /* struct acct_rec */

/* How much longer than the process's life (as we measured it) a finished
 * record's context time may be and still be its own, ms: the start time has
 * a clock tick's resolution and the wall clock may step a little. */
#define PEAKS_SLACK_MS 1000

/* The process whose record is wanted, on one GPU. */
struct peak_query {
    const char *uuid; /* the GPU's UUID */
    long pid;
    /* Whether the process is running: listed by the driver in this sample,
     * or its /proc/<pid> still has the start time we knew. */
    bool alive;
    /* Only for !alive (the process ended): its start and a time by which it
     * had ended, wall clock in ms since the epoch; < 0 unknown. */
    int64_t start_ms;
    int64_t end_ms;
    /* Records already finished before the process started (read then):
     * never its own. May be NULL. */
    const struct acct_rec *before;
    size_t nbefore;
};

/* The index in recs[0..n) of q's own record, or -1 when there is none or
 * it cannot be told apart:
 *  - a running process owns the one running record (time 0) of its PID on
 *    that GPU (PIDs are unique among running processes); finished records
 *    of the PID belong to earlier processes;
 *  - an ended process owns the one finished record of its PID on that GPU
 *    whose context time fits in its life (end - start + PEAKS_SLACK_MS) and
 *    that was not already finished before it started; with its start or
 *    end unknown, none. */
long peaks_match(const struct acct_rec *recs, size_t n, const struct peak_query *q);

/* The peak of q's own record, MiB, or GW_UNKNOWN (no record of its own, or
 * the driver wrote 0: seen for finished processes, not a real peak). */
int64_t peaks_find(const struct acct_rec *recs, size_t n, const struct peak_query *q);

#endif
