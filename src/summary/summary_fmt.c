/* Rendering a summary as text or Markdown into a buffer; the pieces the
 * CSV and JSON renderings (summary_data.c) share. */

#include "gpu_watch/summary_fmt.h"
#include "gpu_watch/summary_data.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "gpu_watch/text.h"

#define DEFAULT_WIDTH  120
#define MIN_CMD_WIDTH  20
#define MIN_WRAP_WIDTH 20 /* --width is 40 or more; below this, lines are not wrapped */

int summary_parse_format(const char *name, enum summary_format *out)
{
    static const struct {
        const char *name;
        enum summary_format f;
    } names[] = {{"text", SUMMARY_TEXT},
                 {"csv", SUMMARY_CSV},
                 {"md", SUMMARY_MD},
                 {"markdown", SUMMARY_MD},
                 {"json", SUMMARY_JSON}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcasecmp(name, names[i].name) == 0) {
            *out = names[i].f;
            return 0;
        }
    return -EINVAL;
}

static void broken_down(double ts, bool utc, struct tm *tm)
{
    time_t t = (time_t)floor(ts);
    if (utc)
        gmtime_r(&t, tm);
    else
        localtime_r(&t, tm);
}

void sfmt_iso_time(char *dst, size_t len, double ts, const struct summary_fmt_opts *o)
{
    if (isnan(ts)) {
        dst[0] = '\0';
        return;
    }
    struct tm tm;
    broken_down(ts, o->utc, &tm);
    size_t n = strftime(dst, len, o->utc ? "%Y-%m-%dT%H:%M:%SZ" : "%Y-%m-%dT%H:%M:%S", &tm);
    if (o->offset && !o->utc && n) {
        long a = tm.tm_gmtoff < 0 ? -tm.tm_gmtoff : tm.tm_gmtoff;
        snprintf(dst + n, len - n, "%c%02ld:%02ld", tm.tm_gmtoff < 0 ? '-' : '+', a / 3600 % 24,
                 a % 3600 / 60);
    }
}

/* For text: "14:22:30" when the whole run lies in one day, else
 * "01-10 14:22:30"; "-" when unknown. */
static void short_time(char *dst, size_t len, double ts, bool utc, bool one_day)
{
    if (isnan(ts)) {
        snprintf(dst, len, "-");
        return;
    }
    struct tm tm;
    broken_down(ts, utc, &tm);
    strftime(dst, len, one_day ? "%H:%M:%S" : "%m-%d %H:%M:%S", &tm);
}

/* The zone the times are in: "UTC", "UTC+01:00" (a fixed offset), or
 * "local time" (naive timestamps: the log does not say which zone). */
static void zone_text(char *dst, size_t len, double ts, const struct summary_fmt_opts *o)
{
    struct tm tm;
    if (o->utc) {
        snprintf(dst, len, "UTC");
    } else if (o->offset && !isnan(ts)) {
        broken_down(ts, false, &tm);
        text_utc_offset(tm.tm_gmtoff, dst, len);
    } else {
        snprintf(dst, len, "local time");
    }
}

/* "6 samples every 10 s", "1 sample" (one sample is no rate),
 * "6 samples, interval unknown". */
static void samples_text(char *dst, size_t len, unsigned long n, double iv)
{
    const char *s = n == 1 ? "" : "s";
    char t[32];
    text_interval(iv, t, sizeof t);
    if (n == 1)
        snprintf(dst, len, "1 sample");
    else if (isnan(iv))
        snprintf(dst, len, "%lu sample%s, interval unknown", n, s);
    else
        snprintf(dst, len, "%lu sample%s every %s", n, s, t);
}

void sfmt_gpu_list(char *dst, size_t len, uint64_t mask, bool other)
{
    size_t n = 0;
    dst[0] = '\0';
    for (int g = 0; g < 64 && n < len; g++) {
        if (!(mask >> g & 1))
            continue;
        int e = g;
        while (e + 1 < 64 && (mask >> (e + 1) & 1))
            e++;
        if (e >= g + 2)
            n += (size_t)snprintf(dst + n, len - n, "%s%d-%d", n ? "," : "", g, e);
        else if (e == g + 1)
            n += (size_t)snprintf(dst + n, len - n, "%s%d,%d", n ? "," : "", g, e);
        else
            n += (size_t)snprintf(dst + n, len - n, "%s%d", n ? "," : "", g);
        g = e;
    }
    if (other && n < len)
        snprintf(dst + n, len - n, "%s?", n ? "," : "");
}

void sfmt_num(struct gw_buf *b, double v, int prec, const char *unknown)
{
    if (isnan(v))
        buf_puts(b, unknown);
    else
        buf_printf(b, "%.*f", prec, v);
}

static void cell(char *dst, size_t len, double v, int prec, const char *unit)
{
    if (isnan(v))
        snprintf(dst, len, "-");
    else
        snprintf(dst, len, "%.*f%s", prec, v, unit);
}

/* Text from the log, as it may reach a terminal (text.h: the sanitiser). */
static void put_clean(struct gw_buf *b, const char *s, size_t n)
{
    text_clean(b, s, n);
}

/* The command shortened to at most w columns (w 0: not shortened): its
 * start and end kept, "..." between (the program and the last arguments
 * say the most). Cut between characters, never inside one. */
static void put_short(struct gw_buf *b, const char *s, size_t w)
{
    size_t n = strlen(s);
    if (w == 0 || text_utf8_cols(s, n) <= w) {
        put_clean(b, s, n);
        return;
    }
    size_t head_cols = (w - 3) * 2 / 3, tail_cols = w - 3 - head_cols;
    size_t head = text_utf8_head(s, n, head_cols, SIZE_MAX), tail = text_utf8_tail(s, n, tail_cols);
    put_clean(b, s, head);
    buf_puts(b, "...");
    put_clean(b, s + tail, n - tail);
}

/* summary --by: the text name of the key column, and a group's key as
 * text ("(none)": rows without a job or user). Without --by: "COMMAND" and
 * the command ("-" unknown). */
static const char *key_head(const struct summary_fmt_opts *o)
{
    if (!o->by_field)
        return "COMMAND";
    return strcmp(o->by_field, "job_id") == 0 ? "JOB ID" : "USER";
}

static const char *key_text(const struct summary_proc *p, const struct summary_fmt_opts *o)
{
    return *p->cmd ? p->cmd : o->by_field ? "(none)" : "-";
}

static bool same_day(double a, double b, bool utc)
{
    if (isnan(a) || isnan(b))
        return true;
    struct tm x, y;
    broken_down(a, utc, &x);
    broken_down(b, utc, &y);
    return x.tm_year == y.tm_year && x.tm_yday == y.tm_yday;
}

void sfmt_notes(struct gw_buf *b, const struct summary_result *r)
{
    char t[32];
    text_interval(r->interval, t, sizeof t);
    size_t sampled = r->nprocs - r->driver_peaks - r->dense_peaks;
    if (r->driver_peaks && r->driver_peaks == r->nprocs) {
        buf_puts(b, "Peaks are true peaks from the driver's accounting.");
    } else {
        if (r->driver_peaks)
            buf_printf(b,
                       "Peaks marked * (source: driver) are true peaks from the driver's "
                       "accounting%s",
                       sampled ? "; the others are lower bounds, the highest of samples" : ". ");
        /* --peak-rate: read between rows; a reading late by more than a
         * period is skipped, so two periods is the spike sure to be seen. */
        if (r->dense_peaks)
            buf_printf(b,
                       "%sPeaks marked ~ (source: sampled at %g Hz) were read %g times a "
                       "second between samples: spikes of %.0f ms or longer are not missed%s",
                       r->driver_peaks && sampled ? ". " : "", r->dense_hz, r->dense_hz,
                       2000.0 / r->dense_hz,
                       sampled ? "; the others are lower bounds, the "
                                 "highest of samples"
                               : ".");
        if (!r->driver_peaks && !r->dense_peaks)
            buf_puts(b, "Peaks between samples are not seen: these are lower bounds, the "
                        "highest of samples");
        if (sampled && (isnan(r->interval) || r->samples == 1))
            buf_puts(b, " taken.");
        else if (sampled)
            buf_printf(b, " taken every %s.", t);
        if (r->driver_peaks && sampled)
            buf_puts(b, " Short peaks between samples are not seen.");
    }
    if (r->pidns_peaks)
        buf_printf(b, " Peaks marked ? are lower bounds: the driver's peak is unknown (process "
                      "in a PID namespace, whose accounting peak the driver may never update).");
    if (r->untracked_rows)
        buf_printf(b, " %lu rows of processes beyond the first %d are in the totals only.",
                   r->untracked_rows, SUMMARY_MAX_PROCS);
    if (r->gaps) {
        char d[32];
        text_duration(r->gap_s, d, sizeof d);
        buf_printf(b, " The log has %lu pause%s longer than 3 intervals (%s in all).", r->gaps,
                   r->gaps == 1 ? "" : "s", d);
    }
}

static void skipped_note(struct gw_buf *b, unsigned long skipped)
{
    if (skipped)
        buf_printf(b, " %lu malformed row%s skipped.", skipped, skipped == 1 ? "" : "s");
    buf_putc(b, '\n');
}

/* The text columns before COMMAND: PID, GPU, PEAK, AT, SM MEAN, SM MAX,
 * SAMPLES, FIRST, LAST [RSS, CPU]; tw is the width of a time. */
static void text_cols(struct gw_buf *b, bool host, int tw, const char *const v[11])
{
    buf_printf(b, "%7s %-5s %10s  %-*s %7s %6s %7s  %-*s  %-*s  ", v[0], v[1], v[2], tw, v[3], v[4],
               v[5], v[6], tw, v[7], tw, v[8]);
    if (host)
        buf_printf(b, "%10s %8s  ", v[9], v[10]);
}

static void text_total(struct gw_buf *b, const struct summary_result *r,
                       const struct summary_fmt_opts *o, bool one_day, int tw, size_t i,
                       bool stacked)
{
    char g[16], peak[32], at[40], f[40], l[40], n[24];
    bool all = i == r->ngpus;
    if (all)
        snprintf(g, sizeof g, "all");
    else if (r->gpus[i].gpu >= 0)
        snprintf(g, sizeof g, "%d", r->gpus[i].gpu);
    else
        snprintf(g, sizeof g, "?");
    /* Raised to its only process's driver peak: marked as that one is. */
    bool driver = all ? r->total_peak_driver : r->gpus[i].peak_driver;
    cell(peak, sizeof peak, all ? r->total_peak_mib : r->gpus[i].peak_mib, 0,
         driver ? " MiB*" : " MiB");
    short_time(at, sizeof at, all ? r->total_peak_ts : r->gpus[i].peak_ts, o->utc, one_day);
    short_time(f, sizeof f, r->first_ts, o->utc, one_day);
    short_time(l, sizeof l, r->last_ts, o->utc, one_day);
    snprintf(n, sizeof n, "%lu", r->samples);
    if (stacked) {
        buf_printf(b, "Total %s%s: peak %s at %s, %s samples, %s to %s\n",
                   all ? "of all GPUs" : "on GPU ", all ? "" : g, peak, at, n, f, l);
        return;
    }
    const char *const v[11] = {"total", g, peak, at, "", "", n, f, l, "", ""};
    text_cols(b, r->host, tw, v);
    buf_puts(b, all ? "all processes on all GPUs\n" : "all processes on this GPU\n");
}

/* Append the lines of t to b, each one longer than width columns
 * word-wrapped (continuation lines indented by two spaces; a word longer
 * than a line cut between characters), so that every line fits: --width N
 * is a promise about the whole text, not only the commands. */
static void put_wrapped(struct gw_buf *b, const char *t, size_t n, size_t width)
{
    const size_t indent = 2;
    const char *end = t + n;
    while (t < end) {
        const char *nl = memchr(t, '\n', (size_t)(end - t));
        size_t len = nl ? (size_t)(nl - t) : (size_t)(end - t);
        bool first = true;
        while (len || first) {
            size_t room = width - (first ? 0 : indent);
            size_t take = text_utf8_head(t, len, room, SIZE_MAX);
            if (take < len) {
                /* Break at the last space that fits, when there is one. */
                size_t sp = take;
                while (sp > 0 && t[sp] != ' ')
                    sp--;
                if (sp > 0)
                    take = sp;
            }
            if (!first)
                buf_printf(b, "%*s", (int)indent, "");
            if (take == 0)
                take = 1; /* not reached: room >= 1 and a byte is a column */
            buf_append(b, t, take);
            t += take;
            len -= take;
            while (len && *t == ' ')
                t++, len--;
            first = false;
            if (len)
                buf_putc(b, '\n');
        }
        if (nl) {
            buf_putc(b, '\n');
            t = nl + 1;
        } else {
            t = end;
        }
    }
}

/* A narrow --width, too narrow for the table: each process as a line of
 * "name value" pairs (wrapped by put_wrapped), its command on the next. */
static void text_stacked_proc(struct gw_buf *b, const struct summary_result *r,
                              const struct summary_fmt_opts *o, const char *const v[11],
                              const char *cmd, size_t cw)
{
    if (o->by_field)
        buf_printf(b, "%s %s", strcmp(o->by_field, "job_id") == 0 ? "Job" : "User", cmd);
    else
        buf_printf(b, "PID %s", v[0]);
    buf_printf(b, " on GPU %s: peak %s at %s, SM mean %s max %s, %s samples, %s to %s", v[1], v[2],
               v[3], v[4], v[5], v[6], v[7], v[8]);
    if (r->host)
        buf_printf(b, ", peak RSS %s, CPU mean %s", v[9], v[10]);
    buf_putc(b, '\n');
    if (!o->by_field) {
        buf_puts(b, "  ");
        put_short(b, cmd, cw);
        buf_putc(b, '\n');
    }
}

static void fmt_text(const struct summary_result *r, const struct summary_fmt_opts *o,
                     struct gw_buf *b)
{
    bool one_day = same_day(r->first_ts, r->last_ts, o->utc);
    char first[40], last[40], span[32], ns[64], zone[32];
    sfmt_iso_time(first, sizeof first, r->first_ts, o);
    short_time(last, sizeof last, r->last_ts, o->utc, one_day);
    text_duration(r->last_ts - r->first_ts, span, sizeof span);
    samples_text(ns, sizeof ns, r->samples, r->interval);
    zone_text(zone, sizeof zone, r->first_ts, o);
    buf_puts(b, "gpu_watch summary");
    if (o->title) {
        buf_puts(b, " of ");
        put_clean(b, o->title, strlen(o->title));
    }
    buf_printf(b, ": %s to %s (%s, %s), %s\n", *first ? first : "-", last, span, zone, ns);
    int tw = one_day ? 8 : 14;
    int used = 7 + 1 + 5 + 1 + 10 + 2 + tw + 1 + 7 + 1 + 6 + 1 + 7 + 2 + tw + 2 + tw + 2;
    if (r->host)
        used += 10 + 1 + 8 + 2;
    int width = o->width != 0 ? o->width : DEFAULT_WIDTH;
    size_t cw = width < 0                       ? 0
                : width - used >= MIN_CMD_WIDTH ? (size_t)(width - used)
                                                : MIN_CMD_WIDTH;
    /* An explicit width that the table cannot keep: one process per two
     * lines instead, every line fitted (put_wrapped). */
    bool stacked = o->width > 0 && width - used < MIN_CMD_WIDTH;
    if (stacked)
        cw = (size_t)width - 2;
    static const char *const head[11] = {"PID",     "GPU",      "PEAK MEM", "AT",
                                         "SM MEAN", "SM MAX",   "SAMPLES",  "FIRST",
                                         "LAST",    "PEAK RSS", "CPU MEAN"};
    if (!stacked) {
        text_cols(b, r->host, tw, head);
        buf_printf(b, "%s\n", key_head(o));
    }
    for (size_t i = 0; i < r->nprocs; i++) {
        const struct summary_proc *p = &r->procs[i];
        char pid[24] = "-", gpus[64], peak[32], at[40], smm[16], smx[16], n[24], f[40], l[40];
        char rss[32], cpu[16];
        if (p->pid >= 0)
            snprintf(pid, sizeof pid, "%ld", p->pid);
        sfmt_gpu_list(gpus, sizeof gpus, p->gpu_mask, p->gpu_other);
        cell(peak, sizeof peak, p->peak_mib, 0,
             p->peak_driver   ? " MiB*"
             : p->peak_hz > 0 ? " MiB~"
             : p->peak_pidns  ? " MiB?"
                              : " MiB");
        short_time(at, sizeof at, p->peak_ts, o->utc, one_day);
        cell(smm, sizeof smm, p->sm_mean, 0, " %");
        cell(smx, sizeof smx, p->sm_max, 0, " %");
        snprintf(n, sizeof n, "%lu", p->samples);
        short_time(f, sizeof f, p->first_ts, o->utc, one_day);
        short_time(l, sizeof l, p->last_ts, o->utc, one_day);
        cell(rss, sizeof rss, p->rss_peak_mib, 0, " MiB");
        cell(cpu, sizeof cpu, p->cpu_mean, 0, " %");
        const char *const v[11] = {pid, gpus, peak, at, smm, smx, n, f, l, rss, cpu};
        if (stacked) {
            text_stacked_proc(b, r, o, v, key_text(p, o), cw);
            continue;
        }
        text_cols(b, r->host, tw, v);
        put_short(b, key_text(p, o), cw);
        buf_putc(b, '\n');
    }
    /* Totals: per GPU, then all GPUs together when there are several. */
    for (size_t i = 0; i < r->ngpus + (r->ngpus > 1); i++)
        text_total(b, r, o, one_day, tw, i, stacked);
    if (r->nprocs == 0)
        buf_puts(b, "No process was seen on a GPU.\n");
    sfmt_notes(b, r);
    skipped_note(b, o->skipped);
}

/* Text from the log in Markdown: a code span, so that nothing in it
 * renders (links, images, autolinks, emphasis, HTML, headings). Its fence
 * is one backtick longer than the longest run of backticks in it; a space
 * pads each end when the text starts or ends with a backtick, or with a
 * space at both ends (CommonMark strips one space from each side then). '|' is written '\|'
 * even inside the span: GFM splits a table row into cells before it reads
 * code spans, and gives the span '|' back. Sanitised first. */
static void md_code(struct gw_buf *b, const char *s)
{
    size_t n = strlen(s), run = 0, longest = 0;
    for (size_t i = 0; i < n; i++) {
        run = s[i] == '`' ? run + 1 : 0;
        longest = run > longest ? run : longest;
    }
    bool pad = n && (s[0] == '`' || s[n - 1] == '`' || (s[0] == ' ' && s[n - 1] == ' '));
    for (size_t i = 0; i <= longest; i++)
        buf_putc(b, '`');
    if (pad)
        buf_putc(b, ' ');
    for (size_t i = 0; i < n;) {
        bool ok;
        size_t k = text_show_len(s + i, n - i, &ok);
        if (!ok)
            buf_puts(b, TEXT_REPLACEMENT);
        else if (s[i] == '|')
            buf_puts(b, "\\|");
        else
            buf_append(b, s + i, k);
        i += k;
    }
    if (pad)
        buf_putc(b, ' ');
    for (size_t i = 0; i <= longest; i++)
        buf_putc(b, '`');
}

/* One Markdown row: a process (i < nprocs), a GPU's total, or all GPUs'. */
static void md_row(struct gw_buf *b, const struct summary_result *r,
                   const struct summary_fmt_opts *o, size_t i)
{
    char pid[24] = "-", gpus[64], peak[32], at[40], smm[16] = "", smx[16] = "", f[40], l[40];
    char rss[32] = "", cpu[16] = "";
    const char *cmd;
    unsigned long n = r->samples;
    sfmt_iso_time(f, sizeof f, r->first_ts, o);
    sfmt_iso_time(l, sizeof l, r->last_ts, o);
    if (i < r->nprocs) {
        const struct summary_proc *p = &r->procs[i];
        if (p->pid >= 0)
            snprintf(pid, sizeof pid, "%ld", p->pid);
        sfmt_gpu_list(gpus, sizeof gpus, p->gpu_mask, p->gpu_other);
        cell(peak, sizeof peak, p->peak_mib, 0, " MiB");
        sfmt_iso_time(at, sizeof at, p->peak_ts, o);
        cell(smm, sizeof smm, p->sm_mean, 0, " %");
        cell(smx, sizeof smx, p->sm_max, 0, " %");
        sfmt_iso_time(f, sizeof f, p->first_ts, o);
        sfmt_iso_time(l, sizeof l, p->last_ts, o);
        cell(rss, sizeof rss, p->rss_peak_mib, 0, " MiB");
        cell(cpu, sizeof cpu, p->cpu_mean, 0, " %");
        cmd = *p->cmd ? p->cmd : "-";
        n = p->samples;
        if (o->by_field) {
            /* The group's key in the first column, empty for none. */
            buf_puts(b, "| ");
            if (*p->cmd)
                md_code(b, p->cmd);
            pid[0] = '\0';
        }
    } else {
        size_t k = i - r->nprocs;
        bool all = k == r->ngpus;
        snprintf(pid, sizeof pid, "**total**");
        if (all)
            snprintf(gpus, sizeof gpus, "all");
        else if (r->gpus[k].gpu >= 0)
            snprintf(gpus, sizeof gpus, "%d", r->gpus[k].gpu);
        else
            snprintf(gpus, sizeof gpus, "?");
        cell(peak, sizeof peak, all ? r->total_peak_mib : r->gpus[k].peak_mib, 0, " MiB");
        sfmt_iso_time(at, sizeof at, all ? r->total_peak_ts : r->gpus[k].peak_ts, o);
        cmd = all ? "all processes on all GPUs" : "all processes on this GPU";
    }
    if (!o->by_field || i >= r->nprocs)
        buf_printf(b, "| %s", pid);
    buf_printf(b, " | %s | %s | %s | %s | %s | %lu | %s | %s |", gpus, peak, *at ? at : "-", smm,
               smx, n, f, l);
    if (r->peaks && i < r->nprocs) {
        const struct summary_proc *p = &r->procs[i];
        char sp[32], src[48];
        cell(sp, sizeof sp, p->sampled_peak_mib, 0, " MiB");
        buf_printf(b, " %s | %s |", summary_peak_source(p, src, sizeof src), sp);
    } else if (r->peaks) {
        buf_printf(b, " sampled | %s |", peak);
    }
    if (r->host)
        buf_printf(b, " %s | %s |", rss, cpu);
    if (!o->by_field) {
        buf_putc(b, ' ');
        if (i < r->nprocs)
            md_code(b, cmd);
        else
            buf_puts(b, cmd); /* our own words */
        buf_puts(b, " |");
    }
    buf_putc(b, '\n');
}

static void fmt_md(const struct summary_result *r, const struct summary_fmt_opts *o,
                   struct gw_buf *b)
{
    char first[40], last[40], span[32], ns[64], zone[32];
    sfmt_iso_time(first, sizeof first, r->first_ts, o);
    sfmt_iso_time(last, sizeof last, r->last_ts, o);
    text_duration(r->last_ts - r->first_ts, span, sizeof span);
    samples_text(ns, sizeof ns, r->samples, r->interval);
    zone_text(zone, sizeof zone, r->first_ts, o);
    buf_puts(b, "### GPU summary");
    if (o->title) {
        buf_puts(b, " of ");
        md_code(b, o->title);
    }
    buf_printf(b, "\n\n%s to %s (%s, %s), %s.\n\n", *first ? first : "-", *last ? last : "-", span,
               zone, ns);
    buf_printf(b,
               "| %s | GPU | Peak GPU memory | At | SM mean | SM max | Samples | "
               "First seen | Last seen |",
               !o->by_field                         ? "PID"
               : strcmp(o->by_field, "job_id") == 0 ? "Job ID"
                                                    : "User");
    if (r->peaks)
        buf_puts(b, " Peak source | Sampled peak |");
    if (r->host)
        buf_puts(b, " Peak RSS | CPU mean |");
    buf_puts(b, o->by_field ? "\n|---|---|---:|---|---:|---:|---:|---|---|"
                            : " Command |\n|---:|---|---:|---|---:|---:|---:|---|---|");
    if (r->peaks)
        buf_puts(b, "---|---:|");
    if (r->host)
        buf_puts(b, "---:|---:|");
    buf_puts(b, o->by_field ? "\n" : "---|\n");
    for (size_t i = 0; i < r->nprocs + r->ngpus + (r->ngpus > 1); i++)
        md_row(b, r, o, i);
    buf_putc(b, '\n');
    sfmt_notes(b, r);
    skipped_note(b, o->skipped);
}

int summary_format(const struct summary_result *r, enum summary_format f,
                   const struct summary_fmt_opts *o, struct gw_buf *out)
{
    switch (f) {
    case SUMMARY_TEXT:
        if (o->width >= MIN_WRAP_WIDTH) {
            struct gw_buf t = {0};
            fmt_text(r, o, &t);
            int rc = buf_error(&t);
            if (rc == 0)
                put_wrapped(out, t.p, t.len, (size_t)o->width);
            buf_free(&t);
            if (rc)
                return rc;
        } else {
            fmt_text(r, o, out);
        }
        break;
    case SUMMARY_CSV:
        sfmt_csv(r, o, out);
        break;
    case SUMMARY_MD:
        fmt_md(r, o, out);
        break;
    case SUMMARY_JSON:
        sfmt_json(r, o, out);
        break;
    default:
        return -EINVAL;
    }
    return buf_error(out);
}
