/* plot: the chart as terminal text, lines drawn with Unicode braille
 * (2 x 4 dots per character cell), for use over SSH. */
#include "gpu_watch/plot_axis.h"
#include "gpu_watch/plot_bucket.h"
#include "gpu_watch/plot_term.h"
#include "gpu_watch/text.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROWS    8 /* character rows per panel */
#define YLAB_W  9 /* y tick labels and the axis line */
#define MAX_LEG 6 /* legend entries shown per panel */

struct grid {
    int cw, ch;       /* cells */
    uint8_t *dots;    /* cw * ch braille bit masks */
    signed char *col; /* cw * ch series index of the cell's colour, -1 none */
};

/* Braille dot bits (U+2800 block) by position in the cell. */
static const uint8_t dot_bit[4][2] = {{0x01, 0x08}, {0x02, 0x10}, {0x04, 0x20}, {0x40, 0x80}};

static void set_dot(struct grid *g, int x, int y, int si)
{
    if (x < 0 || y < 0 || x >= g->cw * 2 || y >= g->ch * 4)
        return;
    size_t c = (size_t)(y / 4) * g->cw + x / 2;
    g->dots[c] |= dot_bit[y % 4][x % 2];
    g->col[c] = (signed char)(si > 126 ? 126 : si);
}

static void dot_line(struct grid *g, int x0, int y0, int x1, int y1, int si)
{
    int dx = abs(x1 - x0), dy = -abs(y1 - y0);
    int sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
    int err = dx + dy;
    for (;;) {
        set_dot(g, x0, y0, si);
        if (x0 == x1 && y0 == y1)
            break;
        int e2 = 2 * err;
        if (e2 >= dy) {
            err += dy;
            x0 += sx;
        }
        if (e2 <= dx) {
            err += dx;
            y0 += sy;
        }
    }
}

static int dot_y(double v, double ymax, int h4)
{
    int y = (int)lrint((h4 - 1) - v / ymax * (h4 - 1));
    return y < 0 ? 0 : y >= h4 ? h4 - 1 : y;
}

static void put_color(struct gw_buf *b, bool color, int si)
{
    if (!color)
        return;
    if (si < 0) {
        buf_puts(b, "\x1b[0m");
        return;
    }
    uint32_t c = plot_color(si);
    if (c == 0)
        c = 0x808080; /* black is invisible on dark terminals */
    buf_printf(b, "\x1b[38;2;%u;%u;%um", c >> 16, (c >> 8) & 0xff, c & 0xff);
}

static void put_braille(struct gw_buf *b, uint8_t bits)
{
    if (!bits) {
        buf_putc(b, ' ');
        return;
    }
    char u[3] = {(char)0xE2, (char)(0xA0 | (bits >> 6)), (char)(0x80 | (bits & 0x3f))};
    buf_append(b, u, 3);
}

/* The legend: the largest series first, with their peaks. 0 or -ENOMEM. */
static int legend(const struct plot *p, const struct plot_panel *pn, bool color, struct gw_buf *b)
{
    int *idx = malloc(sizeof *idx * (size_t)pn->ns);
    if (!idx || plot_order_by_peak(pn, idx)) {
        free(idx);
        return -ENOMEM;
    }
    for (int k = 0; k < pn->ns && k < MAX_LEG; k++) {
        const struct plot_series *s = &pn->s[idx[k]];
        char pv[32], pt[32];
        plot_fmt_value(s->peak, pn->unit, pv, sizeof pv);
        /* The date too when the log spans days. */
        char d0[16], d1[16];
        plot_fmt_time(p->tmin, "%Y-%m-%d", d0, sizeof d0);
        plot_fmt_time(p->tmax, "%Y-%m-%d", d1, sizeof d1);
        plot_fmt_time(s->peak_t, strcmp(d0, d1) ? "%Y-%m-%d %H:%M:%S" : "%H:%M:%S", pt, sizeof pt);
        put_color(b, color, s->style % PLOT_NCOLORS);
        buf_puts(b, "  \xe2\x96\xa0 "); /* U+25A0 black square */
        put_color(b, color, -1);
        buf_printf(b, "%.*s  peak %s at %s\n",
                   (int)text_utf8_head(s->name, strlen(s->name), 40, SIZE_MAX), s->name, pv, pt);
    }
    if (pn->ns > MAX_LEG)
        buf_printf(b, "  ... and %d more\n", pn->ns - MAX_LEG);
    free(idx);
    return 0;
}

/* Every series of pn as dots in g, on an axis from 0 to top. 0 or -ENOMEM. */
static int draw_series(const struct plot *p, const struct plot_panel *pn, struct grid *g,
                       double top)
{
    int w2 = g->cw * 2, h4 = g->ch * 4;
    struct plot_bucket *cb = malloc(sizeof *cb * (size_t)w2);
    if (!cb)
        return -ENOMEM;
    for (int si = 0; si < pn->ns; si++) {
        plot_columns(p, &pn->s[si], p->tmin, p->tmax, w2, cb);
        int prev = -1;
        for (int x = 0; x < w2; x++) {
            if (!cb[x].n) {
                if (cb[x].nh)
                    prev = -1; /* an unknown value: the line breaks */
                continue;
            }
            int ya = dot_y(cb[x].min, top, h4), yb = dot_y(cb[x].max, top, h4);
            dot_line(g, x, ya, x, yb, pn->s[si].style % PLOT_NCOLORS);
            if (prev >= 0 && !plot_is_gap(p, &cb[prev], &cb[x]))
                dot_line(g, prev, dot_y(cb[prev].last, top, h4), x, dot_y(cb[x].first, top, h4),
                         pn->s[si].style % PLOT_NCOLORS);
            prev = x;
        }
    }
    free(cb);
    return 0;
}

/* The grid's rows, with the value axis at the left. */
static void put_grid(const struct grid *g, double top, bool color, struct gw_buf *b)
{
    for (int r = 0; r < g->ch; r++) {
        char lab[32] = "";
        /* Labels on the top row (the axis top), the middle and the bottom (0). */
        if (r == 0)
            plot_fmt_value(top, "", lab, sizeof lab);
        else if (r == g->ch / 2)
            plot_fmt_value(top / 2, "", lab, sizeof lab);
        else if (r == g->ch - 1)
            plot_fmt_value(0, "", lab, sizeof lab);
        buf_printf(b, "%*s \xe2\x94\x82", YLAB_W - 1, lab); /* U+2502 */
        int cur = -1;
        for (int x = 0; x < g->cw; x++) {
            size_t c = (size_t)r * g->cw + x;
            int want = g->dots[c] ? g->col[c] : -1;
            if (want != cur && g->dots[c]) {
                put_color(b, color, want);
                cur = want;
            }
            put_braille(b, g->dots[c]);
        }
        if (cur >= 0)
            put_color(b, color, -1);
        buf_putc(b, '\n');
    }
}

/* The time axis: a rule with tick marks, with labels when last (the
 * bottom panel). cw: the grid's width in characters. 0 or -ENOMEM. */
static int time_axis(const struct plot *p, int cw, bool last, struct gw_buf *b)
{
    double ticks[32];
    const char *fmt;
    int nt = plot_time_ticks(p->tmin, p->tmax, cw / 14, ticks, 32, &fmt);
    char *rule = malloc((size_t)cw + 1);
    char *labels = malloc((size_t)cw + 32);
    if (!rule || !labels) {
        free(rule);
        free(labels);
        return -ENOMEM;
    }
    memset(rule, '-', (size_t)cw);
    memset(labels, ' ', (size_t)cw + 31);
    labels[cw + 31] = '\0';
    int used_to = -2; /* one past the last label's end */
    for (int i = 0; i < nt; i++) {
        double f = p->tmax > p->tmin ? (ticks[i] - p->tmin) / (p->tmax - p->tmin) : 0.5;
        int x = (int)floor(f * cw);
        if (x >= cw)
            x = cw - 1;
        if (x < 0)
            x = 0;
        rule[x] = '+';
        char lab[32];
        plot_fmt_time(ticks[i], fmt, lab, sizeof lab);
        int len = (int)strlen(lab);
        int start = x - len / 2;
        if (start < 0)
            start = 0;
        if (start + len > cw + 8)
            start = cw + 8 - len;
        if (start >= used_to + 1) {
            memcpy(labels + start, lab, (size_t)len);
            used_to = start + len;
        }
    }
    int end = cw + 31;
    while (end > 0 && labels[end - 1] == ' ')
        end--;
    labels[end] = '\0';
    buf_printf(b, "%*s \xe2\x94\x94", YLAB_W - 1, ""); /* U+2514 */
    for (int x = 0; x < cw; x++)
        buf_puts(b, rule[x] == '+' ? "\xe2\x94\xac" : "\xe2\x94\x80"); /* U+252C U+2500 */
    buf_putc(b, '\n');
    if (last)
        buf_printf(b, "%*s%s\n", YLAB_W + 1, "", labels);
    buf_putc(b, '\n');
    free(rule);
    free(labels);
    return 0;
}

static int panel(const struct plot *p, const struct plot_panel *pn, int cols, bool color, bool last,
                 struct gw_buf *b)
{
    buf_printf(b, "%s\n", pn->label);
    if (pn->missing || pn->ns == 0) {
        buf_printf(b, "  (%s)\n\n", pn->missing ? pn->missing : "no values in this log");
        return buf_error(b);
    }
    if (legend(p, pn, color, b) < 0)
        return -ENOMEM;
    struct grid g = {.cw = cols - YLAB_W - 1, .ch = ROWS};
    if (g.cw < 10)
        g.cw = 10;
    g.dots = calloc((size_t)g.cw * g.ch, 1);
    g.col = malloc((size_t)g.cw * g.ch);
    if (!g.dots || !g.col) {
        free(g.dots);
        free(g.col);
        return -ENOMEM;
    }
    memset(g.col, -1, (size_t)g.cw * g.ch);
    double hi = 0, step, top;
    for (int i = 0; i < pn->ns; i++)
        if (!isnan(pn->s[i].peak) && pn->s[i].peak > hi)
            hi = pn->s[i].peak;
    plot_nice_ticks(hi, 4, &step, &top);
    int rc = draw_series(p, pn, &g, top);
    if (rc == 0)
        put_grid(&g, top, color, b);
    free(g.dots);
    free(g.col);
    if (rc == 0)
        rc = time_axis(p, g.cw, last, b);
    return rc < 0 ? rc : buf_error(b);
}

int plot_term(const struct plot *p, const char *title, const char *sub, int cols, bool color,
              struct gw_buf *out)
{
    if (cols < 40)
        cols = 40;
    if (cols > 1000)
        cols = 1000;
    buf_printf(out, "%s%s%s\n%s\n\n", color ? "\x1b[1m" : "", title, color ? "\x1b[0m" : "", sub);
    for (int i = 0; i < p->npanels; i++)
        if (panel(p, &p->panel[p->order[i]], cols, color, i == p->npanels - 1, out))
            return -ENOMEM;
    char zone[96];
    plot_zone_label(p, zone, sizeof zone);
    buf_printf(out, "%*s%s\n", YLAB_W + 1, "", zone);
    return buf_error(out);
}
