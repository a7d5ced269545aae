/* The processes plot --per-process draws apart: see plot_rank.h. */
#include "gpu_watch/plot_rank.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_watch/hashtab.h"
#include "gpu_watch/pidtab.h"
#include "gpu_watch/plot_data.h"

void plot_rank_init(struct plot_rank *r, const struct plot_opts *o)
{
    memset(r, 0, sizeof *r);
    r->per_gpu = o->per_gpu;
}

void plot_rank_free(struct plot_rank *r)
{
    hashtab_free(r->acc);
    r->acc = NULL;
}

/* The top by peak, exactly, in PLOT_MAX_PROCS slots: a key already there
 * keeps its highest value; a new one replaces the lowest when above it.
 * A key pushed out had a value below every one kept then, and the kept
 * values only grow: it cannot belong to the top at the end. */
static void offer(struct plot_rank *r, long long key, double v)
{
    int lo = -1;
    for (int i = 0; i < r->ntop; i++) {
        if (r->top[i].key == key) {
            if (v > r->top[i].peak)
                r->top[i].peak = v;
            return;
        }
        if (lo < 0 || r->top[i].peak < r->top[lo].peak)
            lo = i;
    }
    if (r->ntop < PLOT_MAX_PROCS)
        r->top[r->ntop++] = (struct plot_rank_top){key, v};
    else if (v > r->top[lo].peak)
        r->top[lo] = (struct plot_rank_top){key, v};
}

static void flush(struct plot_rank *r)
{
    if (!r->in_sample)
        return;
    if (r->acc) {
        size_t pos = 0;
        const double *sum;
        int64_t key;
        while ((sum = hashtab_next(r->acc, &pos, &key)))
            offer(r, key, *sum);
        hashtab_clear(r->acc);
    }
    r->in_sample = false;
}

int plot_rank_row(const struct log_row *row, void *ctx)
{
    struct plot_rank *r = ctx;
    if (r->in_sample && row->ts != r->ts)
        flush(r);
    if (!r->in_sample) {
        r->in_sample = true;
        r->ts = row->ts;
    }
    if (isnan(row->gpu_mem_mib))
        return 0;
    if (!r->acc && !(r->acc = hashtab_new(HASHTAB_INT, sizeof(double), 32)))
        return r->err = -ENOMEM;
    /* Room for one more key before the lookup, as the table grew before
     * hashtab.h: the same capacity gives the same slot order in flush, so
     * the same winner among equal peaks. */
    double *sum = NULL;
    if (hashtab_reserve(r->acc, 1) < 0 ||
        !(sum = hashtab_get(r->acc, plot_process_key(r->per_gpu, row), NULL)))
        return r->err = -ENOMEM;
    *sum += row->gpu_mem_mib;
    return 0;
}

static int cmp_key(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

int plot_rank_finish(struct plot_rank *r, long long *keep)
{
    flush(r);
    for (int i = 0; i < r->ntop; i++)
        keep[i] = r->top[i].key;
    qsort(keep, (size_t)r->ntop, sizeof *keep, cmp_key);
    return r->ntop;
}
