/* plot: the chart's layout (title, panels, axes, ticks, series, peaks,
 * legends), drawn through struct canvas_ops. */
#include "gpu_watch/plot_draw.h"
#include "gpu_watch/plot_axis.h"
#include "gpu_watch/plot_bucket.h"
#include "gpu_watch/text.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define C_TEXT  0x222222u
#define C_MUTED 0x666666u
#define C_GRID  0xE4E4E4u
#define C_FRAME 0x999999u
#define C_BG    0xFFFFFFu

/* Layout, pixels. */
#define MARGIN_L        76 /* y tick labels */
#define MARGIN_R        12
#define TITLE_H         58 /* title and subtitle */
#define BOTTOM_H        44 /* time labels and the axis label */
#define HEAD_H          18 /* panel heading above each plot area */
#define PANEL_GAP       14
#define LEGEND_MIN      150
#define LEGEND_MAX      260
#define MAX_PEAK_LABELS 6

struct area {
    double x, y, w, h; /* the plot area */
    double ymax;
};

static double tx(double t, double tmin, double tmax, const struct area *a)
{
    if (!(tmax > tmin))
        return a->x + a->w / 2;
    return a->x + (t - tmin) / (tmax - tmin) * a->w;
}

static double ty(double v, const struct area *a)
{
    return a->y + a->h - v / a->ymax * a->h;
}

/* Cut s to at most n characters, ending in ".." when cut. */
static void fit(const char *s, int n, char *out, size_t outsz)
{
    snprintf(out, outsz, "%s", s);
    size_t len = strlen(out);
    if (n >= 3 && text_utf8_cols(out, len) > (size_t)n) {
        size_t k = text_utf8_head(out, len, (size_t)n - 2, outsz - 3);
        snprintf(out + k, outsz - k, "..");
    }
}

static int draw_series(const struct plot *p, const struct plot_panel *pn, int si,
                       const struct area *a, const struct canvas_ops *ops, void *c,
                       struct plot_bucket *cols, double *xy)
{
    const struct plot_series *s = &pn->s[si];
    int ncols = (int)a->w;
    uint32_t rgb = plot_series_color(s);
    int dash = plot_series_dash(s);
    plot_columns(p, s, p->tmin, p->tmax, ncols, cols);
    char tip[160], pv[32], pt[32];
    plot_fmt_value(s->peak, pn->unit, pv, sizeof pv);
    plot_fmt_time(s->peak_t, "%Y-%m-%d %H:%M:%S", pt, sizeof pt);
    snprintf(tip, sizeof tip, "%s: peak %s at %s", s->name, pv, pt);
    ops->group(c, tip);
    int n = 0, prev = -1;
    for (int i = 0; i <= ncols; i++) {
        bool have = i < ncols && cols[i].n > 0;
        bool hole_only = i < ncols && !have && cols[i].nh > 0;
        bool brk = hole_only || (have && prev >= 0 && plot_is_gap(p, &cols[prev], &cols[i]));
        if ((!have && i == ncols) || brk) {
            if (n == 1)
                ops->dot(c, xy[0], xy[1], 1.6, rgb);
            else if (n > 1)
                ops->line(c, xy, n, rgb, 1.5, dash);
            n = 0;
        }
        if (hole_only)
            prev = -1;
        if (!have)
            continue;
        const struct plot_bucket *b = &cols[i];
        double x = a->x + i + 0.5;
        double pts[4] = {b->first, b->min, b->max, b->last};
        if (b->first > b->last) { /* falling: visit max before min */
            pts[1] = b->max;
            pts[2] = b->min;
        }
        for (int k = 0; k < 4; k++) {
            double y = ty(pts[k], a);
            if (n > 0 && xy[2 * n - 2] == x && xy[2 * n - 1] == y)
                continue;
            xy[2 * n] = x;
            xy[2 * n + 1] = y;
            n++;
        }
        prev = i;
    }
    ops->group(c, NULL);
    return 0;
}

/* Boxes of the peak labels placed so far in a panel, to keep them apart. */
struct boxes {
    double x[MAX_PEAK_LABELS], y[MAX_PEAK_LABELS], w[MAX_PEAK_LABELS], h[MAX_PEAK_LABELS];
    int n;
};

static bool box_free(const struct boxes *bx, const struct area *a, double x, double y, double w,
                     double h)
{
    if (x < a->x + 1 || x + w > a->x + a->w - 1 || y < a->y + 1 || y + h > a->y + a->h - 1)
        return false;
    for (int i = 0; i < bx->n; i++)
        if (x < bx->x[i] + bx->w[i] && bx->x[i] < x + w && y < bx->y[i] + bx->h[i] &&
            bx->y[i] < y + h)
            return false;
    return true;
}

static void draw_peak(const struct plot *p, const struct plot_panel *pn, int si,
                      const struct area *a, struct boxes *bx, const struct canvas_ops *ops, void *c)
{
    const struct plot_series *s = &pn->s[si];
    if (isnan(s->peak))
        return;
    uint32_t rgb = plot_series_color(s);
    double x = tx(s->peak_t, p->tmin, p->tmax, a);
    /* The column's centre, where the line is drawn. */
    x = floor(x - a->x) + a->x + 0.5;
    if (x > a->x + a->w)
        x = a->x + a->w - 0.5;
    double y = ty(s->peak, a);
    ops->dot(c, x, y, 3.5, rgb);
    ops->dot(c, x, y, 1.8, C_BG);
    if (!bx || bx->n >= MAX_PEAK_LABELS)
        return;
    char pv[32], txt[48];
    plot_fmt_value(s->peak, pn->unit, pv, sizeof pv);
    snprintf(txt, sizeof txt, "peak %s", pv);
    double tw = (double)strlen(txt) * CANVAS_CHAR_W + 4, th = 12;
    /* Try beside the marker, above then below, right then left, then
     * stepping away; a label that fits nowhere is left to the legend. */
    for (int k = 0; k < 12; k++) {
        int dir = k % 4;
        /* intended: one row of label positions per 4 tries */
        // NOLINTNEXTLINE(bugprone-integer-division)
        double dy = (double)(k / 4) * th;
        double bxx = dir % 2 == 0 ? x + 5 : x - 5 - tw;
        double byy = dir < 2 ? y - 5 - th - dy : y + 5 + dy;
        if (!box_free(bx, a, bxx, byy, tw, th))
            continue;
        /* A white box behind the label keeps it readable over lines. */
        ops->rect(c, bxx, byy, tw, th, C_BG, CANVAS_NONE);
        ops->text(c, bxx + 2, byy + 9.5, txt, rgb, 1, 0);
        bx->x[bx->n] = bxx;
        bx->y[bx->n] = byy;
        bx->w[bx->n] = tw;
        bx->h[bx->n] = th;
        bx->n++;
        return;
    }
}

/* The driver's peak of a series (--peaks logs) where the samples missed it:
 * a dashed line in the series' colour across the panel, labelled at the
 * right end. */
static void draw_driver_peak(const struct plot_panel *pn, int si, const struct area *a,
                             const struct canvas_ops *ops, void *c)
{
    const struct plot_series *s = &pn->s[si];
    if (isnan(s->driver_peak) || (!isnan(s->peak) && s->driver_peak <= s->peak))
        return;
    uint32_t rgb = plot_series_color(s);
    double y = floor(ty(s->driver_peak, a)) + 0.5;
    double g[4] = {a->x, y, a->x + a->w, y};
    ops->line(c, g, 2, rgb, 1, PLOT_DASH_DASHED);
    char pv[32], txt[64];
    plot_fmt_value(s->driver_peak, pn->unit, pv, sizeof pv);
    snprintf(txt, sizeof txt, "driver peak %s", pv);
    ops->text(c, a->x + a->w - 4, y - 3, txt, rgb, 1, 2);
}

/* Legend entries: a swatch, the name on up to two lines, the peak. */
static void draw_legend(const struct plot_panel *pn, const int *order, double x, double y, double w,
                        double h, const struct canvas_ops *ops, void *c)
{
    int chars = (int)(w - 18) / CANVAS_CHAR_W;
    if (chars < 4)
        chars = 4;
    double ly = y + 10;
    for (int k = 0; k < pn->ns; k++) {
        const struct plot_series *s = &pn->s[order[k]];
        size_t len = strlen(s->name);
        int lines = text_utf8_cols(s->name, len) > (size_t)chars ? 2 : 1;
        double need = 11.0 * (lines + 1) + 4;
        /* Keep a line for "+N more" unless this is the last entry. */
        double reserve = k + 1 < pn->ns ? 14 : 0;
        if (ly + need - 10 + reserve > y + h) {
            char more[32];
            snprintf(more, sizeof more, "+%d more", pn->ns - k);
            ops->text(c, x, ly, more, C_MUTED, 1, 0);
            break;
        }
        char l1[96], l2[96], pv[32], pk[48];
        if (lines == 1) {
            snprintf(l1, sizeof l1, "%s", s->name);
        } else {
            /* Break at the last space that fits, else at the width. */
            size_t fits = text_utf8_head(s->name, len, (size_t)chars, sizeof l1 - 1);
            size_t cut = fits;
            for (size_t i = fits; i > fits / 2; i--)
                if (s->name[i] == ' ') {
                    cut = i;
                    break;
                }
            snprintf(l1, sizeof l1, "%.*s", (int)cut, s->name);
            fit(s->name + cut + (s->name[cut] == ' '), chars, l2, sizeof l2);
        }
        /* The swatch: a stretch of the series' line, dashes and all. */
        double sw[4] = {x, ly - 3.5, x + 12, ly - 3.5};
        ops->line(c, sw, 2, plot_series_color(s), 2.5, plot_series_dash(s));
        ops->text(c, x + 16, ly, l1, C_TEXT, 1, 0);
        if (lines == 2)
            ops->text(c, x + 16, ly + 11, l2, C_TEXT, 1, 0);
        plot_fmt_value(s->peak, pn->unit, pv, sizeof pv);
        snprintf(pk, sizeof pk, "peak %s", pv);
        ops->text(c, x + 16, ly + 11 * lines, pk, C_MUTED, 1, 0);
        ly += need;
    }
}

/* What every panel shares: sizes, the time ticks and scratch buffers. */
struct frame {
    double pw, ph;            /* a panel's plot area, pixels */
    double legend_w;          /* the legend's width, pixels */
    double ticks[64];         /* time ticks, epoch seconds */
    int nt;                   /* how many */
    const char *tfmt;         /* their labels' strftime format */
    struct plot_bucket *cols; /* pw pixel columns */
    double *xy;               /* a polyline's points */
    int *order;               /* a panel's series, largest peak first */
};

/* The value axis of pn for a plot area ph pixels high: its step and top. */
static void value_ticks(const struct plot_panel *pn, double ph, double *step, double *top)
{
    double hi = 0;
    for (int i = 0; i < pn->ns; i++)
        if (!isnan(pn->s[i].peak) && pn->s[i].peak > hi)
            hi = pn->s[i].peak;
    for (int i = 0; i < pn->ns; i++) /* the driver's peaks must fit too */
        if (!isnan(pn->s[i].driver_peak) && pn->s[i].driver_peak > hi)
            hi = pn->s[i].driver_peak;
    /* Room above the highest peak for its label. */
    int yt = (int)(ph / 36) < 2 ? 2 : (int)(ph / 36);
    plot_nice_ticks(hi * 1.08, yt, step, top);
    /* A share of the GPU stops at 100 %: no axis past it. */
    if (pn->kind == PANEL_SM && hi <= 100 && *top > 100)
        plot_nice_ticks(100, yt, step, top);
}

/* The grid lines and tick marks of area a (lines only when the panel has
 * values: empty), the time labels under the last panel, and the frame. */
static void draw_axes(const struct plot *p, const struct area *a, double step, bool empty,
                      bool last, const struct frame *f, const struct canvas_ops *ops, void *c)
{
    double top = a->ymax;
    if (!empty) {
        for (double v = 0; v <= top + step / 2; v += step) {
            double yy = floor(ty(v, a)) + 0.5;
            double g[4] = {a->x, yy, a->x + a->w, yy};
            ops->line(c, g, 2, C_GRID, 1, PLOT_DASH_SOLID);
            char lab[32];
            plot_fmt_value(v, "", lab, sizeof lab);
            ops->text(c, a->x - 6, yy + 3.5, lab, C_MUTED, 1, 2);
        }
    }
    for (int i = 0; i < f->nt; i++) {
        double xx = floor(tx(f->ticks[i], p->tmin, p->tmax, a)) + 0.5;
        double g[4] = {xx, a->y, xx, a->y + a->h};
        if (!empty)
            ops->line(c, g, 2, C_GRID, 1, PLOT_DASH_SOLID);
        double m[4] = {xx, a->y + a->h, xx, a->y + a->h + 4};
        ops->line(c, m, 2, C_FRAME, 1, PLOT_DASH_SOLID);
        if (last) {
            char lab[32];
            plot_fmt_time(f->ticks[i], f->tfmt, lab, sizeof lab);
            ops->text(c, xx, a->y + a->h + 15, lab, C_MUTED, 1, 1);
        }
    }
    ops->rect(c, a->x - 0.5, a->y - 0.5, a->w + 1, a->h + 1, CANVAS_NONE, C_FRAME);
}

/* One panel, its heading at y. 0 or -ENOMEM. */
static int draw_panel(const struct plot *p, const struct plot_panel *pn, double y, bool last,
                      const struct frame *f, const struct canvas_ops *ops, void *c)
{
    struct area area = {.x = MARGIN_L, .y = y + HEAD_H, .w = f->pw, .h = f->ph};
    const struct area *a = &area;
    ops->text(c, a->x, y + 12, pn->label, C_TEXT, 1, 0);
    double top = 0, step = 1;
    value_ticks(pn, f->ph, &step, &top);
    area.ymax = top;
    draw_axes(p, a, step, pn->missing || pn->ns == 0, last, f, ops, c);
    if (pn->missing) {
        ops->text(c, a->x + a->w / 2, a->y + a->h / 2 + 3, pn->missing, C_MUTED, 1, 1);
    } else if (pn->ns == 0) {
        ops->text(c, a->x + a->w / 2, a->y + a->h / 2 + 3, "no values in this log", C_MUTED, 1, 1);
    } else {
        if (plot_order_by_peak(pn, f->order))
            return -ENOMEM;
        for (int i = 0; i < pn->ns; i++)
            draw_series(p, pn, i, a, ops, c, f->cols, f->xy);
        for (int i = 0; i < pn->ns; i++)
            draw_driver_peak(pn, i, a, ops, c);
        /* Peaks last, on top; the largest few get a label. */
        for (int k = pn->ns - 1; k >= MAX_PEAK_LABELS; k--)
            draw_peak(p, pn, f->order[k], a, NULL, ops, c);
        struct boxes bx = {.n = 0};
        for (int k = 0; k < pn->ns && k < MAX_PEAK_LABELS; k++)
            draw_peak(p, pn, f->order[k], a, &bx, ops, c);
        draw_legend(pn, f->order, a->x + a->w + 14, a->y, f->legend_w - 14, a->h, ops, c);
    }
    return 0;
}

int plot_draw(const struct plot *p, const char *title, const char *sub, int w, int h,
              const struct canvas_ops *ops, void *c)
{
    ops->rect(c, 0, 0, w, h, C_BG, CANVAS_NONE);
    ops->text(c, MARGIN_L, 26, title, C_TEXT, 2, 0);
    if (sub && *sub)
        ops->text(c, MARGIN_L, 44, sub, C_MUTED, 1, 0);
    struct frame f = {.legend_w = w * 0.2, .tfmt = "%H:%M"};
    if (f.legend_w < LEGEND_MIN)
        f.legend_w = LEGEND_MIN;
    if (f.legend_w > LEGEND_MAX)
        f.legend_w = LEGEND_MAX;
    f.pw = floor(w - MARGIN_L - MARGIN_R - f.legend_w);
    if (f.pw < 20)
        f.pw = 20;
    int np = p->npanels;
    double avail = h - TITLE_H - BOTTOM_H - np * (HEAD_H + PANEL_GAP);
    f.ph = floor(avail / np);
    if (f.ph < 20)
        f.ph = 20;

    /* Time ticks, shared by every panel. */
    int target = (int)(f.pw / 75);
    f.nt = plot_time_ticks(p->tmin, p->tmax, target, f.ticks, 64, &f.tfmt);

    int ncols = (int)f.pw;
    f.cols = malloc(sizeof *f.cols * (size_t)ncols);
    f.xy = malloc(sizeof *f.xy * 8 * (size_t)ncols + 16);
    int maxns = 1;
    for (int k = 0; k < PANEL_NKINDS; k++)
        if (p->panel[k].ns > maxns)
            maxns = p->panel[k].ns;
    f.order = malloc(sizeof *f.order * (size_t)maxns);
    int rc = f.cols && f.xy && f.order ? 0 : -ENOMEM;
    double y = TITLE_H;
    for (int pi = 0; pi < np && rc == 0; pi++) {
        rc = draw_panel(p, &p->panel[p->order[pi]], y, pi == np - 1, &f, ops, c);
        y += HEAD_H + f.ph + PANEL_GAP;
    }
    if (rc == 0) {
        /* The time axis label names the zone of the clock shown. */
        char zone[96];
        plot_zone_label(p, zone, sizeof zone);
        double zy = y - PANEL_GAP + 34; /* under the last panel's tick labels */
        ops->text(c, MARGIN_L + f.pw / 2, zy < h - 4 ? zy : h - 4, zone, C_TEXT, 1, 1);
    }
    free(f.cols);
    free(f.xy);
    free(f.order);
    return rc;
}
