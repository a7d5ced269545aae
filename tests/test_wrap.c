/* Unit tests of the exit statuses of wrap.c (its command lookup is
 * pathfind.c, tests/test_pathfind.c); starting and
 * following real commands is covered end to end in tests/e2e/test_wrap.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "gpu_watch/wrap.h"

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

static void test_refresh_follows_children(void **state)
{
    /* sh starts a sleep and waits: both are in the set the sampler keeps. */
    char *argv[] = {"sh", "-c", "sleep 2 & echo $! > /dev/null; wait", NULL};
    struct wrap *w = NULL;
    assert_int_equal(wrap_spawn(argv, "/proc", &w), 0);
    const long *pids = NULL;
    size_t n = 0;
    for (int i = 0; i < 100 && n < 2; i++) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
        assert_int_equal(wrap_refresh(w, &pids, &n), 0);
    }
    assert_non_null(pids);
    assert_int_equal(n, 2);
    assert_int_equal(pids[0], wrap_child(w));
    assert_true(pids[1] > 0 && pids[1] != pids[0]);
    kill((pid_t)pids[1], SIGKILL);
    wrap_wait(w);
    assert_int_equal(wrap_status(w), 0);
    /* Gone, but kept a few updates for rows nvidia-smi still lists. */
    assert_int_equal(wrap_refresh(w, &pids, &n), 0);
    assert_int_equal(n, 2);
    wrap_free(w);
}

static void test_pids_mode_has_no_extra_filter(void **state)
{
    long pids[] = {(long)getpid(), 999999999L};
    struct wrap *w = NULL;
    size_t running = 0;
    assert_int_equal(wrap_pids(pids, 2, "/proc", &w, &running), 0);
    assert_int_equal(running, 1);
    const long *allow = (const long *)1;
    size_t n = 5;
    assert_int_equal(wrap_refresh(w, &allow, &n), 0);
    assert_null(allow);
    assert_false(wrap_ended(w)); /* this test process is alive */
    wrap_free(w);
    long gone[] = {999999999L};
    assert_int_equal(wrap_pids(gone, 1, "/proc", &w, &running), 0);
    assert_int_equal(running, 0);
    assert_true(wrap_ended(w));
    wrap_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exec_status),
        cmocka_unit_test(test_spawn_not_found),
        cmocka_unit_test(test_spawn_status),
        cmocka_unit_test(test_refresh_follows_children),
        cmocka_unit_test(test_pids_mode_has_no_extra_filter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
