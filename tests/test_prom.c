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

static const int gpus3[] = {0, 1, 2};

static void test_busy(void **state)
{
    struct prom_sample s = {.procs = busy,
                            .n = 3,
                            .listed = true,
                            .gpus = gpus3,
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
                            .listed = true,
                            .gpus = gpus3,
                            .ngpus = 2,
                            .q = queries,
                            .nq = 1,
                            .time = 1764751500.0,
                            .duration = -1,
                            .who = true};
    expect_file(*state, &s, "idle.prom");
}

/* The sample lines of text that start with prefix, counted. */
static int count_lines(const char *text, const char *prefix)
{
    int n = 0;
    size_t pl = strlen(prefix);
    for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        n += strncmp(l, prefix, pl) == 0;
    return n;
}

static const char *format(struct gw_buf *b, const struct prom_sample *s)
{
    buf_clear(b);
    assert_int_equal(prom_format(s, b), 0);
    assert_int_equal(buf_putc(b, '\0'), 0);
    return b->p;
}

/* The process list failed (the source answered nothing): no per-process
 * series and no process count, never "0 processes"; the query series say
 * why. */
static void test_not_listed(void **state)
{
    struct prom_sample s = {.procs = busy,
                            .n = 3,
                            .listed = false,
                            .gpus = gpus3,
                            .ngpus = 2,
                            .q = queries,
                            .nq = 2,
                            .time = 1764751500.0,
                            .duration = -1,
                            .host = true,
                            .peaks = true};
    const char *t = format(*state, &s);
    assert_int_equal(count_lines(t, "gpu_watch_gpu_processes{"), 0);
    assert_int_equal(count_lines(t, "gpu_watch_process_"), 0);
    assert_int_equal(count_lines(t, "# TYPE gpu_watch_gpu_processes gauge"), 1);
    assert_int_equal(count_lines(t, "gpu_watch_query_success{"), 2);
    s.listed = true;
    t = format(*state, &s);
    assert_int_equal(count_lines(t, "gpu_watch_gpu_processes{"), 2);
    /* One GPU could not list its processes: no count for it alone. */
    s.unlisted = UINT64_C(1) << 1;
    t = format(*state, &s);
    assert_int_equal(count_lines(t, "gpu_watch_gpu_processes{gpu=\"0\"} 2"), 1);
    assert_int_equal(count_lines(t, "gpu_watch_gpu_processes{gpu=\"1\"}"), 0);
}

/* A process listed twice on one GPU (same UUID), rows in no order: one
 * series each, whatever the neighbours; the count counts it once. */
static void test_duplicates(void **state)
{
    const struct prom_proc twice[] = {
        {.gpu = 0,
         .gpu_uuid = UUID0,
         .pid = 7,
         .mem_mib = 10,
         .sm_pct = 1,
         .mem_pct = 1,
         .cmd = "a"},
        {.gpu = 0,
         .gpu_uuid = UUID0,
         .pid = 5,
         .mem_mib = 20,
         .sm_pct = 2,
         .mem_pct = 2,
         .cmd = "b"},
        {.gpu = 0, .gpu_uuid = "", .pid = 7, .mem_mib = 30, .sm_pct = 3, .mem_pct = 3, .cmd = "a"},
        {.gpu = 0,
         .gpu_uuid = UUID0,
         .pid = 7,
         .mem_mib = 40,
         .sm_pct = 4,
         .mem_pct = 4,
         .cmd = "a"},
        {.gpu = -1, .gpu_uuid = "MIG-x", .pid = 9, .mem_mib = 50, .sm_pct = 5, .cmd = "c"},
        {.gpu = -1, .gpu_uuid = "MIG-x", .pid = 9, .mem_mib = 60, .sm_pct = 6, .cmd = "c"},
    };
    const int g0[] = {0};
    struct prom_sample s = {.procs = twice,
                            .n = sizeof twice / sizeof twice[0],
                            .listed = true,
                            .gpus = g0,
                            .ngpus = 1,
                            .time = 1764751500.0,
                            .duration = -1};
    const char *t = format(*state, &s);
    const char *key =
        "gpu_watch_process_gpu_memory_bytes{gpu=\"0\",gpu_uuid=\"" UUID0 "\",pid=\"7\"}";
    assert_int_equal(count_lines(t, key), 1);
    /* The first row listed is the one kept: 10 MiB. */
    assert_non_null(strstr(t, "gpu_uuid=\"" UUID0 "\",pid=\"7\"} 10485760\n"));
    assert_int_equal(count_lines(t, "gpu_watch_process_gpu_memory_bytes{gpu_uuid=\"MIG-x\""), 1);
    assert_int_equal(count_lines(t, "gpu_watch_process_sm_utilization_ratio{"), 4);
    assert_int_equal(count_lines(t, "gpu_watch_process_info{pid=\"7\""), 1);
    assert_non_null(strstr(t, "gpu_watch_gpu_processes{gpu=\"0\"} 2\n"));
}

/* The GPUs the source knows, by index: a repeated entry or a gap invents
 * no GPU. */
static void test_gpu_indexes(void **state)
{
    const int rep[] = {0, 0}, gap[] = {2, 0};
    struct prom_sample s = {.listed = true, .gpus = rep, .ngpus = 2, .duration = -1};
    const char *t = format(*state, &s);
    assert_int_equal(count_lines(t, "gpu_watch_gpu_processes{"), 1);
    assert_int_equal(count_lines(t, "gpu_watch_gpu_processes{gpu=\"0\"} 0"), 1);
    s.gpus = gap;
    t = format(*state, &s);
    assert_int_equal(count_lines(t, "gpu_watch_gpu_processes{"), 2);
    assert_int_equal(count_lines(t, "gpu_watch_gpu_processes{gpu=\"1\"}"), 0);
    assert_int_equal(count_lines(t, "gpu_watch_gpu_processes{gpu=\"2\"} 0"), 1);
}

/* Winbind names (CORP\ana), and a quote or newline in any label from the
 * system, are escaped; --prom-command name and none. */
static void test_labels(void **state)
{
    const struct prom_proc p[] = {{.gpu = 0,
                                   .gpu_uuid = UUID0,
                                   .pid = 42,
                                   .mem_mib = 1,
                                   .sm_pct = -1,
                                   .mem_pct = -1,
                                   .cmd = "/usr/bin/python3 /home/ana/secret-project/train.py",
                                   .user = "CORP\\ana \"x\"\ny",
                                   .job_id = "12",
                                   .container = ""}};
    struct prom_sample s = {
        .procs = p, .n = 1, .listed = true, .duration = -1, .who = true, .version = "1.2.3"};
    const char *t = format(*state, &s);
    assert_non_null(strstr(t, "user=\"CORP\\\\ana \\\"x\\\"\\ny\""));
    assert_non_null(strstr(t, "command=\"/usr/bin/python3 /home/ana/secret-project/train.py\""));
    assert_non_null(strstr(t, "gpu_watch_build_info{version=\"1.2.3\",source=\"\"} 1\n"));
    s.command = PROM_COMMAND_NAME;
    s.source = "NVML";
    t = format(*state, &s);
    assert_non_null(strstr(t, ",command=\"python3\"} 1\n"));
    assert_null(strstr(t, "secret"));
    assert_non_null(strstr(t, "gpu_watch_build_info{version=\"1.2.3\",source=\"NVML\"} 1\n"));
    s.command = PROM_COMMAND_NONE;
    t = format(*state, &s);
    assert_null(strstr(t, "command="));
    assert_non_null(strstr(t, "gpu_watch_process_info{pid=\"42\",user="));
}

/* The unattributed memory per GPU: unknown (< 0) and unmapped GPUs give no
 * series, 0 is written; none known: no family at all. */
static void test_unattributed(void **state)
{
    (void)state;
    static const struct prom_gpu_mem gm[] = {{0, 4500}, {1, -1}, {2, 0}, {-1, 7}};
    static const int g3[] = {0, 1, 2};
    struct prom_sample s = {.listed = true,
                            .gpus = g3,
                            .ngpus = 3,
                            .time = 1.0,
                            .duration = -1,
                            .gmem = gm,
                            .ngmem = 4};
    struct gw_buf b = {0};
    assert_int_equal(prom_format(&s, &b), 0);
    assert_non_null(strstr(b.p, "# TYPE gpu_watch_gpu_memory_unattributed_bytes gauge\n"
                                "gpu_watch_gpu_memory_unattributed_bytes{gpu=\"0\"} 4718592000\n"
                                "gpu_watch_gpu_memory_unattributed_bytes{gpu=\"2\"} 0\n#"));
    assert_null(strstr(b.p, "{gpu=\"1\"} -"));
    /* GPU 0 could not list its processes, or nothing was listed: all of its
     * memory would look unattributed, so no series. */
    buf_clear(&b);
    s.unlisted = UINT64_C(1) << 0;
    assert_int_equal(prom_format(&s, &b), 0);
    assert_null(strstr(b.p, "unattributed_bytes{gpu=\"0\"}"));
    assert_non_null(strstr(b.p, "unattributed_bytes{gpu=\"2\"} 0\n"));
    buf_clear(&b);
    s.unlisted = 0;
    s.listed = false;
    assert_int_equal(prom_format(&s, &b), 0);
    assert_null(strstr(b.p, "unattributed_bytes{"));
    s.listed = true;
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
    assert_string_equal(b->p, "\xef\xbf\xbdx\xef\xbf\xbd\xef\xbf\xbdy\xef\xbf\xbd\xef\xbf\xbd"
                              "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    /* Controls that would act on a terminal showing a scrape (curl, cat):
     * ESC, CR, TAB, DEL, C1 as UTF-8 (U+009B CSI, U+009D OSC) and raw
     * 0x9B: each one U+FFFD; the newline keeps its escape. */
    buf_clear(b);
    assert_int_equal(prom_escape(b,
                                 "a\x1b]0;x\x07"
                                 "b\rc\td\x7f"
                                 "e\xc2\x9b"
                                 "2Jf\xc2\x9d"
                                 "g\x9bh\ni",
                                 0),
                     0);
    assert_string_equal(b->p, "a\xef\xbf\xbd]0;x\xef\xbf\xbd"
                              "b\xef\xbf\xbd"
                              "c\xef\xbf\xbd"
                              "d\xef\xbf\xbd"
                              "e\xef\xbf\xbd"
                              "2Jf\xef\xbf\xbd"
                              "g\xef\xbf\xbd"
                              "h\\ni");
    /* Winbind names: CORP\\ana; a quote; each escaped (node_exporter drops
     * the whole file on an unescaped one). */
    buf_clear(b);
    assert_int_equal(prom_escape(b, "CORP\\ana\"x", 0), 0);
    assert_string_equal(b->p, "CORP\\\\ana\\\"x");
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
        cmocka_unit_test(test_busy),        cmocka_unit_test(test_idle),
        cmocka_unit_test(test_not_listed),  cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_gpu_indexes), cmocka_unit_test(test_labels),
        cmocka_unit_test(test_escape),      cmocka_unit_test(test_unattributed),
        cmocka_unit_test(test_publish),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
