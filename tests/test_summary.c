/* Unit tests of the summary: numbers worked out by hand from the fixture
 * logs in tests/fixtures/summary (read through logread, as `gpu_watch
 * summary` does), samples fed the way the sampler's loop feeds them, and the
 * four renderings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <malloc.h>
#include <time.h>

#include "gpu_watch/logread.h"
#include "gpu_watch/summary.h"
#include "gpu_watch/summary_fmt.h"

/* 2025-01-10T10:00:00Z */
#define T0 1736503200.0

static int feed(const struct log_row *row, void *ctx)
{
    return summary_add_log_row(ctx, row);
}

static struct summary *load(const char *name, struct log_stats *st)
{
    char path[256];
    snprintf(path, sizeof path, "tests/fixtures/summary/%s", name);
    struct summary *s = summary_new();
    assert_non_null(s);
    assert_int_equal(logread_file(path, feed, s, NULL, st), 0);
    return s;
}

static int teardown(void **state)
{
    summary_free(*state);
    return 0;
}

static void assert_near(double got, double want)
{
    if (!(fabs(got - want) < 1e-9)) {
        fprintf(stderr, "got %.6f, want %.6f\n", got, want);
        fail();
    }
}

static void test_run_numbers(void **state)
{
    struct log_stats st;
    struct summary *s = *state = load("run.csv", &st);
    assert_int_equal(st.bad, 1);
    struct summary_result r;
    assert_int_equal(summary_result(s, &r), 0);
    assert_int_equal(r.samples, 6);
    assert_int_equal(r.rows, 11);
    assert_int_equal(r.nprocs, 3);
    assert_false(r.host);

    /* PID 100 "train": per-sample totals over GPUs 0 and 1 are 3000, 4000,
     * 3800; SM over its rows with a value 50 70 60 80 90. */
    const struct summary_proc *p = &r.procs[0];
    assert_int_equal(p->pid, 100);
    assert_string_equal(p->cmd, "python3 train.py --lr 0.1");
    assert_int_equal(p->gpu_mask, 3);
    assert_false(p->gpu_other);
    assert_near(p->peak_mib, 4000);
    assert_near(p->peak_ts, T0 + 10);
    assert_near(p->sm_mean, 70);
    assert_near(p->sm_max, 90);
    assert_int_equal(p->samples, 3);
    assert_near(p->first_ts, T0);
    assert_near(p->last_ts, T0 + 20);

    /* The same PID later with another command: another process. Its peak
     * equals train's; the earlier one comes first. */
    p = &r.procs[1];
    assert_int_equal(p->pid, 100);
    assert_string_equal(p->cmd, "other job");
    assert_near(p->peak_mib, 4000);
    assert_near(p->peak_ts, T0 + 330);
    assert_near(p->sm_mean, 50);
    assert_near(p->sm_max, 100);
    assert_int_equal(p->samples, 2);

    /* PID 200, a quoted command; absent from the second sample. */
    p = &r.procs[2];
    assert_int_equal(p->pid, 200);
    assert_string_equal(p->cmd, "python3 \"eval, v2\".py");
    assert_int_equal(p->gpu_mask, 1);
    assert_near(p->peak_mib, 800);
    assert_near(p->peak_ts, T0 + 20);
    assert_near(p->sm_mean, 20);
    assert_near(p->sm_max, 30);
    assert_int_equal(p->samples, 3);
    assert_near(p->first_ts, T0);
    assert_near(p->last_ts, T0 + 30);
    assert_true(isnan(p->cpu_mean));
    assert_true(isnan(p->rss_peak_mib));

    /* GPU 0 sums 1500 1500 2000 700 4000 3000; GPU 1 2000 2500 2600; all
     * GPUs 3500 4000 4600 700 4000 3000. */
    assert_int_equal(r.ngpus, 2);
    assert_int_equal(r.gpus[0].gpu, 0);
    assert_near(r.gpus[0].peak_mib, 4000);
    assert_near(r.gpus[0].peak_ts, T0 + 330);
    assert_int_equal(r.gpus[1].gpu, 1);
    assert_near(r.gpus[1].peak_mib, 2600);
    assert_near(r.gpus[1].peak_ts, T0 + 20);
    assert_near(r.total_peak_mib, 4600);
    assert_near(r.total_peak_ts, T0 + 20);

    /* The span, the median gap, and the 5-minute pause. */
    assert_near(r.first_ts, T0);
    assert_near(r.last_ts, T0 + 340);
    assert_near(r.interval, 10);
    assert_int_equal(r.gaps, 1);
    assert_near(r.gap_s, 300);
}

static void test_host_numbers(void **state)
{
    struct log_stats st;
    struct summary *s = *state = load("host.csv", &st);
    struct summary_result r;
    assert_int_equal(summary_result(s, &r), 0);
    assert_true(r.host);
    assert_int_equal(r.nprocs, 2);
    const struct summary_proc *p = &r.procs[0];
    assert_int_equal(p->pid, 7);
    assert_near(p->peak_mib, 200); /* 100 + 50, then 200 */
    assert_near(p->peak_ts, T0 + 1);
    assert_near(p->sm_mean, 20);
    /* CPU once per sample, not once per GPU row: (100 + 300) / 2. */
    assert_near(p->cpu_mean, 200);
    assert_near(p->rss_peak_mib, 900);
    p = &r.procs[1];
    assert_int_equal(p->pid, 8);
    assert_true(isnan(p->sm_mean));
    assert_true(isnan(p->sm_max));
    assert_true(isnan(p->cpu_mean));
    assert_near(r.gpus[0].peak_mib, 210);
    assert_near(r.gpus[1].peak_mib, 50);
    assert_near(r.total_peak_mib, 210);
}

static void test_two_samples_in_one_second(void **state)
{
    /* interval < 1 s: two samples share a timestamp; the repeated
     * (GPU, PID) key starts the second, so memory is not summed twice. */
    struct summary *s = *state = summary_new();
    struct summary_row a = {T0, 0, 5, "x", 100, 10, NAN, NAN, NAN, NAN};
    struct summary_row b = {T0, 0, 6, "y", 50, NAN, NAN, NAN, NAN, NAN};
    assert_int_equal(summary_add_log(s, &a), 0);
    assert_int_equal(summary_add_log(s, &b), 0);
    a.mem_mib = 120;
    assert_int_equal(summary_add_log(s, &a), 0);
    assert_int_equal(summary_add_log(s, &b), 0);
    struct summary_result r;
    assert_int_equal(summary_result(s, &r), 0);
    assert_int_equal(r.samples, 2);
    assert_near(r.total_peak_mib, 170);
    assert_near(r.procs[0].peak_mib, 120);
    assert_int_equal(r.procs[0].samples, 2);
    assert_true(isnan(r.interval)); /* no positive gap: unknown */
}

static void test_samples_from_the_sampler(void **state)
{
    /* As the loop feeds it: a sample with rows, an empty one, another. */
    struct summary *s = *state = summary_new();
    struct sample_row rows[] = {
        {.gpu = 0, .pid = 42, .cmd = "job", .mem_mib = 1000, .sm_pct = 50, .mem_pct = 3},
        /* Unknown values stay unknown. */
        {.gpu = 1, .pid = 42, .cmd = "job", .mem_mib = -1, .sm_pct = -1, .mem_pct = -1},
    };
    struct sample smp = {.rows = rows, .n = 2};
    assert_int_equal(summary_add_sample(s, T0, &smp, false), 0);
    struct sample empty = {0};
    assert_int_equal(summary_add_sample(s, T0 + 1, &empty, false), 0);
    rows[0].mem_mib = 1500;
    rows[0].sm_pct = 70;
    assert_int_equal(summary_add_sample(s, T0 + 2, &smp, false), 0);
    summary_set_interval(s, 1.0);
    struct summary_result r;
    assert_int_equal(summary_result(s, &r), 0);
    /* Issue 19 item 9: the empty sample left no row in the log, so the
     * summary of the log counts 2: so does this one. */
    assert_int_equal(r.samples, 2);
    assert_int_equal(r.nprocs, 1);
    assert_near(r.procs[0].peak_mib, 1500);
    assert_near(r.procs[0].peak_ts, T0 + 2);
    assert_near(r.procs[0].sm_mean, 60);
    assert_int_equal(r.procs[0].samples, 2);
    assert_int_equal(r.procs[0].gpu_mask, 3);
    assert_near(r.interval, 1.0);
    assert_int_equal(r.gaps, 0);
    assert_int_equal(r.ngpus, 2);
    assert_true(isnan(r.gpus[1].peak_mib)); /* GPU 1 never had a value */
    assert_near(r.last_ts - r.first_ts, 2);
    /* The last sample of a wrapped command, after it exited, is empty: the
     * end stays that of the last row, as the log's summary says. */
    assert_int_equal(summary_add_sample(s, T0 + 3, &empty, false), 0);
    assert_int_equal(summary_result(s, &r), 0);
    assert_int_equal(r.samples, 2);
    assert_near(r.last_ts, T0 + 2);
    summary_free(s);
    /* No sample had rows: the samples taken, and their span. */
    s = *state = summary_new();
    assert_int_equal(summary_add_sample(s, T0, &empty, false), 0);
    assert_int_equal(summary_add_sample(s, T0 + 5, &empty, false), 0);
    assert_int_equal(summary_result(s, &r), 0);
    assert_int_equal(r.samples, 2);
    assert_near(r.last_ts - r.first_ts, 5);
    assert_int_equal(r.nprocs, 0);
}

static void test_samples_with_host_figures(void **state)
{
    struct summary *s = *state = summary_new();
    struct sample_row rows[] = {
        {.gpu = 0,
         .pid = 7,
         .cmd = "a",
         .mem_mib = 10,
         .sm_pct = -1,
         .mem_pct = -1,
         .host = {.cpu_pct = 150.0, .rss_mib = 700}},
        {.gpu = 0,
         .pid = 8,
         .cmd = "b",
         .mem_mib = 20,
         .sm_pct = -1,
         .mem_pct = -1,
         .host = {.cpu_pct = -1, .rss_mib = -1}},
    };
    struct sample smp = {.rows = rows, .n = 2};
    assert_int_equal(summary_add_sample(s, T0, &smp, true), 0);
    rows[0].host.cpu_pct = 50.0;
    rows[0].host.rss_mib = 600;
    assert_int_equal(summary_add_sample(s, T0 + 1, &smp, true), 0);
    struct summary_result r;
    assert_int_equal(summary_result(s, &r), 0);
    assert_true(r.host);
    assert_int_equal(r.procs[0].pid, 8);
    assert_true(isnan(r.procs[0].cpu_mean));
    assert_true(isnan(r.procs[0].rss_peak_mib));
    assert_near(r.procs[1].cpu_mean, 100);
    assert_near(r.procs[1].rss_peak_mib, 700);
}

static void test_process_cap(void **state)
{
    /* Past SUMMARY_MAX_PROCS processes, rows still count in the totals. */
    struct summary *s = *state = summary_new();
    assert_int_equal(summary_sample(s, T0), 0);
    for (long pid = 1; pid <= SUMMARY_MAX_PROCS + 2; pid++) {
        struct summary_row r = {T0, 0, pid, "p", 1, NAN, NAN, NAN, NAN, NAN};
        assert_int_equal(summary_add(s, &r), 0);
    }
    struct summary_result r;
    assert_int_equal(summary_result(s, &r), 0);
    assert_int_equal(r.nprocs, SUMMARY_MAX_PROCS);
    assert_int_equal(r.untracked_rows, 2);
    assert_near(r.total_peak_mib, SUMMARY_MAX_PROCS + 2);
    struct gw_buf b = {0};
    struct summary_fmt_opts o = {.utc = true};
    assert_int_equal(summary_format(&r, SUMMARY_JSON, &o, &b), 0);
    assert_non_null(strstr(b.p, "2 rows of processes beyond the first 10000 are in the totals"));
    buf_free(&b);
}

static void test_empty(void **state)
{
    struct summary *s = *state = summary_new();
    struct summary_result r;
    assert_int_equal(summary_result(s, &r), 0);
    assert_int_equal(r.nprocs, 0);
    assert_true(isnan(r.first_ts));
    struct gw_buf b = {0};
    struct summary_fmt_opts o = {.utc = true};
    assert_int_equal(summary_format(&r, SUMMARY_TEXT, &o, &b), 0);
    assert_non_null(strstr(b.p, "No process was seen on a GPU."));
    buf_clear(&b);
    assert_int_equal(summary_format(&r, SUMMARY_JSON, &o, &b), 0);
    assert_non_null(strstr(b.p, "\"processes\": []"));
    assert_non_null(strstr(b.p, "\"first\": null"));
    buf_free(&b);
}

static char *render(struct summary *s, enum summary_format f, int width)
{
    struct summary_result r;
    assert_int_equal(summary_result(s, &r), 0);
    struct gw_buf b = {0};
    struct summary_fmt_opts o = {.utc = true, .width = width, .title = "run.csv", .skipped = 1};
    assert_int_equal(summary_format(&r, f, &o, &b), 0);
    return b.p;
}

static void test_text(void **state)
{
    struct log_stats st;
    struct summary *s = *state = load("run.csv", &st);
    char *t = render(s, SUMMARY_TEXT, 200);
    /* The span, per process lines, totals, the caveat once. */
    assert_non_null(strstr(t, "gpu_watch summary of run.csv: 2025-01-10T10:00:00Z to 10:05:40 "
                              "(5m40s, UTC), 6 samples every 10 s\n"));
    assert_non_null(strstr(t, "    100 0,1     4000 MiB  10:00:10    70 %   90 %       3  "
                              "10:00:00  10:00:20  python3 train.py --lr 0.1\n"));
    assert_non_null(strstr(t, "python3 \"eval, v2\".py\n"));
    assert_non_null(strstr(t, "  total 0       4000 MiB  10:05:30"));
    assert_non_null(strstr(t, "  total 1       2600 MiB  10:00:20"));
    assert_non_null(strstr(t, "  total all     4600 MiB  10:00:20"));
    const char *c = strstr(t, "Peaks between samples are not seen");
    assert_non_null(c);
    assert_null(strstr(c + 1, "Peaks between samples are not seen"));
    assert_non_null(strstr(t, "every 10 s. The log has 1 pause longer than 3 intervals (5m00s "
                              "in all). 1 malformed row skipped.\n"));
    free(t);
    /* Narrow: the command is shortened, its start and end kept. */
    t = render(s, SUMMARY_TEXT, 100);
    assert_non_null(strstr(t, "  python3 trai...lr 0.1\n"));
    assert_null(strstr(t, "python3 train.py"));
    free(t);
}

static void test_csv(void **state)
{
    struct log_stats st;
    struct summary *s = *state = load("run.csv", &st);
    char *t = render(s, SUMMARY_CSV, 0);
    const char *want =
        "row,pid,cmd,gpus,peak_gpu_mem_mib,peak_source,sampled_peak_gpu_mem_mib,peak_at,"
        "sm_mean_pct,sm_max_pct,samples,first_seen,last_seen,peak_rss_mib,cpu_mean_pct,"
        "interval_s\n"
        "process,100,python3 train.py --lr 0.1,\"0,1\",4000,sampled,4000,"
        "2025-01-10T10:00:10Z,70.0,90,3,2025-01-10T10:00:00Z,2025-01-10T10:00:20Z,,,\n"
        "process,100,other job,0,4000,sampled,4000,2025-01-10T10:05:30Z,50.0,100,2,"
        "2025-01-10T10:05:30Z,2025-01-10T10:05:40Z,,,\n"
        "process,200,\"python3 \"\"eval, v2\"\".py\",0,800,sampled,800,2025-01-10T10:00:20Z,"
        "20.0,30,3,2025-01-10T10:00:00Z,2025-01-10T10:00:30Z,,,\n"
        "gpu,,,0,4000,sampled,4000,2025-01-10T10:05:30Z,,,6,2025-01-10T10:00:00Z,"
        "2025-01-10T10:05:40Z,,,\n"
        "gpu,,,1,2600,sampled,2600,2025-01-10T10:00:20Z,,,6,2025-01-10T10:00:00Z,"
        "2025-01-10T10:05:40Z,,,\n"
        "run,,,,4600,sampled,4600,2025-01-10T10:00:20Z,,,6,2025-01-10T10:00:00Z,"
        "2025-01-10T10:05:40Z,,,10.000\n";
    assert_string_equal(t, want);
    free(t);
}

static void test_md(void **state)
{
    struct log_stats st;
    struct summary *s = *state = load("host.csv", &st);
    char *t = render(s, SUMMARY_MD, 0);
    assert_non_null(strstr(t, "### GPU summary of `run.csv`\n"));
    assert_non_null(strstr(t, "| PID | GPU | Peak GPU memory | At | SM mean | SM max | Samples | "
                              "First seen | Last seen | Peak source | Sampled peak | Peak RSS | "
                              "CPU mean | Command |\n"));
    assert_non_null(strstr(t, "| 7 | 0,1 | 200 MiB | 2025-01-10T10:00:01Z | 20 % | 30 % | 2 | "
                              "2025-01-10T10:00:00Z | 2025-01-10T10:00:01Z | sampled | 200 MiB | "
                              "900 MiB | 200 % | `python3 a.py` |\n"));
    assert_non_null(strstr(t, "| **total** | all | 210 MiB |"));
    free(t);
}

static void test_json_strings(void **state)
{
    /* Control characters, quotes, backslashes and bytes that are not UTF-8
     * in a command line still give valid JSON. */
    struct summary *s = *state = summary_new();
    struct summary_row a = {T0, 0, 9, "a\"b\\c\td\x01 \xff \xc3\xa9", 1, NAN, NAN, NAN, NAN, NAN};
    assert_int_equal(summary_add_log(s, &a), 0);
    char *t = render(s, SUMMARY_JSON, 0);
    assert_non_null(strstr(t, "\"cmd\": \"a\\\"b\\\\c\\u0009d\\u0001 \\ufffd \xc3\xa9\""));
    assert_non_null(strstr(t, "\"sm_mean_pct\": null"));
    free(t);
}

static void test_format_names(void **state)
{
    enum summary_format f;
    assert_int_equal(summary_parse_format("json", &f), 0);
    assert_int_equal(f, SUMMARY_JSON);
    assert_int_equal(summary_parse_format("MD", &f), 0);
    assert_int_equal(f, SUMMARY_MD);
    assert_int_equal(summary_parse_format("markdown", &f), 0);
    assert_int_equal(summary_parse_format("xml", &f), -EINVAL);
    assert_int_equal(summary_parse_format("", &f), -EINVAL);
}

/* One sample row of cmd, rendered as f at width. */
static char *render_cmd(struct summary **sp, const char *cmd, enum summary_format f, int width)
{
    struct summary *s = *sp = summary_new();
    assert_non_null(s);
    struct summary_row row = {T0, 0, 7, cmd, 100, 50, NAN, NAN, NAN, NAN};
    assert_int_equal(summary_add_log(s, &row), 0);
    return render(s, f, width);
}

/* A command is cut between characters, never inside a UTF-8 sequence. */
/* A --peaks log (the H200 run): the larger of the sampled and the driver's
 * peak, and which, in every rendering. */
static void test_peaks_log(void **state)
{
    struct log_stats st;
    struct summary *s = *state = load("peaks.csv", &st);
    struct summary_result r;
    assert_int_equal(summary_result(s, &r), 0);
    assert_true(r.peaks);
    assert_int_equal(r.nprocs, 4);
    assert_int_equal(r.driver_peaks, 3);
    const struct summary_proc *p = &r.procs[0]; /* sorted by peak: the spike first */
    assert_int_equal(p->pid, 462);
    assert_true(p->peak_mib == 9826 && p->sampled_peak_mib == 1634 && p->peak_driver);
    assert_true(isnan(p->peak_ts));
    p = &r.procs[2]; /* no record of its own: its samples */
    assert_int_equal(p->pid, 460);
    assert_true(p->peak_mib == 3590 && !p->peak_driver && !isnan(p->peak_ts));
    assert_true(r.total_peak_mib == 11704); /* totals stay sampled */
    char *t = render(s, SUMMARY_TEXT, 0);
    assert_non_null(strstr(t, "    462 0      9826 MiB*  -  "));
    assert_non_null(strstr(t, "    460 0       3590 MiB  07:43:59"));
    assert_non_null(strstr(t, "Peaks marked * (source: driver) are true peaks from the driver's "
                              "accounting; the others are lower bounds, the highest of samples "
                              "taken every 1 s."));
    assert_null(strstr(t, "Peaks between samples are not seen"));
    free(t);
    t = render(s, SUMMARY_CSV, 0);
    assert_non_null(strstr(t, "row,pid,cmd,gpus,peak_gpu_mem_mib,peak_source,"
                              "sampled_peak_gpu_mem_mib,peak_at,"));
    assert_non_null(
        strstr(t, "\nprocess,462,python3 /tmp/p/work.py spike 150,0,9826,driver,1634,,"));
    assert_non_null(strstr(t, "\nprocess,460,python3 /tmp/p/work.py idle 150,0,3590,sampled,3590,"
                              "2026-12-03T07:43:59"));
    free(t);
    t = render(s, SUMMARY_JSON, 0);
    assert_non_null(strstr(t, "\"peak_gpu_mem_mib\": 9826, \"peak_source\": \"driver\", "
                              "\"sampled_peak_gpu_mem_mib\": 1634, \"peak_at\": null"));
    free(t);
    t = render(s, SUMMARY_MD, 0);
    assert_non_null(strstr(t, "| Peak source | Sampled peak |"));
    assert_non_null(strstr(t, "| driver | 1634 MiB |"));
    free(t);
}

/* Every process's peak from the driver: the caveat says only that. */
static void test_all_driver_peaks(void **state)
{
    struct summary *s = *state = summary_new();
    assert_non_null(s);
    summary_set_peaks(s);
    struct summary_row a = {T0, 0, 5, "x", 100, 10, NAN, NAN, 900, NAN};
    struct summary_row z = {T0 + 1, 0, 5, "x", 120, 10, NAN, NAN, 0, NAN}; /* 0: unknown */
    assert_int_equal(summary_add_log(s, &a), 0);
    assert_int_equal(summary_add_log(s, &z), 0);
    char *t = render(s, SUMMARY_TEXT, 0);
    assert_non_null(strstr(t, "  900 MiB*"));
    assert_non_null(strstr(t, "Peaks are true peaks from the driver's accounting."));
    free(t);
}

/* Issue 19 item 9: a driver's peak equal to the highest sample keeps the
 * sample's time (the driver does not say when; the sample does). */
static void test_driver_peak_equal_keeps_time(void **state)
{
    struct summary *s = *state = summary_new();
    assert_non_null(s);
    summary_set_peaks(s);
    struct summary_row a = {T0, 0, 5, "x", 900, 10, NAN, NAN, 900, NAN};
    struct summary_row z = {T0 + 1, 0, 5, "x", 100, 10, NAN, NAN, 900, NAN};
    assert_int_equal(summary_add_log(s, &a), 0);
    assert_int_equal(summary_add_log(s, &z), 0);
    struct summary_result r;
    assert_int_equal(summary_result(s, &r), 0);
    assert_true(r.procs[0].peak_driver && r.procs[0].peak_mib == 900);
    assert_near(r.procs[0].peak_ts, T0);
    char *t = render(s, SUMMARY_TEXT, 0);
    assert_null(strstr(t, "900 MiB*  -"));
    free(t);
}

/* Issue 19 items 5 and 9: the driver's peaks read at the end of a wrapped
 * command (summary_add_driver_peak, summed over a process's GPUs), and a GPU
 * total that is not below its only process's peak. */
static void test_driver_peaks_at_the_end(void **state)
{
    struct summary *s = *state = summary_new();
    assert_non_null(s);
    struct summary_row a = {T0, 0, 5, "x", 100, 10, NAN, NAN, NAN, NAN};
    struct summary_row b = {T0, 1, 6, "y", 200, 10, NAN, NAN, NAN, NAN};
    struct summary_row c = {T0, 2, 6, "y", 300, 10, NAN, NAN, NAN, NAN};
    struct summary_row d = {T0, 3, 7, "z", 50, 10, NAN, NAN, NAN, NAN};
    struct summary_row e = {T0, 3, 8, "w", 60, 10, NAN, NAN, NAN, NAN};
    assert_int_equal(summary_add_log(s, &a), 0);
    assert_int_equal(summary_add_log(s, &b), 0);
    assert_int_equal(summary_add_log(s, &c), 0);
    assert_int_equal(summary_add_log(s, &d), 0);
    assert_int_equal(summary_add_log(s, &e), 0);
    assert_int_equal(summary_add_driver_peak(s, 5, 9826), 0);
    assert_int_equal(summary_add_driver_peak(s, 6, 1000), 0); /* GPU 1 */
    assert_int_equal(summary_add_driver_peak(s, 6, 2000), 0); /* GPU 2 */
    assert_int_equal(summary_add_driver_peak(s, 7, 700), 0);
    assert_int_equal(summary_add_driver_peak(s, 99, 1), -ENOENT);
    struct summary_result r;
    assert_int_equal(summary_result(s, &r), 0);
    assert_int_equal(r.driver_peaks, 3);
    assert_true(r.procs[0].pid == 5 && r.procs[0].peak_mib == 9826 && r.procs[0].peak_driver);
    assert_true(isnan(r.procs[0].peak_ts));
    assert_true(r.procs[1].pid == 6 && r.procs[1].peak_mib == 3000); /* its GPUs summed */
    assert_int_equal(r.ngpus, 4);
    /* GPU 0: one process, on it alone: its total is that peak. */
    assert_true(r.gpus[0].peak_mib == 9826 && r.gpus[0].peak_driver && isnan(r.gpus[0].peak_ts));
    /* GPUs 1, 2: their process is on two GPUs; GPU 3: two processes. */
    assert_true(r.gpus[1].peak_mib == 200 && !r.gpus[1].peak_driver);
    assert_true(r.gpus[2].peak_mib == 300 && !r.gpus[2].peak_driver);
    assert_true(r.gpus[3].peak_mib == 110 && !r.gpus[3].peak_driver);
    assert_true(r.total_peak_mib == 710 && !r.total_peak_driver);
    char *t = render(s, SUMMARY_TEXT, 0);
    assert_non_null(strstr(t, "  total 0      9826 MiB*  -"));
    free(t);
    summary_free(s);
    /* One process in all: the run's total too. */
    s = *state = summary_new();
    assert_int_equal(summary_add_log(s, &a), 0);
    assert_int_equal(summary_add_driver_peak(s, 5, 9826), 0);
    assert_int_equal(summary_result(s, &r), 0);
    assert_true(r.total_peak_mib == 9826 && r.total_peak_driver);
}

/* --peak-rate rows: dense peaks (peak_hz) are not the driver's; where the
 * driver has one it wins; a process with neither is a lower bound. Every
 * rendering names the source of each peak. */
static void test_dense_peak_sources(void **state)
{
    struct summary *s = *state = summary_new();
    assert_non_null(s);
    struct summary_row rows[] = {
        {T0, 0, 5, "dense", 100, 10, NAN, NAN, 9000, 50},
        {T0, 0, 6, "driver", 100, 10, NAN, NAN, 700, NAN},
        {T0, 0, 7, "plain", 300, 10, NAN, NAN, NAN, NAN},
        {T0 + 1, 0, 5, "dense", 120, 10, NAN, NAN, 9100, 50},
        {T0 + 1, 0, 6, "driver", 100, 10, NAN, NAN, 700, NAN},
        {T0 + 1, 0, 7, "plain", 300, 10, NAN, NAN, NAN, NAN},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        assert_int_equal(summary_add_log(s, &rows[i]), 0);
    struct summary_result r;
    assert_int_equal(summary_result(s, &r), 0);
    assert_int_equal(r.dense_peaks, 1);
    assert_int_equal(r.driver_peaks, 1);
    const struct summary_proc *p = &r.procs[0];
    char src[32];
    assert_int_equal(p->pid, 5);
    assert_true(p->peak_mib == 9100 && p->sampled_peak_mib == 120 && !p->peak_driver);
    assert_string_equal(summary_peak_source(p, src, sizeof src), "sampled at 50 Hz");
    assert_string_equal(summary_peak_source(&r.procs[1], src, sizeof src), "driver");
    assert_string_equal(summary_peak_source(&r.procs[2], src, sizeof src), "sampled");
    char *t = render(s, SUMMARY_TEXT, 0);
    assert_non_null(strstr(t, "      5 0      9100 MiB~"));
    assert_non_null(strstr(t, "Peaks marked ~ (source: sampled at 50 Hz) were read 50 times a "
                              "second between samples: spikes of 40 ms or longer are not missed; "
                              "the others are lower bounds"));
    free(t);
    t = render(s, SUMMARY_JSON, 0);
    assert_non_null(strstr(t, "\"peak_source\": \"sampled at 50 Hz\""));
    free(t);
    t = render(s, SUMMARY_CSV, 0);
    assert_non_null(strstr(t, "process,5,dense,0,9100,sampled at 50 Hz,120,"));
    free(t);
}

static void test_text_cut_utf8(void **state)
{
    /* "é" is 2 bytes, "日" 3: 60 characters, 150 bytes. */
    char cmd[256] = "";
    for (int i = 0; i < 30; i++)
        strcat(cmd, i % 2 ? "\xc3\xa9\xe6\x97\xa5" : "\xe6\x97\xa5\xc3\xa9");
    char *t = render_cmd((struct summary **)state, cmd, SUMMARY_TEXT, 100);
    /* 100 columns leave 21 for the command: 12 characters (6 pairs, 30
     * bytes), "...", the last 6 (3 pairs, 15 bytes). */
    char want[64];
    snprintf(want, sizeof want, "  %.30s...%s\n", cmd, cmd + strlen(cmd) - 15);
    assert_non_null(strstr(t, want));
    free(t);
}

/* Width -1 (standard output is not a terminal): nothing is cut. */
static void test_text_uncut(void **state)
{
    char cmd[300];
    memset(cmd, 'x', 299);
    cmd[299] = '\0';
    char *t = render_cmd((struct summary **)state, cmd, SUMMARY_TEXT, -1);
    assert_non_null(strstr(t, cmd));
    assert_null(strstr(t, "..."));
    free(t);
}

/* One sample: no interval to speak of, and no rate (also when the run's
 * --interval is known: a cron run of --count 1). */
static void test_one_sample_wording(void **state)
{
    struct summary *s = *state = summary_new();
    assert_non_null(s);
    summary_set_interval(s, 30);
    struct summary_row row = {T0, 0, 7, "a", 100, 50, NAN, NAN, NAN, NAN};
    assert_int_equal(summary_add_log(s, &row), 0);
    char *t = render(s, SUMMARY_TEXT, 0);
    assert_non_null(strstr(t, "(0s, UTC), 1 sample\n"));
    assert_null(strstr(t, "every"));
    assert_non_null(strstr(t, "these are lower bounds, the highest of samples taken. 1 malformed"));
    free(t);
}

/* CSV fields are written by csv.c's one writer, after the one sanitiser:
 * a newline becomes U+FFFD. */
static void test_csv_newline(void **state)
{
    char *t = render_cmd((struct summary **)state, "multi\nline, x", SUMMARY_CSV, 0);
    assert_non_null(strstr(t, "\nprocess,7,\"multi\xef\xbf\xbdline, x\",0,100,"));
    free(t);
}

/* Timestamps with milliseconds: 10 samples 0.2 s apart are "every 0.2 s";
 * a 2 s pause among them is one (3 intervals is 0.6 s, not 3 s). */
static void test_subsecond_interval(void **state)
{
    struct summary *s = *state = summary_new();
    for (int i = 0; i < 10; i++) {
        struct summary_row r = {
            T0 + 0.2 * i + (i >= 5 ? 2 : 0), 0, 7, "a", 1, NAN, NAN, NAN, NAN, NAN};
        assert_int_equal(summary_add_log(s, &r), 0);
    }
    struct summary_result r;
    assert_int_equal(summary_result(s, &r), 0);
    assert_true(fabs(r.interval - 0.2) < 1e-6);
    assert_int_equal(r.gaps, 1);
    assert_true(fabs(r.gap_s - 2.2) < 1e-6);
    char *t = render(s, SUMMARY_TEXT, 0);
    assert_non_null(strstr(t, "10 samples every 0.2 s\n"));
    free(t);
}

/* Bounded memory: two million samples (a month at 1 s plus jitter) must
 * not keep their timestamps: the heap grows by far less than 16 MB. */
static void test_bounded_memory(void **state)
{
    struct summary *s = *state = summary_new();
    struct mallinfo2 m = mallinfo2();
    size_t before = m.uordblks + m.hblkhd; /* small blocks and mmapped ones */
    double t = T0;
    for (long i = 0; i < 2000000; i++) {
        t += i % 1000 == 999 ? 30 : 1 + (double)(i % 7) * 0.001;
        assert_int_equal(summary_sample(s, t), 0);
    }
    m = mallinfo2();
    size_t after = m.uordblks + m.hblkhd;
    assert_true(after - before < 1024 * 1024);
    struct summary_result r;
    assert_int_equal(summary_result(s, &r), 0);
    assert_int_equal(r.samples, 2000000);
    assert_true(r.interval > 1.0 && r.interval < 1.007);
    assert_int_equal(r.gaps, 2000);
    assert_near(r.first_ts, T0 + 1);
}

/* Issue 24: a command line is a user's choice. In text (a terminal) no
 * control reaches the output: ESC, C1 as UTF-8 (U+009B CSI, U+009D OSC),
 * raw 0x9B; each is U+FFFD; the title (the log's file name) too. */
static void test_text_sanitised(void **state)
{
    char *t = render_cmd((struct summary **)state,
                         "a\x1b[2Jb\xc2\x9b"
                         "2Jc\xc2\x9d"
                         "0;x\x07"
                         "d\x9b"
                         "e\xff",
                         SUMMARY_TEXT, 0);
    assert_non_null(strstr(t, "a\xef\xbf\xbd[2Jb\xef\xbf\xbd"
                              "2Jc\xef\xbf\xbd"
                              "0;x\xef\xbf\xbd"
                              "d\xef\xbf\xbd"
                              "e\xef\xbf\xbd\n"));
    for (const char *p = t; *p; p++)
        assert_true((unsigned char)*p >= 0x20 || *p == '\n');
    assert_null(strstr(t, "\xc2\x9b"));
    assert_null(strstr(t, "\xc2\x9d"));
    free(t);
    summary_free(*state);
    struct summary *s = *state = summary_new();
    struct summary_row row = {T0, 0, 7, "a", 100, 50, NAN, NAN, NAN, NAN};
    assert_int_equal(summary_add_log(s, &row), 0);
    struct summary_result r;
    assert_int_equal(summary_result(s, &r), 0);
    struct gw_buf b = {0};
    struct summary_fmt_opts o = {.utc = true, .title = "x\x1b]0;owned\x07.csv"};
    assert_int_equal(summary_format(&r, SUMMARY_TEXT, &o, &b), 0);
    assert_non_null(strstr(b.p, "summary of x\xef\xbf\xbd]0;owned\xef\xbf\xbd.csv:"));
    buf_free(&b);
}

/* JSON shown on a terminal runs nothing either: C0, DEL and C1 (U+009B)
 * are \u escapes, a raw 0x9B byte is U+FFFD. */
static void test_json_controls(void **state)
{
    char *t = render_cmd((struct summary **)state,
                         "a\xc2\x9b"
                         "b\x9b"
                         "c\x1b"
                         "d\x7f"
                         "e\xc3\xa9",
                         SUMMARY_JSON, 0);
    assert_non_null(strstr(t, "\"a\\u009bb\\ufffdc\\u001bd\\u007fe\xc3\xa9\""));
    free(t);
}

/* Issue 24: Markdown renders no link, image or HTML from a command line: it
 * is a code span whose fence is longer than any backtick run in it, and
 * '|' stays in its cell. */
static void test_md_code_span(void **state)
{
    char *t = render_cmd((struct summary **)state, "x ![p](http://e.example/p.png) <img src=y> a|b",
                         SUMMARY_MD, 0);
    assert_non_null(strstr(t, " | `x ![p](http://e.example/p.png) <img src=y> a\\|b` |\n"));
    free(t);
    summary_free(*state);
    t = render_cmd((struct summary **)state, "run `id` ``x`` [l](u)", SUMMARY_MD, 0);
    assert_non_null(strstr(t, " | ```run `id` ``x`` [l](u)``` |\n"));
    free(t);
    summary_free(*state);
    t = render_cmd((struct summary **)state, "`start", SUMMARY_MD, 0);
    assert_non_null(strstr(t, " | `` `start `` |\n"));
    free(t);
}

/* Issue 24: summary --format csv is for spreadsheets: a cell that starts
 * with = + - @ (or a tab, CR) gets a leading quote (OWASP). */
static void test_csv_formula(void **state)
{
    static const struct {
        const char *cmd, *cell;
    } cases[] = {
        {"=HYPERLINK(\"http://e.example\",\"x\")",
         "\"'=HYPERLINK(\"\"http://e.example\"\",\"\"x\"\")\""},
        {"+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"},
        {"-2+3", "'-2+3"},
        {"@SUM(A1)", "'@SUM(A1)"},
        {"\tx", "'\xef\xbf\xbdx"},
        {"python3 a=1.py", "python3 a=1.py"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *t = render_cmd((struct summary **)state, cases[i].cmd, SUMMARY_CSV, 0);
        char want[160];
        snprintf(want, sizeof want, "\nprocess,7,%s,0,100,", cases[i].cell);
        if (!strstr(t, want))
            fail_msg("%s: want %s in\n%s", cases[i].cmd, want, t);
        free(t);
        summary_free(*state);
        *state = NULL;
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_run_numbers, teardown),
        cmocka_unit_test_teardown(test_host_numbers, teardown),
        cmocka_unit_test_teardown(test_two_samples_in_one_second, teardown),
        cmocka_unit_test_teardown(test_samples_from_the_sampler, teardown),
        cmocka_unit_test_teardown(test_samples_with_host_figures, teardown),
        cmocka_unit_test_teardown(test_process_cap, teardown),
        cmocka_unit_test_teardown(test_empty, teardown),
        cmocka_unit_test_teardown(test_text, teardown),
        cmocka_unit_test_teardown(test_csv, teardown),
        cmocka_unit_test_teardown(test_md, teardown),
        cmocka_unit_test_teardown(test_json_strings, teardown),
        cmocka_unit_test(test_format_names),
        cmocka_unit_test_teardown(test_text_cut_utf8, teardown),
        cmocka_unit_test_teardown(test_text_uncut, teardown),
        cmocka_unit_test_teardown(test_one_sample_wording, teardown),
        cmocka_unit_test_teardown(test_csv_newline, teardown),
        cmocka_unit_test_teardown(test_text_sanitised, teardown),
        cmocka_unit_test_teardown(test_md_code_span, teardown),
        cmocka_unit_test_teardown(test_json_controls, teardown),
        cmocka_unit_test_teardown(test_csv_formula, teardown),
        cmocka_unit_test_teardown(test_subsecond_interval, teardown),
        cmocka_unit_test_teardown(test_bounded_memory, teardown),
        cmocka_unit_test_teardown(test_peaks_log, teardown),
        cmocka_unit_test_teardown(test_all_driver_peaks, teardown),
        cmocka_unit_test_teardown(test_driver_peak_equal_keeps_time, teardown),
        cmocka_unit_test_teardown(test_driver_peaks_at_the_end, teardown),
        cmocka_unit_test_teardown(test_dense_peak_sources, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
