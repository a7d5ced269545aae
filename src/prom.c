/* The Prometheus text exposition of one sample, and its atomic publication
 * for node_exporter's textfile collector. Format:
 * https://prometheus.io/docs/instrumenting/exposition_formats/ */
#include "gpu_watch/prom.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gpu_watch/atomicio.h"

#define MIB 1048576.0

/* A writer that keeps its first error, so the metric writers need no
 * check after every line. */
struct pw {
    struct gw_buf *b;
    int err;
};

static void pw_printf(struct pw *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void pw_printf(struct pw *w, const char *fmt, ...)
{
    if (w->err)
        return;
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp)
        w->err = -EINVAL; /* our own formats are short */
    else
        w->err = buf_append(w->b, tmp, (size_t)n);
}

static void pw_label(struct pw *w, const char *sep, const char *name, const char *v, size_t max)
{
    pw_printf(w, "%s%s=\"", sep, name);
    if (!w->err)
        w->err = prom_escape(w->b, v ? v : "", max);
    pw_printf(w, "\"");
}

/* The length of the UTF-8 character at s (1-4), or 0 when the bytes are
 * not one (overlong forms, surrogates and values past U+10FFFF included). */
static size_t utf8_len(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    size_t n;
    unsigned min;
    unsigned cp;
    if ((s[0] & 0xe0) == 0xc0) {
        n = 2, min = 0x80, cp = s[0] & 0x1fu;
    } else if ((s[0] & 0xf0) == 0xe0) {
        n = 3, min = 0x800, cp = s[0] & 0x0fu;
    } else if ((s[0] & 0xf8) == 0xf0) {
        n = 4, min = 0x10000, cp = s[0] & 0x07u;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) /* also stops at the NUL */
            return 0;
        cp = (cp << 6) | (s[i] & 0x3fu);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

int prom_escape(struct gw_buf *out, const char *v, size_t max)
{
    const unsigned char *s = (const unsigned char *)v;
    size_t used = 0;
    while (*s) {
        size_t n = utf8_len(s);
        size_t take = n ? n : 1;
        if (max && used + take > max)
            break;
        int rc;
        if (*s == '\\')
            rc = buf_puts(out, "\\\\");
        else if (*s == '"')
            rc = buf_puts(out, "\\\"");
        else if (*s == '\n')
            rc = buf_puts(out, "\\n");
        else if (n == 0)
            rc = buf_putc(out, '?');
        else
            rc = buf_append(out, s, n);
        if (rc < 0)
            return rc;
        s += take;
        used += take;
    }
    return 0;
}

static void family(struct pw *w, const char *name, const char *type, const char *help)
{
    pw_printf(w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The labels of a per-process, per-GPU series, with the braces. */
static void proc_gpu_labels(struct pw *w, const struct prom_proc *p)
{
    pw_printf(w, "{");
    const char *sep = "";
    if (p->gpu >= 0) {
        pw_printf(w, "gpu=\"%d\"", p->gpu);
        sep = ",";
    }
    pw_label(w, sep, "gpu_uuid", p->gpu_uuid, 0);
    pw_printf(w, ",pid=\"%ld\"", p->pid);
    if (p->job_id && p->job_id[0])
        pw_label(w, ",", "job_id", p->job_id, 0);
    pw_printf(w, "}");
}

/* A row that repeats the previous one's series key (same GPU, UUID and
 * PID: a driver listing twice) would make a duplicate series, which fails
 * node_exporter's whole scrape: it is skipped. */
static bool same_key(const struct prom_proc *a, const struct prom_proc *b)
{
    return a->gpu == b->gpu && a->pid == b->pid &&
           strcmp(a->gpu_uuid ? a->gpu_uuid : "", b->gpu_uuid ? b->gpu_uuid : "") == 0;
}

enum field { F_MEM, F_SM, F_MEMUTIL, F_PEAK };

static void per_gpu_family(struct pw *w, const struct prom_sample *s, enum field f,
                           const char *name, const char *help)
{
    family(w, name, "gauge", help);
    for (size_t i = 0; i < s->n; i++) {
        const struct prom_proc *p = &s->procs[i];
        if (i > 0 && same_key(p, &s->procs[i - 1]))
            continue;
        int64_t v = f == F_MEM       ? p->mem_mib
                    : f == F_SM      ? p->sm_pct
                    : f == F_MEMUTIL ? p->mem_pct
                                     : p->peak_mib;
        if (v < 0)
            continue; /* not reported: no series, not 0 */
        pw_printf(w, "%s", name);
        proc_gpu_labels(w, p);
        if (f == F_MEM || f == F_PEAK)
            pw_printf(w, " %.0f\n", (double)v * MIB);
        else
            pw_printf(w, " %g\n", (double)v / 100.0);
    }
}

static int cmp_by_pid(const void *a, const void *b)
{
    const struct prom_proc *x = *(const struct prom_proc *const *)a;
    const struct prom_proc *y = *(const struct prom_proc *const *)b;
    if (x->pid != y->pid)
        return x->pid < y->pid ? -1 : 1;
    /* Equal PIDs: the first row (lowest GPU) first, for a stable pick. */
    return (x > y) - (x < y);
}

/* The series of one process (not per GPU): the first row of each PID. */
static void per_proc_families(struct pw *w, const struct prom_sample *s)
{
    if (s->n == 0) {
        family(w, "gpu_watch_process_info", "gauge",
               "Identity of a process on a GPU (value 1), joined on pid.");
        return;
    }
    const struct prom_proc **v = malloc(s->n * sizeof(const struct prom_proc *));
    if (!v) {
        w->err = -ENOMEM;
        return;
    }
    for (size_t i = 0; i < s->n; i++)
        v[i] = &s->procs[i];
    qsort(v, s->n, sizeof(const struct prom_proc *), cmp_by_pid);

    family(w, "gpu_watch_process_info", "gauge",
           "Identity of a process on a GPU (value 1), joined on pid.");
    for (size_t i = 0; i < s->n; i++) {
        if (i > 0 && v[i]->pid == v[i - 1]->pid)
            continue;
        pw_printf(w, "gpu_watch_process_info{pid=\"%ld\"", v[i]->pid);
        if (s->who) {
            pw_label(w, ",", "user", v[i]->user, 0);
            pw_label(w, ",", "job_id", v[i]->job_id, 0);
            pw_label(w, ",", "container", v[i]->container, 0);
        }
        pw_label(w, ",", "command", v[i]->cmd, PROM_COMMAND_MAX);
        pw_printf(w, "} 1\n");
    }
    if (s->host) {
        family(w, "gpu_watch_process_cpu_usage_ratio", "gauge",
               "CPU time of the process per second over the last interval (1 = one core busy).");
        for (size_t i = 0; i < s->n; i++) {
            if ((i > 0 && v[i]->pid == v[i - 1]->pid) || v[i]->cpu_pct < 0)
                continue;
            pw_printf(w, "gpu_watch_process_cpu_usage_ratio{pid=\"%ld\"", v[i]->pid);
            if (v[i]->job_id && v[i]->job_id[0])
                pw_label(w, ",", "job_id", v[i]->job_id, 0);
            pw_printf(w, "} %.6g\n", v[i]->cpu_pct / 100.0);
        }
        family(w, "gpu_watch_process_resident_memory_bytes", "gauge",
               "Resident memory of the process in host RAM.");
        for (size_t i = 0; i < s->n; i++) {
            if ((i > 0 && v[i]->pid == v[i - 1]->pid) || v[i]->rss_mib < 0)
                continue;
            pw_printf(w, "gpu_watch_process_resident_memory_bytes{pid=\"%ld\"", v[i]->pid);
            if (v[i]->job_id && v[i]->job_id[0])
                pw_label(w, ",", "job_id", v[i]->job_id, 0);
            pw_printf(w, "} %.0f\n", (double)v[i]->rss_mib * MIB);
        }
    }
    free(v);
}

static void gpu_counts(struct pw *w, const struct prom_sample *s)
{
    family(w, "gpu_watch_gpu_processes", "gauge",
           "Processes on the GPU in the last sample (0 when idle).");
    /* GPUs the source knows of, and any index a row names beyond them. */
    size_t ng = s->ngpus;
    for (size_t i = 0; i < s->n; i++)
        if (s->procs[i].gpu >= 0 && (size_t)s->procs[i].gpu >= ng)
            ng = (size_t)s->procs[i].gpu + 1;
    size_t i = 0;
    for (size_t g = 0; g < ng; g++) {
        size_t count = 0;
        /* Rows are sorted by GPU, then PID; unmapped (-1) ones first. */
        for (; i < s->n && s->procs[i].gpu < (int)g; i++)
            ;
        for (; i < s->n && s->procs[i].gpu == (int)g; i++)
            count +=
                i == 0 || s->procs[i].pid != s->procs[i - 1].pid || s->procs[i - 1].gpu != (int)g;
        pw_printf(w, "gpu_watch_gpu_processes{gpu=\"%zu\"} %zu\n", g, count);
    }
}

/* Memory in use that no listed process accounts for: other containers'
 * processes (a translating driver leaves them out), the driver's own. */
static void gpu_unattributed(struct pw *w, const struct prom_sample *s)
{
    bool any = false;
    for (size_t i = 0; i < s->ngmem; i++) {
        const struct prom_gpu_mem *g = &s->gmem[i];
        if (g->gpu < 0 || g->unattributed_mib < 0)
            continue;
        if (!any)
            family(w, "gpu_watch_gpu_memory_unattributed_bytes", "gauge",
                   "GPU memory in use that no listed process accounts for: the GPU's used "
                   "memory less the listed processes' and the driver's reserved memory.");
        any = true;
        pw_printf(w, "gpu_watch_gpu_memory_unattributed_bytes{gpu=\"%d\"} %lld\n", g->gpu,
                  (long long)g->unattributed_mib * 1048576LL);
    }
}

static void sampler_families(struct pw *w, const struct prom_sample *s)
{
    family(w, "gpu_watch_last_sample_timestamp_seconds", "gauge",
           "Wall-clock time of the last sample, seconds since the Unix epoch.");
    pw_printf(w, "gpu_watch_last_sample_timestamp_seconds %.3f\n", s->time);
    if (s->duration >= 0) {
        family(w, "gpu_watch_sample_duration_seconds", "gauge", "How long the last sample took.");
        pw_printf(w, "gpu_watch_sample_duration_seconds %.6f\n", s->duration);
    }
    if (s->nq == 0)
        return;
    family(w, "gpu_watch_query_success", "gauge",
           "1 when the last run of the query succeeded, 0 when it failed (not an idle GPU).");
    for (size_t i = 0; i < s->nq; i++) {
        pw_label(w, "gpu_watch_query_success{", "query", s->q[i].name, 0);
        pw_printf(w, "} %d\n", s->q[i].ok ? 1 : 0);
    }
    family(w, "gpu_watch_query_failures_total", "counter",
           "Failed runs of the query since gpu_watch started.");
    for (size_t i = 0; i < s->nq; i++) {
        pw_label(w, "gpu_watch_query_failures_total{", "query", s->q[i].name, 0);
        pw_printf(w, "} %llu\n", (unsigned long long)s->q[i].failures);
    }
}

int prom_format(const struct prom_sample *s, struct gw_buf *out)
{
    struct pw w = {out, 0};
    per_gpu_family(&w, s, F_MEM, "gpu_watch_process_gpu_memory_bytes",
                   "GPU memory used by the process on this GPU.");
    per_gpu_family(&w, s, F_SM, "gpu_watch_process_sm_utilization_ratio",
                   "SM utilization of the process on this GPU (0-1), from the driver's last "
                   "sampling period.");
    per_gpu_family(&w, s, F_MEMUTIL, "gpu_watch_process_memory_utilization_ratio",
                   "Memory-controller utilization of the process on this GPU (0-1).");
    if (s->peaks)
        per_gpu_family(&w, s, F_PEAK, "gpu_watch_process_gpu_memory_peak_bytes",
                       "The driver's peak GPU memory of the process on this GPU.");
    per_proc_families(&w, s);
    gpu_counts(&w, s);
    gpu_unattributed(&w, s);
    sampler_families(&w, s);
    return w.err;
}

int prom_publish(const char *path, const char *text, size_t len)
{
    /* "<path>.tmpXXXXXX": a name node_exporter skips (not *.prom); 0644:
     * node_exporter runs as another user; no fsync: rewritten every sample. */
    return atomicio_replace(path, text, len, 0644, false);
}

int prom_remove(const char *path)
{
    if (unlink(path) < 0 && errno != ENOENT)
        return -errno;
    return 0;
}
