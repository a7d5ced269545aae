/* Unit tests of the /proc readers on a fixture tree. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cmdline_busy),    cmocka_unit_test(test_cmdline_odd),
        cmocka_unit_test(test_cmdline_missing), cmocka_unit_test(test_clean),
        cmocka_unit_test(test_available),       cmocka_unit_test(test_real_self),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
