/* `gpu_watch summary --by job|user`: the rows of a --who log summed per
 * Slurm job or per user, sample by sample, then fed to the summary as one
 * "process" per group (its command the key, "1392969" or "ana"; "" for rows
 * without one), rendered with summary_fmt_opts.by_row/by_field. */
#ifndef GPU_WATCH_SUMMARY_BY_H
#define GPU_WATCH_SUMMARY_BY_H

#include "gpu_watch/logread.h"
#include "gpu_watch/summary.h"

enum summary_by_key {
    SUMMARY_BY_PROCESS, /* the summary as without --by */
    SUMMARY_BY_JOB,
    SUMMARY_BY_USER,
};

/* "process", "job" or "user". 0 or -EINVAL. */
int summary_by_parse(const char *v, enum summary_by_key *out);

/* The log column a key needs (LOG_COL_JOB_ID, LOG_COL_USER), -1 for process. */
int summary_by_column(enum summary_by_key key);

struct summary_by;

/* A grouping into s (not owned; it must outlive the grouping). NULL when
 * out of memory. Free with summary_by_free. */
struct summary_by *summary_by_new(struct summary *s, enum summary_by_key key);
void summary_by_free(struct summary_by *b);

/* Add one log row. Samples are told apart as summary_add_log does (a new
 * timestamp, or a (GPU, PID) key that does not increase); at the end of a
 * sample, each group's memory and SM utilization summed per GPU go to the
 * summary (CPU and RSS are left out: a process on several GPUs repeats
 * them). 0 or -ENOMEM. */
int summary_by_add(struct summary_by *b, const struct log_row *row);

/* Hand the last sample to the summary. 0 or -ENOMEM. */
int summary_by_finish(struct summary_by *b);

#endif
