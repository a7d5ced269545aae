/* plot: the chart rasterised (antialiased lines and dots, bitmap-font
 * text) and encoded as PNG. */
#include "gpu_watch/plot_draw.h"
#include "gpu_watch/plot_png.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_watch/font.h"
#include "gpu_watch/png.h"
#include "gpu_watch/text.h"

struct raster {
    int w, h;
    uint8_t *rgb;       /* w * h * 3 */
    uint8_t *mask;      /* w * h coverage of the polyline being drawn, 0..255 */
    int x0, y0, x1, y1; /* the mask's dirty box, inclusive */
};

static void blend(struct raster *r, int x, int y, uint32_t rgb, double a)
{
    if (x < 0 || y < 0 || x >= r->w || y >= r->h || a <= 0)
        return;
    if (a > 1)
        a = 1;
    uint8_t *p = r->rgb + ((size_t)y * r->w + x) * 3;
    const uint8_t src[3] = {(uint8_t)(rgb >> 16), (uint8_t)(rgb >> 8), (uint8_t)rgb};
    for (int k = 0; k < 3; k++)
        p[k] = (uint8_t)lrint(p[k] * (1 - a) + src[k] * a);
}

/* Coverage of a line of width wd around segment (ax,ay)-(bx,by), into the
 * mask as a maximum so that joints are not painted twice. */
static void mask_segment(struct raster *r, double ax, double ay, double bx, double by, double wd)
{
    double rad = wd / 2 + 0.5;
    int x0 = (int)floor(fmin(ax, bx) - rad), x1 = (int)ceil(fmax(ax, bx) + rad);
    int y0 = (int)floor(fmin(ay, by) - rad), y1 = (int)ceil(fmax(ay, by) + rad);
    if (x0 < 0)
        x0 = 0;
    if (y0 < 0)
        y0 = 0;
    if (x1 >= r->w)
        x1 = r->w - 1;
    if (y1 >= r->h)
        y1 = r->h - 1;
    if (x0 > x1 || y0 > y1)
        return;
    double dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy;
    for (int y = y0; y <= y1; y++) {
        for (int x = x0; x <= x1; x++) {
            double px = x + 0.5 - ax, py = y + 0.5 - ay;
            double t = len2 > 0 ? (px * dx + py * dy) / len2 : 0;
            t = t < 0 ? 0 : t > 1 ? 1 : t;
            double ex = px - t * dx, ey = py - t * dy;
            double cov = wd / 2 + 0.5 - sqrt(ex * ex + ey * ey);
            if (cov <= 0)
                continue;
            /* A line thinner than a pixel covers less of it. */
            if (wd < 1)
                cov *= wd;
            uint8_t m = (uint8_t)(cov >= 1 ? 255 : lrint(cov * 255));
            uint8_t *q = &r->mask[(size_t)y * r->w + x];
            if (m > *q)
                *q = m;
        }
    }
    if (x0 < r->x0)
        r->x0 = x0;
    if (y0 < r->y0)
        r->y0 = y0;
    if (x1 > r->x1)
        r->x1 = x1;
    if (y1 > r->y1)
        r->y1 = y1;
}

static void mask_flush(struct raster *r, uint32_t rgb)
{
    for (int y = r->y0; y <= r->y1; y++)
        for (int x = r->x0; x <= r->x1; x++) {
            uint8_t *q = &r->mask[(size_t)y * r->w + x];
            if (*q) {
                blend(r, x, y, rgb, *q / 255.0);
                *q = 0;
            }
        }
    r->x0 = r->w;
    r->y0 = r->h;
    r->x1 = r->y1 = -1;
}

/* Dash patterns, pixels on, off, on, off (as in the SVG's dasharray). */
static const double dash_pat[PLOT_NDASH][4] = {
    [PLOT_DASH_DASHED] = {6, 4, 6, 4},
    [PLOT_DASH_DOTTED] = {1.5, 3, 1.5, 3},
    [PLOT_DASH_DASHDOT] = {7, 3, 1.5, 3},
};

/* The segment a-b, only where the dash pattern is on; *pos is how far
 * along the pattern (pixels, modulo its length) the line has come. */
static void dashed_segment(struct raster *r, const double a[2], const double b[2], double wd,
                           const double pat[4], double *pos)
{
    double period = pat[0] + pat[1] + pat[2] + pat[3];
    double len = hypot(b[0] - a[0], b[1] - a[1]), done = 0;
    while (done < len) {
        double ph = fmod(*pos, period), end = 0;
        int k = 0;
        while (k < 3 && ph >= end + pat[k])
            end += pat[k++];
        double step = fmin(end + pat[k] - ph, len - done);
        if (k % 2 == 0) { /* on */
            double t0 = done / len, t1 = (done + step) / len;
            mask_segment(r, a[0] + (b[0] - a[0]) * t0, a[1] + (b[1] - a[1]) * t0,
                         a[0] + (b[0] - a[0]) * t1, a[1] + (b[1] - a[1]) * t1, wd);
        }
        done += step;
        *pos += step;
    }
}

static void png_line(void *c, const double *xy, int n, uint32_t rgb, double width, int dash)
{
    struct raster *r = c;
    double pos = 0;
    for (int i = 0; i + 1 < n; i++) {
        if (dash > 0 && dash < PLOT_NDASH)
            dashed_segment(r, xy + 2 * i, xy + 2 * i + 2, width, dash_pat[dash], &pos);
        else
            mask_segment(r, xy[2 * i], xy[2 * i + 1], xy[2 * i + 2], xy[2 * i + 3], width);
    }
    if (n == 1)
        mask_segment(r, xy[0], xy[1], xy[0], xy[1], width);
    mask_flush(r, rgb);
}

static void png_rect(void *c, double x, double y, double w, double h, uint32_t fill,
                     uint32_t stroke)
{
    struct raster *r = c;
    if (fill != CANVAS_NONE) {
        int x0 = (int)lrint(x), x1 = (int)lrint(x + w), y0 = (int)lrint(y), y1 = (int)lrint(y + h);
        for (int yy = y0 < 0 ? 0 : y0; yy < y1 && yy < r->h; yy++)
            for (int xx = x0 < 0 ? 0 : x0; xx < x1 && xx < r->w; xx++)
                blend(r, xx, yy, fill, 1);
    }
    if (stroke != CANVAS_NONE) {
        double p[10] = {x, y, x + w, y, x + w, y + h, x, y + h, x, y};
        png_line(c, p, 5, stroke, 1, PLOT_DASH_SOLID);
    }
}

static void png_text(void *c, double x, double y, const char *s, uint32_t rgb, int size, int anchor)
{
    struct raster *r = c;
    /* One glyph per character (a UTF-8 sequence; a byte that is not part of
     * one is a character too): the font has ASCII, Latin-1 and Latin
     * Extended-A, and draws a placeholder box for the rest. */
    size_t len = strlen(s);
    int n = 0;
    for (size_t at = 0; at < len; n++) {
        size_t k = text_utf8_len(s + at, len - at);
        at += k ? k : 1;
    }
    double width = (double)n * FONT_ADV * size - size;
    int left = (int)lrint(anchor == 1 ? x - width / 2 : anchor == 2 ? x - width : x);
    int top = (int)lrint(y) - FONT_H * size;
    int i = -1;
    for (size_t at = 0; at < len;) {
        size_t k = text_utf8_len(s + at, len - at);
        const unsigned char *u = (const unsigned char *)s + at;
        /* The code point: k bytes, 6 bits from each after the first. */
        uint32_t cp = k == 0 ? 0xFFFD : k == 1 ? u[0] : u[0] & (0x7Fu >> k);
        for (size_t j = 1; j < k; j++)
            cp = cp << 6 | (u[j] & 0x3Fu);
        at += k ? k : 1;
        i++;
        const unsigned char *g = font_glyph(cp);
        int gx = left + i * FONT_ADV * size;
        for (int row = 0; row < FONT_ROWS; row++)
            for (int col = 0; col < FONT_W; col++) {
                if (!(g[row] & (0x10 >> col)))
                    continue;
                for (int dy = 0; dy < size; dy++)
                    for (int dx = 0; dx < size; dx++)
                        blend(r, gx + col * size + dx, top + row * size + dy, rgb, 1);
            }
    }
}

static void png_dot(void *c, double x, double y, double rad, uint32_t rgb)
{
    struct raster *r = c;
    for (int yy = (int)floor(y - rad - 1); yy <= (int)ceil(y + rad + 1); yy++)
        for (int xx = (int)floor(x - rad - 1); xx <= (int)ceil(x + rad + 1); xx++) {
            double d = hypot(xx + 0.5 - x, yy + 0.5 - y);
            blend(r, xx, yy, rgb, rad + 0.5 - d);
        }
}

static void png_group(void *c, const char *title)
{
    (void)c;
    (void)title; /* no hover text in a bitmap */
}

int plot_png(const struct plot *p, const char *title, const char *sub, int w, int h,
             struct gw_buf *out)
{
    static const struct canvas_ops ops = {png_line, png_rect, png_text, png_dot, png_group};
    struct raster r = {.w = w, .h = h, .x0 = w, .y0 = h, .x1 = -1, .y1 = -1};
    r.rgb = malloc((size_t)w * h * 3);
    r.mask = calloc((size_t)w * h, 1);
    int rc = -ENOMEM;
    if (r.rgb && r.mask) {
        memset(r.rgb, 0xff, (size_t)w * h * 3);
        rc = plot_draw(p, title, sub, w, h, &ops, &r);
        if (!rc)
            rc = png_encode_rgb(r.rgb, w, h, out);
    }
    free(r.rgb);
    free(r.mask);
    return rc;
}
