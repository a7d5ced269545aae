/* plot: what every renderer shares besides the data: the palette, text
 * made safe, axis ticks, and the labels' text. */
#include "gpu_watch/plot_axis.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "gpu_watch/text.h"

uint32_t plot_color(int i)
{
    /* Okabe & Ito's palette without its yellow (too pale on white), then a
     * grey: told apart with any common colour-vision deficiency. */
    static const uint32_t pal[] = {0x0072B2, 0xE69F00, 0x009E73, 0xD55E00,
                                   0xCC79A7, 0x56B4E9, 0x000000, 0x888888};
    int n = (int)(sizeof pal / sizeof pal[0]);
    return pal[((i % n) + n) % n];
}

uint32_t plot_series_color(const struct plot_series *s)
{
    return plot_color(s->style);
}

int plot_series_dash(const struct plot_series *s)
{
    return s->style / PLOT_NCOLORS % PLOT_NDASH;
}

/* The peak of a series for ordering: none sorts last. */
struct peak_idx {
    double peak;
    int i;
};

static int cmp_peak_desc(const void *a, const void *b)
{
    const struct peak_idx *x = a, *y = b;
    if (x->peak != y->peak)
        return x->peak < y->peak ? 1 : -1;
    return (x->i > y->i) - (x->i < y->i); /* stable: first seen first */
}

int plot_order_by_peak(const struct plot_panel *pn, int *order)
{
    struct peak_idx *v = malloc(sizeof *v * (size_t)(pn->ns ? pn->ns : 1));
    if (!v)
        return -ENOMEM;
    for (int i = 0; i < pn->ns; i++)
        /* "other processes" (a sum of many) last: the legend lists the
         * processes by their own peaks first. */
        v[i] = (struct peak_idx){
            isnan(pn->s[i].peak) || pn->s[i].key == PLOT_KEY_OTHER ? -INFINITY : pn->s[i].peak, i};
    qsort(v, (size_t)pn->ns, sizeof *v, cmp_peak_desc);
    for (int i = 0; i < pn->ns; i++)
        order[i] = v[i].i;
    free(v);
    return 0;
}

void plot_nice_ticks(double hi, int target, double *step, double *top)
{
    if (!(hi > 0)) {
        *step = 0.2;
        *top = 1;
        return;
    }
    if (target < 1)
        target = 1;
    double raw = hi / target;
    double mag = pow(10, floor(log10(raw)));
    double norm = raw / mag;
    double m = norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 2.5 ? 2.5 : norm <= 5 ? 5 : 10;
    *step = m * mag;
    *top = ceil(hi / *step - 1e-9) * *step;
    if (*top < hi)
        *top += *step;
}

static long local_gmtoff(double t)
{
    time_t tt = (time_t)floor(t);
    struct tm tm;
    if (!localtime_r(&tt, &tm))
        return 0;
    return tm.tm_gmtoff;
}

static void local_ymd(double t, int *y, int *m, int *d)
{
    time_t tt = (time_t)floor(t);
    struct tm tm = {0};
    localtime_r(&tt, &tm);
    *y = tm.tm_year;
    *m = tm.tm_mon;
    *d = tm.tm_mday;
}

int plot_time_ticks(double t0, double t1, int target, double *ticks, int max, const char **fmt)
{
    static const double steps[] = {1,     2,     5,      10,     15,      30,      60,     120,
                                   300,   600,   900,    1800,   3600,    7200,    10800,  21600,
                                   43200, 86400, 172800, 604800, 1209600, 2419200, 7257600};
    int ns = (int)(sizeof steps / sizeof steps[0]);
    if (max < 1)
        return 0;
    if (!(t1 > t0)) {
        ticks[0] = t0;
        *fmt = "%H:%M:%S";
        return 1;
    }
    if (target < 2)
        target = 2;
    double step = steps[ns - 1];
    for (int i = 0; i < ns; i++)
        if ((t1 - t0) / steps[i] <= target) {
            step = steps[i];
            break;
        }
    int y0, m0, d0, y1, m1, d1;
    local_ymd(t0, &y0, &m0, &d0);
    local_ymd(t1, &y1, &m1, &d1);
    bool days = y0 != y1 || m0 != m1 || d0 != d1;
    if (step >= 86400)
        *fmt = "%Y-%m-%d";
    else if (days)
        *fmt = "%m-%d %H:%M";
    else if (step < 60)
        *fmt = "%H:%M:%S";
    else
        *fmt = "%H:%M";
    /* Align on the local clock at t0 (whole steps since local midnight). */
    double off = (double)local_gmtoff(t0);
    double first = ceil((t0 + off) / step) * step - off;
    int n = 0;
    for (double t = first; t <= t1 + 1e-6 && n < max; t += step) {
        /* Across a DST change, keep ticks on the local clock. */
        double o2 = (double)local_gmtoff(t);
        double tt = t + (off - o2);
        if (step >= 3600 && tt >= t0 - 1e-6 && tt <= t1 + 1e-6)
            ticks[n++] = tt;
        else if (step < 3600)
            ticks[n++] = t;
    }
    return n;
}

void plot_fmt_time(double t, const char *fmt, char *out, size_t outsz)
{
    time_t tt = (time_t)floor(t + 1e-6);
    struct tm tm;
    if (!localtime_r(&tt, &tm) || strftime(out, outsz, fmt, &tm) == 0)
        snprintf(out, outsz, "?");
}

void plot_zone_label(const struct plot *p, char *out, size_t outsz)
{
    char off[32];
    if (p->tz == LOG_TZ_UTC) {
        snprintf(out, outsz, "time (UTC)");
        return;
    }
    if (p->tz == LOG_TZ_OFFSET) {
        text_utc_offset(p->tz_off, off, sizeof off);
        snprintf(out, outsz, "time (%s)", off);
        return;
    }
    time_t t0 = (time_t)floor(isfinite(p->tmin) ? p->tmin : 0);
    struct tm tm;
    if (!localtime_r(&t0, &tm) || !tm.tm_zone) {
        snprintf(out, outsz, "local time");
        return;
    }
    text_utc_offset(tm.tm_gmtoff, off, sizeof off);
    snprintf(out, outsz, "local time (here: %s, %s)", tm.tm_zone, off);
}

void plot_fmt_value(double v, const char *unit, char *out, size_t outsz)
{
    const char *sep = strcmp(unit, "%") == 0 ? "" : " ";
    if (fabs(v) >= 1e7)
        snprintf(out, outsz, "%.3g%s%s", v, sep, unit);
    else if (fabs(v) >= 100 || v == floor(v))
        snprintf(out, outsz, "%.0f%s%s", v, sep, unit);
    else
        snprintf(out, outsz, "%.1f%s%s", v, sep, unit);
}
