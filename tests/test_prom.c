/* Unit tests of the Prometheus exposition (prom.c): the text of hand-built
 * samples against the files of tests/fixtures/prom, escaping, and the
 * atomic publication. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gpu_watch/buf.h"
#include "gpu_watch/procfs.h"
#include "gpu_watch/prom.h"

static int setup(void **state)
{
    struct gw_buf *b = calloc(1, sizeof *b);
    *state = b;
    return b ? 0 : -1;
}

static int teardown(void **state)
{
    buf_free(*state);
    free(*state);
    return 0;
}

/* The text of s must be the fixture file name, byte for byte. */
static void expect_file(struct gw_buf *b, const struct prom_sample *s, const char *name)
{
    buf_clear(b);
    assert_int_equal(prom_format(s, b), 0);
    struct gw_buf want = {0};
    assert_int_equal(procfs_read_file("tests/fixtures/prom", name, &want, 1u << 20), 0);
    if (b->len != want.len || memcmp(b->p, want.p, b->len) != 0)
        fail_msg("%s differs; got:\n%s", name, b->p ? b->p : "");
    buf_free(&want);
}

#define UUID0 "GPU-1a8e51c5-1f64-9d83-5d60-65f0c235c074"
#define UUID1 "GPU-2b9f62d6-2075-ae94-6e71-76f1d346d185"

/* Two GPUs busy, one idle; a process on two GPUs; a value not reported;
 * a command line with quotes, a backslash, a newline and a bad byte. */
static const struct prom_proc busy[] = {
    {.gpu = 0,
     .gpu_uuid = UUID0,
     .pid = 442,
     .mem_mib = 1642,
     .sm_pct = 39,
     .mem_pct = 2,
     .peak_mib = 2048,
     .cpu_pct = 99.5,
     .rss_mib = 3072,
     .cmd = "python3 train.py --lr 0.1",
     .user = "ana",
     .job_id = "1392969",
     .container = ""},
    {.gpu = 0,
     .gpu_uuid = UUID0,
     .pid = 443,
     .mem_mib = 3590,
     .sm_pct = -1,
     .mem_pct = -1,
     .peak_mib = -1,
     .cpu_pct = -1,
     .rss_mib = -1,
     .cmd = "sh -c \"echo \\\\ done\"\nnext \xff",
     .user = "4242",
     .job_id = "",
     .container = "pod:6b7e2f0a-1c2d-4e5f-8a9b-0c1d2e3f4a5b"},
    {.gpu = 1,
     .gpu_uuid = UUID1,
     .pid = 442,
     .mem_mib = 1000,
     .sm_pct = 100,
     .mem_pct = 50,
     .peak_mib = 1000,
     .cpu_pct = 99.5,
     .rss_mib = 3072,
     .cmd = "python3 train.py --lr 0.1",
     .user = "ana",
     .job_id = "1392969",
     .container = ""},
};

static const struct prom_query queries[] = {
    {.name = "smi:apps", .ok = true, .failures = 0},
    {.name = "smi:pmon", .ok = false, .failures = 3},
};

static void test_busy(void **state)
{
    struct prom_sample s = {.procs = busy,
                            .n = 3,
                            .ngpus = 3,
                            .q = queries,
                            .nq = 2,
                            .time = 1764751500.25,
                            .duration = 0.0415};
    expect_file(*state, &s, "busy.prom");
    s.host = s.peaks = s.who = true;
    expect_file(*state, &s, "busy-all.prom");
}

static void test_idle(void **state)
{
    struct prom_sample s = {.procs = NULL,
                            .n = 0,
                            .ngpus = 2,
                            .q = queries,
                            .nq = 1,
                            .time = 1764751500.0,
                            .duration = -1,
                            .who = true};
    expect_file(*state, &s, "idle.prom");
}

/* The unattributed memory per GPU: unknown (< 0) and unmapped GPUs give no
 * series, 0 is written; none known: no family at all. */
static void test_unattributed(void **state)
{
    (void)state;
    static const struct prom_gpu_mem gm[] = {{0, 4500}, {1, -1}, {2, 0}, {-1, 7}};
    struct prom_sample s = {.ngpus = 3, .time = 1.0, .duration = -1, .gmem = gm, .ngmem = 4};
    struct gw_buf b = {0};
    assert_int_equal(prom_format(&s, &b), 0);
    assert_non_null(strstr(b.p, "# TYPE gpu_watch_gpu_memory_unattributed_bytes gauge\n"
                                "gpu_watch_gpu_memory_unattributed_bytes{gpu=\"0\"} 4718592000\n"
                                "gpu_watch_gpu_memory_unattributed_bytes{gpu=\"2\"} 0\n#"));
    assert_null(strstr(b.p, "{gpu=\"1\"} -"));
    buf_clear(&b);
    s.gmem = gm + 1; /* GPU 1 unknown only */
    s.ngmem = 1;
    assert_int_equal(prom_format(&s, &b), 0);
    assert_null(strstr(b.p, "unattributed"));
    buf_free(&b);
}

static void test_escape(void **state)
{
    struct gw_buf *b = *state;
    buf_clear(b);
    assert_int_equal(prom_escape(b, "a\\b\"c\nd", 0), 0);
    assert_string_equal(b->p, "a\\\\b\\\"c\\nd");
    /* The cut never splits a character: "é" is 2 bytes. */
    buf_clear(b);
    assert_int_equal(prom_escape(b, "ab\xc3\xa9z", 3), 0);
    assert_string_equal(b->p, "ab");
    buf_clear(b);
    assert_int_equal(prom_escape(b, "ab\xc3\xa9z", 4), 0);
    assert_string_equal(b->p, "ab\xc3\xa9");
    /* Invalid UTF-8: a lone continuation byte, a cut sequence, an overlong
     * slash, a surrogate. */
    buf_clear(b);
    assert_int_equal(prom_escape(b, "\x80x\xe2\x82y\xc0\xaf\xed\xa0\x80", 0), 0);
    assert_string_equal(b->p, "?x??y?????");
}

static void test_publish(void **state)
{
    (void)state;
    char dir[] = "/tmp/gw-prom-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/gpu_watch.prom", dir);
    assert_int_equal(prom_publish(path, "a 1\n", 4), 0);
    assert_int_equal(prom_publish(path, "b 2\n", 4), 0);
    struct gw_buf got = {0};
    assert_int_equal(procfs_read_file(dir, "gpu_watch.prom", &got, 100), 0);
    assert_string_equal(got.p, "b 2\n");
    buf_free(&got);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    /* No temporary file left behind. */
    DIR *d = opendir(dir);
    assert_non_null(d);
    int files = 0;
    for (struct dirent *e; (e = readdir(d));)
        files += e->d_name[0] != '.';
    closedir(d);
    assert_int_equal(files, 1);
    assert_int_equal(prom_remove(path), 0);
    assert_int_equal(prom_remove(path), 0); /* already gone */
    /* A directory that does not exist: an error, nothing written. */
    char bad[160];
    snprintf(bad, sizeof bad, "%s/none/x.prom", dir);
    assert_int_equal(prom_publish(bad, "a 1\n", 4), -ENOENT);
    assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_busy),    cmocka_unit_test(test_idle),
        cmocka_unit_test(test_escape),  cmocka_unit_test(test_unattributed),
        cmocka_unit_test(test_publish),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
