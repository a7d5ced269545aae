/* Unit tests of truepeak.c (--peaks -- CMD): each process of the command
 * takes its own accounting record, told apart by its start time when its
 * PID was reused during the run. The /proc tree is a temporary fixture
 * written by the test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gpu_watch/truepeak.h"

struct env {
    char root[32]; /* the fixture /proc */
};

/* Write text to root/rel. */
static void put_file(const char *root, const char *rel, const char *text)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_true(fputs(text, f) >= 0);
    assert_int_equal(fclose(f), 0);
}

/* /proc/<pid>/stat of a running process started start ticks after boot. */
static void put_stat(const char *root, long pid, unsigned long long start)
{
    char rel[32], text[256];
    snprintf(rel, sizeof rel, "%ld/stat", pid);
    snprintf(text, sizeof text,
             "%ld (python3) R 1 %ld %ld 0 -1 4194560 0 0 0 0 10 5 0 0 20 0 1 0 %llu 1000 100\n",
             pid, pid, pid, start);
    put_file(root, rel, text);
}

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof *e);
    if (!e)
        return -1;
    snprintf(e->root, sizeof e->root, "/tmp/gw-tp-XXXXXX");
    char dir[64];
    if (!mkdtemp(e->root) || snprintf(dir, sizeof dir, "%s/700", e->root) < 0 ||
        mkdir(dir, 0700) < 0) {
        free(e);
        return -1;
    }
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", e->root);
    int rc = system(cmd);
    free(e);
    return rc == 0 ? 0 : -1;
}

static void test_reused_pid_takes_its_own_record(void **state)
{
    /* PID 700 runs train.py (started 1 s after boot, a sample saw 500 MiB),
     * ends, and the PID is reused by serve.py (started 50 s after boot,
     * sampled at 300 MiB, still running at the end). The driver keeps the
     * first one's finished record (peak 2048 MiB) and the second one's
     * running record (4096 MiB): each process takes its own. */
    const struct env *e = *state;
    long hz = sysconf(_SC_CLK_TCK);
    assert_true(hz > 0);
    put_file(e->root, "uptime", "60.00 100.00\n");
    struct truepeak t;
    truepeak_init(&t, e->root);

    struct sample_row rows[1] = {{.gpu = 0,
                                  .pid = 700,
                                  .cmd = "python3 train.py",
                                  .uuid = "GPU-a",
                                  .mem_mib = 500,
                                  .start = (uint64_t)hz}};
    struct sample smp = {.rows = rows, .n = 1};
    put_stat(e->root, 700, (unsigned long long)hz);
    assert_int_equal(truepeak_add_sample(&t, &smp), 0);
    rows[0].cmd = "python3 serve.py";
    rows[0].mem_mib = 300;
    rows[0].start = (uint64_t)(50 * hz);
    put_stat(e->root, 700, (unsigned long long)(50 * hz));
    assert_int_equal(truepeak_add_sample(&t, &smp), 0);
    assert_int_equal(t.n, 2);

    struct gpu_entry gpus[] = {{.index = 0, .uuid = "GPU-a", .acct = 1}};
    struct acct_rec recs[] = {
        {.uuid = "GPU-a", .pid = 700, .max_mib = 2048, .time_ms = 5000}, /* train.py, finished */
        {.uuid = "GPU-a", .pid = 700, .max_mib = 4096, .time_ms = 0},    /* serve.py, running */
    };
    struct smi_acct after = {.gpus = {.v = gpus, .n = 1, .cap = 1},
                             .recs = {.v = recs, .n = 2, .cap = 2}};
    truepeak_finish(&t, &after);
    const struct truepeak_proc *train = NULL, *serve = NULL;
    for (size_t i = 0; i < t.n; i++) {
        if (strcmp(t.v[i].cmd, "python3 train.py") == 0)
            train = &t.v[i];
        else if (strcmp(t.v[i].cmd, "python3 serve.py") == 0)
            serve = &t.v[i];
    }
    assert_non_null(train);
    assert_non_null(serve);
    assert_int_equal(train->sampled_mib, 500);
    assert_int_equal(serve->sampled_mib, 300);
    assert_int_equal(train->driver_mib, 2048);
    assert_int_equal(serve->driver_mib, 4096);
    truepeak_free(&t);
}

static void test_same_process_one_record(void **state)
{
    /* The same process in two samples (same start time): one entry with the
     * higher sample, and its running record. */
    const struct env *e = *state;
    put_file(e->root, "uptime", "60.00 100.00\n");
    put_stat(e->root, 700, 300);
    struct truepeak t;
    truepeak_init(&t, e->root);
    struct sample_row rows[1] = {{.gpu = 0,
                                  .pid = 700,
                                  .cmd = "python3 a.py",
                                  .uuid = "GPU-a",
                                  .mem_mib = 100,
                                  .start = 300}};
    struct sample smp = {.rows = rows, .n = 1};
    assert_int_equal(truepeak_add_sample(&t, &smp), 0);
    rows[0].mem_mib = 700;
    assert_int_equal(truepeak_add_sample(&t, &smp), 0);
    assert_int_equal(t.n, 1);
    assert_int_equal(t.v[0].sampled_mib, 700);
    struct gpu_entry gpus[] = {{.index = 0, .uuid = "GPU-a", .acct = 1}};
    struct acct_rec recs[] = {{.uuid = "GPU-a", .pid = 700, .max_mib = 900, .time_ms = 0}};
    struct smi_acct after = {.gpus = {.v = gpus, .n = 1, .cap = 1},
                             .recs = {.v = recs, .n = 1, .cap = 1}};
    truepeak_finish(&t, &after);
    assert_int_equal(t.v[0].driver_mib, 900);
    truepeak_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reused_pid_takes_its_own_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_same_process_one_record, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
