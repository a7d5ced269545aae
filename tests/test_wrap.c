/* Unit tests of the command lookup and exit statuses of wrap.c; starting and
 * following real commands is covered end to end in tests/e2e/test_wrap.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>

#include "gpu_watch/wrap.h"

static void test_find(void **state)
{
    assert_int_equal(wrap_find("sh", "/usr/bin:/bin"), 0);
    assert_int_equal(wrap_find("sh", "/nonexistent:/bin"), 0);
    assert_int_equal(wrap_find("no-such-command-gw", "/usr/bin:/bin"), -ENOENT);
    assert_int_equal(wrap_find("", "/usr/bin:/bin"), -ENOENT);
    assert_int_equal(wrap_find("/bin/sh", NULL), 0);
    assert_int_equal(wrap_find("/nonexistent/sh", NULL), -ENOENT);
    /* A file that is not executable, a directory, through a path... */
    assert_int_equal(wrap_find("./Makefile", NULL), -EACCES);
    assert_int_equal(wrap_find("tests/fixtures", NULL), -EACCES);
    /* ...and through PATH: found, but not runnable, is 126 not 127. */
    assert_int_equal(wrap_find("Makefile", "/nonexistent:."), -EACCES);
    assert_int_equal(wrap_find("fixtures", "tests"), -EACCES);
    /* An empty PATH element is the current directory. */
    assert_int_equal(wrap_find("Makefile", ":/bin"), -EACCES);
    /* A runnable file later in PATH wins over an unrunnable one. */
    assert_int_equal(wrap_find("sh", "tests/fixtures:/bin"), 0);
}

static void test_exec_status(void **state)
{
    assert_int_equal(wrap_exec_status(ENOENT), 127);
    assert_int_equal(wrap_exec_status(ENOTDIR), 127);
    assert_int_equal(wrap_exec_status(EACCES), 126);
    assert_int_equal(wrap_exec_status(ENOEXEC), 126);
    assert_int_equal(wrap_exec_status(EISDIR), 126);
}

static void test_spawn_not_found(void **state)
{
    /* exec's own answer, through the close-on-exec pipe. */
    char *argv[] = {"/nonexistent/gw-cmd", NULL};
    struct wrap *w = NULL;
    assert_int_equal(wrap_spawn(argv, "/proc", &w), -ENOENT);
    assert_null(w);
    char *argv2[] = {"./Makefile", NULL};
    assert_int_equal(wrap_spawn(argv2, "/proc", &w), -EACCES);
}

static void test_spawn_status(void **state)
{
    char *argv[] = {"sh", "-c", "exit 3", NULL};
    struct wrap *w = NULL;
    assert_int_equal(wrap_spawn(argv, "/proc", &w), 0);
    assert_non_null(w);
    assert_true(wrap_child(w) > 0);
    wrap_wait(w);
    assert_true(wrap_ended(w));
    assert_int_equal(wrap_status(w), 3);
    wrap_free(w);
    char *argv2[] = {"sh", "-c", "kill -9 $$", NULL};
    assert_int_equal(wrap_spawn(argv2, "/proc", &w), 0);
    wrap_wait(w);
    assert_int_equal(wrap_status(w), 137);
    wrap_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_find),
        cmocka_unit_test(test_exec_status),
        cmocka_unit_test(test_spawn_not_found),
        cmocka_unit_test(test_spawn_status),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
