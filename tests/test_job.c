/* Unit tests of `gpu_watch job`: the bound arithmetic, the window matching
 * of accounting records (reused PIDs, records of the job before, an
 * overwritten buffer), the mapping of Slurm's GPU numbers by minor number,
 * and the parsers (nvidia-smi -q, SLURM_JOB_GPUS, the snapshot). */
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

#include "gpu_watch/job.h"
#include "gpu_watch/job_fmt.h"
#include "gpu_watch/job_nvml.h"
#include "gpu_watch/job_parse.h"

#define UA "GPU-aaaaaaaa-1111-2222-3333-444444444444"
#define UB "GPU-bbbbbbbb-1111-2222-3333-444444444444"

/* The job's window: 1,000 s from T0, 2025-12-05T01:30:00Z. */
#define T0 1764898200.0
#define T1 (T0 + 1000.0)

static const char who_header[] = "timestamp,gpu_index,pid,cmd,gpu_mem_mib,sm_util_pct,"
                                 "mem_util_pct,peak_mem_mib,user,job_id,container\n";

static int on_row(const struct log_row *row, void *ctx)
{
    return job_add_row(ctx, row);
}

/* Feed CSV text (a header, then rows) to j through logread's parser. */
static void feed(struct job *j, const char *text)
{
    struct log_parser p;
    log_parser_init(&p, on_row, j);
    assert_int_equal(logread_feed(&p, text, strlen(text)), 0);
    assert_int_equal(logread_finish(&p), 0);
    assert_int_equal(p.st.bad, 0);
    log_parser_free(&p);
}

static struct job_rec rec(const char *uuid, long pid, int64_t max, int64_t time_ms, double start)
{
    struct job_rec r = {.pid = pid, .max_mib = max, .time_ms = time_ms, .start = start};
    snprintf(r.uuid, sizeof r.uuid, "%s", uuid);
    return r;
}

static const struct job_gpu_info two_gpus[] = {
    {.index = 0, .uuid = UA, .minor = 1, .acct = 1, .buffer = 4000},
    {.index = 1, .uuid = UB, .minor = 0, .acct = 1, .buffer = 4000},
};

/* Two processes on GPU 1 peaking at different times: samples see 700+200
 * and 300+900; the driver kept 1,200 and 1,000. */
static const char two_procs[] = "2025-12-05T01:30:10Z,1,100,python a.py,700,50,1,,alice,42,\n"
                                "2025-12-05T01:30:10Z,1,101,python b.py,200,10,1,,alice,42,\n"
                                "2025-12-05T01:30:20Z,1,100,python a.py,300,40,1,,alice,42,\n"
                                "2025-12-05T01:30:20Z,1,101,python b.py,900,30,1,,alice,42,\n"
                                "2025-12-05T01:30:20Z,0,555,other.py,5000,90,1,,bob,43,\n";

static void setup_two(struct job *j, double start)
{
    char text[2048];
    snprintf(text, sizeof text, "%s%s", who_header, two_procs);
    job_init(j, "42", start, T1);
    feed(j, text);
}

static const struct job_gpu *gpu_of(const struct job *j, int index)
{
    for (size_t i = 0; i < j->ngpus; i++)
        if (j->gpus[i].index == index)
            return &j->gpus[i];
    return NULL;
}

static void test_bounds_two_processes(void **state)
{
    struct job j;
    setup_two(&j, NAN);
    struct job_rec recs[] = {rec(UB, 100, 1200, 0, NAN), rec(UB, 101, 1000, 0, NAN),
                             rec(UA, 555, 6000, 0, NAN)};
    struct job_end e = {.gpus = two_gpus,
                        .ngpus = 2,
                        .gpus_read = true,
                        .recs = recs,
                        .nrecs = 3,
                        .recs_read = true};
    assert_int_equal(job_finish(&j, &e), 0);
    assert_int_equal(j.ngpus, 1); /* bob's job 43 on GPU 0 is not ours */
    const struct job_gpu *g = gpu_of(&j, 1);
    assert_non_null(g);
    assert_string_equal(g->uuid, UB);
    assert_int_equal(g->samples, 2);
    assert_int_equal(g->nprocs, 2);
    /* Sampled sums 900 and 1,200; largest driver peak 1,200: lower 1,200. */
    assert_true(g->sum_max_mib == 1200.0);
    assert_true(g->lower_mib == 1200.0);
    /* Upper: 1,200 + 1,000. */
    assert_true(g->upper_mib == 2200.0);
    assert_true(g->sm_max == 70.0);
    assert_true(fabs(g->sm_sum / (double)g->sm_n - 65.0) < 1e-9); /* (60 + 70) / 2 */
    assert_true(j.lower_mib == 1200.0 && j.upper_mib == 2200.0);
    job_free(&j);
}

/* The lower bound's source: the sampled sum when above every driver peak. */
static void test_lower_from_samples(void **state)
{
    struct job j;
    setup_two(&j, NAN);
    struct job_rec recs[] = {rec(UB, 100, 750, 0, NAN), rec(UB, 101, 950, 0, NAN)};
    struct job_end e = {.gpus = two_gpus,
                        .ngpus = 2,
                        .gpus_read = true,
                        .recs = recs,
                        .nrecs = 2,
                        .recs_read = true};
    assert_int_equal(job_finish(&j, &e), 0);
    const struct job_gpu *g = gpu_of(&j, 1);
    assert_true(g->lower_mib == 1200.0);
    assert_int_equal(g->lower_src, JOB_SRC_SAMPLED);
    assert_true(g->upper_mib == 1700.0);
    assert_true(g->upper_mib >= g->lower_mib);
    job_free(&j);
}

/* One process: the two bounds are its driver peak. */
static void test_one_process_bounds_equal(void **state)
{
    struct job j;
    char text[1024];
    snprintf(text, sizeof text, "%s%s", who_header,
             "2025-12-05T01:30:10Z,1,100,python a.py,700,50,1,,alice,42,\n");
    job_init(&j, "42", NAN, T1);
    feed(&j, text);
    struct job_rec recs[] = {rec(UB, 100, 9826, 0, NAN)};
    struct job_end e = {.gpus = two_gpus,
                        .ngpus = 2,
                        .gpus_read = true,
                        .recs = recs,
                        .nrecs = 1,
                        .recs_read = true};
    assert_int_equal(job_finish(&j, &e), 0);
    const struct job_gpu *g = gpu_of(&j, 1);
    assert_true(g->lower_mib == 9826.0 && g->upper_mib == 9826.0);
    assert_int_equal(g->lower_src, JOB_SRC_DRIVER);
    assert_int_equal(g->procs[0].true_src, JOB_SRC_DRIVER);
    assert_true(g->procs[0].sampled_mib == 700.0);
    job_free(&j);
}

/* A process without a driver peak: the upper bound is unknown, with why. */
static void test_upper_null_without_peak(void **state)
{
    struct job j;
    setup_two(&j, NAN);
    struct job_rec recs[] = {rec(UB, 100, 1200, 0, NAN), rec(UB, 101, 0, 0, NAN)};
    struct job_end e = {.gpus = two_gpus,
                        .ngpus = 2,
                        .gpus_read = true,
                        .recs = recs,
                        .nrecs = 2,
                        .recs_read = true};
    assert_int_equal(job_finish(&j, &e), 0);
    const struct job_gpu *g = gpu_of(&j, 1);
    assert_true(isnan(g->upper_mib));
    assert_non_null(g->upper_why);
    assert_true(isnan(j.upper_mib));
    assert_true(g->lower_mib == 1200.0);
    job_free(&j);
}

/* Accounting off: only the sampled lower bound, and the flag. */
static void test_accounting_off(void **state)
{
    struct job j;
    setup_two(&j, NAN);
    struct job_gpu_info off[2];
    memcpy(off, two_gpus, sizeof off);
    off[1].acct = 0;
    struct job_end e = {.gpus = off, .ngpus = 2, .gpus_read = true, .recs_read = true};
    assert_int_equal(job_finish(&j, &e), 0);
    const struct job_gpu *g = gpu_of(&j, 1);
    assert_true(g->lower_mib == 1200.0);
    assert_int_equal(g->lower_src, JOB_SRC_SAMPLED);
    assert_true(isnan(g->upper_mib));
    assert_true(j.flags & JOB_F_ACCT_OFF);
    job_free(&j);
}

/* A PID reused: the record of an earlier process of the same PID, in the
 * snapshot, is not the job's; the running one is. */
static void test_reused_pid_snapshot(void **state)
{
    struct job_rec before[] = {rec(UB, 100, 30000, 5000, NAN)};
    struct job_rec recs[] = {rec(UB, 100, 30000, 5000, NAN), rec(UB, 100, 1200, 0, NAN)};
    long m = job_match_record(recs, 2, UB, 100, T0 + 10, T0 + 20, T0, T1, before, 1, true);
    assert_int_equal(m, 1);
    /* Without the snapshot, the finished record of 5 s cannot be the
     * process seen over 10 s: the running one is its own. */
    m = job_match_record(recs, 2, UB, 100, T0 + 10, T0 + 20, T0, T1, NULL, 0, false);
    assert_int_equal(m, 1);
    /* A finished record of 15 s would fit too: two fit, none is chosen. */
    recs[0].time_ms = 15000;
    m = job_match_record(recs, 2, UB, 100, T0 + 10, T0 + 20, T0, T1, NULL, 0, false);
    assert_int_equal(m, -1);
    /* A finished record whose life is shorter than the span sampled is
     * another process's. */
    struct job_rec ended[] = {rec(UB, 100, 500, 3000, NAN), rec(UB, 100, 800, 60000, NAN)};
    m = job_match_record(ended, 2, UB, 100, T0 + 10, T0 + 50, T0, T1, NULL, 0, false);
    assert_int_equal(m, 1);
}

/* With start times (NVML): a record that started before the window is
 * the job before's, even for the same PID on the same GPU. */
static void test_reused_pid_start_times(void **state)
{
    struct job_rec recs[] = {rec(UB, 100, 30000, 5000, T0 - 100), rec(UB, 100, 1200, 0, T0 + 5)};
    long m = job_match_record(recs, 2, UB, 100, T0 + 10, T0 + 20, T0, T1, NULL, 0, false);
    assert_int_equal(m, 1);
    assert_int_equal(job_rec_in_window(&recs[0], T0, T1, NULL, 0, false), 0);
    assert_int_equal(job_rec_in_window(&recs[1], T0, T1, NULL, 0, false), 1);
    /* No start time, no snapshot: cannot be told. */
    struct job_rec r = rec(UB, 7, 10, 10, NAN);
    assert_int_equal(job_rec_in_window(&r, T0, T1, NULL, 0, false), -1);
}

/* The snapshot: a record absent from it, or changed since (a new process
 * of a reused PID), is new; one that was running then is the old process. */
static void test_window_snapshot(void **state)
{
    struct job_rec before[] = {rec(UB, 10, 100, 2000, NAN), rec(UB, 11, 100, 0, NAN)};
    struct job_rec same = rec(UB, 10, 100, 2000, NAN);
    struct job_rec reused = rec(UB, 10, 300, 900, NAN);
    struct job_rec ended_since = rec(UB, 11, 150, 4000, NAN);
    struct job_rec fresh = rec(UB, 12, 150, 400, NAN);
    struct job_rec other_gpu = rec(UA, 10, 100, 2000, NAN);
    assert_int_equal(job_rec_in_window(&same, T0, T1, before, 2, true), 0);
    assert_int_equal(job_rec_in_window(&reused, T0, T1, before, 2, true), 1);
    assert_int_equal(job_rec_in_window(&ended_since, T0, T1, before, 2, true), 0);
    assert_int_equal(job_rec_in_window(&fresh, T0, T1, before, 2, true), 1);
    assert_int_equal(job_rec_in_window(&other_gpu, T0, T1, before, 2, true), 1);
}

/* The buffer keeps 4,000 records and overwrites the oldest first. */
static void test_overwritten_buffer(void **state)
{
    size_t n = 4000;
    struct job_rec *recs = calloc(n, sizeof *recs);
    assert_non_null(recs);
    for (size_t i = 0; i < n; i++)
        recs[i] = rec(UB, 1000 + (long)i, 10, 100, NAN);
    struct job_rec before[] = {rec(UB, 5, 10, 100, NAN)};
    /* Full, and the one record from before the job is gone: overwritten. */
    assert_int_equal(job_overwritten(recs, n, UB, 4000, T0, before, 1, true), 1);
    /* Full, but a record from before is still there: nothing of the job lost. */
    recs[0] = before[0];
    assert_int_equal(job_overwritten(recs, n, UB, 4000, T0, before, 1, true), 0);
    /* Full, no snapshot, no start times: cannot be told. */
    assert_int_equal(job_overwritten(recs, n, UB, 4000, T0, NULL, 0, false), -1);
    /* Not full: never. */
    assert_int_equal(job_overwritten(recs, n - 1, UB, 4000, T0, NULL, 0, false), 0);
    /* Another GPU's records do not fill this one's buffer. */
    assert_int_equal(job_overwritten(recs, n, UA, 4000, T0, NULL, 0, false), 0);
    /* With start times: an older record left means nothing was lost. */
    for (size_t i = 0; i < n; i++)
        recs[i].start = T0 + 1 + (double)i * 0.1;
    assert_int_equal(job_overwritten(recs, n, UB, 4000, T0, NULL, 0, false), 1);
    recs[0].start = T0 - 50;
    assert_int_equal(job_overwritten(recs, n, UB, 4000, T0, NULL, 0, false), 0);
    free(recs);
}

/* Slurm's GPU 0 is minor 0: index 1 here (never position 0). The short
 * process between samples comes from the records; the job before's record
 * (in the snapshot) and another GPU's do not count. */
static void test_slurm_mapping_and_unsampled(void **state)
{
    struct job j;
    char text[1024];
    snprintf(text, sizeof text, "%s%s", who_header,
             "2025-12-05T01:30:10Z,1,100,python a.py,700,50,1,,alice,42,\n");
    job_init(&j, "42", T0, T1); /* the row is at T0 + 10 s */
    feed(&j, text);
    struct job_rec before[] = {rec(UB, 99999, 8000, 5000, NAN)};
    struct job_rec recs[] = {rec(UB, 99999, 8000, 5000, NAN), rec(UB, 100, 1200, 0, NAN),
                             rec(UB, 200, 3000, 300, NAN), rec(UA, 300, 7000, 100, NAN)};
    int slurm[] = {0};
    struct job_end e = {.gpus = two_gpus,
                        .ngpus = 2,
                        .gpus_read = true,
                        .slurm = slurm,
                        .nslurm = 1,
                        .recs = recs,
                        .nrecs = 4,
                        .recs_read = true,
                        .before = before,
                        .nbefore = 1,
                        .have_before = true};
    assert_int_equal(job_finish(&j, &e), 0);
    assert_int_equal(j.ngpus, 1);
    const struct job_gpu *g = &j.gpus[0];
    assert_int_equal(g->index, 1);
    assert_int_equal(g->minor, 0);
    assert_true(g->slurm);
    assert_int_equal(g->nprocs, 2);
    assert_int_equal(g->procs[1].pid, 200);
    assert_true(g->procs[1].from_acct_only);
    assert_true(g->lower_mib == 3000.0);
    assert_int_equal(g->lower_src, JOB_SRC_DRIVER);
    assert_true(g->upper_mib == 4200.0);
    assert_false(j.flags & JOB_F_UNSAMPLED_UNCOUNTED);
    job_free(&j);
}

/* Without a snapshot or start times, processes no sample saw cannot be
 * counted: said, and the upper bound is unknown. A Slurm GPU that no
 * minor number names is flagged, never taken by position. */
static void test_unsampled_uncounted_and_unmapped(void **state)
{
    struct job j;
    setup_two(&j, NAN);
    struct job_rec recs[] = {rec(UB, 100, 1200, 0, NAN), rec(UB, 101, 1000, 0, NAN),
                             rec(UB, 200, 3000, 300, NAN)};
    struct job_gpu_info nominor[2];
    memcpy(nominor, two_gpus, sizeof nominor);
    int slurm[] = {0};
    struct job_end e = {.gpus = two_gpus,
                        .ngpus = 2,
                        .gpus_read = true,
                        .slurm = slurm,
                        .nslurm = 1,
                        .recs = recs,
                        .nrecs = 3,
                        .recs_read = true};
    assert_int_equal(job_finish(&j, &e), 0);
    assert_true(j.flags & JOB_F_UNSAMPLED_UNCOUNTED);
    assert_true(isnan(gpu_of(&j, 1)->upper_mib));
    job_free(&j);

    setup_two(&j, NAN);
    nominor[0].minor = nominor[1].minor = -1;
    e.gpus = nominor;
    assert_int_equal(job_finish(&j, &e), 0);
    assert_true(j.flags & JOB_F_GPU_MAP_UNKNOWN);
    for (size_t i = 0; i < j.ngpus; i++)
        if (j.gpus[i].slurm)
            assert_true(j.gpus[i].index < 0);
    job_free(&j);
}

/* A gap of several intervals in the job's samples is flagged. */
static void test_samples_missing(void **state)
{
    struct job j;
    char text[2048];
    snprintf(text, sizeof text, "%s%s", who_header,
             "2025-12-05T01:30:00Z,1,100,a,7,1,1,,u,42,\n"
             "2025-12-05T01:30:01Z,1,100,a,7,1,1,,u,42,\n"
             "2025-12-05T01:30:02Z,1,100,a,7,1,1,,u,42,\n"
             "2025-12-05T01:30:03Z,1,100,a,7,1,1,,u,42,\n"
             "2025-12-05T01:30:30Z,1,100,a,7,1,1,,u,42,\n");
    job_init(&j, "42", NAN, T1);
    feed(&j, text);
    struct job_end e = {.gpus = two_gpus, .ngpus = 2, .gpus_read = true, .recs_read = true};
    assert_int_equal(job_finish(&j, &e), 0);
    assert_true(j.interval == 1.0);
    assert_true(j.flags & JOB_F_SAMPLES_MISSING);
    job_free(&j);
    /* Without the gap: no flag. */
    snprintf(text, sizeof text, "%s%s", who_header,
             "2025-12-05T01:30:00Z,1,100,a,7,1,1,,u,42,\n"
             "2025-12-05T01:30:01Z,1,100,a,7,1,1,,u,42,\n"
             "2025-12-05T01:30:02Z,1,100,a,7,1,1,,u,42,\n");
    job_init(&j, "42", NAN, T1);
    feed(&j, text);
    assert_int_equal(job_finish(&j, &e), 0);
    assert_false(j.flags & JOB_F_SAMPLES_MISSING);
    job_free(&j);
}

/* A log without --who: nothing can be the job's; flagged. */
static void test_no_who(void **state)
{
    struct job j;
    job_init(&j, "42", NAN, T1);
    feed(&j, "timestamp,gpu_index,pid,cmd,gpu_mem_mib,sm_util_pct,mem_util_pct\n"
             "2025-12-05T01:30:00Z,1,100,a,7,1,1\n");
    struct job_end e = {0};
    assert_int_equal(job_finish(&j, &e), 0);
    assert_true(j.flags & JOB_F_NO_WHO);
    assert_true(j.flags & JOB_F_NO_LOG);
    assert_int_equal(j.ngpus, 0);
    job_free(&j);
}

static void test_job_id_matches(void **state)
{
    bool claimed;
    assert_true(job_id_matches("42", "42", &claimed));
    assert_false(claimed);
    assert_false(job_id_matches("420", "42", &claimed));
    assert_false(job_id_matches("4", "42", &claimed));
    assert_false(job_id_matches("", "42", &claimed));
    assert_true(job_id_matches("42?", "42", &claimed));
    assert_true(claimed);
    assert_true(job_id_matches("claimed:42", "42", &claimed));
    assert_true(claimed);
    assert_false(job_id_matches("claimed:43", "42", &claimed));
}

static void test_parse_smi_q(void **state)
{
    FILE *f = fopen("tests/fixtures/job/q.txt", "rb");
    assert_non_null(f);
    char buf[8192];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    struct job_gpu_info g[2] = {{.index = 0, .uuid = UA, .minor = -1, .buffer = -1},
                                {.index = 1, .uuid = UB, .minor = -1, .buffer = -1}};
    assert_int_equal(job_parse_smi_q(buf, n, g, 2), 0);
    assert_int_equal(g[0].minor, 1);
    assert_int_equal(g[1].minor, 0);
    assert_int_equal(g[0].buffer, 4000);
    assert_int_equal(job_parse_smi_q("nothing\n", 8, g, 2), -EINVAL);
}

static void test_parse_gpu_list(void **state)
{
    int v[8];
    size_t n;
    assert_int_equal(job_parse_gpu_list("0", v, 8, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(job_parse_gpu_list("0-2,5", v, 8, &n), 0);
    assert_int_equal(n, 4);
    assert_int_equal(v[3], 5);
    assert_int_equal(job_parse_gpu_list("1,1", v, 8, &n), -EINVAL);
    assert_int_equal(job_parse_gpu_list("a", v, 8, &n), -EINVAL);
    assert_int_equal(job_parse_gpu_list("3-1", v, 8, &n), -EINVAL);
    assert_int_equal(job_parse_gpu_list("0,", v, 8, &n), -EINVAL);
    assert_int_equal(job_parse_gpu_list("0-9", v, 8, &n), -EINVAL);
}

static void test_snapshot_round_trip(void **state)
{
    struct job_rec in[] = {rec(UB, 100, 1200, 0, NAN), rec(UA, 7, GW_UNKNOWN, 500, NAN)};
    struct gw_buf b = {0};
    assert_int_equal(job_snapshot_format(&b, T0 + 0.5, in, 2), 0);
    double taken;
    struct job_rec *out;
    size_t n;
    assert_int_equal(job_parse_snapshot(b.p, b.len, &taken, &out, &n), 0);
    assert_int_equal(n, 2);
    assert_true(taken == T0 + 0.5);
    assert_string_equal(out[1].uuid, UA);
    assert_int_equal(out[1].max_mib, GW_UNKNOWN);
    assert_int_equal(out[0].time_ms, 0);
    free(out);
    assert_int_equal(job_parse_snapshot("taken=1\n", 8, &taken, &out, &n), -EINVAL);
    buf_free(&b);
}

/* JSON: the documented fields, null for unknowns. */
static void test_json_fields(void **state)
{
    struct job j;
    setup_two(&j, NAN);
    struct job_rec recs[] = {rec(UB, 100, 1200, 0, NAN)};
    struct job_end e = {.gpus = two_gpus,
                        .ngpus = 2,
                        .gpus_read = true,
                        .recs = recs,
                        .nrecs = 1,
                        .recs_read = true};
    assert_int_equal(job_finish(&j, &e), 0);
    struct gw_buf b = {0};
    struct job_fmt_info fi = {"node1", "log", "nvidia-smi"};
    assert_int_equal(job_format(&j, &fi, JOB_JSON, &b), 0);
    assert_non_null(strstr(b.p, "\"schema\": \"gpu_watch-job/1\""));
    assert_non_null(strstr(b.p, "\"upper\": null"));
    assert_non_null(strstr(b.p, "\"lower\": 1200, \"lower_source\": \"sampled\""));
    assert_non_null(strstr(b.p, "\"uuid\": \"" UB "\""));
    buf_clear(&b);
    assert_int_equal(job_format(&j, &fi, JOB_COMPACT, &b), 0);
    assert_string_equal(b.p, "gpu_watch:lower_mib=1200,upper_mib=unknown,gpus=1,procs=2,flags=\n");
    buf_free(&b);
    job_free(&j);
}

/* No start given: the first sample is the start, guessed. A sampled
 * process that started before it (NVML's start time) keeps its record; a
 * process only the records hold counts from an interval before it; an old
 * one does not. */
static void test_guessed_start(void **state)
{
    struct job j;
    char text[1024];
    snprintf(text, sizeof text, "%s%s", who_header,
             "2025-12-05T01:30:10Z,1,100,python a.py,700,50,1,,alice,42,\n"
             "2025-12-05T01:30:20Z,1,100,python a.py,700,50,1,,alice,42,\n");
    job_init(&j, "42", NAN, T1);
    feed(&j, text);
    struct job_rec recs[] = {rec(UB, 100, 1200, 0, T0 + 2), rec(UB, 200, 3000, 300, T0 + 15),
                             rec(UB, 300, 9000, 1000, T0 - 500)};
    int slurm[] = {0};
    struct job_end e = {.gpus = two_gpus,
                        .ngpus = 2,
                        .gpus_read = true,
                        .slurm = slurm,
                        .nslurm = 1,
                        .recs = recs,
                        .nrecs = 3,
                        .recs_read = true};
    assert_int_equal(job_finish(&j, &e), 0);
    assert_true(j.start_guessed);
    assert_true(j.start == T0 + 10);
    const struct job_gpu *g = gpu_of(&j, 1);
    assert_int_equal(g->nprocs, 2);
    assert_true(g->procs[0].driver_mib == 1200.0);
    assert_int_equal(g->procs[1].pid, 200);
    assert_true(g->upper_mib == 4200.0);
    job_free(&j);
}

/* nvmlAccountingStats_t as the driver lays it out: peak in bytes (rounded
 * down to MiB), time 0 while running, start in microseconds. */
static void test_nvml_decode(void **state)
{
    unsigned char raw[56];
    memset(raw, 0x5A, sizeof raw);
    uint64_t max = (1200ULL << 20) + 12345, time_ms = 4000, start = 1764898210500000ULL;
    uint32_t running = 0;
    memcpy(raw + 8, &max, 8);
    memcpy(raw + 16, &time_ms, 8);
    memcpy(raw + 24, &start, 8);
    memcpy(raw + 32, &running, 4);
    struct job_rec r;
    job_nvml_decode(raw, UB, 77, &r);
    assert_int_equal(r.max_mib, 1200);
    assert_int_equal(r.time_ms, 4000);
    assert_true(r.start == 1764898210.5);
    assert_int_equal(r.pid, 77);
    running = 1;
    memcpy(raw + 32, &running, 4);
    max = 0;
    memcpy(raw + 8, &max, 8);
    job_nvml_decode(raw, UB, 77, &r);
    assert_int_equal(r.time_ms, 0);
    assert_int_equal(r.max_mib, GW_UNKNOWN);
    max = ~0ULL; /* NVML_VALUE_NOT_AVAILABLE */
    memcpy(raw + 8, &max, 8);
    job_nvml_decode(raw, UB, 77, &r);
    assert_int_equal(r.max_mib, GW_UNKNOWN);
}

static void test_nvml_parse(void **state)
{
    static const char dump[] = "gpu 0 1 1 4000 " UA "\n"
                               "gpu 1 0 0 -1 " UB "\n"
                               "rec 100 1200 0 1764898201000000 " UB "\n"
                               "rec 200 -1 300 -1 " UB "\n";
    struct job_gpu_info *g;
    struct job_rec *r;
    size_t ng, nr;
    char why[64] = "";
    assert_int_equal(job_nvml_parse(dump, strlen(dump), &g, &ng, &r, &nr, why, sizeof why), 0);
    assert_int_equal(ng, 2);
    assert_int_equal(g[0].minor, 1);
    assert_int_equal(g[1].acct, 0);
    assert_int_equal(g[1].buffer, -1);
    assert_int_equal(nr, 2);
    assert_true(r[0].start == 1764898201.0);
    assert_int_equal(r[1].max_mib, GW_UNKNOWN);
    assert_true(isnan(r[1].start));
    free(g);
    free(r);
    assert_int_equal(job_nvml_parse("err no library\n", 15, &g, &ng, &r, &nr, why, sizeof why),
                     -EIO);
    assert_string_equal(why, "no library");
    assert_int_equal(job_nvml_parse("gpu x\n", 6, &g, &ng, &r, &nr, why, sizeof why), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bounds_two_processes),
        cmocka_unit_test(test_lower_from_samples),
        cmocka_unit_test(test_one_process_bounds_equal),
        cmocka_unit_test(test_upper_null_without_peak),
        cmocka_unit_test(test_accounting_off),
        cmocka_unit_test(test_reused_pid_snapshot),
        cmocka_unit_test(test_reused_pid_start_times),
        cmocka_unit_test(test_window_snapshot),
        cmocka_unit_test(test_overwritten_buffer),
        cmocka_unit_test(test_slurm_mapping_and_unsampled),
        cmocka_unit_test(test_unsampled_uncounted_and_unmapped),
        cmocka_unit_test(test_samples_missing),
        cmocka_unit_test(test_no_who),
        cmocka_unit_test(test_job_id_matches),
        cmocka_unit_test(test_parse_smi_q),
        cmocka_unit_test(test_parse_gpu_list),
        cmocka_unit_test(test_snapshot_round_trip),
        cmocka_unit_test(test_json_fields),
        cmocka_unit_test(test_guessed_start),
        cmocka_unit_test(test_nvml_decode),
        cmocka_unit_test(test_nvml_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
