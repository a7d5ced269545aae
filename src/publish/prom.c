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
#include "gpu_watch/text.h"

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

int prom_escape(struct gw_buf *out, const char *v, size_t max)
{
    size_t n = strlen(v), used = 0;
    while (used < n) {
        bool ok;
        size_t k = text_show_len(v + used, n - used, &ok);
        if (max && used + k > max)
            break;
        int rc;
        /* The exposition format's escapes first; then the one sanitiser
         * (text.h): ESC, other controls and C1 must not reach a terminal
         * that shows a scrape. */
        if (v[used] == '\\')
            rc = buf_puts(out, "\\\\");
        else if (v[used] == '"')
            rc = buf_puts(out, "\\\"");
        else if (v[used] == '\n')
            rc = buf_puts(out, "\\n");
        else if (!ok)
            rc = buf_puts(out, TEXT_REPLACEMENT);
        else
            rc = buf_append(out, v + used, k);
        if (rc < 0)
            return rc;
        used += k;
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

static const char *uuid_of(const struct prom_proc *p)
{
    return p->gpu_uuid ? p->gpu_uuid : "";
}

/* Rows by GPU, PID and UUID (the labels of a per-GPU series), then by
 * position: a total order, so of rows with equal labels the first listed is
 * kept, whatever qsort does with equal keys. */
static int cmp_by_key(const void *a, const void *b)
{
    const struct prom_proc *x = *(const struct prom_proc *const *)a;
    const struct prom_proc *y = *(const struct prom_proc *const *)b;
    if (x->gpu != y->gpu)
        return x->gpu < y->gpu ? -1 : 1;
    if (x->pid != y->pid)
        return x->pid < y->pid ? -1 : 1;
    int c = strcmp(uuid_of(x), uuid_of(y));
    if (c)
        return c;
    return (x > y) - (x < y);
}

/* Rows by PID, then GPU (the first row of a PID: its lowest GPU), then
 * position. */
static int cmp_by_pid(const void *a, const void *b)
{
    const struct prom_proc *x = *(const struct prom_proc *const *)a;
    const struct prom_proc *y = *(const struct prom_proc *const *)b;
    if (x->pid != y->pid)
        return x->pid < y->pid ? -1 : 1;
    if (x->gpu != y->gpu)
        return x->gpu < y->gpu ? -1 : 1;
    return (x > y) - (x < y);
}

enum field { F_MEM, F_SM, F_MEMUTIL, F_PEAK };

/* v[0..n): the rows, one per series key, sorted by cmp_by_key. */
static void per_gpu_family(struct pw *w, const struct prom_proc *const *v, size_t n, enum field f,
                           const char *name, const char *help)
{
    family(w, name, "gauge", help);
    for (size_t i = 0; i < n; i++) {
        const struct prom_proc *p = v[i];
        int64_t val = f == F_MEM       ? p->mem_mib
                      : f == F_SM      ? p->sm_pct
                      : f == F_MEMUTIL ? p->mem_pct
                                       : p->peak_mib;
        if (val < 0)
            continue; /* not reported: no series, not 0 */
        pw_printf(w, "%s", name);
        proc_gpu_labels(w, p);
        if (f == F_MEM || f == F_PEAK)
            pw_printf(w, " %.0f\n", (double)val * MIB);
        else
            pw_printf(w, " %g\n", (double)val / 100.0);
    }
}

/* The program name of a command line: its first word without the
 * directory ("/usr/bin/python3 train.py" -> "python3"), as a new string in
 * tmp (cleared first). */
static int program_name(struct gw_buf *tmp, const char *cmd)
{
    size_t len = strcspn(cmd, " ");
    const char *base = cmd;
    for (size_t i = 0; i < len; i++)
        if (cmd[i] == '/')
            base = cmd + i + 1;
    buf_clear(tmp);
    int rc = buf_append(tmp, base, (size_t)(cmd + len - base));
    return rc < 0 ? rc : buf_putc(tmp, '\0');
}

static void info_series(struct pw *w, const struct prom_sample *s, const struct prom_proc *p,
                        struct gw_buf *tmp)
{
    pw_printf(w, "gpu_watch_process_info{pid=\"%ld\"", p->pid);
    if (s->who) {
        pw_label(w, ",", "user", p->user, 0);
        pw_label(w, ",", "job_id", p->job_id, 0);
        pw_label(w, ",", "container", p->container, 0);
    }
    if (s->command == PROM_COMMAND_FULL) {
        pw_label(w, ",", "command", p->cmd, PROM_COMMAND_MAX);
    } else if (s->command == PROM_COMMAND_NAME) {
        if (!w->err)
            w->err = program_name(tmp, p->cmd ? p->cmd : "");
        if (!w->err)
            pw_label(w, ",", "command", tmp->p, PROM_COMMAND_MAX);
    }
    pw_printf(w, "} 1\n");
}

/* The series of one process (not per GPU): the first row of each PID.
 * v[0..n) is sorted by cmp_by_pid. */
static void per_proc_families(struct pw *w, const struct prom_sample *s,
                              const struct prom_proc *const *v, size_t n)
{
    struct gw_buf tmp = {0};
    family(w, "gpu_watch_process_info", "gauge",
           "Identity of a process on a GPU (value 1), joined on pid.");
    for (size_t i = 0; i < n; i++)
        if (i == 0 || v[i]->pid != v[i - 1]->pid)
            info_series(w, s, v[i], &tmp);
    buf_free(&tmp);
    if (!s->host)
        return;
    family(w, "gpu_watch_process_cpu_usage_ratio", "gauge",
           "CPU time of the process per second over the last interval (1 = one core busy).");
    for (size_t i = 0; i < n; i++) {
        if ((i > 0 && v[i]->pid == v[i - 1]->pid) || v[i]->cpu_pct < 0)
            continue;
        pw_printf(w, "gpu_watch_process_cpu_usage_ratio{pid=\"%ld\"", v[i]->pid);
        if (v[i]->job_id && v[i]->job_id[0])
            pw_label(w, ",", "job_id", v[i]->job_id, 0);
        pw_printf(w, "} %.6g\n", v[i]->cpu_pct / 100.0);
    }
    family(w, "gpu_watch_process_resident_memory_bytes", "gauge",
           "Resident memory of the process in host RAM.");
    for (size_t i = 0; i < n; i++) {
        if ((i > 0 && v[i]->pid == v[i - 1]->pid) || v[i]->rss_mib < 0)
            continue;
        pw_printf(w, "gpu_watch_process_resident_memory_bytes{pid=\"%ld\"", v[i]->pid);
        if (v[i]->job_id && v[i]->job_id[0])
            pw_label(w, ",", "job_id", v[i]->job_id, 0);
        pw_printf(w, "} %.0f\n", (double)v[i]->rss_mib * MIB);
    }
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Processes per GPU: every GPU the source knows and every index a row
 * names, once each. v[0..n) is sorted by cmp_by_key. */
static void gpu_counts(struct pw *w, const struct prom_sample *s, const struct prom_proc *const *v,
                       size_t n)
{
    family(w, "gpu_watch_gpu_processes", "gauge",
           "Processes on the GPU in the last sample (0 when idle).");
    if (!s->listed)
        return; /* not known: no series, never 0 */
    int *g = malloc((s->ngpus + n + 1) * sizeof *g);
    if (!g) {
        w->err = -ENOMEM;
        return;
    }
    size_t ng = 0;
    for (size_t i = 0; i < s->ngpus; i++)
        if (s->gpus[i] >= 0)
            g[ng++] = s->gpus[i];
    for (size_t i = 0; i < n; i++)
        if (v[i]->gpu >= 0)
            g[ng++] = v[i]->gpu;
    if (ng > 1)
        qsort(g, ng, sizeof *g, cmp_int);
    size_t i = 0;
    for (size_t k = 0; k < ng; k++) {
        if ((k > 0 && g[k] == g[k - 1]) || (g[k] < 64 && (s->unlisted >> g[k] & 1)))
            continue;
        size_t count = 0;
        for (; i < n && v[i]->gpu < g[k]; i++)
            ;
        /* One PID on one GPU counts once, whatever its UUIDs (MIG). */
        for (; i < n && v[i]->gpu == g[k]; i++)
            count += i == 0 || v[i]->pid != v[i - 1]->pid || v[i - 1]->gpu != g[k];
        pw_printf(w, "gpu_watch_gpu_processes{gpu=\"%d\"} %zu\n", g[k], count);
    }
    free(g);
}

/* Memory in use that no listed process accounts for: other containers'
 * processes (a translating driver leaves them out), the driver's own. */
static void gpu_unattributed(struct pw *w, const struct prom_sample *s)
{
    bool any = false;
    if (!s->listed)
        return; /* no process list: all of the memory would look unattributed */
    for (size_t i = 0; i < s->ngmem; i++) {
        const struct prom_gpu_mem *g = &s->gmem[i];
        if (g->gpu < 0 || g->unattributed_mib < 0 || (g->gpu < 64 && (s->unlisted >> g->gpu & 1)))
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
    const struct prom_proc **v = NULL, **byp = NULL;
    size_t n = 0;
    if (s->listed && s->n) {
        v = malloc(s->n * sizeof(const struct prom_proc *));
        byp = malloc(s->n * sizeof(const struct prom_proc *));
        if (!v || !byp) {
            free(v);
            free(byp);
            return -ENOMEM;
        }
        for (size_t i = 0; i < s->n; i++)
            v[i] = &s->procs[i];
        qsort(v, s->n, sizeof(const struct prom_proc *), cmp_by_key);
        /* The same series twice fails node_exporter's whole scrape: a row
         * with the labels of the one before it (a driver listing a process
         * twice) is dropped here, before any family is written. */
        for (size_t i = 0; i < s->n; i++)
            if (n == 0 || v[i]->pid != v[n - 1]->pid || v[i]->gpu != v[n - 1]->gpu ||
                strcmp(uuid_of(v[i]), uuid_of(v[n - 1])) != 0)
                v[n++] = v[i];
        memcpy(byp, v, n * sizeof(const struct prom_proc *));
        qsort(byp, n, sizeof(const struct prom_proc *), cmp_by_pid);
    }
    const struct prom_proc *const *cv = v, *const *cp = byp;
    per_gpu_family(&w, cv, n, F_MEM, "gpu_watch_process_gpu_memory_bytes",
                   "GPU memory used by the process on this GPU.");
    per_gpu_family(&w, cv, n, F_SM, "gpu_watch_process_sm_utilization_ratio",
                   "SM utilization of the process on this GPU (0-1), from the driver's last "
                   "sampling period.");
    per_gpu_family(&w, cv, n, F_MEMUTIL, "gpu_watch_process_memory_utilization_ratio",
                   "Memory-controller utilization of the process on this GPU (0-1).");
    if (s->peaks)
        per_gpu_family(&w, cv, n, F_PEAK, "gpu_watch_process_gpu_memory_peak_bytes",
                       "The driver's peak GPU memory of the process on this GPU.");
    per_proc_families(&w, s, cp, n);
    gpu_counts(&w, s, cv, n);
    gpu_unattributed(&w, s);
    sampler_families(&w, s);
    if (s->version) {
        family(&w, "gpu_watch_build_info", "gauge",
               "The gpu_watch version and the source of the last sample (value 1).");
        pw_label(&w, "gpu_watch_build_info{", "version", s->version, 0);
        pw_label(&w, ",", "source", s->source, 0);
        pw_printf(&w, "} 1\n");
    }
    free(v);
    free(byp);
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
