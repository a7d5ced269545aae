/* Writing a job's report: text, JSON, and the compact AdminComment line. */
#include "gpu_watch/job_fmt.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "gpu_watch/text.h"

int job_parse_format(const char *name, enum job_format *out)
{
    if (strcmp(name, "text") == 0)
        *out = JOB_TEXT;
    else if (strcmp(name, "json") == 0)
        *out = JOB_JSON;
    else if (strcmp(name, "compact") == 0)
        *out = JOB_COMPACT;
    else
        return -EINVAL;
    return 0;
}

/* "2026-12-05T01:30:00Z"; "" when unknown. */
static void utc_time(char *dst, size_t len, double ts)
{
    dst[0] = '\0';
    if (isnan(ts))
        return;
    time_t t = (time_t)floor(ts);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || !strftime(dst, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
        dst[0] = '\0';
}

/* JSON: `"key": value` with sep before it; null when unknown. */
static void j_num(struct gw_buf *b, const char *sep, const char *key, double v, int prec)
{
    buf_printf(b, "%s\"%s\": ", sep, key);
    if (isnan(v))
        buf_puts(b, "null");
    else
        buf_printf(b, "%.*f", prec, v);
}

static void j_time(struct gw_buf *b, const char *sep, const char *key, double v)
{
    char t[40];
    utc_time(t, sizeof t, v);
    buf_printf(b, "%s\"%s\": ", sep, key);
    if (*t)
        buf_printf(b, "\"%s\"", t);
    else
        buf_puts(b, "null");
}

static void j_str(struct gw_buf *b, const char *sep, const char *key, const char *v)
{
    buf_printf(b, "%s\"%s\": ", sep, key);
    if (v)
        text_json_str(b, v);
    else
        buf_puts(b, "null");
}

static void j_flags(struct gw_buf *b, unsigned flags)
{
    buf_puts(b, "[");
    const char *sep = "";
    for (int i = 0; i < JOB_NFLAGS; i++) {
        if (flags & (1u << i)) {
            buf_printf(b, "%s\"%s\"", sep, job_flag_name(1u << i));
            sep = ", ";
        }
    }
    buf_puts(b, "]");
}

static const char *acct_word(int acct)
{
    return acct == 1 ? "on" : acct == 0 ? "off" : "unknown";
}

/* The memory bounds object. */
static void j_memory(struct gw_buf *b, double lower, enum job_src lsrc, double upper,
                     const char *why)
{
    buf_puts(b, "{");
    j_num(b, "", "lower", lower, 0);
    j_str(b, ", ", "lower_source", isnan(lower) ? NULL : job_src_name(lsrc));
    j_num(b, ", ", "upper", upper, 0);
    j_str(b, ", ", "upper_source", isnan(upper) ? NULL : "driver");
    j_str(b, ", ", "upper_null_reason", isnan(upper) ? why : NULL);
    buf_puts(b, "}");
}

static void json_proc(struct gw_buf *b, const struct job_proc *p)
{
    buf_printf(b, "{\"pid\": %ld", p->pid);
    j_str(b, ", ", "cmd", p->cmd);
    j_str(b, ", ", "user", p->user);
    j_num(b, ", ", "true_peak_mib", p->true_mib, 0);
    j_str(b, ", ", "true_peak_source", isnan(p->true_mib) ? NULL : job_src_name(p->true_src));
    j_num(b, ", ", "driver_peak_mib", p->driver_mib, 0);
    j_num(b, ", ", "sampled_peak_mib", p->sampled_mib, 0);
    buf_printf(b, ", \"samples\": %lu", p->samples);
    j_time(b, ", ", "first_seen", p->first);
    j_time(b, ", ", "last_seen", p->last);
    buf_printf(b, ", \"seen_by\": \"%s\"}", p->from_acct_only ? "accounting" : "samples");
}

static void json_gpu(struct gw_buf *b, const struct job_gpu *g)
{
    buf_puts(b, "{");
    j_num(b, "", "index", g->index >= 0 ? g->index : NAN, 0);
    j_str(b, ", ", "uuid", *g->uuid ? g->uuid : NULL);
    j_num(b, ", ", "minor", g->minor >= 0 ? g->minor : NAN, 0);
    buf_printf(b, ", \"slurm\": %s, \"accounting\": \"%s\"", g->slurm ? "true" : "false",
               acct_word(g->acct));
    j_time(b, ", ", "first_seen", g->first);
    j_time(b, ", ", "last_seen", g->last);
    buf_printf(b, ", \"samples\": %lu", g->samples);
    j_num(b, ", ", "sm_mean_pct", g->sm_n ? g->sm_sum / (double)g->sm_n : NAN, 1);
    j_num(b, ", ", "sm_max_pct", g->sm_n ? g->sm_max : NAN, 0);
    j_num(b, ", ", "sampled_sum_max_mib", g->sum_max_mib, 0);
    buf_puts(b, ", \"memory_mib\": ");
    j_memory(b, g->lower_mib, g->lower_src, g->upper_mib, g->upper_why);
    buf_puts(b, ", \"flags\": ");
    j_flags(b, g->flags);
    buf_puts(b, ", \"processes\": [");
    for (size_t i = 0; i < g->nprocs; i++) {
        buf_puts(b, i ? ",\n      " : "\n      ");
        json_proc(b, &g->procs[i]);
    }
    buf_puts(b, g->nprocs ? "\n    ]}" : "]}");
}

static void fmt_json(const struct job *j, const struct job_fmt_info *in, struct gw_buf *b)
{
    bool claimed = j->flags & JOB_F_JOB_ID_CLAIMED;
    buf_puts(b, "{\"schema\": \"gpu_watch-job/1\"");
    j_str(b, ", ", "job_id", j->job_id);
    buf_printf(b, ", \"job_id_claimed\": %s", claimed ? "true" : "false");
    j_str(b, ", ", "host", *in->host ? in->host : NULL);
    j_time(b, ",\n  ", "start", j->start);
    j_str(b, ", ", "start_source", in->start_source);
    j_time(b, ", ", "end", j->end);
    j_str(b, ", ", "accounting_reader", in->acct_reader);
    j_num(b, ", ", "log_interval_s", j->interval, 3);
    buf_puts(b, ",\n  \"memory_mib\": ");
    j_memory(b, j->lower_mib, j->lower_src, j->upper_mib, j->upper_why);
    buf_puts(b, ",\n  \"flags\": ");
    j_flags(b, j->flags);
    buf_puts(b, ",\n  \"gpus\": [");
    for (size_t i = 0; i < j->ngpus; i++) {
        buf_puts(b, i ? ",\n    " : "\n    ");
        json_gpu(b, &j->gpus[i]);
    }
    buf_puts(b, j->ngpus ? "\n  ]}\n" : "]}\n");
}

static void mib(char *dst, size_t len, double v)
{
    if (isnan(v))
        snprintf(dst, len, "unknown");
    else
        snprintf(dst, len, "%.0f MiB", v);
}

/* Control characters of a command or user become spaces. */
static void put_clean(struct gw_buf *b, const char *s)
{
    for (; *s; s++)
        buf_putc(b, (unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s);
}

static void text_gpu(struct gw_buf *b, const struct job_gpu *g)
{
    char lo[32], up[32], t1[40], t2[40];
    buf_puts(b, "\nGPU ");
    if (g->index >= 0)
        buf_printf(b, "%d", g->index);
    else
        buf_puts(b, "?");
    buf_printf(b, " %s", *g->uuid ? g->uuid : "(UUID unknown)");
    if (g->minor >= 0)
        buf_printf(b, " (/dev/nvidia%d)", g->minor);
    buf_printf(b, "%s, accounting %s\n", g->slurm ? ", Slurm's" : "", acct_word(g->acct));
    utc_time(t1, sizeof t1, g->first);
    utc_time(t2, sizeof t2, g->last);
    buf_printf(b, "  seen %s to %s, %lu samples", *t1 ? t1 : "-", *t2 ? t2 : "-", g->samples);
    if (g->sm_n)
        buf_printf(b, ", SM mean %.1f%% max %.0f%%", g->sm_sum / (double)g->sm_n, g->sm_max);
    buf_putc(b, '\n');
    mib(lo, sizeof lo, g->lower_mib);
    mib(up, sizeof up, g->upper_mib);
    buf_printf(b, "  memory: at least %s (%s), at most %s", lo, job_src_name(g->lower_src), up);
    if (isnan(g->upper_mib))
        buf_printf(b, " (%s)", g->upper_why ? g->upper_why : "unknown");
    else
        buf_puts(b, " (sum of the driver's peaks)");
    buf_putc(b, '\n');
    if (g->nprocs)
        buf_puts(b, "      PID   TRUE PEAK  FROM      SAMPLED  SAMPLES  USER      COMMAND\n");
    for (size_t i = 0; i < g->nprocs; i++) {
        const struct job_proc *p = &g->procs[i];
        char tp[32], sp[32];
        if (isnan(p->true_mib))
            snprintf(tp, sizeof tp, "-");
        else
            snprintf(tp, sizeof tp, "%.0f MiB", p->true_mib);
        if (isnan(p->sampled_mib))
            snprintf(sp, sizeof sp, "-");
        else
            snprintf(sp, sizeof sp, "%.0f MiB", p->sampled_mib);
        buf_printf(b, "  %7ld  %10s  %-8s %9s  %7lu  ", p->pid, tp,
                   isnan(p->true_mib) ? "-" : job_src_name(p->true_src), sp, p->samples);
        size_t ul = strlen(p->user);
        put_clean(b, ul ? p->user : "-");
        for (size_t k = ul ? ul : 1; k < 8; k++)
            buf_putc(b, ' ');
        buf_puts(b, "  ");
        if (p->from_acct_only)
            buf_puts(b, "(no sample saw it: from the accounting records)");
        else
            put_clean(b, *p->cmd ? p->cmd : "-");
        buf_putc(b, '\n');
    }
}

static void fmt_text(const struct job *j, const struct job_fmt_info *in, struct gw_buf *b)
{
    char t1[40], t2[40], lo[32], up[32];
    utc_time(t1, sizeof t1, j->start);
    utc_time(t2, sizeof t2, j->end);
    buf_puts(b, "Job ");
    put_clean(b, j->job_id);
    if (*in->host) {
        buf_puts(b, " on ");
        put_clean(b, in->host);
    }
    buf_printf(b, ": %s to %s (start from %s)\n", *t1 ? t1 : "?", *t2 ? t2 : "?", in->start_source);
    mib(lo, sizeof lo, j->lower_mib);
    mib(up, sizeof up, j->upper_mib);
    buf_printf(b, "GPU memory, the most one GPU needed: at least %s (%s), at most %s", lo,
               job_src_name(j->lower_src), up);
    if (isnan(j->upper_mib))
        buf_printf(b, " (%s)", j->upper_why ? j->upper_why : "unknown");
    buf_putc(b, '\n');
    for (size_t i = 0; i < j->ngpus; i++)
        text_gpu(b, &j->gpus[i]);
    if (j->flags)
        buf_puts(b, "\nNotes:\n");
    for (int i = 0; i < JOB_NFLAGS; i++)
        if (j->flags & (1u << i))
            buf_printf(b, "  - %s\n", job_flag_text(1u << i));
}

/* "gpu_watch:lower=3000,upper=4200,gpus=1,procs=2,flags=a+b" */
static void fmt_compact(const struct job *j, struct gw_buf *b)
{
    size_t procs = 0;
    for (size_t i = 0; i < j->ngpus; i++)
        procs += j->gpus[i].nprocs;
    buf_puts(b, "gpu_watch:lower_mib=");
    if (isnan(j->lower_mib))
        buf_puts(b, "unknown");
    else
        buf_printf(b, "%.0f", j->lower_mib);
    buf_puts(b, ",upper_mib=");
    if (isnan(j->upper_mib))
        buf_puts(b, "unknown");
    else
        buf_printf(b, "%.0f", j->upper_mib);
    buf_printf(b, ",gpus=%zu,procs=%zu,flags=", j->ngpus, procs);
    const char *sep = "";
    for (int i = 0; i < JOB_NFLAGS; i++) {
        if (j->flags & (1u << i)) {
            buf_printf(b, "%s%s", sep, job_flag_name(1u << i));
            sep = "+";
        }
    }
    buf_putc(b, '\n');
}

int job_format(const struct job *j, const struct job_fmt_info *info, enum job_format f,
               struct gw_buf *b)
{
    if (f == JOB_JSON)
        fmt_json(j, info, b);
    else if (f == JOB_COMPACT)
        fmt_compact(j, b);
    else
        fmt_text(j, info, b);
    return buf_error(b) ? -ENOMEM : 0;
}
