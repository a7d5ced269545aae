/* A series' time buckets (plot_bucket.c). */
#ifndef GPU_WATCH_PLOT_BUCKET_H
#define GPU_WATCH_PLOT_BUCKET_H

#include <stdbool.h>

#include "gpu_watch/plot_types.h"

/* Add a value v at time t to series s (used by plot_add_row; public for
 * tests). 0 or -ENOMEM. */
int plot_series_add(struct plot *p, struct plot_series *s, double t, double v);

/* Merge series s's buckets into ncols pixel columns spanning [tmin, tmax]
 * (out[ncols], zeroed first). */
void plot_columns(const struct plot *p, const struct plot_series *s, double tmin, double tmax,
                  int ncols, struct plot_bucket *out);

/* Record an unknown value (an empty cell) of series s at time t: the line
 * breaks there instead of running straight across. 0 or -ENOMEM. */
int plot_series_hole(struct plot *p, struct plot_series *s, double t);

/* Should the line break between two columns' samples (prev's last, next's
 * first)? When the time between them exceeds three median intervals, or a
 * value between them was unknown. A column with holes and no value (n == 0,
 * nh > 0) breaks the line by itself: renderers check that. */
bool plot_is_gap(const struct plot *p, const struct plot_bucket *prev,
                 const struct plot_bucket *next);

#endif
