/* Unit tests of the /proc readers on a fixture tree. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gpu_watch/procfs.h"

static void test_cmdline_busy(void **state)
{
    int err = 0;
    char *c = procfs_cmdline("tests/fixtures/proc/busy", 442, &err);
    assert_non_null(c);
    assert_string_equal(c,
                        "python3 /tmp/work dir/train,v2.py 200 --lr=3e-4 --note=a \"quoted\" arg");
    free(c);
}

static void test_cmdline_odd(void **state)
{
    int err = 0;
    char *c = procfs_cmdline("tests/fixtures/proc/many", 421, &err);
    assert_string_equal(c, "python3 /tmp/hold.py 64 idle line1 line2"); /* newline -> space */
    free(c);
    c = procfs_cmdline("tests/fixtures/proc/many", 422, &err);
    assert_non_null(c);
    assert_int_equal(strlen(c), strlen("python3 /tmp/hold.py 64 idle --long=") + 5000);
    free(c);
}

static void test_cmdline_missing(void **state)
{
    int err = 0;
    assert_null(procfs_cmdline("tests/fixtures/proc/busy", 999999, &err));
    assert_int_equal(err, -ENOENT);
    assert_null(procfs_cmdline("/nonexistent", 1, &err));
    assert_int_equal(err, -ENOENT);
}

static void test_clean(void **state)
{
    char s[] = "a\0b c\0\ttab\0\0";
    size_t n = procfs_clean_cmdline(s, sizeof s - 1);
    assert_int_equal(n, 10);
    assert_string_equal(s, "a b c  tab");
    char e[] = "\0\0";
    assert_int_equal(procfs_clean_cmdline(e, 2), 0);
}

static void test_available(void **state)
{
    assert_true(procfs_available("/proc"));
    assert_true(procfs_available("tests/fixtures/proc/busy"));
    assert_false(procfs_available("/nonexistent"));
}

static void test_real_self(void **state)
{
    int err = 0;
    char *c = procfs_cmdline("/proc", (long)getpid(), &err);
    assert_non_null(c);
    assert_non_null(strstr(c, "test_procfs"));
    free(c);
}

static void test_host_local_capture(void **state)
{
    /* A 4-thread process captured on this machine (tools/capture_proc.sh):
     * its threads last ran on CPUs 0 and 1. */
    struct gw_buf scratch = {0};
    struct proc_host h;
    assert_int_equal(procfs_host("tests/fixtures/proc/local", 952, &h, &scratch), 0);
    assert_int_equal(h.ticks, 184 + 11);
    assert_int_equal(h.starttime, 95676);
    assert_int_equal(h.rss_kb, 75828);
    assert_string_equal(h.cores, "0/1");
    free(h.cores);
    double up;
    assert_int_equal(procfs_uptime("tests/fixtures/proc/local", &up, &scratch), 0);
    assert_true(up > 959.5 && up < 959.6);
    /* The H100 capture has no task directory: cores unknown, the rest read. */
    assert_int_equal(procfs_host("tests/fixtures/proc/busy", 442, &h, &scratch), 0);
    assert_null(h.cores);
    assert_int_equal(h.rss_kb, 728664);
    int64_t kb;
    assert_int_equal(procfs_mem_used_kb("tests/fixtures/proc/busy", &kb, &scratch), 0);
    assert_int_equal(kb, 131981020 - 129953088);
    /* Gone: an error code, never a crash. */
    assert_int_equal(procfs_host("tests/fixtures/proc/busy", 31337, &h, &scratch), -ENOENT);
    buf_free(&scratch);
}

static void test_host_self(void **state)
{
    struct gw_buf scratch = {0};
    struct proc_host h;
    assert_int_equal(procfs_host("/proc", (long)getpid(), &h, &scratch), 0);
    assert_non_null(h.cores);
    assert_true(h.rss_kb > 0);
    free(h.cores);
    buf_free(&scratch);
}

static void test_host_long_root(void **state)
{
    /* A /proc root longer than the 64 bytes paths once had: the process is
     * read, not taken for gone. The root is a path of ~200 bytes through a
     * link to the fixture tree. */
    char base[] = "/tmp/gw-procfs-XXXXXX", root[512], target[512], cwd[256];
    assert_non_null(mkdtemp(base));
    assert_non_null(getcwd(cwd, sizeof cwd));
    snprintf(root, sizeof root, "%s/%0180d", base, 0);
    snprintf(target, sizeof target, "%s/tests/fixtures/proc/local", cwd);
    assert_int_equal(symlink(target, root), 0);
    assert_true(strlen(root) > 190);
    struct gw_buf scratch = {0};
    struct proc_host h;
    assert_int_equal(procfs_host(root, 952, &h, &scratch), 0);
    assert_int_equal(h.rss_kb, 75828);
    assert_string_equal(h.cores, "0/1");
    free(h.cores);
    /* Past any path the kernel takes: an error that says so. */
    char huge[5000];
    memset(huge, 'a', sizeof huge - 1);
    huge[sizeof huge - 1] = '\0';
    assert_int_equal(procfs_host(huge, 952, &h, &scratch), -ENAMETOOLONG);
    buf_free(&scratch);
    assert_int_equal(unlink(root), 0);
    assert_int_equal(rmdir(base), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_host_long_root), cmocka_unit_test(test_cmdline_busy),
        cmocka_unit_test(test_cmdline_odd),    cmocka_unit_test(test_cmdline_missing),
        cmocka_unit_test(test_clean),          cmocka_unit_test(test_available),
        cmocka_unit_test(test_real_self),      cmocka_unit_test(test_host_local_capture),
        cmocka_unit_test(test_host_self),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
