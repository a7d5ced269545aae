/* `gpu_watch plot`: charts of a log as SVG, PNG or terminal text.
 *
 * The log is aggregated while it is read: each series keeps per-time-bucket
 * min, max, first and last values (struct plot_bucket), with at most
 * PLOT_MAX_BUCKETS buckets over the whole time span; when the span outgrows
 * them, the bucket width doubles and neighbours merge. Memory is bounded by
 * the number of series, not the number of rows, and a one-sample spike
 * stays in its bucket's max. Renderers map the buckets to pixel columns. */
#ifndef GPU_WATCH_PLOT_H
#define GPU_WATCH_PLOT_H

/* The command: `gpu_watch plot LOG.csv [options]` with argv[0] == "plot".
 * Returns the exit status: 0, 1 (file problems), 2 (usage). */
int plot_main(int argc, char **argv);

#endif
