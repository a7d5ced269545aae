/* The CSV and JSON renderings of a summary (summary_data.c), internal to
 * the summary: summary_format (summary_fmt.h) calls them. */
#ifndef GPU_WATCH_SUMMARY_DATA_H
#define GPU_WATCH_SUMMARY_DATA_H

#include "gpu_watch/buf.h"
#include "gpu_watch/summary.h"

/* Append r as CSV (one row per process, per GPU total and for the run),
 * or as one JSON object, to b. */
void sfmt_csv(const struct summary_result *r, const struct summary_fmt_opts *o, struct gw_buf *b);
void sfmt_json(const struct summary_result *r, const struct summary_fmt_opts *o, struct gw_buf *b);

#endif
