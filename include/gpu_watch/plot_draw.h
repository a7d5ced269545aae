/* The chart's layout, drawn through a small canvas interface that the SVG
 * and PNG renderers implement, so both give the same picture. */
#ifndef GPU_WATCH_PLOT_DRAW_H
#define GPU_WATCH_PLOT_DRAW_H

#include <stdint.h>

#include "gpu_watch/plot_types.h"

/* No colour (for rect fill or stroke). */
#define CANVAS_NONE 0xFFFFFFFFu

/* Text: size 1 is the 5x7 font at 1:1 (6 px advance, 7 px caps), size 2
 * doubles it. anchor: 0 start, 1 middle, 2 end; y is the baseline. */
#define CANVAS_CHAR_W 6

/* Coordinates in pixels, origin top left, y down. Colours 0xRRGGBB. */
struct canvas_ops {
    /* A polyline of n points (xy[2i], xy[2i+1]); dash: a PLOT_DASH_* style. */
    void (*line)(void *c, const double *xy, int n, uint32_t rgb, double width, int dash);
    void (*rect)(void *c, double x, double y, double w, double h, uint32_t fill, uint32_t stroke);
    void (*text)(void *c, double x, double y, const char *s, uint32_t rgb, int size, int anchor);
    void (*dot)(void *c, double x, double y, double r, uint32_t rgb);
    /* Start a group whose hover text is title; title NULL ends it. */
    void (*group)(void *c, const char *title);
};

/* Draw the whole chart (w x h pixels) of p. 0 or -ENOMEM. */
int plot_draw(const struct plot *p, const char *title, const char *sub, int w, int h,
              const struct canvas_ops *ops, void *c);

#endif
