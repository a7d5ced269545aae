/* The renderings of a summary (summary_fmt.c): text and Markdown here, CSV
 * and JSON in summary_data.h, and the pieces they share. The sfmt_ pieces
 * are internal to the summary; all append to a gw_buf and leave errors in
 * it (buf_error). */
#ifndef GPU_WATCH_SUMMARY_FMT_H
#define GPU_WATCH_SUMMARY_FMT_H

#include <stddef.h>
#include <stdint.h>

#include "gpu_watch/buf.h"
#include "gpu_watch/summary.h"

/* "2025-01-10T14:22:30" (local), with a Z in UTC; "" when unknown. */
void sfmt_iso_time(char *dst, size_t len, double ts, const struct summary_fmt_opts *o);

/* A number with prec decimals, or unknown: "" (CSV), "null" (JSON). */
void sfmt_num(struct gw_buf *b, double v, int prec, const char *unknown);

/* GPU indexes: "0", "0,1", "0-3", "?" for unknown, "0,?" for both. */
void sfmt_gpu_list(char *dst, size_t len, uint64_t mask, bool other);

/* The closing notes: what a peak means, pauses, untracked processes. */
void sfmt_notes(struct gw_buf *b, const struct summary_result *r);

/* Parse a --format name: "text", "csv", "md" (or "markdown"), "json".
 * 0 or -EINVAL. */
int summary_parse_format(const char *name, enum summary_format *out);

/* Append the rendering of r to out. 0 or -ENOMEM. */
int summary_format(const struct summary_result *r, enum summary_format f,
                   const struct summary_fmt_opts *o, struct gw_buf *out);

#endif
