/* plot --per-process on a log of any number of processes: a first pass
 * over the log finds the PLOT_MAX_PROCS processes of highest peak GPU
 * memory, in memory bounded by the largest sample, not by the log; the
 * plot then draws those apart and folds the rest into one "other
 * processes" series (plot_opts.keep). */
#ifndef GPU_WATCH_PLOT_RANK_H
#define GPU_WATCH_PLOT_RANK_H

#include <stdbool.h>
#include <stddef.h>

#include "gpu_watch/hashtab.h"
#include "gpu_watch/logread.h"
#include "gpu_watch/plot_types.h"

struct plot_rank_top {
    long long key;
    double peak; /* MiB: the highest per-sample sum of its rows */
};

struct plot_rank {
    bool per_gpu; /* keys as plot_data.c makes them: (GPU, PID) or PID */
    struct plot_rank_top top[PLOT_MAX_PROCS];
    int ntop;
    /* The current sample: key -> the sum of its rows (double, MiB);
     * NULL before the first row. */
    struct hashtab *acc;
    double ts;
    bool in_sample;
    int err;
};

/* Ready for a plot with these options (zeroed; free with plot_rank_free). */
void plot_rank_init(struct plot_rank *r, const struct plot_opts *o);
void plot_rank_free(struct plot_rank *r);

/* A log_row_fn: ctx is the struct plot_rank. 0 or -ENOMEM. */
int plot_rank_row(const struct log_row *row, void *ctx);

/* After the last row: the kept keys, sorted ascending, into keep[]
 * (PLOT_MAX_PROCS at most); returns how many. */
int plot_rank_finish(struct plot_rank *r, long long *keep);

#endif
