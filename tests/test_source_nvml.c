/* Unit tests of the NVML source through its table (source_nvml.open, poll,
 * gpu_count, close) against the fake library (tests/fake_nvml.c, built by
 * make test) answering scenarios of tests/fixtures/nvml with faults added.
 * The loader reads LD_LIBRARY_PATH once at start, so main() sets it and
 * executes this test again. The stuck-call test runs last: it leaves the
 * fake loaded with a thread inside it, as the source must (and main leaves
 * with _exit, as gpu_watch does then). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gpu_watch/monotime.h"
#include "gpu_watch/source.h"

/* Free a poll's records and empty it, so that it can be polled into again. */
static void poll_free(struct source_poll *p)
{
    free(p->v);
    memset(p, 0, sizeof *p);
}

static char scen[64] = "/tmp/gw-nvml-scen-XXXXXX";

/* A scenario: the fixture's lines, then extra (faults, processes). */
static void scenario(const char *fixture, const char *extra)
{
    char path[256], line[512];
    snprintf(path, sizeof path, "tests/fixtures/nvml/%s.txt", fixture);
    FILE *in = fopen(path, "r"), *out = fopen(scen, "w");
    assert_non_null(in);
    assert_non_null(out);
    while (fgets(line, sizeof line, in))
        fputs(line, out);
    fputs(extra, out);
    fclose(in);
    assert_int_equal(fclose(out), 0);
    setenv("FAKE_NVML_SCENARIO", scen, 1);
}

static void *open_cfg(double timeout, bool peaks)
{
    struct source_config cfg = {.smi = "nvidia-smi", .timeout = timeout, .peaks = peaks};
    char why[256] = "";
    void *st = NULL;
    assert_int_equal(source_nvml.open(&cfg, &st, why, sizeof why), 0);
    assert_non_null(st);
    return st;
}

static void *open_ok(double timeout)
{
    return open_cfg(timeout, false);
}

static const struct source_proc *find(const struct source_poll *p, int gpu, long pid)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->v[i].gpu == gpu && p->v[i].pid == pid)
            return &p->v[i];
    return NULL;
}

static void test_busy_records(void **state)
{
    scenario("busy", "name 444 /opt/conda/bin/python3.11\n");
    void *st = open_ok(5);
    assert_int_equal(source_nvml.gpu_count(st), 1);
    struct source_poll p = {0};
    for (int round = 0; round < 2; round++) { /* the second asks since last seen */
        assert_int_equal(source_nvml.poll(st, &p, NULL), 0);
        assert_true(p.answered);
        assert_int_equal(p.nq, 2);
        assert_string_equal(p.q[0].key, "nvml:procs");
        assert_string_equal(p.q[1].key, "nvml:util");
        assert_false(p.q[0].failed);
        assert_false(p.q[1].failed);
        assert_int_equal(p.n, 3);
        const struct source_proc *r = find(&p, 0, 442);
        assert_non_null(r);
        assert_int_equal(r->mem_mib, 1642);
        assert_int_equal(r->sm_pct, 39);
        assert_int_equal(r->mem_pct, 2);
        assert_string_equal(r->uuid, "GPU-1a8e51c5-1f64-9d83-5d60-65f0c235c074");
        r = find(&p, 0, 443);
        assert_non_null(r);
        assert_int_equal(r->mem_mib, 3590);
        assert_int_equal(r->sm_pct, GW_UNKNOWN); /* idle: no sample, never 0 */
        assert_int_equal(r->peak_mib, GW_UNKNOWN);
        assert_string_equal(r->name, "python3"); /* the base name, as pmon shows it */
        assert_string_equal(find(&p, 0, 444)->name, "python3.11");
    }
    poll_free(&p);
    source_nvml.close(st);
}

static void test_eight_gpus_indices_from_nvml(void **state)
{
    scenario("gpu8", "");
    void *st = open_ok(5);
    assert_int_equal(source_nvml.gpu_count(st), 8);
    struct source_poll p = {0};
    assert_int_equal(source_nvml.poll(st, &p, NULL), 0);
    assert_int_equal(p.n, 10);
    for (int g = 0; g < 8; g++) {
        const struct source_proc *r = find(&p, g, 5000 + g);
        assert_non_null(r);
        assert_int_equal(r->mem_mib, 1000 + g);
        assert_int_equal(r->sm_pct, 10 + g);
        assert_int_equal(r->uuid[11], '0' + g); /* GPU-0000000<g>-...: the index's own */
    }
    assert_int_equal(find(&p, 7, 9000)->sm_pct, 88);
    poll_free(&p);
    source_nvml.close(st);
}

static void test_mig_memory_no_utilization(void **state)
{
    scenario("mig", "proc 0 7001 100 - - 2 0\n"); /* 7001 in a second instance too */
    void *st = open_ok(5);
    struct source_poll p = {0};
    assert_int_equal(source_nvml.poll(st, &p, NULL), 0);
    assert_int_equal(p.n, 2);
    assert_int_equal(find(&p, 0, 7001)->mem_mib, 4864 + 100); /* one row per GPU */
    assert_int_equal(find(&p, 0, 7001)->sm_pct, GW_UNKNOWN);
    assert_false(p.q[1].failed);
    poll_free(&p);
    source_nvml.close(st);
}

static void *open_dense(int hz)
{
    struct source_config cfg = {.smi = "nvidia-smi", .timeout = 5, .peaks = true, .peak_rate = hz};
    char why[256] = "";
    void *st = NULL;
    assert_int_equal(source_nvml.open(&cfg, &st, why, sizeof why), 0);
    return st;
}

static void sleep_ms(long ms)
{
    struct timespec d = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&d, &d) < 0)
        ;
}

/* --peak-rate: between two polls the worker reads the lists on its own; a
 * 20 ms spike every 100 ms is caught at 200 Hz, not without. */
static void test_dense_peaks_between_polls(void **state)
{
    (void)state;
    scenario("spike", "spike 442 4096 20 100\n"); /* the fixture's 8192 for 50 of 1000 ms too */
    for (int hz = 0; hz <= 200; hz += 200) {
        void *st = open_dense(hz);
        struct source_poll p = {0};
        assert_int_equal(source_nvml.poll(st, &p, NULL), 0);
        sleep_ms(300);
        assert_int_equal(source_nvml.poll(st, &p, NULL), 0);
        const struct source_proc *r = find(&p, 0, 442);
        assert_non_null(r);
        if (hz == 0) {
            assert_int_equal(r->peak_mib, GW_UNKNOWN);
            assert_int_equal(r->peak_hz, 0);
        } else {
            assert_true(r->peak_mib >= 1000 + 4096);
            assert_int_equal(r->peak_hz, 200);
        }
        assert_string_equal(r->mig, "");
        poll_free(&p);
        source_nvml.close(st);
    }
}

/* MIG with instance handles: each instance's list, its GI/CI on the row. */
static void test_mig_instances(void **state)
{
    (void)state;
    scenario("mig_dense", "");
    void *st = open_dense(100);
    struct source_poll p = {0};
    assert_int_equal(source_nvml.poll(st, &p, NULL), 0);
    assert_int_equal(p.n, 2);
    assert_string_equal(find(&p, 0, 7001)->mig, "1/0");
    assert_string_equal(find(&p, 0, 7002)->mig, "2/0");
    assert_int_equal(find(&p, 0, 7001)->mem_mib, 4864);
    assert_int_equal(find(&p, 0, 7001)->sm_pct, GW_UNKNOWN);
    assert_int_equal(find(&p, 0, 7001)->peak_mib, 4864);
    poll_free(&p);
    source_nvml.close(st);
}

static void test_error_fails_the_query(void **state)
{
    scenario("busy", "fault procs_error 1 1\n");
    void *st = open_ok(5);
    struct source_poll p = {0};
    assert_int_equal(source_nvml.poll(st, &p, NULL), 0);
    assert_true(p.q[0].failed);
    assert_string_equal(p.q[0].why,
                        "GPU 0: Unknown Error (nvmlDeviceGetComputeRunningProcesses_v3)");
    assert_false(p.answered);
    assert_int_equal(p.n, 0);
    assert_int_equal(source_nvml.poll(st, &p, NULL), 0); /* recovered */
    assert_false(p.q[0].failed);
    assert_int_equal(p.n, 3);
    poll_free(&p);
    source_nvml.close(st);
}

static void test_bad_records_give_up(void **state)
{
    static const struct {
        const char *extra, *expect;
    } cases[] = {
        /* 443, 444, 442 at the v1 stride read at 24: the second PID is the
         * low half of 444's 1764 MiB (+ 12345 bytes, the fake's). */
        {"fault v1_stride\n", "driver 580.159.04: nvmlDeviceGetComputeRunningProcesses_v3 "
                              "returned an impossible record on GPU 0 (PID 1849700409"},
        {"proc 0 0 10 - -\n", "(PID 0 (pid_max"},
        {"proc 0 4294967295 10 - -\n", "(PID 4294967295 (pid_max"},
        {"proc 0 444 10 - -\n", "(PID 444 listed twice)"},
        {"proc 0 445 90000 - -\n", "(PID 445 uses"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        scenario("busy", cases[i].extra);
        void *st = open_ok(5);
        struct source_poll p = {0};
        assert_int_equal(source_nvml.poll(st, &p, NULL), SOURCE_GIVE_UP);
        if (!strstr(p.gave_up, cases[i].expect))
            fail_msg("gave_up '%s' lacks '%s'", p.gave_up, cases[i].expect);
        poll_free(&p);
        source_nvml.close(st);
    }
}

static void test_version_mismatch(void **state)
{
    scenario("busy", "fault init_mismatch\n");
    struct source_config cfg = {.smi = "nvidia-smi", .timeout = 5};
    char why[256] = "";
    void *st = NULL;
    assert_int_equal(source_nvml.open(&cfg, &st, why, sizeof why), -EIO);
    assert_null(st);
    assert_string_equal(why, "NVML: nvmlInit failed: Driver/library version mismatch");
}

static const struct source_query *query(const struct source_poll *p, const char *key)
{
    for (size_t i = 0; i < p->nq; i++)
        if (!strcmp(p->q[i].key, key))
            return &p->q[i];
    return NULL;
}

/* The H200 capture's peaks (fixtures/nvml/peaks.txt): each running process
 * its own record; 460's 0 bytes unknown; 462's earlier finished record is
 * not asked for (NVML answers the running one). */
static void test_peaks_running_records(void **state)
{
    scenario("peaks", "");
    void *st = open_cfg(5, true);
    struct source_poll p = {0};
    for (int round = 0; round < 2; round++) {
        assert_int_equal(source_nvml.poll(st, &p, NULL), 0);
        assert_int_equal(p.n, 4);
        assert_int_equal(find(&p, 0, 459)->peak_mib, 1642);
        assert_int_equal(find(&p, 0, 460)->peak_mib, GW_UNKNOWN);
        assert_int_equal(find(&p, 0, 461)->peak_mib, 1766);
        assert_int_equal(find(&p, 0, 462)->peak_mib, 9826);
        assert_int_equal(find(&p, 0, 462)->mem_mib, 1634);
        const struct source_query *q = query(&p, "nvml:acct");
        assert_non_null(q);
        assert_false(q->failed);
    }
    poll_free(&p);
    source_nvml.close(st);

    /* Without --peaks: no query, no peaks. */
    st = open_ok(5);
    assert_int_equal(source_nvml.poll(st, &p, NULL), 0);
    assert_null(query(&p, "nvml:acct"));
    assert_int_equal(find(&p, 0, 462)->peak_mib, GW_UNKNOWN);
    poll_free(&p);
    source_nvml.close(st);
}

/* Rows that must stay empty, none of them a failed query: a finished
 * record (a reused PID), N/A, no record (NOT_FOUND); then accounting off,
 * not supported, and MIG with stale records. */
static void test_peaks_unknown_rows_and_modes(void **state)
{
    static const struct {
        const char *fixture, *extra;
        long pid;
        int64_t peak;
    } cases[] = {
        {"peaks", "stats 0 461 5000 0\n", 461, GW_UNKNOWN},
        {"peaks", "stats 0 461 na 1\n", 461, GW_UNKNOWN},
        {"peaks", "proc 0 463 100 - -\n", 463, GW_UNKNOWN},
        {"peaks", "proc 0 463 100 - -\n", 462, 9826},
        {"peaks", "acct 0 off\n", 462, GW_UNKNOWN},
        {"peaks", "acct 0 unsupported\n", 462, GW_UNKNOWN},
        {"mig", "acct 0 on\nstats 0 7001 70000 1\n", 7001, GW_UNKNOWN},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        scenario(cases[i].fixture, cases[i].extra);
        void *st = open_cfg(5, true);
        struct source_poll p = {0};
        assert_int_equal(source_nvml.poll(st, &p, NULL), 0);
        const struct source_proc *r = find(&p, 0, cases[i].pid);
        assert_non_null(r);
        if (r->peak_mib != cases[i].peak)
            fail_msg("case %zu: peak %lld", i, (long long)r->peak_mib);
        assert_false(query(&p, "nvml:acct")->failed);
        assert_false(query(&p, "nvml:procs")->failed);
        poll_free(&p);
        source_nvml.close(st);
    }
}

/* A failing mode query fails nvml:acct (peaks empty, the rest intact) and
 * is asked again next poll, not a minute later. */
static void test_peaks_mode_error_fails_the_query(void **state)
{
    scenario("peaks", "fault acct_mode_error 1 2\n"); /* init's and the first poll's */
    void *st = open_cfg(5, true);
    struct source_poll p = {0};
    assert_int_equal(source_nvml.poll(st, &p, NULL), 0);
    const struct source_query *q = query(&p, "nvml:acct");
    assert_true(q->failed);
    assert_string_equal(q->why, "GPU 0: Unknown Error (nvmlDeviceGetAccountingMode)");
    assert_false(query(&p, "nvml:procs")->failed);
    assert_int_equal(find(&p, 0, 462)->mem_mib, 1634);
    assert_int_equal(find(&p, 0, 462)->peak_mib, GW_UNKNOWN);
    assert_int_equal(source_nvml.poll(st, &p, NULL), 0); /* asked again: recovered */
    assert_false(query(&p, "nvml:acct")->failed);
    assert_int_equal(find(&p, 0, 462)->peak_mib, 9826);
    poll_free(&p);
    source_nvml.close(st);
}

static void test_cancelled_job_collected_first(void **state)
{
    /* Issue 18: poll 2 is cancelled (a signal) while its process-list call
     * takes 300 ms more, having read the list of three; then process 445
     * starts. Poll 3 must collect job 2 and run a job of its own, which
     * lists 445: handing job 3 to a busy worker would lose it, and poll 3
     * would take job 2's stale answer. */
    scenario("busy", "fault slow 2 300\n");
    setenv("FAKE_NVML_RELOAD", "1", 1);
    void *st = open_ok(5);
    struct source_poll p = {0};
    assert_int_equal(source_nvml.poll(st, &p, NULL), 0);
    assert_int_equal(p.n, 3);
    volatile sig_atomic_t cancel = 1;
    assert_int_equal(source_nvml.poll(st, &p, &cancel), -ECANCELED);
    usleep(100 * 1000); /* the worker is inside the slow call */
    scenario("busy", "proc 0 445 100 - -\n");
    assert_int_equal(source_nvml.poll(st, &p, NULL), 0);
    assert_int_equal(p.n, 4);
    assert_non_null(find(&p, 0, 445));
    unsetenv("FAKE_NVML_RELOAD");
    poll_free(&p);
    source_nvml.close(st);
}

/* Interposed on libc's: answers fail_setclock while it is non-zero. */
static int fail_setclock;

int pthread_condattr_setclock(pthread_condattr_t *a, clockid_t clock)
{
    if (fail_setclock)
        return fail_setclock;
    int (*real)(pthread_condattr_t *, clockid_t);
    *(void **)&real = dlsym(RTLD_NEXT, "pthread_condattr_setclock");
    return real ? real(a, clock) : ENOSYS;
}

static void test_sync_init_failure_refuses_to_open(void **state)
{
    /* Issue 18 item 10: without a monotonic clock for the wait, the
     * deadline would be read on the wrong clock: the source does not open,
     * and says why. */
    scenario("busy", "");
    struct source_config cfg = {.smi = "nvidia-smi", .timeout = 5};
    char why[256] = "";
    void *st = NULL;
    fail_setclock = EINVAL;
    int rc = source_nvml.open(&cfg, &st, why, sizeof why);
    fail_setclock = 0;
    assert_int_equal(rc, -EINVAL);
    assert_null(st);
    assert_non_null(strstr(why, "cannot start the NVML thread"));
    st = open_ok(5); /* and then it opens */
    source_nvml.close(st);
}

/* Last: the stuck thread stays in the fake for the rest of the process. */
static void test_stuck_call_gives_up_in_time(void **state)
{
    /* The sample's deadline (issue 18 item 6: --timeout bounds the
     * sample) is the bound, not a --timeout of its own per wait: here the
     * sampler's 0.3 s, with a source opened for 5 s. */
    scenario("busy", "fault hang 2\n");
    void *st = open_ok(5);
    struct source_poll p = {0};
    assert_int_equal(source_nvml.poll(st, &p, NULL), 0);
    double t0 = monotime_now();
    p.deadline = t0 + 0.3;
    assert_int_equal(source_nvml.poll(st, &p, NULL), SOURCE_GIVE_UP);
    double took = monotime_now() - t0;
    assert_true(took >= 0.29 && took < 2);
    assert_string_equal(p.gave_up, "driver 580.159.04: nvmlDeviceGetComputeRunningProcesses_v3 "
                                   "did not return within 5 s");
    assert_int_equal(p.n, 0);
    t0 = monotime_now();
    source_nvml.close(st); /* must not wait for the stuck thread */
    assert_true(monotime_now() - t0 < 0.1);
    poll_free(&p);
}

int main(int argc, char **argv)
{
    (void)argc;
    if (!getenv("GW_NVML_TEST_CHILD")) {
        const char *dir = getenv("GW_FAKE_DIR"); /* .../tests/fake-nvidia-smi */
        char lib[512];
        snprintf(lib, sizeof lib, "%s/../fake-nvml", dir ? dir : "build/tests/fake-nvidia-smi");
        setenv("LD_LIBRARY_PATH", lib, 1);
        setenv("GW_NVML_TEST_CHILD", "1", 1);
        execv("/proc/self/exe", argv);
        perror("test_source_nvml: execv");
        return 1;
    }
    int fd = mkstemp(scen);
    if (fd < 0)
        return 1;
    close(fd);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_busy_records),
        cmocka_unit_test(test_eight_gpus_indices_from_nvml),
        cmocka_unit_test(test_mig_memory_no_utilization),
        cmocka_unit_test(test_dense_peaks_between_polls),
        cmocka_unit_test(test_mig_instances),
        cmocka_unit_test(test_error_fails_the_query),
        cmocka_unit_test(test_bad_records_give_up),
        cmocka_unit_test(test_version_mismatch),
        cmocka_unit_test(test_peaks_running_records),
        cmocka_unit_test(test_peaks_unknown_rows_and_modes),
        cmocka_unit_test(test_peaks_mode_error_fails_the_query),
        cmocka_unit_test(test_cancelled_job_collected_first),
        cmocka_unit_test(test_sync_init_failure_refuses_to_open),
        cmocka_unit_test(test_stuck_call_gives_up_in_time),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    unlink(scen);
    /* The stuck thread holds the fake's lock, which its destructor wants:
     * leave as gpu_watch does, without running exit()'s destructors. */
    fflush(NULL);
    _exit(rc);
}
