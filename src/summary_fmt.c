/* Rendering a summary as text, CSV, Markdown or JSON into a buffer. */
#include "gpu_watch/summary.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define DEFAULT_WIDTH 120
#define MIN_CMD_WIDTH 20

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

/* "2025-01-10T14:22:30", with a Z in UTC; "" when unknown. */
static void iso_time(char *dst, size_t len, double ts, bool utc)
{
    if (isnan(ts)) {
        dst[0] = '\0';
        return;
    }
    struct tm tm;
    broken_down(ts, utc, &tm);
    strftime(dst, len, utc ? "%Y-%m-%dT%H:%M:%SZ" : "%Y-%m-%dT%H:%M:%S", &tm);
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

/* "47m32s", "2h05m", "3d04h", "12s". */
static void duration(char *dst, size_t len, double s)
{
    if (isnan(s) || s < 0) {
        snprintf(dst, len, "-");
        return;
    }
    long t = (long)llround(s);
    if (t < 60)
        snprintf(dst, len, "%lds", t);
    else if (t < 3600)
        snprintf(dst, len, "%ldm%02lds", t / 60, t % 60);
    else if (t < 86400)
        snprintf(dst, len, "%ldh%02ldm", t / 3600, (t % 3600) / 60);
    else
        snprintf(dst, len, "%ldd%02ldh", t / 86400, (t % 86400) / 3600);
}

/* An interval in seconds as the user gave it: "1 s", "0.5 s", "30 s". */
static void interval_text(char *dst, size_t len, double iv)
{
    if (isnan(iv))
        snprintf(dst, len, "an unknown interval");
    else
        snprintf(dst, len, "%.3g s", iv);
}

/* "0", "0,1", "0-3", "?" for unknown, "0,?" for both. */
static void gpu_list(char *dst, size_t len, uint64_t mask, bool other)
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

/* A number, or unknown: "" (CSV), "null" (JSON), "-" (text). %.*f. */
static int num(struct gw_buf *b, double v, int prec, const char *unknown)
{
    if (isnan(v))
        return buf_puts(b, unknown);
    return buf_printf(b, "%.*f", prec, v);
}

static void cell(char *dst, size_t len, double v, int prec, const char *unit)
{
    if (isnan(v))
        snprintf(dst, len, "-");
    else
        snprintf(dst, len, "%.*f%s", prec, v, unit);
}

/* The command shortened to at most w bytes: its start and end kept, "..."
 * between (the program and the last arguments say the most). */
static int put_clean(struct gw_buf *b, const char *s, size_t n)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = buf_putc(b, (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? ' ' : s[i]);
    return rc;
}

static int put_short(struct gw_buf *b, const char *s, size_t w)
{
    size_t n = strlen(s);
    if (n <= w)
        return put_clean(b, s, n);
    size_t head = (w - 3) * 2 / 3, tail = w - 3 - head;
    int rc = put_clean(b, s, head);
    if (rc == 0)
        rc = buf_puts(b, "...");
    return rc ? rc : put_clean(b, s + n - tail, tail);
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

static int caveat(struct gw_buf *b, const struct summary_result *r)
{
    char iv[48];
    interval_text(iv, sizeof iv, r->interval);
    return buf_printf(b,
                      "Peaks between samples are not seen: these are the highest of samples "
                      "taken every %s.",
                      iv);
}

static int gaps_note(struct gw_buf *b, const struct summary_result *r)
{
    if (r->untracked_rows &&
        buf_printf(b, " %lu rows of processes beyond the first %d are in the totals only.",
                   r->untracked_rows, SUMMARY_MAX_PROCS) < 0)
        return -ENOMEM;
    if (!r->gaps)
        return 0;
    char d[32];
    duration(d, sizeof d, r->gap_s);
    return buf_printf(b, " The log has %lu pause%s longer than 3 intervals (%s in all).", r->gaps,
                      r->gaps == 1 ? "" : "s", d);
}

static int fmt_text(const struct summary_result *r, const struct summary_fmt_opts *o,
                    struct gw_buf *b)
{
    bool one_day = same_day(r->first_ts, r->last_ts, o->utc);
    char first[40], last[40], span[32], iv[48];
    iso_time(first, sizeof first, r->first_ts, o->utc);
    short_time(last, sizeof last, r->last_ts, o->utc, one_day);
    duration(span, sizeof span, r->last_ts - r->first_ts);
    interval_text(iv, sizeof iv, r->interval);
    int rc = buf_printf(b, "gpu_watch summary%s%s: %s to %s (%s), %lu sample%s every %s\n",
                        o->title ? " of " : "", o->title ? o->title : "", *first ? first : "-",
                        last, span, r->samples, r->samples == 1 ? "" : "s", iv);
    int tw = one_day ? 8 : 14;
    /* PID, GPU, PEAK, AT, SM MEAN, SM MAX, SAMPLES, FIRST, LAST [RSS, CPU]. */
    int used = 7 + 1 + 5 + 1 + 10 + 2 + tw + 1 + 7 + 1 + 6 + 1 + 7 + 2 + tw + 2 + tw + 2;
    if (r->host)
        used += 10 + 1 + 8 + 2;
    int width = o->width > 0 ? o->width : DEFAULT_WIDTH;
    size_t cw = width - used >= MIN_CMD_WIDTH ? (size_t)(width - used) : MIN_CMD_WIDTH;
    if (rc == 0)
        rc =
            buf_printf(b, "%7s %-5s %10s  %-*s %7s %6s %7s  %-*s  %-*s  ", "PID", "GPU", "PEAK MEM",
                       tw, "AT", "SM MEAN", "SM MAX", "SAMPLES", tw, "FIRST", tw, "LAST");
    if (rc == 0 && r->host)
        rc = buf_printf(b, "%10s %8s  ", "PEAK RSS", "CPU MEAN");
    if (rc == 0)
        rc = buf_puts(b, "COMMAND\n");
    for (size_t i = 0; rc == 0 && i < r->nprocs; i++) {
        const struct summary_proc *p = &r->procs[i];
        char pid[24], gpus[64], peak[32], at[40], smm[16], smx[16], f[40], l[40];
        if (p->pid >= 0)
            snprintf(pid, sizeof pid, "%ld", p->pid);
        else
            snprintf(pid, sizeof pid, "-");
        gpu_list(gpus, sizeof gpus, p->gpu_mask, p->gpu_other);
        cell(peak, sizeof peak, p->peak_mib, 0, " MiB");
        short_time(at, sizeof at, p->peak_ts, o->utc, one_day);
        cell(smm, sizeof smm, p->sm_mean, 0, " %");
        cell(smx, sizeof smx, p->sm_max, 0, " %");
        short_time(f, sizeof f, p->first_ts, o->utc, one_day);
        short_time(l, sizeof l, p->last_ts, o->utc, one_day);
        rc = buf_printf(b, "%7s %-5s %10s  %-*s %7s %6s %7lu  %-*s  %-*s  ", pid, gpus, peak, tw,
                        at, smm, smx, p->samples, tw, f, tw, l);
        if (rc == 0 && r->host) {
            char rss[32], cpu[16];
            cell(rss, sizeof rss, p->rss_peak_mib, 0, " MiB");
            cell(cpu, sizeof cpu, p->cpu_mean, 0, " %");
            rc = buf_printf(b, "%10s %8s  ", rss, cpu);
        }
        if (rc == 0)
            rc = put_short(b, *p->cmd ? p->cmd : "-", cw);
        if (rc == 0)
            rc = buf_putc(b, '\n');
    }
    /* Totals: per GPU, then all GPUs together when there are several. */
    for (size_t i = 0; rc == 0 && i <= r->ngpus; i++) {
        char g[16], peak[32], at[40], f[40], l[40];
        double v, t;
        const char *what;
        if (i < r->ngpus) {
            if (r->gpus[i].gpu >= 0)
                snprintf(g, sizeof g, "%d", r->gpus[i].gpu);
            else
                snprintf(g, sizeof g, "?");
            v = r->gpus[i].peak_mib;
            t = r->gpus[i].peak_ts;
            what = "all processes on this GPU";
        } else {
            if (r->ngpus < 2)
                break;
            snprintf(g, sizeof g, "all");
            v = r->total_peak_mib;
            t = r->total_peak_ts;
            what = "all processes on all GPUs";
        }
        cell(peak, sizeof peak, v, 0, " MiB");
        short_time(at, sizeof at, t, o->utc, one_day);
        short_time(f, sizeof f, r->first_ts, o->utc, one_day);
        short_time(l, sizeof l, r->last_ts, o->utc, one_day);
        rc = buf_printf(b, "%7s %-5s %10s  %-*s %7s %6s %7lu  %-*s  %-*s  ", "total", g, peak, tw,
                        at, "", "", r->samples, tw, f, tw, l);
        if (rc == 0 && r->host)
            rc = buf_printf(b, "%10s %8s  ", "", "");
        if (rc == 0)
            rc = buf_printf(b, "%s\n", what);
    }
    if (rc == 0 && r->nprocs == 0)
        rc = buf_puts(b, "No process was seen on a GPU.\n");
    if (rc == 0)
        rc = caveat(b, r);
    if (rc == 0)
        rc = gaps_note(b, r);
    if (rc == 0 && o->skipped)
        rc = buf_printf(b, " %lu malformed row%s skipped.", o->skipped, o->skipped == 1 ? "" : "s");
    return rc ? rc : buf_putc(b, '\n');
}

/* A CSV field, quoted when needed (RFC 4180). */
static int csv_str(struct gw_buf *b, const char *s)
{
    if (!strpbrk(s, ",\"\r\n") && s[0] != ' ' && (!*s || s[strlen(s) - 1] != ' '))
        return buf_puts(b, s);
    int rc = buf_putc(b, '"');
    for (; rc == 0 && *s; s++)
        rc = *s == '"' ? buf_puts(b, "\"\"") : buf_putc(b, *s);
    return rc ? rc : buf_putc(b, '"');
}

#define CSV_COLS                                                                                   \
    "row,pid,cmd,gpus,peak_gpu_mem_mib,peak_at,sm_mean_pct,sm_max_pct,samples,first_seen,"         \
    "last_seen,peak_rss_mib,cpu_mean_pct,interval_s\n"

static int csv_line(struct gw_buf *b, const char *row, const char *pid, const char *cmd,
                    const char *gpus, double peak, double at, double smm, double smx,
                    unsigned long samples, double first, double last, double rss, double cpu,
                    double iv, bool utc)
{
    char t[40];
    int rc = buf_printf(b, "%s,%s,", row, pid);
    if (rc == 0)
        rc = csv_str(b, cmd);
    if (rc == 0)
        rc = buf_printf(b, ",%s,", gpus);
    if (rc == 0)
        rc = num(b, peak, 0, "");
    iso_time(t, sizeof t, at, utc);
    if (rc == 0)
        rc = buf_printf(b, ",%s,", t);
    if (rc == 0)
        rc = num(b, smm, 1, "");
    if (rc == 0)
        rc = buf_putc(b, ',');
    if (rc == 0)
        rc = num(b, smx, 0, "");
    iso_time(t, sizeof t, first, utc);
    if (rc == 0)
        rc = buf_printf(b, ",%lu,%s,", samples, t);
    iso_time(t, sizeof t, last, utc);
    if (rc == 0)
        rc = buf_printf(b, "%s,", t);
    if (rc == 0)
        rc = num(b, rss, 0, "");
    if (rc == 0)
        rc = buf_putc(b, ',');
    if (rc == 0)
        rc = num(b, cpu, 1, "");
    if (rc == 0)
        rc = buf_putc(b, ',');
    if (rc == 0)
        rc = num(b, iv, 3, "");
    return rc ? rc : buf_putc(b, '\n');
}

static int fmt_csv(const struct summary_result *r, const struct summary_fmt_opts *o,
                   struct gw_buf *b)
{
    int rc = buf_puts(b, CSV_COLS);
    for (size_t i = 0; rc == 0 && i < r->nprocs; i++) {
        const struct summary_proc *p = &r->procs[i];
        char pid[24] = "", gpus[64];
        if (p->pid >= 0)
            snprintf(pid, sizeof pid, "%ld", p->pid);
        gpu_list(gpus, sizeof gpus, p->gpu_mask, p->gpu_other);
        /* "0,1" needs quotes in CSV. */
        char q[80];
        snprintf(q, sizeof q, strchr(gpus, ',') ? "\"%s\"" : "%s", gpus);
        rc = csv_line(b, "process", pid, p->cmd, q, p->peak_mib, p->peak_ts, p->sm_mean, p->sm_max,
                      p->samples, p->first_ts, p->last_ts, p->rss_peak_mib, p->cpu_mean, NAN,
                      o->utc);
    }
    for (size_t i = 0; rc == 0 && i < r->ngpus; i++) {
        char g[16] = "";
        if (r->gpus[i].gpu >= 0)
            snprintf(g, sizeof g, "%d", r->gpus[i].gpu);
        rc = csv_line(b, "gpu", "", "", g, r->gpus[i].peak_mib, r->gpus[i].peak_ts, NAN, NAN,
                      r->samples, r->first_ts, r->last_ts, NAN, NAN, NAN, o->utc);
    }
    if (rc == 0)
        rc = csv_line(b, "run", "", "", "", r->total_peak_mib, r->total_peak_ts, NAN, NAN,
                      r->samples, r->first_ts, r->last_ts, NAN, NAN, r->interval, o->utc);
    return rc;
}

/* Markdown: | must be escaped in cells; backticks would start code. */
static int md_str(struct gw_buf *b, const char *s)
{
    int rc = 0;
    for (; rc == 0 && *s; s++) {
        if (*s == '|' || *s == '\\' || *s == '`' || *s == '*' || *s == '_' || *s == '<')
            rc = buf_putc(b, '\\');
        if (rc == 0)
            rc = buf_putc(b, (unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s);
    }
    return rc;
}

static int fmt_md(const struct summary_result *r, const struct summary_fmt_opts *o,
                  struct gw_buf *b)
{
    char first[40], last[40], span[32], iv[48];
    iso_time(first, sizeof first, r->first_ts, o->utc);
    iso_time(last, sizeof last, r->last_ts, o->utc);
    duration(span, sizeof span, r->last_ts - r->first_ts);
    interval_text(iv, sizeof iv, r->interval);
    int rc = buf_puts(b, "### GPU summary");
    if (rc == 0 && o->title) {
        rc = buf_puts(b, " of ");
        if (rc == 0)
            rc = md_str(b, o->title);
    }
    if (rc == 0)
        rc = buf_printf(b, "\n\n%s to %s (%s), %lu samples every %s.\n\n", *first ? first : "-",
                        *last ? last : "-", span, r->samples, iv);
    if (rc == 0)
        rc = buf_puts(b, "| PID | GPU | Peak GPU memory | At | SM mean | SM max | Samples | "
                         "First seen | Last seen |");
    if (rc == 0 && r->host)
        rc = buf_puts(b, " Peak RSS | CPU mean |");
    if (rc == 0)
        rc = buf_puts(b, " Command |\n|---:|---|---:|---|---:|---:|---:|---|---|");
    if (rc == 0 && r->host)
        rc = buf_puts(b, "---:|---:|");
    if (rc == 0)
        rc = buf_puts(b, "---|\n");
    for (size_t i = 0; rc == 0 && i < r->nprocs + r->ngpus + (r->ngpus > 1); i++) {
        char pid[24], gpus[64], peak[32], at[40], smm[16] = "", smx[16] = "", f[40], l[40];
        char rss[32] = "", cpu[16] = "";
        const char *cmd;
        unsigned long n;
        if (i < r->nprocs) {
            const struct summary_proc *p = &r->procs[i];
            if (p->pid >= 0)
                snprintf(pid, sizeof pid, "%ld", p->pid);
            else
                snprintf(pid, sizeof pid, "-");
            gpu_list(gpus, sizeof gpus, p->gpu_mask, p->gpu_other);
            cell(peak, sizeof peak, p->peak_mib, 0, " MiB");
            iso_time(at, sizeof at, p->peak_ts, o->utc);
            cell(smm, sizeof smm, p->sm_mean, 0, " %");
            cell(smx, sizeof smx, p->sm_max, 0, " %");
            iso_time(f, sizeof f, p->first_ts, o->utc);
            iso_time(l, sizeof l, p->last_ts, o->utc);
            cell(rss, sizeof rss, p->rss_peak_mib, 0, " MiB");
            cell(cpu, sizeof cpu, p->cpu_mean, 0, " %");
            cmd = *p->cmd ? p->cmd : "-";
            n = p->samples;
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
            iso_time(at, sizeof at, all ? r->total_peak_ts : r->gpus[k].peak_ts, o->utc);
            iso_time(f, sizeof f, r->first_ts, o->utc);
            iso_time(l, sizeof l, r->last_ts, o->utc);
            cmd = all ? "all processes on all GPUs" : "all processes on this GPU";
            n = r->samples;
        }
        rc = buf_printf(b, "| %s | %s | %s | %s | %s | %s | %lu | %s | %s |", pid, gpus, peak,
                        *at ? at : "-", smm, smx, n, f, l);
        if (rc == 0 && r->host)
            rc = buf_printf(b, " %s | %s |", rss, cpu);
        if (rc == 0)
            rc = buf_putc(b, ' ');
        if (rc == 0)
            rc = md_str(b, cmd);
        if (rc == 0)
            rc = buf_puts(b, " |\n");
    }
    if (rc == 0)
        rc = buf_putc(b, '\n');
    if (rc == 0)
        rc = caveat(b, r);
    if (rc == 0)
        rc = gaps_note(b, r);
    if (rc == 0 && o->skipped)
        rc = buf_printf(b, " %lu malformed row%s skipped.", o->skipped, o->skipped == 1 ? "" : "s");
    return rc ? rc : buf_putc(b, '\n');
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t utf8_len(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    size_t n = (s[0] & 0xE0) == 0xC0   ? 2
               : (s[0] & 0xF0) == 0xE0 ? 3
               : (s[0] & 0xF8) == 0xF0 ? 4
                                       : 0;
    if (!n || (n == 2 && s[0] < 0xC2) || (n == 4 && s[0] > 0xF4))
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    if (n == 3 && ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] >= 0xA0)))
        return 0; /* overlong, or a UTF-16 surrogate */
    if (n == 4 && ((s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] >= 0x90)))
        return 0;
    return n;
}

/* A JSON string; bytes that are not UTF-8 become U+FFFD. */
static int json_str(struct gw_buf *b, const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    int rc = buf_putc(b, '"');
    while (rc == 0 && *s) {
        if (*s == '"' || *s == '\\') {
            rc = buf_putc(b, '\\');
            if (rc == 0)
                rc = buf_putc(b, (char)*s);
            s++;
        } else if (*s < 0x20 || *s == 0x7f) {
            rc = buf_printf(b, "\\u%04x", *s);
            s++;
        } else {
            size_t n = utf8_len(s);
            if (n) {
                rc = buf_append(b, s, n);
                s += n;
            } else {
                rc = buf_puts(b, "\\ufffd");
                s++;
            }
        }
    }
    return rc ? rc : buf_putc(b, '"');
}

static int json_num(struct gw_buf *b, const char *key, double v, int prec)
{
    int rc = buf_printf(b, "\"%s\": ", key);
    return rc ? rc : num(b, v, prec, "null");
}

static int json_time(struct gw_buf *b, const char *key, double v, bool utc)
{
    char t[40];
    iso_time(t, sizeof t, v, utc);
    return *t ? buf_printf(b, "\"%s\": \"%s\"", key, t) : buf_printf(b, "\"%s\": null", key);
}

static int fmt_json(const struct summary_result *r, const struct summary_fmt_opts *o,
                    struct gw_buf *b)
{
    int rc = buf_puts(b, "{\n  \"log\": ");
    if (rc == 0)
        rc = o->title ? json_str(b, o->title) : buf_puts(b, "null");
    if (rc == 0)
        rc = buf_puts(b, ",\n  ");
    if (rc == 0)
        rc = json_time(b, "first", r->first_ts, o->utc);
    if (rc == 0)
        rc = buf_puts(b, ",\n  ");
    if (rc == 0)
        rc = json_time(b, "last", r->last_ts, o->utc);
    if (rc == 0)
        rc = buf_puts(b, ",\n  ");
    if (rc == 0)
        rc = json_num(b, "span_s", r->last_ts - r->first_ts, 0);
    if (rc == 0)
        rc = buf_puts(b, ",\n  ");
    if (rc == 0)
        rc = json_num(b, "interval_s", r->interval, 3);
    if (rc == 0)
        rc = buf_printf(b,
                        ",\n  \"samples\": %lu,\n  \"rows\": %lu,\n  \"skipped_rows\": %lu,\n  "
                        "\"gaps\": %lu,\n  \"gap_s\": %.0f,\n  \"processes\": [",
                        r->samples, r->rows, o->skipped, r->gaps, r->gap_s);
    for (size_t i = 0; rc == 0 && i < r->nprocs; i++) {
        const struct summary_proc *p = &r->procs[i];
        rc = buf_printf(b, "%s\n    {", i ? "," : "");
        if (rc == 0)
            rc = p->pid >= 0 ? buf_printf(b, "\"pid\": %ld, \"cmd\": ", p->pid)
                             : buf_puts(b, "\"pid\": null, \"cmd\": ");
        if (rc == 0)
            rc = json_str(b, p->cmd);
        if (rc == 0)
            rc = buf_puts(b, ", \"gpus\": [");
        bool any = false;
        for (int g = 0; rc == 0 && g < 64; g++)
            if (p->gpu_mask >> g & 1) {
                rc = buf_printf(b, "%s%d", any ? ", " : "", g);
                any = true;
            }
        if (rc == 0 && p->gpu_other)
            rc = buf_printf(b, "%snull", any ? ", " : "");
        if (rc == 0)
            rc = buf_puts(b, "], ");
        if (rc == 0)
            rc = json_num(b, "peak_gpu_mem_mib", p->peak_mib, 0);
        if (rc == 0)
            rc = buf_puts(b, ", ");
        if (rc == 0)
            rc = json_time(b, "peak_at", p->peak_ts, o->utc);
        if (rc == 0)
            rc = buf_puts(b, ", ");
        if (rc == 0)
            rc = json_num(b, "sm_mean_pct", p->sm_mean, 1);
        if (rc == 0)
            rc = buf_puts(b, ", ");
        if (rc == 0)
            rc = json_num(b, "sm_max_pct", p->sm_max, 0);
        if (rc == 0)
            rc = buf_printf(b, ", \"samples\": %lu, ", p->samples);
        if (rc == 0)
            rc = json_time(b, "first_seen", p->first_ts, o->utc);
        if (rc == 0)
            rc = buf_puts(b, ", ");
        if (rc == 0)
            rc = json_time(b, "last_seen", p->last_ts, o->utc);
        if (rc == 0)
            rc = buf_puts(b, ", ");
        if (rc == 0)
            rc = json_num(b, "peak_rss_mib", p->rss_peak_mib, 0);
        if (rc == 0)
            rc = buf_puts(b, ", ");
        if (rc == 0)
            rc = json_num(b, "cpu_mean_pct", p->cpu_mean, 1);
        if (rc == 0)
            rc = buf_putc(b, '}');
    }
    if (rc == 0)
        rc = buf_puts(b, r->nprocs ? "\n  ],\n  \"gpus\": [" : "],\n  \"gpus\": [");
    for (size_t i = 0; rc == 0 && i < r->ngpus; i++) {
        rc = buf_printf(b, "%s\n    {", i ? "," : "");
        if (rc == 0)
            rc = r->gpus[i].gpu >= 0 ? buf_printf(b, "\"gpu\": %d, ", r->gpus[i].gpu)
                                     : buf_puts(b, "\"gpu\": null, ");
        if (rc == 0)
            rc = json_num(b, "peak_gpu_mem_mib", r->gpus[i].peak_mib, 0);
        if (rc == 0)
            rc = buf_puts(b, ", ");
        if (rc == 0)
            rc = json_time(b, "peak_at", r->gpus[i].peak_ts, o->utc);
        if (rc == 0)
            rc = buf_putc(b, '}');
    }
    if (rc == 0)
        rc = buf_puts(b, r->ngpus ? "\n  ],\n  \"total\": {" : "],\n  \"total\": {");
    if (rc == 0)
        rc = json_num(b, "peak_gpu_mem_mib", r->total_peak_mib, 0);
    if (rc == 0)
        rc = buf_puts(b, ", ");
    if (rc == 0)
        rc = json_time(b, "peak_at", r->total_peak_ts, o->utc);
    if (rc == 0)
        rc = buf_puts(b, "},\n  \"caveat\": ");
    struct gw_buf c = {0};
    if (rc == 0)
        rc = caveat(&c, r);
    if (rc == 0)
        rc = gaps_note(&c, r);
    if (rc == 0)
        rc = json_str(b, c.p ? c.p : "");
    buf_free(&c);
    return rc ? rc : buf_puts(b, "\n}\n");
}

int summary_format(const struct summary_result *r, enum summary_format f,
                   const struct summary_fmt_opts *o, struct gw_buf *out)
{
    switch (f) {
    case SUMMARY_TEXT:
        return fmt_text(r, o, out);
    case SUMMARY_CSV:
        return fmt_csv(r, o, out);
    case SUMMARY_MD:
        return fmt_md(r, o, out);
    case SUMMARY_JSON:
        return fmt_json(r, o, out);
    }
    return -EINVAL;
}
