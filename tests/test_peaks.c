/* Unit tests of the record matching: a process gets its own accounting
 * record or none, on the H200 capture and on the cases the buffer holds
 * (reused PIDs, finished records, 0 MiB, other GPUs). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_watch/parse.h"
#include "gpu_watch/peaks.h"

#define H200 "GPU-772e9f57-c2ec-c54f-ea81-d2df40ae767a"

static char *load(const char *rel, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "tests/fixtures/%s", rel);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

static struct peak_query running(const char *uuid, long pid)
{
    return (struct peak_query){
        .uuid = uuid, .pid = pid, .alive = true, .start_ms = -1, .end_ms = -1};
}

static struct peak_query ended(const char *uuid, long pid, int64_t start_ms, int64_t end_ms)
{
    return (struct peak_query){.uuid = uuid, .pid = pid, .start_ms = start_ms, .end_ms = end_ms};
}

/* After exit (the capture 2 s after the kill): processes that lived 152 s
 * get their records; the spike's 9,826 MiB that no sample saw. */
static void test_capture_after_exit(void **state)
{
    size_t len;
    char *b = load("h200-580/accounting/accounted_after.txt", &len);
    struct acct_list l = {0};
    assert_int_equal(smi_parse_accounted(b, len, &l), 0);
    const int64_t t0 = 1796283830000; /* start; the kill 152 s later */
    struct peak_query q = ended(H200, 462, t0, t0 + 152000);
    assert_int_equal(peaks_find(l.v, l.n, &q), 9826);
    q.pid = 461;
    assert_int_equal(peaks_find(l.v, l.n, &q), 21222);
    /* A process that lived 10 s cannot own a record of 151 s (an earlier
     * process with the same PID). */
    q = ended(H200, 462, t0, t0 + 10000);
    assert_int_equal(peaks_match(l.v, l.n, &q), -1);
    /* Start unknown: no way to tell, nothing. */
    q = ended(H200, 462, -1, t0);
    assert_int_equal(peaks_find(l.v, l.n, &q), GW_UNKNOWN);
    /* While running, finished records are never its own. */
    q = running(H200, 462);
    assert_int_equal(peaks_match(l.v, l.n, &q), -1);
    /* Another GPU's records are not its own. */
    q = ended("GPU-other", 462, t0, t0 + 152000);
    assert_int_equal(peaks_match(l.v, l.n, &q), -1);
    free(b);
    free(l.v);
}

static const struct acct_rec reused[] = {
    {"GPU-a", 700, 20000, 3600000}, /* an earlier process 700, finished after an hour */
    {"GPU-a", 700, 2048, 0},        /* the running 700 */
    {"GPU-b", 700, 512, 0},         /* 700 on another GPU */
    {"GPU-a", 701, 0, 4000},        /* finished, peak 0: unknown */
    {"GPU-a", 702, 900, 5000},      /* a reused PID, both finished */
    {"GPU-a", 702, 800, 6000},
};
#define NREUSED (sizeof reused / sizeof reused[0])

static void test_reused_pid_prefers_running(void **state)
{
    struct peak_query q = running("GPU-a", 700);
    assert_int_equal(peaks_match(reused, NREUSED, &q), 1);
    assert_int_equal(peaks_find(reused, NREUSED, &q), 2048);
    q.uuid = "GPU-b";
    assert_int_equal(peaks_find(reused, NREUSED, &q), 512);
    /* Its earlier namesake's hour-long record never fits a 10 s life. */
    q = ended("GPU-a", 700, 100000, 110000);
    assert_int_equal(peaks_find(reused, NREUSED, &q), GW_UNKNOWN);
}

static void test_zero_is_unknown(void **state)
{
    struct peak_query q = ended("GPU-a", 701, 100000, 105000);
    assert_int_equal(peaks_match(reused, NREUSED, &q), 3);
    assert_int_equal(peaks_find(reused, NREUSED, &q), GW_UNKNOWN);
}

static void test_two_finished_fit(void **state)
{
    /* Both of 702's records fit a 7 s life: we cannot tell, nothing. */
    struct peak_query q = ended("GPU-a", 702, 100000, 107000);
    assert_int_equal(peaks_match(reused, NREUSED, &q), -1);
    /* One was already finished before it started: the other is its own. */
    q.before = &reused[4];
    q.nbefore = 1;
    assert_int_equal(peaks_find(reused, NREUSED, &q), 800);
    /* A 5.5 s life fits only the 5 s record. */
    q = ended("GPU-a", 702, 100000, 105500 - PEAKS_SLACK_MS);
    assert_int_equal(peaks_find(reused, NREUSED, &q), 900);
}

static void test_two_running_records(void **state)
{
    /* Stale "running" records (as MIG leaves them) twice for one PID. */
    const struct acct_rec v[] = {{"GPU-a", 5, 100, 0}, {"GPU-a", 5, 200, 0}};
    struct peak_query q = running("GPU-a", 5);
    assert_int_equal(peaks_match(v, 2, &q), -1);
    q.uuid = "";
    assert_int_equal(peaks_match(v, 2, &q), -1);
    assert_int_equal(peaks_match(NULL, 0, &q), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_capture_after_exit),
        cmocka_unit_test(test_reused_pid_prefers_running),
        cmocka_unit_test(test_zero_is_unknown),
        cmocka_unit_test(test_two_finished_fit),
        cmocka_unit_test(test_two_running_records),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
