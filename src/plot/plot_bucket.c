/* plot: per-series time buckets: values and holes in, min/max/first/last
 * kept per bucket, widening as the span grows; columns for renderers and
 * where lines break. */
#include "gpu_watch/array.h"
#include "gpu_watch/plot_bucket.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void bucket_add(struct plot_bucket *b, double t, double v)
{
    float f = (float)v;
    if (b->n == 0) {
        b->min = b->max = b->first = b->last = f;
        b->t_first = b->t_last = t;
        b->n = 1;
        return;
    }
    if (f < b->min)
        b->min = f;
    if (f > b->max)
        b->max = f;
    if (t < b->t_first) {
        b->t_first = t;
        b->first = f;
    }
    if (t >= b->t_last) {
        b->t_last = t;
        b->last = f;
    }
    if (b->n < UINT32_MAX)
        b->n++;
}

static void hole_add(struct plot_bucket *b, double first, double last, uint32_t n)
{
    if (b->nh == 0 || first < b->h_first)
        b->h_first = first;
    if (b->nh == 0 || last > b->h_last)
        b->h_last = last;
    b->nh = b->nh > UINT32_MAX - n ? UINT32_MAX : b->nh + n;
}

static void bucket_merge(struct plot_bucket *d, const struct plot_bucket *a)
{
    if (a->nh)
        hole_add(d, a->h_first, a->h_last, a->nh);
    if (a->n == 0)
        return;
    if (d->n == 0) {
        uint32_t nh = d->nh;
        double hf = d->h_first, hl = d->h_last;
        *d = *a;
        d->nh = nh;
        d->h_first = hf;
        d->h_last = hl;
        return;
    }
    if (a->min < d->min)
        d->min = a->min;
    if (a->max > d->max)
        d->max = a->max;
    if (a->t_first < d->t_first) {
        d->t_first = a->t_first;
        d->first = a->first;
    }
    if (a->t_last >= d->t_last) {
        d->t_last = a->t_last;
        d->last = a->last;
    }
    d->n = d->n > UINT32_MAX - a->n ? UINT32_MAX : d->n + a->n;
}

/* Halve the resolution: bucket j of width 2w holds old buckets 2j, 2j+1. */
static void double_width(struct plot *p)
{
    for (int k = 0; k < PANEL_NKINDS; k++) {
        struct plot_panel *pn = &p->panel[k];
        for (int si = 0; si < pn->ns; si++) {
            struct plot_series *s = &pn->s[si];
            if (s->nb == 0)
                continue;
            int nlo = s->lo >> 1;
            int nhi = (s->lo + s->nb - 1) >> 1;
            /* In place: slot j <= i, and slot j's old bucket was read at
             * step j, before anything was written there. */
            for (int i = 0; i < s->nb; i++) {
                struct plot_bucket tmp = s->b[i];
                int j = ((s->lo + i) >> 1) - nlo;
                if (i == 0 || ((s->lo + i) & 1) == 0)
                    memset(&s->b[j], 0, sizeof s->b[j]);
                bucket_merge(&s->b[j], &tmp);
            }
            s->lo = nlo;
            s->nb = nhi - nlo + 1;
            /* Give back what halving freed: a log of thousands of short-lived
             * PIDs would otherwise keep each one's early, finer buckets. */
            if (s->cap > 16 && s->cap >= 4 * (size_t)s->nb) {
                size_t cap = s->nb * 2 > 8 ? (size_t)s->nb * 2 : 8;
                struct plot_bucket *nb = realloc(s->b, sizeof *nb * (size_t)cap);
                if (nb) {
                    s->b = nb;
                    s->cap = cap;
                }
            }
        }
    }
    p->w *= 2;
    p->hi = (p->hi + 1) >> 1;
}

/* Move the origin m buckets earlier. */
static void shift_origin(struct plot *p, int m)
{
    for (int k = 0; k < PANEL_NKINDS; k++)
        for (int si = 0; si < p->panel[k].ns; si++)
            p->panel[k].s[si].lo += m;
    p->t0 -= m * p->w;
    p->hi += m;
}

/* The bucket of time t in series s, made room for (the buckets widen or
 * the origin moves as needed); NULL when out of memory. */
static struct plot_bucket *bucket_at(struct plot *p, struct plot_series *s, double t)
{
    if (!p->started) {
        p->t0 = floor(t);
        p->w = PLOT_MIN_WIDTH;
        p->hi = 0;
        p->started = true;
    }
    double k = floor((t - p->t0) / p->w);
    while (k < 0) {
        /* Earlier than anything so far (logs appended out of order). */
        double need = -k;
        if (need + p->hi > PLOT_MAX_BUCKETS) {
            double_width(p);
        } else {
            shift_origin(p, (int)need);
        }
        k = floor((t - p->t0) / p->w);
    }
    while (k >= PLOT_MAX_BUCKETS) {
        double_width(p);
        k = floor((t - p->t0) / p->w);
    }
    int ki = (int)k;
    if (s->nb == 0) {
        s->lo = ki;
    } else if (ki < s->lo || ki >= s->lo + s->nb) {
        int lo = ki < s->lo ? ki : s->lo;
        int hi = ki >= s->lo + s->nb ? ki + 1 : s->lo + s->nb;
        int need = hi - lo;
        if (array_reserve(&s->b, &s->cap, (size_t)need, sizeof *s->b))
            return NULL;
        if (lo < s->lo) {
            memmove(s->b + (s->lo - lo), s->b, sizeof *s->b * (size_t)s->nb);
            memset(s->b, 0, sizeof *s->b * (size_t)(s->lo - lo));
        }
        int old_end = s->lo + s->nb;
        if (hi > old_end)
            memset(s->b + (old_end - lo), 0, sizeof *s->b * (size_t)(hi - old_end));
        s->lo = lo;
        s->nb = need;
    }
    if (s->nb == 0) {
        if (array_reserve(&s->b, &s->cap, 1, sizeof *s->b))
            return NULL;
        memset(s->b, 0, sizeof *s->b);
        s->nb = 1;
    }
    if (ki + 1 > p->hi)
        p->hi = ki + 1;
    return &s->b[ki - s->lo];
}

int plot_series_hole(struct plot *p, struct plot_series *s, double t)
{
    if (!isfinite(t))
        return 0;
    struct plot_bucket *b = bucket_at(p, s, t);
    if (!b)
        return -ENOMEM;
    hole_add(b, t, t, 1);
    return 0;
}

int plot_series_add(struct plot *p, struct plot_series *s, double t, double v)
{
    if (!isfinite(t) || isnan(v))
        return 0;
    struct plot_bucket *b = bucket_at(p, s, t);
    if (!b)
        return -ENOMEM;
    bucket_add(b, t, v);
    if (isnan(s->peak) || v > s->peak) {
        s->peak = v;
        s->peak_t = t;
    }
    s->count++;
    return 0;
}

void plot_columns(const struct plot *p, const struct plot_series *s, double tmin, double tmax,
                  int ncols, struct plot_bucket *out)
{
    memset(out, 0, sizeof *out * (size_t)ncols);
    double span = tmax - tmin;
    (void)p;
    for (int i = 0; i < s->nb; i++) {
        const struct plot_bucket *b = &s->b[i];
        if (b->n == 0 && b->nh == 0)
            continue;
        double mid = b->n ? (b->t_first + b->t_last) / 2 : (b->h_first + b->h_last) / 2;
        int c = span > 0 ? (int)floor((mid - tmin) / span * ncols) : ncols / 2;
        if (c < 0)
            c = 0;
        if (c >= ncols)
            c = ncols - 1;
        bucket_merge(&out[c], b);
    }
}

bool plot_is_gap(const struct plot *p, const struct plot_bucket *prev,
                 const struct plot_bucket *next)
{
    if ((prev->nh && prev->h_last > prev->t_last) || (next->nh && next->h_first < next->t_first))
        return true;
    if (p->median_dt <= 0)
        return false;
    return next->t_first - prev->t_last > 3 * p->median_dt;
}
