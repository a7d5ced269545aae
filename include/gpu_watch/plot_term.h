/* The terminal renderer (plot_term.c). */
#ifndef GPU_WATCH_PLOT_TERM_H
#define GPU_WATCH_PLOT_TERM_H

#include <stdbool.h>

#include "gpu_watch/buf.h"
#include "gpu_watch/plot_types.h"

/* Appends the chart as text to out, cols columns wide, with colour escapes
 * when color is true; 0 or -ENOMEM. title is the chart's title line, sub a
 * smaller second line (may be ""). */
int plot_term(const struct plot *p, const char *title, const char *sub, int cols, bool color,
              struct gw_buf *out);

#endif
