/* The processes plot --per-process draws apart: see plot_rank.h. */
#include "gpu_watch/plot_rank.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_watch/pidtab.h"
#include "gpu_watch/plot_data.h"

void plot_rank_init(struct plot_rank *r, const struct plot_opts *o)
{
    memset(r, 0, sizeof *r);
    r->per_gpu = o->per_gpu;
    r->gen = 1;
}

void plot_rank_free(struct plot_rank *r)
{
    free(r->acc);
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
    for (size_t i = 0; i < r->cap; i++)
        if (r->acc[i].gen == r->gen)
            offer(r, r->acc[i].key, r->acc[i].sum);
    r->in_sample = false;
    r->n = 0;
    if (++r->gen == 0) { /* wrapped: clear the slots once */
        for (size_t i = 0; i < r->cap; i++)
            r->acc[i].gen = 0;
        r->gen = 1;
    }
}

static int grow(struct plot_rank *r)
{
    size_t cap = r->cap ? r->cap * 2 : 64;
    struct plot_rank_acc *a = calloc(cap, sizeof *a);
    if (!a)
        return -ENOMEM;
    for (size_t i = 0; i < r->cap; i++) {
        if (r->acc[i].gen != r->gen)
            continue;
        size_t h = pidtab_hash((long)r->acc[i].key, cap);
        while (a[h].gen == r->gen)
            h = (h + 1) & (cap - 1);
        a[h] = r->acc[i];
    }
    free(r->acc);
    r->acc = a;
    r->cap = cap;
    return 0;
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
    long long key = plot_process_key(r->per_gpu, row);
    if ((r->n + 1) * 2 > r->cap && grow(r) < 0)
        return r->err = -ENOMEM;
    size_t h = pidtab_hash((long)key, r->cap);
    while (r->acc[h].gen == r->gen && r->acc[h].key != key)
        h = (h + 1) & (r->cap - 1);
    if (r->acc[h].gen != r->gen) {
        r->acc[h] = (struct plot_rank_acc){key, 0, r->gen};
        r->n++;
    }
    r->acc[h].sum += row->gpu_mem_mib;
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
