/* Unit tests of the PATH lookup (pathfind.c), run from the repository root
 * as make test does: ./Makefile and tests/fixtures are real non-executables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>

#include "gpu_watch/pathfind.h"

static void test_find(void **state)
{
    assert_int_equal(path_find("sh", "/usr/bin:/bin"), 0);
    assert_int_equal(path_find("sh", "/nonexistent:/bin"), 0);
    assert_int_equal(path_find("no-such-command-gw", "/usr/bin:/bin"), -ENOENT);
    assert_int_equal(path_find("", "/usr/bin:/bin"), -ENOENT);
    assert_int_equal(path_find("/bin/sh", NULL), 0);
    assert_int_equal(path_find("/nonexistent/sh", NULL), -ENOENT);
    /* A file that is not executable, a directory, through a path... */
    assert_int_equal(path_find("./Makefile", NULL), -EACCES);
    assert_int_equal(path_find("tests/fixtures", NULL), -EACCES);
    /* ...and through PATH: found, but not runnable, is 126 not 127. */
    assert_int_equal(path_find("Makefile", "/nonexistent:."), -EACCES);
    assert_int_equal(path_find("fixtures", "tests"), -EACCES);
    /* An empty PATH element is the current directory. */
    assert_int_equal(path_find("Makefile", ":/bin"), -EACCES);
    /* A runnable file later in PATH wins over an unrunnable one. */
    assert_int_equal(path_find("sh", "tests/fixtures:/bin"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_find),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
