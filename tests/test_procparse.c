/* Unit tests of the /proc text parsers on captures from a real GPU machine
 * (tests/fixtures/h100-580/busy) and from this machine (proc/local). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_watch/procparse.h"

static char *load(const char *rel, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "tests/fixtures/%s", rel);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[1 << 16];
    *len = fread(buf, 1, sizeof buf - 1, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

static void test_stat_capture(void **state)
{
    size_t len;
    char *b = load("h100-580/busy/proc_442_stat.txt", &len);
    struct proc_stat st;
    assert_int_equal(procparse_stat(b, len, &st), 0);
    assert_int_equal(st.ppid, 396);
    assert_int_equal(st.utime, 1796);
    assert_int_equal(st.stime, 64);
    assert_int_equal(st.starttime, 2241);
    assert_int_equal(st.processor, 12); /* ps_cpu.txt: psr 12 */
}

static void test_stat_awkward_names(void **state)
{
    /* The name may hold spaces and ')': fields count from the last ')'. */
    const char *s = "77 (a) b) (c d) S 1 77 77 0 -1 4194560 1 0 0 0 5 7 0 0 20 0 1 0 99 1 1 "
                    "1 1 1 1 0 0 0 0 0 0 0 0 0 17 3 0 0 0 0 0\n";
    struct proc_stat st;
    assert_int_equal(procparse_stat(s, strlen(s), &st), 0);
    assert_int_equal(st.ppid, 1);
    assert_int_equal(st.utime, 5);
    assert_int_equal(st.stime, 7);
    assert_int_equal(st.starttime, 99);
    assert_int_equal(st.processor, 3);
    const char *cut = "77 (x) S 1 77 77 0 -1 4194560 1 0 0 0 5";
    assert_int_equal(procparse_stat(cut, strlen(cut), &st), -22);
    assert_int_equal(procparse_stat("garbage", 7, &st), -22);
    assert_int_equal(procparse_stat("", 0, &st), -22);
}

static void test_status_rss(void **state)
{
    size_t len;
    int64_t kb;
    char *b = load("h100-580/busy/proc_443_status.txt", &len);
    assert_int_equal(procparse_status_rss_kb(b, len, &kb), 0);
    assert_int_equal(kb, 617364); /* ps_cpu.txt: rss 617364 */
    const char *kthread = "Name:\tkthreadd\nState:\tS (sleeping)\nThreads:\t1\n";
    assert_int_equal(procparse_status_rss_kb(kthread, strlen(kthread), &kb), -22);
}

static void test_meminfo(void **state)
{
    size_t len;
    int64_t kb;
    char *b = load("h100-580/busy/meminfo.txt", &len);
    assert_int_equal(procparse_meminfo_used_kb(b, len, &kb), 0);
    assert_int_equal(kb, 131981020 - 129953088);
    const char *bad = "MemTotal: 100 kB\n";
    assert_int_equal(procparse_meminfo_used_kb(bad, strlen(bad), &kb), -22);
}

static void test_uptime(void **state)
{
    double s;
    assert_int_equal(procparse_uptime("851.74 1418.42\n", 15, &s), 0);
    assert_true(s > 851.739 && s < 851.741);
    assert_int_equal(procparse_uptime("x", 1, &s), -22);
}

static void test_pcpu_matches_ps(void **state)
{
    /* ps -o pcpu of the three busy processes (ps_cpu.txt) from their stat
     * files, at the uptime that fits all three (41.87 s). */
    const struct {
        int pid;
        double ps;
    } want[] = {{442, 95.6}, {443, 29.6}, {444, 94.0}};
    for (size_t i = 0; i < 3; i++) {
        char rel[64];
        size_t len;
        snprintf(rel, sizeof rel, "h100-580/busy/proc_%d_stat.txt", want[i].pid);
        char *b = load(rel, &len);
        struct proc_stat st;
        assert_int_equal(procparse_stat(b, len, &st), 0);
        double p = procparse_pcpu_since_start(st.utime + st.stime, st.starttime, 41.87, 100);
        assert_true(p > want[i].ps - 0.15 && p < want[i].ps + 0.15);
    }
    assert_true(procparse_pcpu_since_start(10, 500, 4.0, 100) < 0); /* started after "now" */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stat_capture), cmocka_unit_test(test_stat_awkward_names),
        cmocka_unit_test(test_status_rss),   cmocka_unit_test(test_meminfo),
        cmocka_unit_test(test_uptime),       cmocka_unit_test(test_pcpu_matches_ps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
