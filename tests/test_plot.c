/* Unit tests of plot's data side: rows into series, min/max buckets (a
 * one-sample spike among a million rows survives), breaks at pauses, axis
 * and time ticks, and the renderers' output on fixture logs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gpu_watch/plot.h"
#include "gpu_watch/plot_axis.h"
#include "gpu_watch/plot_bucket.h"
#include "gpu_watch/plot_data.h"
#include "gpu_watch/plot_png.h"
#include "gpu_watch/plot_svg.h"
#include "gpu_watch/plot_term.h"
#include "gpu_watch/plot_rank.h"

/* 2025-01-10T14:22:30Z */
#define T0 1736518950.0

static int setup(void **state)
{
    setenv("TZ", "UTC", 1);
    tzset();
    struct plot *p = calloc(1, sizeof *p);
    assert_non_null(p);
    *state = p;
    return 0;
}

static int teardown(void **state)
{
    plot_free(*state);
    free(*state);
    return 0;
}

static struct log_header header(const char *line)
{
    struct log_header h;
    assert_int_equal(logread_parse_header(line, strlen(line), &h), 0);
    return h;
}

#define SAMPLER_HDR "timestamp,gpu_index,pid,cmd,gpu_mem_mib,sm_util_pct,mem_util_pct"

static struct log_row row(const struct log_header *h, double t, int gpu, long pid, double mem,
                          double sm)
{
    struct log_row r = {.ts = t,
                        .gpu = gpu,
                        .pid = pid,
                        .cmd = "python3 /srv/a/train.py --x 1",
                        .gpu_mem_mib = mem,
                        .sm_util_pct = sm,
                        .mem_util_pct = NAN,
                        .cpu_pct = NAN,
                        .cpu_cores = "",
                        .rss_mib = NAN,
                        .sys_used_mib = NAN,
                        .hdr = h};
    return r;
}

static void test_nice_ticks(void **state)
{
    double step, top;
    plot_nice_ticks(3590, 5, &step, &top);
    assert_true(step == 1000 && top == 4000);
    plot_nice_ticks(86400, 5, &step, &top);
    assert_true(step == 20000 && top == 100000);
    plot_nice_ticks(94, 5, &step, &top);
    assert_true(step == 20 && top == 100);
    plot_nice_ticks(100, 4, &step, &top);
    assert_true(step == 25 && top == 100);
    plot_nice_ticks(0.5, 5, &step, &top);
    assert_true(fabs(step - 0.1) < 1e-12 && fabs(top - 0.5) < 1e-12);
    /* Nothing to show: a 0..1 axis, not a division by zero. */
    plot_nice_ticks(0, 5, &step, &top);
    assert_true(top == 1 && step > 0);
    plot_nice_ticks(NAN, 5, &step, &top);
    assert_true(top == 1);
    /* The top tick always covers the value. */
    for (double v = 0.7; v < 1e7; v *= 1.37) {
        plot_nice_ticks(v, 5, &step, &top);
        assert_true(top >= v);
        assert_true(top / step <= 10.0001);
    }
}

static void test_time_ticks(void **state)
{
    double t[64];
    const char *fmt;
    char lab[32];
    /* 14:22:30 to 16:40: half hours, on the clock. */
    int n = plot_time_ticks(T0, T0 + 8250, 6, t, 64, &fmt);
    assert_int_equal(n, 5);
    assert_string_equal(fmt, "%H:%M");
    plot_fmt_time(t[0], fmt, lab, sizeof lab);
    assert_string_equal(lab, "14:30");
    plot_fmt_time(t[4], fmt, lab, sizeof lab);
    assert_string_equal(lab, "16:30");
    /* Ten seconds: seconds in the labels. */
    n = plot_time_ticks(T0, T0 + 10, 6, t, 64, &fmt);
    assert_string_equal(fmt, "%H:%M:%S");
    assert_int_equal(n, 6);
    plot_fmt_time(t[0], fmt, lab, sizeof lab);
    assert_string_equal(lab, "14:22:30");
    /* Three days: dates. */
    n = plot_time_ticks(T0, T0 + 3 * 86400, 4, t, 64, &fmt);
    assert_string_equal(fmt, "%Y-%m-%d");
    plot_fmt_time(t[0], fmt, lab, sizeof lab);
    assert_string_equal(lab, "2025-01-11");
    plot_fmt_time(t[0], "%H:%M:%S", lab, sizeof lab);
    assert_string_equal(lab, "00:00:00");
    /* Past midnight, hours apart: day and time. */
    n = plot_time_ticks(T0 + 8 * 3600, T0 + 14 * 3600, 6, t, 64, &fmt);
    assert_string_equal(fmt, "%m-%d %H:%M");
    /* Ticks fall on the local clock, not UTC: Kolkata is UTC+05:30. */
    setenv("TZ", "Asia/Kolkata", 1);
    tzset();
    n = plot_time_ticks(T0, T0 + 8250, 6, t, 64, &fmt);
    plot_fmt_time(t[0], "%H:%M", lab, sizeof lab);
    assert_string_equal(lab, "20:00");
    setenv("TZ", "UTC", 1);
    tzset();
    /* One instant: one tick. */
    assert_int_equal(plot_time_ticks(T0, T0, 6, t, 64, &fmt), 1);
}

static void test_spike_survives_million_rows(void **state)
{
    struct plot *p = *state;
    struct log_header h = header(SAMPLER_HDR);
    struct plot_opts o = {0};
    assert_int_equal(plot_init(p, &o, &h), 0);
    const long N = 1000000, SPIKE = 654321;
    for (long i = 0; i < N; i++) {
        struct log_row r = row(&h, T0 + (double)i, 0, 42, i == SPIKE ? 5000 : 100 + (i % 7), 50);
        assert_int_equal(plot_add_row(&r, p), 0);
    }
    assert_int_equal(plot_finish(p), 0);
    assert_int_equal(p->samples, N);
    const struct plot_series *s = &p->panel[PANEL_GPU_MEM].s[0];
    assert_int_equal(p->panel[PANEL_GPU_MEM].ns, 1);
    assert_int_equal(s->count, N);
    assert_true(s->peak == 5000);
    assert_true(s->peak_t == T0 + SPIKE);
    /* Bounded memory: at most PLOT_MAX_BUCKETS buckets for a million rows. */
    assert_true(s->nb <= PLOT_MAX_BUCKETS);
    assert_true(p->w * PLOT_MAX_BUCKETS >= N - 1);
    assert_true(p->median_dt == 1);
    /* Into 1000 pixel columns: the spike is one column's max, the rest
     * stay within 100..106. */
    struct plot_bucket cols[1000];
    plot_columns(p, s, p->tmin, p->tmax, 1000, cols);
    int spikes = 0;
    uint64_t total = 0;
    for (int c = 0; c < 1000; c++) {
        assert_true(cols[c].n > 0);
        total += cols[c].n;
        assert_true(cols[c].min >= 100);
        if (cols[c].max == 5000) {
            spikes++;
            assert_int_equal(c, (int)(SPIKE * 1000 / (N - 1)));
        } else {
            assert_true(cols[c].max <= 106);
        }
        if (c > 0)
            assert_false(plot_is_gap(p, &cols[c - 1], &cols[c]));
    }
    assert_int_equal(spikes, 1);
    assert_int_equal(total, N);
}

static void test_pause_breaks_line(void **state)
{
    struct plot *p = *state;
    struct log_header h = header(SAMPLER_HDR);
    struct plot_opts o = {0};
    assert_int_equal(plot_init(p, &o, &h), 0);
    /* 100 samples every 10 s, a 35 s pause (3.5 intervals), 100 more. */
    double t = T0;
    for (int i = 0; i < 200; i++) {
        if (i == 100)
            t += 25;
        struct log_row r = row(&h, t, 0, 7, 1000, NAN);
        assert_int_equal(plot_add_row(&r, p), 0);
        t += 10;
    }
    assert_int_equal(plot_finish(p), 0);
    assert_true(p->median_dt == 10);
    struct plot_bucket cols[400];
    const struct plot_series *s = &p->panel[PANEL_GPU_MEM].s[0];
    plot_columns(p, s, p->tmin, p->tmax, 400, cols);
    int gaps = 0, prev = -1;
    for (int c = 0; c < 400; c++) {
        if (!cols[c].n)
            continue;
        if (prev >= 0 && plot_is_gap(p, &cols[prev], &cols[c])) {
            gaps++;
            assert_true(cols[prev].t_last == T0 + 990);
            assert_true(cols[c].t_first == T0 + 1025);
        }
        prev = c;
    }
    assert_int_equal(gaps, 1);
}

static void test_totals_per_gpu_per_process(void **state)
{
    struct plot *p = *state;
    struct log_header h = header(SAMPLER_HDR);
    struct plot_opts o = {.per_gpu = true, .util = true};
    assert_int_equal(plot_init(p, &o, &h), 0);
    /* Two samples; GPU 0 has two processes whose SM % sum past 100. */
    for (int k = 0; k < 2; k++) {
        struct log_row a = row(&h, T0 + k, 0, 1, 1000 + k, 70);
        struct log_row b = row(&h, T0 + k, 0, 2, 500, 60);
        struct log_row c = row(&h, T0 + k, 1, 3, 300, NAN);
        assert_int_equal(plot_add_row(&a, p), 0);
        assert_int_equal(plot_add_row(&b, p), 0);
        assert_int_equal(plot_add_row(&c, p), 0);
    }
    assert_int_equal(plot_finish(p), 0);
    const struct plot_panel *m = &p->panel[PANEL_GPU_MEM];
    assert_int_equal(m->ns, 2);
    assert_string_equal(m->s[0].name, "GPU 0");
    assert_true(m->s[0].peak == 1501);
    assert_string_equal(m->s[1].name, "GPU 1");
    assert_true(m->s[1].peak == 300);
    const struct plot_panel *sm = &p->panel[PANEL_SM];
    assert_null(sm->missing);
    assert_int_equal(sm->ns, 1); /* GPU 1's SM % is unknown: no line */
    assert_true(sm->s[0].peak == 100);
    /* A sampler log has no system memory or CPU columns. */
    assert_non_null(p->panel[PANEL_SYS_MEM].missing);
    assert_non_null(p->panel[PANEL_CPU].missing);
    assert_int_equal(p->npanels, 2); /* no empty system memory panel */
    assert_int_equal(p->order[1], PANEL_SM);
}

static void test_subsecond_samples(void **state)
{
    struct plot *p = *state;
    struct log_header h = header(SAMPLER_HDR);
    struct plot_opts o = {.per_process = true};
    assert_int_equal(plot_init(p, &o, &h), 0);
    /* --interval 0.25: four samples share each second's timestamp. The
     * total must be one sample's, not four summed. */
    for (int i = 0; i < 8; i++) {
        struct log_row a = row(&h, T0 + i / 4, 0, 11, 100, NAN);
        struct log_row b = row(&h, T0 + i / 4, 0, 12, 200 + i, NAN);
        assert_int_equal(plot_add_row(&a, p), 0);
        assert_int_equal(plot_add_row(&b, p), 0);
    }
    assert_int_equal(plot_finish(p), 0);
    assert_int_equal(p->samples, 8);
    const struct plot_panel *m = &p->panel[PANEL_GPU_MEM];
    assert_int_equal(m->ns, 2);
    assert_string_equal(m->s[0].name, "11 python3 train.py --x 1");
    assert_true(m->s[0].peak == 100);
    assert_true(m->s[1].peak == 207);
}

static void test_out_of_order(void **state)
{
    struct plot *p = *state;
    struct log_header h = header(SAMPLER_HDR);
    struct plot_opts o = {0};
    assert_int_equal(plot_init(p, &o, &h), 0);
    /* A later run first, then an earlier one appended after it. */
    for (int i = 0; i < 100; i++) {
        struct log_row r = row(&h, T0 + 86400 + i, 0, 1, 10, NAN);
        assert_int_equal(plot_add_row(&r, p), 0);
    }
    for (int i = 0; i < 100; i++) {
        struct log_row r = row(&h, T0 + i, 0, 1, i == 50 ? 99 : 20, NAN);
        assert_int_equal(plot_add_row(&r, p), 0);
    }
    assert_int_equal(plot_finish(p), 0);
    assert_true(p->tmin == T0);
    assert_true(p->tmax == T0 + 86499);
    const struct plot_series *s = &p->panel[PANEL_GPU_MEM].s[0];
    assert_int_equal(s->count, 200);
    assert_true(s->peak == 99);
    struct plot_bucket cols[500];
    plot_columns(p, s, p->tmin, p->tmax, 500, cols);
    assert_true(cols[0].max == 99);
    assert_true(cols[499].max == 10);
}

static int add(const struct log_row *r, void *ctx)
{
    struct plot *p = ctx;
    if (p->npanels == 0) {
        struct plot_opts o = {.util = true, .cpu = true};
        assert_int_equal(plot_init(p, &o, r->hdr), 0);
    }
    return plot_add_row(r, p);
}

static void test_fixture_logs_render(void **state)
{
    struct plot *p = *state;
    assert_int_equal(logread_file("tests/fixtures/logs/sampler.csv", add, p, NULL, NULL), 0);
    assert_int_equal(plot_finish(p), 0);
    assert_int_equal(p->samples, 2);
    const struct plot_series *s = &p->panel[PANEL_GPU_MEM].s[0];
    assert_true(s->peak == 1642 + 3590 + 1764);
    assert_true(s->peak_t == T0);
    struct gw_buf b = {0};
    assert_int_equal(plot_svg(p, "t <&>", "sub", 800, 600, &b), 0);
    assert_non_null(strstr(b.p, "<title>t &lt;&amp;&gt;</title>"));
    assert_non_null(strstr(b.p, "<title>all processes: peak 6996 MiB at 2025-01-10 14:22:30"));
    assert_non_null(strstr(b.p, "no cpu_pct column")); /* --cpu asked: said in its panel */
    assert_null(strstr(b.p, "System memory used"));
    buf_clear(&b);
    assert_int_equal(plot_term(p, "title", "sub", 80, false, &b), 0);
    assert_non_null(strstr(b.p, "peak 6996 MiB"));
    assert_null(strchr(b.p, '\x1b')); /* no colour when asked for none */
    buf_clear(&b);
    assert_int_equal(plot_png(p, "title", "sub", 640, 400, &b), 0);
    assert_memory_equal(b.p, "\x89PNG", 4);
    buf_free(&b);
    plot_free(p);

    /* Compact log: system memory and CPU present, SM missing. */
    assert_int_equal(logread_file("tests/fixtures/logs/compact.csv", add, p, NULL, NULL), 0);
    assert_int_equal(plot_finish(p), 0);
    assert_null(p->panel[PANEL_SYS_MEM].missing);
    assert_null(p->panel[PANEL_CPU].missing);
    assert_non_null(p->panel[PANEL_SM].missing);
    assert_true(p->panel[PANEL_SYS_MEM].s[0].peak == 30300);
    assert_true(p->panel[PANEL_CPU].s[0].peak == 250);
    assert_string_equal(p->panel[PANEL_GPU_MEM].s[0].name, "the process");
}

static void test_format_helpers(void **state)
{
    char b[64];
    plot_fmt_value(3590, "MiB", b, sizeof b);
    assert_string_equal(b, "3590 MiB");
    plot_fmt_value(12.5, "%", b, sizeof b);
    assert_string_equal(b, "12.5%");
    /* The palette: Okabe-Ito blue first, no two neighbours alike. */
    assert_int_equal(plot_color(0), 0x0072B2);
    for (int i = 0; i < 8; i++)
        assert_int_not_equal(plot_color(i), plot_color(i + 1));
}

/* 70 processes, PID k with peak 10 * k MiB: the terminal legend lists the
 * six largest (PIDs 70 down to 65), as SVG and PNG do; it used to sort only
 * up to 64 series and list the first six seen. Read as plot_main does:
 * plot_rank first keeps the 31 largest apart (issue 18 item 12), the 39
 * others are summed into "other processes", listed last. */
static void test_term_legend_many(void **state)
{
    struct plot *p = *state;
    struct log_header h = header(SAMPLER_HDR);
    struct plot_opts o = {.per_process = true};
    struct plot_rank rk;
    plot_rank_init(&rk, &o);
    for (long pid = 1; pid <= 70; pid++) {
        struct log_row r = row(&h, T0, 0, pid, 10.0 * (double)pid, NAN);
        assert_int_equal(plot_rank_row(&r, &rk), 0);
    }
    long long keep[PLOT_MAX_PROCS];
    o.nkeep = plot_rank_finish(&rk, keep);
    o.keep = keep;
    plot_rank_free(&rk);
    assert_int_equal(o.nkeep, 31);
    assert_true(keep[0] == 40 && keep[30] == 70);
    assert_int_equal(plot_init(p, &o, &h), 0);
    for (long pid = 1; pid <= 70; pid++) {
        struct log_row r = row(&h, T0, 0, pid, 10.0 * (double)pid, NAN);
        assert_int_equal(plot_add_row(&r, p), 0);
    }
    assert_int_equal(plot_finish(p), 0);
    const struct plot_panel *gm = &p->panel[PANEL_GPU_MEM];
    assert_int_equal(gm->ns, 32);
    const struct plot_series *other = NULL;
    for (int i = 0; i < gm->ns; i++)
        if (gm->s[i].key == PLOT_KEY_OTHER)
            other = &gm->s[i];
    assert_non_null(other);
    assert_true(other->peak == 10.0 * 39 * 40 / 2); /* PIDs 1..39 summed */
    assert_string_equal(other->name, "other processes (summed)");
    int order[70];
    assert_int_equal(plot_order_by_peak(&p->panel[PANEL_GPU_MEM], order), 0);
    assert_string_equal(p->panel[PANEL_GPU_MEM].s[order[0]].name, "70 python3 train.py --x 1");
    struct gw_buf b = {0};
    assert_int_equal(plot_term(p, "t", "s", 80, false, &b), 0);
    const char *leg = strstr(b.p, "GPU memory (MiB)\n");
    assert_non_null(leg);
    char want[64];
    for (int k = 0; k < 6; k++) {
        snprintf(want, sizeof want, "  \xe2\x96\xa0 %d python3", 70 - k);
        const char *at = strstr(leg, want);
        assert_non_null(at);
        leg = at; /* in this order */
    }
    assert_non_null(strstr(leg, "... and 26 more"));
    assert_null(strstr(b.p, "\xe2\x96\xa0 1 python3"));
    buf_free(&b);
}

/* An empty cell is a hole: the line breaks at it. 20 samples 1 s apart,
 * the 11th not reported. */
static void test_hole_breaks_line(void **state)
{
    struct plot *p = *state;
    struct log_header h = header(SAMPLER_HDR);
    struct plot_opts o = {.per_process = true};
    assert_int_equal(plot_init(p, &o, &h), 0);
    for (int i = 0; i < 20; i++) {
        struct log_row r = row(&h, T0 + i, 0, 7, i == 10 ? NAN : 100 + i, NAN);
        assert_int_equal(plot_add_row(&r, p), 0);
    }
    assert_int_equal(plot_finish(p), 0);
    const struct plot_series *s = &p->panel[PANEL_GPU_MEM].s[0];
    assert_int_equal(s->count, 19);
    /* One column per sample: column 10 holds the hole alone. */
    struct plot_bucket cols[20];
    plot_columns(p, s, p->tmin, p->tmax, 20, cols);
    assert_int_equal(cols[10].n, 0);
    assert_int_equal(cols[10].nh, 1);
    assert_false(plot_is_gap(p, &cols[8], &cols[9]));
    /* Two samples per column: column 5 has the hole before its value. */
    plot_columns(p, s, p->tmin, p->tmax, 10, cols);
    assert_true(plot_is_gap(p, &cols[4], &cols[5]));
    assert_false(plot_is_gap(p, &cols[5], &cols[6]));
    assert_false(plot_is_gap(p, &cols[3], &cols[4]));
    /* The terminal chart takes the hole-only column too. */
    struct gw_buf b = {0};
    assert_int_equal(plot_term(p, "t", "s", 60, false, &b), 0);
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_nice_ticks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_term_legend_many, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hole_breaks_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_time_ticks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spike_survives_million_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pause_breaks_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_totals_per_gpu_per_process, setup, teardown),
        cmocka_unit_test_setup_teardown(test_subsecond_samples, setup, teardown),
        cmocka_unit_test_setup_teardown(test_out_of_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fixture_logs_render, setup, teardown),
        cmocka_unit_test_setup_teardown(test_format_helpers, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
