/* Rows of a log into a plot's series (plot_data.c). */
#ifndef GPU_WATCH_PLOT_DATA_H
#define GPU_WATCH_PLOT_DATA_H

#include <stdbool.h>

#include "gpu_watch/logread.h"
#include "gpu_watch/plot_types.h"

/* The series key of a row's process in a --per-process plot: its PID, or
 * with per_gpu its (GPU, PID) pair. */
long long plot_process_key(bool per_gpu, const struct log_row *row);

/* Set up an empty plot for a log laid out as h (its columns decide which
 * panels have data). 0 or -ENOMEM. */
int plot_init(struct plot *p, const struct plot_opts *o, const struct log_header *h);

/* Add one row (a log_row_fn: ctx is the struct plot). Rows of one sample
 * share a timestamp and come together, as the sampler writes them. */
int plot_add_row(const struct log_row *row, void *ctx);

/* After the last row: close the open sample, compute the median interval.
 * 0 or -ENOMEM. */
int plot_finish(struct plot *p);

void plot_free(struct plot *p);

#endif
