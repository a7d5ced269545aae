/* plot: rows into series, series into min/max time buckets; axis ticks and
 * the labels' text. */
#include "gpu_watch/array.h"
#include "gpu_watch/plot_bucket.h"
#include "gpu_watch/plot_data.h"
#include "gpu_watch/text.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SM_SLOTS ((int)(sizeof((struct plot *)0)->gpu_sm / sizeof(double)))

static void panel_setup(struct plot_panel *pn, enum plot_panel_kind k, const char *missing)
{
    static const char *const labels[PANEL_NKINDS] = {
        [PANEL_GPU_MEM] = "GPU memory (MiB)",
        [PANEL_SYS_MEM] = "System memory used (MiB)",
        [PANEL_SM] = "SM utilization (%)",
        [PANEL_CPU] = "CPU use (% of one core)",
    };
    pn->kind = k;
    pn->label = labels[k];
    pn->unit = k == PANEL_SM || k == PANEL_CPU ? "%" : "MiB";
    pn->missing = missing;
}

int plot_init(struct plot *p, const struct plot_opts *o, const struct log_header *h)
{
    memset(p, 0, sizeof *p);
    p->o = *o;
    p->schema = h->schema;
    bool sys = h->have & (1u << LOG_COL_SYS_USED_MIB);
    bool sm = h->have & (1u << LOG_COL_SM_UTIL_PCT);
    bool cpu = h->have & (1u << LOG_COL_CPU_PCT);
    panel_setup(&p->panel[PANEL_GPU_MEM], PANEL_GPU_MEM, NULL);
    panel_setup(&p->panel[PANEL_SYS_MEM], PANEL_SYS_MEM,
                sys ? NULL
                    : "no system memory in this log: it has no sys_used_mib column "
                      "(record with --host or --compact)");
    panel_setup(&p->panel[PANEL_SM], PANEL_SM,
                sm ? NULL : "no SM utilization in this log: it has no sm_util_pct column");
    panel_setup(&p->panel[PANEL_CPU], PANEL_CPU,
                cpu ? NULL
                    : "no CPU use in this log: it has no cpu_pct column "
                      "(record with --host or --compact)");
    p->order[p->npanels++] = PANEL_GPU_MEM;
    /* Without the column, no empty panel: the subtitle says why. */
    if (sys)
        p->order[p->npanels++] = PANEL_SYS_MEM;
    if (o->util)
        p->order[p->npanels++] = PANEL_SM;
    if (o->cpu)
        p->order[p->npanels++] = PANEL_CPU;
    p->iv = malloc(sizeof(float) * PLOT_RESERVOIR);
    p->rng = 0x9E3779B9u;
    p->tmin = INFINITY;
    p->tmax = -INFINITY;
    return p->iv ? 0 : -ENOMEM;
}

void plot_free(struct plot *p)
{
    for (int k = 0; k < PANEL_NKINDS; k++) {
        struct plot_panel *pn = &p->panel[k];
        for (int i = 0; i < pn->ns; i++)
            free(pn->s[i].b);
        free(pn->s);
        hashtab_free(pn->hidx);
        free(pn->touched);
    }
    free(p->iv);
    hashtab_free(p->seen);
    memset(p, 0, sizeof *p);
}

/* "python3 /tmp/work dir/train.py 200 --lr=3" -> "python3 train.py 200 --lr=3",
 * cut to fit out. */
static void short_cmd(const char *cmd, char *out, size_t outsz)
{
    size_t o = 0;
    const char *p = cmd;
    int word = 0;
    while (*p && o + 1 < outsz) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        const char *e = strchr(p, ' ');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        /* The program and its script: keep their base names. */
        const char *base = p;
        if (word < 2)
            for (const char *q = p; q < p + len; q++)
                if (*q == '/' && q + 1 < p + len)
                    base = q + 1;
        size_t bl = (size_t)(p + len - base);
        if (o && o + 1 < outsz)
            out[o++] = ' ';
        for (size_t i = 0; i < bl && o + 1 < outsz; i++)
            out[o++] = base[i];
        p += len;
        word++;
    }
    out[o] = '\0';
    if (*p && o >= 3 && outsz > 4) {
        o = text_utf8_head(out, strlen(out), SIZE_MAX, o - 2);
        snprintf(out + o, outsz - o, "..");
    }
}

/* The series of key in panel pn, or NULL when there is none. */
static struct plot_series *series_find(const struct plot_panel *pn, long long key)
{
    const int *i = pn->hidx ? hashtab_find(pn->hidx, key) : NULL;
    return i ? &pn->s[*i] : NULL;
}

/* The series of key in panel pn, created (named by the row) if new. */
/* The style of a new series of key: that of the same key in another panel
 * (the same process keeps its colour), else the next one. */
static int style_of(struct plot *p, const struct plot_panel *pn, long long key)
{
    for (int k = 0; k < PANEL_NKINDS; k++) {
        const struct plot_series *o = &p->panel[k] == pn ? NULL : series_find(&p->panel[k], key);
        if (o)
            return o->style;
    }
    return p->nstyles++;
}

static struct plot_series *series_get(struct plot *p, struct plot_panel *pn, long long key,
                                      const struct log_row *row)
{
    const struct plot_opts *o = &p->o;
    enum log_schema schema = p->schema;
    struct plot_series *known = series_find(pn, key);
    if (known)
        return known;
    if (!pn->hidx && !(pn->hidx = hashtab_new(HASHTAB_INT, sizeof(int), 8)))
        return NULL;
    if (array_reserve(&pn->s, &pn->cap, (size_t)pn->ns + 1, sizeof *pn->s))
        return NULL;
    int *idx = hashtab_get(pn->hidx, key, NULL);
    if (!idx)
        return NULL;
    *idx = pn->ns;
    int style = style_of(p, pn, key);
    struct plot_series *s = &pn->s[pn->ns];
    memset(s, 0, sizeof *s);
    s->key = key;
    s->style = style;
    s->peak = NAN;
    s->driver_peak = NAN;
    bool per_gpu = o->per_gpu && pn->kind != PANEL_CPU && pn->kind != PANEL_SYS_MEM;
    bool per_proc = o->per_process && pn->kind != PANEL_SYS_MEM;
    char cmd[40];
    short_cmd(row->cmd, cmd, sizeof cmd);
    char gpu[16];
    if (row->gpu >= 0)
        snprintf(gpu, sizeof gpu, "GPU %d", row->gpu);
    else
        snprintf(gpu, sizeof gpu, "GPU ?");
    if (pn->kind == PANEL_SYS_MEM)
        snprintf(s->name, sizeof s->name, "system");
    else if (schema == LOG_COMPACT)
        snprintf(s->name, sizeof s->name, "the process");
    else if (per_proc && key == PLOT_KEY_OTHER)
        snprintf(s->name, sizeof s->name, "other processes (summed)");
    else if (per_proc && per_gpu)
        snprintf(s->name, sizeof s->name, "%s %ld %s", gpu, row->pid, cmd);
    else if (per_proc)
        snprintf(s->name, sizeof s->name, "%ld %s", row->pid, cmd);
    else if (per_gpu)
        snprintf(s->name, sizeof s->name, "%s", gpu);
    else if (pn->kind == PANEL_SM)
        snprintf(s->name, sizeof s->name, "mean of GPUs in use");
    else
        snprintf(s->name, sizeof s->name, "all processes");
    text_clean_inplace(s->name);
    pn->ns++;
    return s;
}

/* Add v to the pending sum of the series of key. */
static int pend(struct plot *p, struct plot_panel *pn, long long key, const struct log_row *row,
                double v)
{
    if (isnan(v)) {
        /* One of the folded processes unreported: the others' sum goes on. */
        if (key == PLOT_KEY_OTHER)
            return 0;
        /* Not reported: a hole in a series that has values, not a new one. */
        struct plot_series *h = series_find(pn, key);
        return h ? plot_series_hole(p, h, p->cur_t) : 0;
    }
    struct plot_series *s = series_get(p, pn, key, row);
    if (!s)
        return -ENOMEM;
    if (!s->pend_set) {
        if (array_reserve(&pn->touched, &pn->tcap, (size_t)pn->ntouched + 1, sizeof(int)))
            return -ENOMEM;
        pn->touched[pn->ntouched++] = (int)(s - pn->s);
        s->pend = 0;
        s->pend_set = true;
    }
    s->pend += v;
    return 0;
}

static int flush_sample(struct plot *p)
{
    if (!p->in_sample)
        return 0;
    p->in_sample = false;
    int rc = 0;
    for (int k = 0; k < PANEL_NKINDS; k++) {
        struct plot_panel *pn = &p->panel[k];
        for (int i = 0; i < pn->ntouched; i++) {
            struct plot_series *s = &pn->s[pn->touched[i]];
            double v = s->pend;
            /* Processes on one GPU share its SMs: their sum is that GPU's. */
            if (k == PANEL_SM && p->o.per_gpu && !p->o.per_process && v > 100)
                v = 100;
            if (!rc)
                rc = plot_series_add(p, s, p->cur_t, v);
            s->pend_set = false;
            if (s->drv_set && (isnan(s->driver_peak) || s->drv_pend > s->driver_peak))
                s->driver_peak = s->drv_pend;
            s->drv_set = false;
        }
        pn->ntouched = 0;
    }
    /* Total SM: the mean over the GPUs that had a process, each capped. */
    if (p->o.util && !p->panel[PANEL_SM].missing && !p->o.per_gpu && !p->o.per_process &&
        p->schema != LOG_COMPACT) {
        double sum = 0;
        int n = 0;
        for (int g = 0; g < SM_SLOTS; g++)
            if (!isnan(p->gpu_sm[g])) {
                sum += p->gpu_sm[g] > 100 ? 100 : p->gpu_sm[g];
                n++;
            }
        if (n) {
            struct log_row none = {.cmd = "", .gpu = -1, .pid = -1};
            struct plot_series *s = series_get(p, &p->panel[PANEL_SM], 0, &none);
            if (!s)
                return -ENOMEM;
            if (!rc)
                rc = plot_series_add(p, s, p->cur_t, sum / n);
        }
    }
    struct plot_series *sys = series_find(&p->panel[PANEL_SYS_MEM], 0);
    if (isnan(p->sys) && sys && !p->panel[PANEL_SYS_MEM].missing && !rc)
        rc = plot_series_hole(p, sys, p->cur_t);
    if (!isnan(p->sys)) {
        struct log_row none = {.cmd = "", .gpu = -1, .pid = -1};
        struct plot_series *s = series_get(p, &p->panel[PANEL_SYS_MEM], 0, &none);
        if (!s)
            return -ENOMEM;
        if (!rc)
            rc = plot_series_add(p, s, p->cur_t, p->sys);
    }
    return rc;
}

static void add_interval(struct plot *p, double dt)
{
    if (!p->iv)
        return;
    if (p->niv < PLOT_RESERVOIR) {
        p->iv[p->niv++] = (float)dt;
        return;
    }
    /* Reservoir sampling (Vitter's algorithm R) with a fixed-seed LCG: the
     * same log gives the same picture. */
    p->niv++;
    p->rng = p->rng * 1664525u + 1013904223u;
    unsigned long j = (unsigned long)(((uint64_t)p->rng * p->niv) >> 32);
    if (j < PLOT_RESERVOIR)
        p->iv[j] = (float)dt;
}

/* Note (gpu, pid) as seen in the current sample; true if it already was.
 * -ENOMEM leaves *again false. */
static int seen_again(struct plot *p, long long key, bool *again)
{
    *again = false;
    if (!p->seen && !(p->seen = hashtab_new(HASHTAB_INT, 1, 32)))
        return -ENOMEM;
    bool created = false;
    if (!hashtab_get(p->seen, key, &created))
        return -ENOMEM;
    *again = !created;
    return 0;
}

long long plot_process_key(bool per_gpu, const struct log_row *row)
{
    long long gk = row->gpu, pk = row->pid;
    return per_gpu ? (gk + 1) << 32 | (pk & 0xffffffffLL) : pk;
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

/* --per-process: whether key (of the GPU memory and SM panels; with
 * pid_only, a PID of the CPU panel) is drawn apart, else PLOT_KEY_OTHER. */
static long long kept_key(struct plot *p, long long key, bool pid_only)
{
    if (p->o.keep) {
        if (!pid_only)
            return bsearch(&key, p->o.keep, (size_t)p->o.nkeep, sizeof key, cmp_ll)
                       ? key
                       : PLOT_KEY_OTHER;
        for (int i = 0; i < p->o.nkeep; i++)
            if ((p->o.per_gpu ? p->o.keep[i] & 0xffffffffLL : p->o.keep[i]) == (key & 0xffffffffLL))
                return key;
        return PLOT_KEY_OTHER;
    }
    /* No ranking (a caller that read the log once): the first ones seen. */
    const struct plot_panel *pn = &p->panel[pid_only ? PANEL_CPU : PANEL_GPU_MEM];
    if (series_find(pn, key) || pn->ns < PLOT_MAX_PROCS)
        return key;
    return PLOT_KEY_OTHER;
}

/* The row's values into the series of each panel (pending until the
 * sample closes). 0 or -ENOMEM. */
static int add_values(struct plot *p, const struct log_row *row)
{
    int rc;
    bool compact = p->schema == LOG_COMPACT;
    long long gk = row->gpu;
    long long pk = row->pid;
    long long key = 0;
    if (!compact && p->o.per_process)
        key = kept_key(p, plot_process_key(p->o.per_gpu, row), false);
    else if (!compact && p->o.per_gpu)
        key = gk;
    rc = pend(p, &p->panel[PANEL_GPU_MEM], key, row, row->gpu_mem_mib);
    /* --peaks logs, one line per process: the driver's peak beside its
     * sampled memory (0: unknown). A sum over processes of peaks reached at
     * different times would mean nothing, so totals get none. */
    struct plot_series *ds =
        !rc && !compact && p->o.per_process && key != PLOT_KEY_OTHER && !isnan(row->gpu_mem_mib) &&
                row->peak_mem_mib > 0 &&
                !(row->peak_rate_hz > 0) /* --peak-rate: gpu_watch's own, not the driver's */
            ? series_find(&p->panel[PANEL_GPU_MEM], key)
            : NULL;
    if (ds) {
        ds->drv_pend = (ds->drv_set ? ds->drv_pend : 0) + row->peak_mem_mib;
        ds->drv_set = true;
    }
    if (!rc && p->o.util && !p->panel[PANEL_SM].missing && !isnan(row->sm_util_pct)) {
        if (p->o.per_gpu || p->o.per_process) {
            rc = pend(p, &p->panel[PANEL_SM], key, row, row->sm_util_pct);
        } else {
            int g = row->gpu >= 0 && row->gpu < SM_SLOTS - 1 ? row->gpu : SM_SLOTS - 1;
            p->gpu_sm[g] = (isnan(p->gpu_sm[g]) ? 0 : p->gpu_sm[g]) + row->sm_util_pct;
        }
    }
    if (!rc && p->o.cpu && !p->panel[PANEL_CPU].missing)
        rc = pend(p, &p->panel[PANEL_CPU], !compact && p->o.per_process ? kept_key(p, pk, true) : 0,
                  row, row->cpu_pct);
    /* System-wide: the same on every row of a sample. */
    if (!isnan(row->sys_used_mib) && (isnan(p->sys) || row->sys_used_mib > p->sys))
        p->sys = row->sys_used_mib;
    return rc;
}

int plot_add_row(const struct log_row *row, void *ctx)
{
    struct plot *p = ctx;
    int rc;
    if (p->rows++ == 0) {
        p->tz = row->tz;
        p->tz_off = row->tz_off_s;
    }
    long long pair = ((long long)row->gpu + 1) << 32 | (row->pid & 0xffffffffLL);
    bool again = false;
    if (p->in_sample && row->ts == p->cur_t) {
        if ((rc = seen_again(p, pair, &again)))
            return p->err = rc;
        /* The same process twice at one timestamp: two samples less than a
         * second apart. Close the first. */
        if (again && (rc = flush_sample(p)))
            return p->err = rc;
    }
    if (p->in_sample && row->ts != p->cur_t) {
        double prev = p->cur_t;
        if ((rc = flush_sample(p)))
            return p->err = rc;
        if (row->ts > prev)
            add_interval(p, row->ts - prev);
    }
    if (!p->in_sample) {
        p->in_sample = true;
        p->cur_t = row->ts;
        p->samples++;
        if (p->seen)
            hashtab_clear(p->seen);
        bool dup;
        if ((rc = seen_again(p, pair, &dup)))
            return p->err = rc;
        for (int g = 0; g < SM_SLOTS; g++)
            p->gpu_sm[g] = NAN;
        p->sys = NAN;
        if (row->ts < p->tmin)
            p->tmin = row->ts;
        if (row->ts > p->tmax)
            p->tmax = row->ts;
    }
    rc = add_values(p, row);
    if (rc)
        p->err = rc;
    return rc;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

int plot_finish(struct plot *p)
{
    int rc = flush_sample(p);
    size_t n = p->niv < PLOT_RESERVOIR ? p->niv : PLOT_RESERVOIR;
    p->median_dt = 0;
    if (n && p->iv) {
        qsort(p->iv, n, sizeof(float), cmp_float);
        p->median_dt = p->iv[n / 2];
    }
    return rc ? rc : p->err;
}
