/* `gpu_watch summary LOG.csv [--format F]`: options, reading the log
 * through logread, printing. The only part of the summary that prints. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gpu_watch/logcheck.h"
#include "gpu_watch/logread.h"
#include "gpu_watch/subcmd.h"
#include "gpu_watch/summary.h"
#include "gpu_watch/summary_cmd.h"
#include "gpu_watch/summary_fmt.h"
#include "gpu_watch/summary_by.h"

static const char summary_usage[] =
    "Usage: gpu_watch summary LOG.csv [--format text|csv|md|json] [--width N]\n"
    "                         [--by process|job|user]\n"
    "\n"
    "Answer \"how much GPU did it need?\" for a gpu_watch log: per process the peak\n"
    "GPU memory and when it was reached, mean and max SM utilization, samples, first\n"
    "and last seen (with --host columns also peak RSS and mean CPU); per GPU the peak\n"
    "of the memory of all its processes together; the span and the interval. The\n"
    "same summary ends a run of gpu_watch on stderr (on a terminal or with a command\n"
    "unless --quiet, and always with --summary). Reads all\n"
    "three log schemas (with or without --host columns, and --compact logs); LOG.csv\n"
    "may be '-' for standard input.\n"
    "\n"
    "Options:\n"
    "  --format F         text (default), csv, md (a Markdown table) or json\n"
    "  --by KEY           process (default), job or user: with a log written with\n"
    "                     --who, one line per Slurm job or per user, its memory and\n"
    "                     SM utilization summed over its processes, sample by sample\n"
    "  --width N          text: fit every line into N columns (40 to 1000),\n"
    "                     shortening commands and wrapping notes; too narrow for\n"
    "                     the table, each process takes two lines. The default is\n"
    "                     the terminal's width, else $COLUMNS, else whole lines\n"
    "  -h, --help         this help\n"
    "\n"
    "Peaks between samples are not seen: a peak is the highest value sampled.\n"
    "Each peak names its source (peak_source): driver (accounting), sampled at\n"
    "N Hz (a --peak-rate log), unknown (process in a PID namespace) (a --who\n"
    "--peaks log: container_pid set, no driver's peak; the peak shown is the\n"
    "highest sample), or sampled (the rows only: a lower bound).\n"
    "\n"
    "Exit status: 0 on success, 1 when the log cannot be read or holds no data,\n"
    "2 on bad usage.\n";

const char *summary_help(void)
{
    return summary_usage;
}

static int usage_error(const char *fmt, const char *arg)
{
    subcmd_usage_error("summary", fmt, arg);
    return SUBCMD_EXIT_USAGE;
}

struct reading {
    struct summary *s;
    struct summary_by *by; /* --by job|user; NULL: per process */
    int by_col;            /* the log column --by needs (enum log_col) */
    int err;
    bool tz_seen;
    enum log_tz tz; /* the first row's: the zone times are shown in */
    long tz_off;
};

static int on_row(const struct log_row *row, void *ctx)
{
    struct reading *r = ctx;
    if (!r->tz_seen) {
        r->tz_seen = true;
        r->tz = row->tz;
        r->tz_off = row->tz_off_s;
    }
    if (r->by && !(row->hdr->have & (1u << r->by_col))) {
        r->err = -ENOTSUP; /* a log written without --who */
        return r->err;
    }
    if ((r->by ? summary_by_add(r->by, row) : summary_add_log_row(r->s, row)) < 0) {
        r->err = -ENOMEM;
        return -ENOMEM;
    }
    return 0;
}

/* "--width N": 40 to 1000 columns. 0 or -EINVAL. */
static int parse_width(const char *v, int *out)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < 40 || n > 1000)
        return -EINVAL;
    *out = (int)n;
    return 0;
}

/* The command line of `gpu_watch summary`. */
struct summary_args {
    const char *log;
    enum summary_format fmt;
    int width; /* 0: the terminal's, or no shortening */
    enum summary_by_key by;
};

/* The command line into w: -1 to go on, or the exit status (after --help,
 * or a usage error). */
static int parse_args(int argc, char **argv, struct summary_args *w)
{
    bool dashdash = false;
    /* One value each, as for the sampler's options: a second is refused. */
    static const char *const single[] = {"--format", "--width", "--by"};
    bool seen[3] = {false, false, false};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        for (size_t k = 0; !dashdash && k < 3; k++) {
            size_t n = strlen(single[k]);
            if (strncmp(a, single[k], n) != 0 || (a[n] && a[n] != '='))
                continue;
            if (seen[k])
                return usage_error("%s given twice: give it once", single[k]);
            seen[k] = true;
        }
        if (!dashdash && strcmp(a, "--") == 0) {
            dashdash = true;
        } else if (!dashdash && (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)) {
            fputs(summary_usage, stdout);
            return subcmd_write_stdout("summary", "", 0);
        } else if (!dashdash && (strcmp(a, "--format") == 0 || strncmp(a, "--format=", 9) == 0)) {
            const char *v = a[8] == '=' ? a + 9 : NULL;
            if (!v) {
                if (i + 1 >= argc)
                    return usage_error("%s needs a value: text, csv, md or json", a);
                v = argv[++i];
            }
            if (summary_parse_format(v, &w->fmt) < 0)
                return usage_error("unknown --format '%s': expected text, csv, md or json", v);
        } else if (!dashdash && (strcmp(a, "--width") == 0 || strncmp(a, "--width=", 8) == 0)) {
            const char *v = a[7] == '=' ? a + 8 : NULL;
            if (!v) {
                if (i + 1 >= argc)
                    return usage_error("%s needs a value: columns, 40 to 1000", a);
                v = argv[++i];
            }
            if (parse_width(v, &w->width) < 0)
                return usage_error("--width wants columns, 40 to 1000, not '%s'", v);
        } else if (!dashdash && (strcmp(a, "--by") == 0 || strncmp(a, "--by=", 5) == 0)) {
            const char *v = a[4] == '=' ? a + 5 : NULL;
            if (!v) {
                if (i + 1 >= argc)
                    return usage_error("%s needs a value: process, job or user", a);
                v = argv[++i];
            }
            if (summary_by_parse(v, &w->by) < 0)
                return usage_error("unknown --by '%s': expected process, job or user", v);
        } else if (!dashdash && a[0] == '-' && a[1]) {
            return usage_error("unknown option '%s'", a);
        } else if (w->log) {
            return usage_error("more than one log given ('%s')", a);
        } else {
            w->log = a;
        }
    }

    return -1;
}

/* How the summary of a log read into r is rendered. */
static struct summary_fmt_opts fmt_opts(const struct reading *r, const struct log_stats *st,
                                        const char *name, int width, enum summary_by_key by)
{
    return (struct summary_fmt_opts){
        .utc = r->tz == LOG_TZ_UTC,
        .offset = r->tz == LOG_TZ_OFFSET,
        /* Not a terminal: a file or a pipe gets whole commands. */
        .width = width                                    ? width
                 : subcmd_text_width(STDOUT_FILENO) >= 40 ? subcmd_text_width(STDOUT_FILENO)
                                                          : -1,
        .title = name,
        .skipped = st->bad,
        .by_row = by == SUMMARY_BY_JOB    ? "job"
                  : by == SUMMARY_BY_USER ? "user"
                                          : NULL,
        .by_field = by == SUMMARY_BY_JOB    ? "job_id"
                    : by == SUMMARY_BY_USER ? "user"
                                            : NULL,
    };
}

int summary_main(int argc, char **argv)
{
    struct summary_args w = {.fmt = SUMMARY_TEXT, .by = SUMMARY_BY_PROCESS};
    int parsed = parse_args(argc, argv, &w);
    if (parsed >= 0)
        return parsed;
    if (!w.log)
        return usage_error("%s", "no log given: gpu_watch summary LOG.csv");
    const char *log = w.log;
    enum summary_format fmt = w.fmt;
    enum summary_by_key by = w.by;
    const char *name = strcmp(log, "-") == 0 ? "standard input" : log;
    struct reading r = {.s = summary_new(), .by_col = summary_by_column(by)};
    struct log_stats st = {0};
    struct gw_buf out = {0};
    struct summary_proc *groups = NULL;
    int status = SUBCMD_EXIT_FILE;
    if (!r.s || (by != SUMMARY_BY_PROCESS && !(r.by = summary_by_new(r.s, by)))) {
        fprintf(stderr, "gpu_watch summary: out of memory\n");
        summary_free(r.s);
        return SUBCMD_EXIT_FILE;
    }
    int rc = logread_file(log, on_row, &r, NULL, &st);
    if (r.err == -ENOTSUP) {
        fprintf(stderr,
                "gpu_watch summary: %s has no %s column: --by %s needs a log written with "
                "gpu_watch --who\n",
                name, by == SUMMARY_BY_JOB ? "job_id" : "user",
                by == SUMMARY_BY_JOB ? "job" : "user");
        goto out;
    }
    if (rc == 0 && r.by && summary_by_finish(r.by) < 0)
        r.err = -ENOMEM;
    if ((status = logcheck_report("summary", name, rc, r.err, &st, "summing up")) != 0)
        goto out;
    status = SUBCMD_EXIT_FILE;
    struct summary_result res;
    subcmd_show_in_zone(r.tz, r.tz_off);
    struct summary_fmt_opts fo = fmt_opts(&r, &st, name, w.width, by);
    if (summary_result(r.s, &res) < 0) {
        fprintf(stderr, "gpu_watch summary: out of memory\n");
        goto out;
    }
    if (r.by && res.nprocs) {
        /* A group's PID is made up (summary_by.c): not shown. */
        if (!(groups = malloc(res.nprocs * sizeof *groups))) {
            fprintf(stderr, "gpu_watch summary: out of memory\n");
            goto out;
        }
        memcpy(groups, res.procs, res.nprocs * sizeof *groups);
        for (size_t i = 0; i < res.nprocs; i++)
            groups[i].pid = -1;
        res.procs = groups;
    }
    if (summary_format(&res, fmt, &fo, &out) < 0) {
        fprintf(stderr, "gpu_watch summary: out of memory\n");
        goto out;
    }
    if ((status = subcmd_write_stdout("summary", out.p, out.len)) != 0)
        goto out;
    status = 0;
out:
    buf_free(&out);
    free(groups);
    summary_by_free(r.by);
    summary_free(r.s);
    return status;
}
