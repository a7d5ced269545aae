/* The PNG renderer (plot_png.c). */
#ifndef GPU_WATCH_PLOT_PNG_H
#define GPU_WATCH_PLOT_PNG_H

#include "gpu_watch/buf.h"
#include "gpu_watch/plot_types.h"

/* Appends a whole PNG file of w x h pixels to out; 0 or -ENOMEM. title is
 * the chart's title line, sub a smaller second line (may be ""). */
int plot_png(const struct plot *p, const char *title, const char *sub, int w, int h,
             struct gw_buf *out);

#endif
