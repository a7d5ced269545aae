/* The numbers of the summary: fed rows, gives per-process and per-GPU
 * peaks, means and spans. No I/O. */
#include "gpu_watch/summary.h"

#include "gpu_watch/array.h"
#include "gpu_watch/hashtab.h"
#include "gpu_watch/owner.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A pause longer than this many intervals is a gap (gpu_watch was stopped,
 * or the machine slept). */
#define GAP_FACTOR 3.0

struct proc_acc {
    struct summary_proc p;
    char *cmd;                /* owned */
    unsigned long cur_sample; /* the sample cur_mib belongs to */
    double cur_mib;           /* this sample's total over its GPUs */
    double cur_driver;        /* this sample's total of the driver's peaks over its GPUs */
    double driver_peak;       /* the highest cur_driver; NAN none */
    double end_driver;        /* summary_add_driver_peak's sum over its GPUs; NAN none */
    double cur_dense;         /* this sample's total of the dense peaks (--peak-rate) */
    double dense_peak;        /* the highest cur_dense; NAN none */
    double dense_hz;          /* their rate, Hz (the highest seen) */
    bool pidns;               /* a row said it was in a PID namespace */
    double sm_sum;
    unsigned long sm_n;
    double cpu_sum;
    unsigned long cpu_n;
};

struct gpu_acc {
    struct summary_gpu g;
    unsigned long cur_sample;
    double cur_mib;
};

struct gap_bin {
    double key;      /* the gap rounded to 3 significant digits, s */
    unsigned long n; /* gaps in the bin */
    double sum;      /* their exact total, s */
};

struct summary {
    struct proc_acc *procs;
    size_t nprocs, cap_procs;
    struct hashtab *by_pid; /* PID -> index in procs of the latest process with that PID */
    struct gpu_acc *gpus;
    size_t ngpus, cap_gpus;
    /* The gaps between consecutive samples, for the median and the pauses,
     * in bounded memory: one bin per gap rounded to 3 significant digits
     * (at most 900 bins per decade of seconds), sorted by key. */
    struct gap_bin *bins;
    size_t nbins, cap_bins;
    unsigned long ngaps;
    double first_ts, last_ts, prev_ts; /* NAN before the first sample */
    bool frac_ts;                      /* a timestamp had a fraction of a second */
    unsigned long sample;              /* current sample number, 1-based; 0: none yet */
    /* summary_add_sample's samples without rows: not counted (the log has
     * no row of them), unless no sample had rows. */
    unsigned long empty;
    double empty_first, empty_last;
    double sample_ts;
    double total_cur, total_peak, total_peak_ts;
    unsigned long rows;
    unsigned long untracked; /* rows of processes past SUMMARY_MAX_PROCS */
    struct proc_acc other;   /* stands for them: counted in the totals only */
    bool host;
    bool peaks;      /* summary_set_peaks, or a log with peak_mem_mib */
    double interval; /* set, or NAN */
    /* summary_add_log: the last row's key, to see a new sample start. */
    int last_gpu;
    long last_pid;
    /* Results. */
    struct summary_proc *out_procs;
    struct summary_gpu *out_gpus;
};

struct summary *summary_new(void)
{
    struct summary *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->interval = NAN;
    s->first_ts = s->last_ts = s->prev_ts = NAN;
    s->total_peak = NAN;
    s->total_peak_ts = NAN;
    return s;
}

void summary_free(struct summary *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nprocs; i++)
        free(s->procs[i].cmd);
    free(s->procs);
    free(s->other.cmd);
    hashtab_free(s->by_pid);
    free(s->gpus);
    free(s->bins);
    free(s->out_procs);
    free(s->out_gpus);
    free(s);
}

const char *summary_peak_source(const struct summary_proc *p, char *dst, size_t len)
{
    if (p->peak_driver)
        snprintf(dst, len, "driver");
    else if (p->peak_pidns)
        snprintf(dst, len, "unknown (process in a PID namespace)");
    else if (p->peak_hz > 0)
        snprintf(dst, len, "sampled at %g Hz", p->peak_hz);
    else
        snprintf(dst, len, "sampled");
    return dst;
}

void summary_set_peaks(struct summary *s)
{
    s->peaks = true;
}

void summary_set_interval(struct summary *s, double seconds)
{
    s->interval = seconds;
}

/* Count a gap of g seconds (> 0) in its bin. 0 or -ENOMEM. */
static int add_gap(struct summary *s, double g)
{
    double scale = pow(10.0, 2 - floor(log10(g)));
    double key = round(g * scale) / scale;
    size_t lo = 0, hi = s->nbins;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->bins[mid].key < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == s->nbins || s->bins[lo].key != key) {
        if (array_reserve(&s->bins, &s->cap_bins, s->nbins + 1, sizeof *s->bins) < 0)
            return -ENOMEM;
        memmove(&s->bins[lo + 1], &s->bins[lo], (s->nbins - lo) * sizeof *s->bins);
        s->bins[lo] = (struct gap_bin){.key = key};
        s->nbins++;
    }
    s->bins[lo].n++;
    s->bins[lo].sum += g;
    s->ngaps++;
    return 0;
}

int summary_sample(struct summary *s, double ts)
{
    /* A log that goes back in time (two appended, a clock set back) has
     * no gap there. */
    if (ts > s->prev_ts && add_gap(s, ts - s->prev_ts) < 0)
        return -ENOMEM;
    if (isnan(s->first_ts) || ts < s->first_ts)
        s->first_ts = ts;
    if (isnan(s->last_ts) || ts > s->last_ts)
        s->last_ts = ts;
    if (ts != floor(ts))
        s->frac_ts = true;
    s->prev_ts = ts;
    s->sample++;
    s->sample_ts = ts;
    s->total_cur = 0;
    s->last_gpu = -2;
    s->last_pid = -2;
    return 0;
}

/* PID -1 (compact logs) is a key like any other. */
static int map_put(struct summary *s, long pid, size_t idx)
{
    if (!s->by_pid && !(s->by_pid = hashtab_new(HASHTAB_INT, sizeof(size_t), 32)))
        return -ENOMEM;
    size_t *v = hashtab_get(s->by_pid, pid, NULL);
    if (!v)
        return -ENOMEM;
    *v = idx;
    return 0;
}

static struct proc_acc *map_get(const struct summary *s, long pid)
{
    const size_t *v = s->by_pid ? hashtab_find(s->by_pid, pid) : NULL;
    return v ? &s->procs[*v] : NULL;
}

/* The process of a row: the latest one with its PID, unless the command
 * differs (a reused PID). An unknown command matches any. */
static struct proc_acc *find_proc(struct summary *s, const struct summary_row *r)
{
    const char *cmd = r->cmd ? r->cmd : "";
    struct proc_acc *a = map_get(s, r->pid);
    if (a && (!*cmd || !*a->cmd || strcmp(a->cmd, cmd) == 0)) {
        if (!*a->cmd && *cmd) {
            char *c = strdup(cmd);
            if (!c)
                return NULL;
            free(a->cmd);
            a->cmd = c;
        }
        return a;
    }
    if (s->nprocs >= SUMMARY_MAX_PROCS) {
        s->untracked++;
        return &s->other;
    }
    if (array_reserve(&s->procs, &s->cap_procs, s->nprocs + 1, sizeof *s->procs) < 0)
        return NULL;
    a = &s->procs[s->nprocs];
    /* false positive: array_reserve() allocated procs */
    // NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker)
    memset(a, 0, sizeof *a);
    if (!(a->cmd = strdup(cmd)))
        return NULL;
    if (map_put(s, r->pid, s->nprocs) < 0) {
        free(a->cmd);
        return NULL;
    }
    s->nprocs++;
    a->p.pid = r->pid;
    a->p.peak_mib = a->p.peak_ts = NAN;
    a->driver_peak = NAN;
    a->end_driver = NAN;
    a->dense_peak = NAN;
    a->p.sm_max = NAN;
    a->p.rss_peak_mib = NAN;
    a->p.first_ts = r->ts;
    return a;
}

static struct gpu_acc *find_gpu(struct summary *s, int gpu)
{
    for (size_t i = 0; i < s->ngpus; i++)
        if (s->gpus[i].g.gpu == gpu)
            return &s->gpus[i];
    if (array_reserve(&s->gpus, &s->cap_gpus, s->ngpus + 1, sizeof *s->gpus) < 0)
        return NULL;
    struct gpu_acc *g = &s->gpus[s->ngpus++];
    memset(g, 0, sizeof *g);
    g->g.gpu = gpu;
    g->g.peak_mib = g->g.peak_ts = NAN;
    return g;
}

/* Raise *peak to v (first reached at ts); NAN counts as below anything. */
static void raise_peak(double *peak, double *at, double v, double ts)
{
    if (isnan(v))
        return;
    if (isnan(*peak) || v > *peak) {
        *peak = v;
        *at = ts;
    }
}

int summary_add(struct summary *s, const struct summary_row *r)
{
    if (!s->sample && summary_sample(s, r->ts) < 0)
        return -ENOMEM;
    struct proc_acc *a = find_proc(s, r);
    struct gpu_acc *g = a ? find_gpu(s, r->gpu) : NULL;
    if (!a || !g)
        return -ENOMEM;
    s->rows++;
    double ts = s->sample_ts;
    bool first_row = a->cur_sample != s->sample;
    if (first_row) {
        a->cur_sample = s->sample;
        a->cur_mib = NAN;
        a->cur_driver = NAN;
        a->cur_dense = NAN;
        a->p.samples++;
        if (!isnan(r->cpu_pct)) {
            a->cpu_sum += r->cpu_pct;
            a->cpu_n++;
        }
    }
    a->p.last_ts = ts;
    if (r->gpu >= 0 && r->gpu < 64)
        a->p.gpu_mask |= 1ull << r->gpu;
    else
        a->p.gpu_other = true;
    if (!isnan(r->mem_mib)) {
        a->cur_mib = (isnan(a->cur_mib) ? 0 : a->cur_mib) + r->mem_mib;
        raise_peak(&a->p.peak_mib, &a->p.peak_ts, a->cur_mib, ts);
        if (g->cur_sample != s->sample) {
            g->cur_sample = s->sample;
            g->cur_mib = 0;
        }
        g->cur_mib += r->mem_mib;
        raise_peak(&g->g.peak_mib, &g->g.peak_ts, g->cur_mib, ts);
        s->total_cur += r->mem_mib;
        raise_peak(&s->total_peak, &s->total_peak_ts, s->total_cur, ts);
    }
    if (!isnan(r->peak_mib) && !isnan(r->peak_hz) && r->peak_hz > 0) { /* --peak-rate */
        double unused_ts = NAN;
        a->cur_dense = (isnan(a->cur_dense) ? 0 : a->cur_dense) + r->peak_mib;
        raise_peak(&a->dense_peak, &unused_ts, a->cur_dense, ts);
        if (r->peak_hz > a->dense_hz)
            a->dense_hz = r->peak_hz;
    } else if (!isnan(r->peak_mib) && r->peak_mib > 0) { /* 0 is the driver's "unknown" */
        double unused_ts = NAN;
        a->cur_driver = (isnan(a->cur_driver) ? 0 : a->cur_driver) + r->peak_mib;
        raise_peak(&a->driver_peak, &unused_ts, a->cur_driver, ts);
    }
    if (!isnan(r->sm_pct)) {
        a->sm_sum += r->sm_pct;
        a->sm_n++;
        if (isnan(a->p.sm_max) || r->sm_pct > a->p.sm_max)
            a->p.sm_max = r->sm_pct;
    }
    if (!isnan(r->rss_mib) && (isnan(a->p.rss_peak_mib) || r->rss_mib > a->p.rss_peak_mib))
        a->p.rss_peak_mib = r->rss_mib;
    if (!isnan(r->cpu_pct) || !isnan(r->rss_mib))
        s->host = true;
    return 0;
}

int summary_add_log(struct summary *s, const struct summary_row *r)
{
    /* The sampler writes each sample's rows sorted by GPU, then PID: a key
     * that does not increase starts the next sample. */
    bool next = !s->sample || r->ts != s->sample_ts || r->gpu < s->last_gpu ||
                (r->gpu == s->last_gpu && r->pid <= s->last_pid);
    if (next && summary_sample(s, r->ts) < 0)
        return -ENOMEM;
    s->last_gpu = r->gpu;
    s->last_pid = r->pid;
    return summary_add(s, r);
}

int summary_add_driver_peak(struct summary *s, long pid, double mib)
{
    struct proc_acc *a = map_get(s, pid);
    if (!a)
        return -ENOENT;
    if (!isnan(mib) && mib > 0) /* 0 is the driver's "unknown" */
        a->end_driver = (isnan(a->end_driver) ? 0 : a->end_driver) + mib;
    return 0;
}

/* The process of r, just added, is in another PID namespace than
 * gpu_watch (--who's container_pid is known): its driver's peak may stay 0.
 * A process past SUMMARY_MAX_PROCS (counted in the totals only) is not
 * marked. */
static void note_pidns(struct summary *s, const struct summary_row *r)
{
    struct proc_acc *a = map_get(s, r->pid);
    const char *cmd = r->cmd ? r->cmd : "";
    if (a && (!*cmd || strcmp(a->cmd, cmd) == 0))
        a->pidns = true;
}

static double known(int64_t v)
{
    return v < 0 ? NAN : (double)v;
}

static double known_pct(double v)
{
    return v < 0 ? NAN : v;
}

int summary_add_sample(struct summary *s, double ts, const struct sample *smp, bool host)
{
    if (smp->n == 0) {
        /* No row written: gpu_watch summary of the log cannot see this
         * sample, and the two summaries of one run must agree. */
        if (!s->empty++)
            s->empty_first = ts;
        s->empty_last = ts;
        return 0;
    }
    if (summary_sample(s, ts) < 0)
        return -ENOMEM;
    for (size_t i = 0; i < smp->n; i++) {
        const struct sample_row *sr = &smp->rows[i];
        struct summary_row r = {
            .ts = ts,
            .gpu = sr->gpu,
            .pid = sr->pid,
            .cmd = sr->cmd,
            .mem_mib = known(sr->mem_mib),
            .sm_pct = known(sr->sm_pct),
            .cpu_pct = NAN,
            .rss_mib = NAN,
            .peak_mib = known(sr->peak_mib),
            .peak_hz = sr->peak_hz > 0 ? sr->peak_hz : NAN,
        };
        const struct host_fields *h = host ? &sr->host : smp->watched_alive ? &smp->watched : NULL;
        if (h) {
            r.cpu_pct = known_pct(h->cpu_pct);
            r.rss_mib = known(h->rss_mib);
        }
        if (summary_add(s, &r) < 0)
            return -ENOMEM;
        if (sr->who && sr->who->container_pid >= 0)
            note_pidns(s, &r);
    }
    return 0;
}

static int cmp_proc(const void *a, const void *b)
{
    const struct summary_proc *x = a, *y = b;
    double px = isnan(x->peak_mib) ? -1 : x->peak_mib, py = isnan(y->peak_mib) ? -1 : y->peak_mib;
    if (px != py)
        return px < py ? 1 : -1;
    if (x->first_ts != y->first_ts)
        return x->first_ts < y->first_ts ? -1 : 1;
    return (x->pid > y->pid) - (x->pid < y->pid);
}

static int cmp_gpu(const void *a, const void *b)
{
    const struct summary_gpu *x = a, *y = b;
    return (x->gpu > y->gpu) - (x->gpu < y->gpu);
}

/* A GPU whose only process was on it alone: the GPU's peak is that
 * process's, so a driver's peak above the samples raises the total too (a
 * total below its only process's peak would read as a contradiction). */
static void raise_by_only_proc(const struct summary *s, struct summary_gpu *g)
{
    const struct summary_proc *only = NULL;
    if (g->gpu < 0 || g->gpu >= 64 || s->untracked)
        return;
    for (size_t i = 0; i < s->nprocs; i++) {
        const struct summary_proc *p = &s->out_procs[i];
        if (!(p->gpu_mask >> g->gpu & 1))
            continue;
        if (only)
            return; /* two processes: the samples' sum is all we know */
        only = p;
    }
    if (only && only->peak_driver && only->gpu_mask == 1ull << g->gpu && !only->gpu_other &&
        (isnan(g->peak_mib) || only->peak_mib > g->peak_mib)) {
        g->peak_mib = only->peak_mib;
        g->peak_ts = NAN;
        g->peak_driver = true;
    }
}

/* Process p of the result from its accumulator a: means, and the peak
 * from the driver or the dense sampling where higher (counted in out). */
static void proc_result(const struct summary *s, const struct proc_acc *a, struct summary_proc *p,
                        struct summary_result *out)
{
    *p = a->p;
    p->cmd = a->cmd;
    p->sm_mean = a->sm_n ? a->sm_sum / (double)a->sm_n : NAN;
    p->cpu_mean = a->cpu_n ? a->cpu_sum / (double)a->cpu_n : NAN;
    p->sampled_peak_mib = a->p.peak_mib;
    p->peak_driver = false;
    p->peak_hz = 0;
    p->peak_pidns = false;
    double driver = a->driver_peak;
    if (!isnan(a->end_driver) && (isnan(driver) || a->end_driver > driver))
        driver = a->end_driver;
    if (!isnan(driver) && (isnan(p->peak_mib) || driver >= p->peak_mib)) {
        /* Equal: a sample saw the true peak, and says when. */
        if (isnan(p->peak_mib) || driver > p->peak_mib)
            p->peak_ts = NAN; /* the driver does not say when */
        p->peak_mib = driver;
        p->peak_driver = true;
        out->driver_peaks++;
    } else if (!isnan(a->dense_peak)) {
        /* Sampled between rows too: the higher of both (the rows' are
         * readings as well). */
        if (isnan(p->peak_mib) || a->dense_peak > p->peak_mib) {
            p->peak_mib = a->dense_peak;
            p->peak_ts = NAN; /* between two rows */
        }
        p->peak_hz = a->dense_hz;
        out->dense_peaks++;
        if (a->dense_hz > out->dense_hz)
            out->dense_hz = a->dense_hz;
    } else if (s->peaks && a->pidns) {
        /* The driver's accounting may never update a namespaced process's
         * peak (R565+, unverified): say so, not "sampled". */
        p->peak_pidns = true;
        out->pidns_peaks++;
    }
}

/* The median interval (unless set) and the pauses: gaps over GAP_FACTOR
 * intervals. */
static void gap_result(const struct summary *s, struct summary_result *out)
{
    /* The median gap: the bin that holds the (n/2)th smallest gap. */
    if (isnan(out->interval)) {
        unsigned long seen = 0;
        for (size_t i = 0; i < s->nbins; i++) {
            seen += s->bins[i].n;
            if (seen > s->ngaps / 2) {
                out->interval = s->bins[i].sum / (double)s->bins[i].n;
                break;
            }
        }
    }
    /* With whole-second timestamps a second is the least unit of a gap. */
    double unit = s->frac_ts || out->interval > 1.0 ? out->interval : 1.0;
    double gap = GAP_FACTOR * unit;
    for (size_t i = 0; i < s->nbins; i++)
        if (s->bins[i].key > gap) {
            out->gaps += s->bins[i].n;
            out->gap_s += s->bins[i].sum;
        }
}

int summary_result(struct summary *s, struct summary_result *out)
{
    memset(out, 0, sizeof *out);
    free(s->out_procs);
    free(s->out_gpus);
    s->out_procs = malloc((s->nprocs ? s->nprocs : 1) * sizeof *s->out_procs);
    s->out_gpus = malloc((s->ngpus ? s->ngpus : 1) * sizeof *s->out_gpus);
    if (!s->out_procs || !s->out_gpus)
        return -ENOMEM;
    for (size_t i = 0; i < s->nprocs; i++) {
        proc_result(s, &s->procs[i], &s->out_procs[i], out);
    }
    qsort(s->out_procs, s->nprocs, sizeof *s->out_procs, cmp_proc);
    for (size_t i = 0; i < s->ngpus; i++) {
        s->out_gpus[i] = s->gpus[i].g;
        raise_by_only_proc(s, &s->out_gpus[i]);
    }
    qsort(s->out_gpus, s->ngpus, sizeof *s->out_gpus, cmp_gpu);

    out->procs = s->out_procs;
    out->nprocs = s->nprocs;
    out->gpus = s->out_gpus;
    out->ngpus = s->ngpus;
    out->total_peak_mib = s->total_peak;
    out->total_peak_ts = s->total_peak_ts;
    /* One process in all: the run's total is its peak, the driver's too. */
    const struct summary_proc *one = s->nprocs == 1 && !s->untracked ? &s->out_procs[0] : NULL;
    if (one && one->peak_driver &&
        (isnan(out->total_peak_mib) || one->peak_mib > out->total_peak_mib)) {
        out->total_peak_mib = one->peak_mib;
        out->total_peak_ts = NAN;
        out->total_peak_driver = true;
    }
    out->samples = s->sample;
    out->rows = s->rows;
    out->untracked_rows = s->untracked;
    out->host = s->host;
    out->peaks = true; /* every summary says where its peaks came from */
    out->interval = s->interval;
    out->first_ts = s->first_ts;
    out->last_ts = s->last_ts;
    if (!s->sample && s->empty) {
        /* Samples, none with rows: the span the sampler ran. */
        out->samples = s->empty;
        out->first_ts = s->empty_first;
        out->last_ts = s->empty_last;
    }
    if (!s->ngaps)
        return 0;
    gap_result(s, out);
    return 0;
}

int summary_add_log_row(struct summary *s, const struct log_row *row)
{
    struct summary_row r = {
        .ts = row->ts,
        .gpu = row->gpu,
        .pid = row->pid,
        .cmd = row->cmd,
        .mem_mib = row->gpu_mem_mib,
        .sm_pct = row->sm_util_pct,
        .cpu_pct = row->cpu_pct,
        .rss_mib = row->rss_mib,
        .peak_mib = row->peak_mem_mib,
        .peak_hz = row->peak_rate_hz,
    };
    if (row->hdr && (row->hdr->have & (1u << LOG_COL_PEAK_MEM_MIB)))
        s->peaks = true;
    int rc = summary_add_log(s, &r);
    if (rc == 0 && row->container_pid >= 0)
        note_pidns(s, &r);
    return rc;
}
