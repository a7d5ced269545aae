/* Rendering a summary as CSV or JSON into a buffer: for scripts. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "gpu_watch/csv.h"
#include "gpu_watch/summary_data.h"
#include "gpu_watch/summary_fmt.h"
#include "gpu_watch/text.h"

#define CSV_COLS_HEAD "row,pid,cmd,gpus,peak_gpu_mem_mib,"
/* With the driver's peaks (--peaks), where each peak came from. */
#define CSV_COLS_PEAKS "peak_source,sampled_peak_gpu_mem_mib,"
#define CSV_COLS_TAIL                                                                              \
    "peak_at,sm_mean_pct,sm_max_pct,samples,first_seen,last_seen,peak_rss_mib,cpu_mean_pct,"       \
    "interval_s\n"

/* One CSV row; what a row kind lacks is NAN, "" or -1 (pid). */
struct csv_row {
    const char *row, *cmd, *gpus;
    long pid;
    double peak, at, smm, smx;
    unsigned long samples;
    double first, last, rss, cpu, iv;
    const struct summary_proc *proc; /* a process row of a --peaks summary; else NULL */
    bool peaks;                      /* the peak_source columns are there */
};

static void csv_time(struct gw_buf *b, double ts, const struct summary_fmt_opts *o)
{
    char t[48];
    sfmt_iso_time(t, sizeof t, ts, o);
    buf_puts(b, t);
}

/* A text cell from the log (a command, a user name) for a spreadsheet:
 * sanitised (text.h), and one that starts with '=', '+', '-', '@', a tab
 * or a CR, which a spreadsheet would run as a formula, gets a leading
 * single quote (OWASP, "CSV Injection"). The log itself stays exact. */
static void csv_text(struct gw_buf *b, const char *s)
{
    struct gw_buf c = {0};
    if (*s && strchr("=+-@\t\r", *s))
        buf_putc(&c, '\'');
    text_clean(&c, s, strlen(s));
    if (buf_error(&c))
        buf_reserve(b, SIZE_MAX); /* b remembers the failure */
    else
        csv_field(b, c.p ? c.p : "", c.len);
    buf_free(&c);
}

static void csv_line(struct gw_buf *b, const struct csv_row *c, const struct summary_fmt_opts *o)
{
    buf_printf(b, "%s,", c->row);
    if (!o->by_field) {
        if (c->pid >= 0)
            buf_printf(b, "%ld", c->pid);
        buf_putc(b, ',');
    }
    /* The command, or with --by the group's key (empty: none). */
    csv_text(b, c->cmd);
    buf_putc(b, ',');
    csv_field(b, c->gpus, strlen(c->gpus)); /* "0,1" is quoted */
    buf_putc(b, ',');
    sfmt_num(b, c->peak, 0, "");
    buf_putc(b, ',');
    if (c->peaks) {
        char src[48] = "sampled";
        if (c->proc)
            summary_peak_source(c->proc, src, sizeof src);
        buf_printf(b, "%s,", src);
        sfmt_num(b, c->proc ? c->proc->sampled_peak_mib : c->peak, 0, "");
        buf_putc(b, ',');
    }
    csv_time(b, c->at, o);
    buf_putc(b, ',');
    sfmt_num(b, c->smm, 1, "");
    buf_putc(b, ',');
    sfmt_num(b, c->smx, 0, "");
    buf_printf(b, ",%lu,", c->samples);
    csv_time(b, c->first, o);
    buf_putc(b, ',');
    csv_time(b, c->last, o);
    buf_putc(b, ',');
    sfmt_num(b, c->rss, 0, "");
    buf_putc(b, ',');
    sfmt_num(b, c->cpu, 1, "");
    buf_putc(b, ',');
    sfmt_num(b, c->iv, 3, "");
    buf_putc(b, '\n');
}

void sfmt_csv(const struct summary_result *r, const struct summary_fmt_opts *o, struct gw_buf *b)
{
    if (o->by_field)
        buf_printf(b, "row,%s,gpus,peak_gpu_mem_mib,", o->by_field);
    else
        buf_puts(b, CSV_COLS_HEAD);
    if (r->peaks)
        buf_puts(b, CSV_COLS_PEAKS);
    buf_puts(b, CSV_COLS_TAIL);
    /* The row type: a process, or with --by its group ("job", "user"). */
    const char *kind = o->by_row ? o->by_row : "process";
    for (size_t i = 0; i < r->nprocs; i++) {
        const struct summary_proc *p = &r->procs[i];
        char gpus[64];
        sfmt_gpu_list(gpus, sizeof gpus, p->gpu_mask, p->gpu_other);
        struct csv_row c = {kind,        p->cmd,      gpus,       p->pid,
                            p->peak_mib, p->peak_ts,  p->sm_mean, p->sm_max,
                            p->samples,  p->first_ts, p->last_ts, p->rss_peak_mib,
                            p->cpu_mean, NAN,         p,          r->peaks};
        csv_line(b, &c, o);
    }
    for (size_t i = 0; i < r->ngpus; i++) {
        char g[16] = "";
        if (r->gpus[i].gpu >= 0)
            snprintf(g, sizeof g, "%d", r->gpus[i].gpu);
        struct csv_row c = {
            "gpu", "",  g,          -1,          r->gpus[i].peak_mib, r->gpus[i].peak_ts,
            NAN,   NAN, r->samples, r->first_ts, r->last_ts,          NAN,
            NAN,   NAN, NULL,       r->peaks};
        csv_line(b, &c, o);
    }
    struct csv_row c = {
        "run", "",          "",         -1,          r->total_peak_mib, r->total_peak_ts,
        NAN,   NAN,         r->samples, r->first_ts, r->last_ts,        NAN,
        NAN,   r->interval, NULL,       r->peaks};
    csv_line(b, &c, o);
}

/* A JSON string; bytes that are not UTF-8 become U+FFFD; the controls of
 * the sanitiser (text.h: C0, DEL, C1) are \\u escapes, so that a JSON file
 * shown on a terminal runs nothing. */
static void json_str(struct gw_buf *b, const char *s)
{
    text_json_str(b, s);
}

/* ", \"key\": value" (sep first: "" for the first member). */
static void json_num(struct gw_buf *b, const char *sep, const char *key, double v, int prec)
{
    buf_printf(b, "%s\"%s\": ", sep, key);
    sfmt_num(b, v, prec, "null");
}

static void json_time(struct gw_buf *b, const char *sep, const char *key, double v,
                      const struct summary_fmt_opts *o)
{
    char t[48];
    sfmt_iso_time(t, sizeof t, v, o);
    if (*t)
        buf_printf(b, "%s\"%s\": \"%s\"", sep, key, t);
    else
        buf_printf(b, "%s\"%s\": null", sep, key);
}

static void json_proc(struct gw_buf *b, const struct summary_proc *p, bool peaks,
                      const struct summary_fmt_opts *o)
{
    if (o->by_field) {
        /* A group of summary --by: its key, null for none; no pid, no cmd. */
        buf_printf(b, "{\"%s\": ", o->by_field);
        if (*p->cmd)
            json_str(b, p->cmd);
        else
            buf_puts(b, "null");
    } else {
        if (p->pid >= 0)
            buf_printf(b, "{\"pid\": %ld, \"cmd\": ", p->pid);
        else
            buf_puts(b, "{\"pid\": null, \"cmd\": ");
        json_str(b, p->cmd);
    }
    buf_puts(b, ", \"gpus\": [");
    bool any = false;
    for (int g = 0; g < 64; g++)
        if (p->gpu_mask >> g & 1) {
            buf_printf(b, "%s%d", any ? ", " : "", g);
            any = true;
        }
    if (p->gpu_other)
        buf_printf(b, "%snull", any ? ", " : "");
    buf_putc(b, ']');
    json_num(b, ", ", "peak_gpu_mem_mib", p->peak_mib, 0);
    if (peaks) {
        char src[48];
        buf_printf(b, ", \"peak_source\": \"%s\"", summary_peak_source(p, src, sizeof src));
        json_num(b, ", ", "sampled_peak_gpu_mem_mib", p->sampled_peak_mib, 0);
    }
    json_time(b, ", ", "peak_at", p->peak_ts, o);
    json_num(b, ", ", "sm_mean_pct", p->sm_mean, 1);
    json_num(b, ", ", "sm_max_pct", p->sm_max, 0);
    buf_printf(b, ", \"samples\": %lu", p->samples);
    json_time(b, ", ", "first_seen", p->first_ts, o);
    json_time(b, ", ", "last_seen", p->last_ts, o);
    json_num(b, ", ", "peak_rss_mib", p->rss_peak_mib, 0);
    json_num(b, ", ", "cpu_mean_pct", p->cpu_mean, 1);
    buf_putc(b, '}');
}

void sfmt_json(const struct summary_result *r, const struct summary_fmt_opts *o, struct gw_buf *b)
{
    buf_puts(b, "{\n  \"log\": ");
    if (o->title)
        json_str(b, o->title);
    else
        buf_puts(b, "null");
    json_time(b, ",\n  ", "first", r->first_ts, o);
    json_time(b, ",\n  ", "last", r->last_ts, o);
    json_num(b, ",\n  ", "span_s", r->last_ts - r->first_ts, 0);
    json_num(b, ",\n  ", "interval_s", r->interval, 3);
    buf_printf(b,
               ",\n  \"samples\": %lu,\n  \"rows\": %lu,\n  \"skipped_rows\": %lu,\n  "
               "\"gaps\": %lu,\n  \"gap_s\": %.0f,\n  \"%s%s\": [",
               r->samples, r->rows, o->skipped, r->gaps, r->gap_s,
               o->by_row ? o->by_row : "processes", o->by_row ? "s" : "");
    for (size_t i = 0; i < r->nprocs; i++) {
        buf_puts(b, i ? ",\n    " : "\n    ");
        json_proc(b, &r->procs[i], r->peaks, o);
    }
    buf_puts(b, r->nprocs ? "\n  ],\n  \"gpus\": [" : "],\n  \"gpus\": [");
    for (size_t i = 0; i < r->ngpus; i++) {
        buf_puts(b, i ? ",\n    {" : "\n    {");
        if (r->gpus[i].gpu >= 0)
            buf_printf(b, "\"gpu\": %d", r->gpus[i].gpu);
        else
            buf_puts(b, "\"gpu\": null");
        json_num(b, ", ", "peak_gpu_mem_mib", r->gpus[i].peak_mib, 0);
        json_time(b, ", ", "peak_at", r->gpus[i].peak_ts, o);
        buf_putc(b, '}');
    }
    buf_puts(b, r->ngpus ? "\n  ],\n  \"total\": {" : "],\n  \"total\": {");
    json_num(b, "", "peak_gpu_mem_mib", r->total_peak_mib, 0);
    json_time(b, ", ", "peak_at", r->total_peak_ts, o);
    buf_puts(b, "},\n  \"caveat\": ");
    /* Our own ASCII text, without quotes or backslashes: no escaping. */
    buf_putc(b, '"');
    sfmt_notes(b, r);
    buf_putc(b, '"');
    buf_puts(b, "\n}\n");
}
