/* Unit tests of run_cmd: output capture, exit statuses, timeouts, output
 * limits, concurrency, and no leaked descriptors or zombies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "gpu_watch/run_cmd.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int open_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    while (d && readdir(d))
        n++;
    if (d)
        closedir(d);
    return n;
}

/* Interposed on libc's (this executable's symbol wins for libgw.a too):
 * answers fail_dup2 while it is non-zero, else calls the real one. */
static int fail_dup2;

int posix_spawn_file_actions_adddup2(posix_spawn_file_actions_t *fa, int fd, int newfd)
{
    if (fail_dup2)
        return fail_dup2;
    int (*real)(posix_spawn_file_actions_t *, int, int);
    *(void **)&real = dlsym(RTLD_NEXT, "posix_spawn_file_actions_adddup2");
    return real ? real(fa, fd, newfd) : ENOSYS;
}

static void test_file_action_failure_starts_nothing(void **state)
{
    /* Issue 18 item 10: a spawn whose stdout cannot be redirected to the
     * pipe is not started (it would print on our stdout, and its answer
     * would read as empty): the call says why, no descriptor leaks, no
     * child is left. */
    const char *argv[] = {"printf", "x\n", NULL};
    struct cmd_call c = {.argv = argv, .key = "dup2"};
    int fds = open_fds();
    fail_dup2 = ENOMEM;
    assert_int_equal(run_cmd(&c, 1, 5, NULL), 0);
    fail_dup2 = 0;
    assert_int_equal(c.state, CMD_SPAWN_FAILED);
    assert_int_equal(c.err, ENOMEM);
    assert_int_equal(open_fds(), fds);
    assert_int_equal(waitpid(-1, NULL, WNOHANG), -1); /* no child at all */
    assert_int_equal(errno, ECHILD);
    assert_int_equal(run_cmd(&c, 1, 5, NULL), 0); /* and the next one works */
    assert_int_equal(c.state, CMD_OK);
    assert_string_equal(c.out.p, "x\n");
    buf_free(&c.out);
}

static void test_output_and_status(void **state)
{
    const char *ok[] = {"printf", "442, GPU-x, 1642\n", NULL};
    const char *fail[] = {"sh", "-c", "echo 'No devices were found'; exit 6", NULL};
    struct cmd_call c[2] = {{.argv = ok, .key = "a"}, {.argv = fail, .key = "b"}};
    assert_int_equal(run_cmd(c, 2, 5, NULL), 0);
    assert_int_equal(c[0].state, CMD_OK);
    assert_string_equal(c[0].out.p, "442, GPU-x, 1642\n");
    assert_int_equal(c[1].state, CMD_EXIT_NONZERO);
    assert_int_equal(c[1].status, 6);
    char why[200];
    run_cmd_describe(&c[1], 5, why, sizeof why);
    assert_string_equal(why, "exit status 6: No devices were found");
    buf_free(&c[0].out);
    buf_free(&c[1].out);
}

static void test_not_found(void **state)
{
    const char *argv[] = {"/nonexistent/nvidia-smi", NULL};
    struct cmd_call c = {.argv = argv, .key = "x"};
    assert_int_equal(run_cmd(&c, 1, 5, NULL), 0);
    /* glibc reports a failed exec either as an error or as exit status 127. */
    assert_true(c.state == CMD_SPAWN_FAILED || (c.state == CMD_EXIT_NONZERO && c.status == 127));
    buf_free(&c.out);
}

static void test_timeout_kills_whole_group(void **state)
{
    /* The shell ignores TERM and has a child holding the pipe open. */
    const char *argv[] = {"sh", "-c", "trap '' TERM; echo partial; sleep 30 & sleep 30", NULL};
    struct cmd_call c = {.argv = argv, .key = "hang"};
    int fds = open_fds();
    double t0 = now_s();
    assert_int_equal(run_cmd(&c, 1, 0.3, NULL), 0);
    double took = now_s() - t0;
    assert_int_equal(c.state, CMD_TIMEOUT);
    assert_true(took >= 0.3 && took < 2.0);
    assert_int_equal(open_fds(), fds);
    /* Reaped: no child of ours is left. */
    assert_int_equal(run_cmd_pending(), 0);
    assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
    assert_int_equal(errno, ECHILD);
    buf_free(&c.out);
}

static void test_parallel(void **state)
{
    const char *s[] = {"sleep", "0.3", NULL};
    struct cmd_call c[3] = {
        {.argv = s, .key = "1"}, {.argv = s, .key = "2"}, {.argv = s, .key = "3"}};
    double t0 = now_s();
    assert_int_equal(run_cmd(c, 3, 5, NULL), 0);
    double took = now_s() - t0;
    for (int i = 0; i < 3; i++)
        assert_int_equal(c[i].state, CMD_OK);
    /* Started at once: about 0.3 s, not 0.9 s. */
    assert_true(took < 0.75);
    for (int i = 0; i < 3; i++)
        buf_free(&c[i].out);
}

static void test_overflow(void **state)
{
    const char *argv[] = {"sh", "-c", "yes 0123456789012345678901234567890123456789", NULL};
    struct cmd_call c = {.argv = argv, .key = "huge"};
    assert_int_equal(run_cmd(&c, 1, 10, NULL), 0);
    assert_int_equal(c.state, CMD_OVERFLOW);
    assert_true(c.out.len > CMD_MAX_OUTPUT);
    assert_true(c.out.len < CMD_MAX_OUTPUT + 65536);
    buf_free(&c.out);
}

static void test_cancel(void **state)
{
    const char *argv[] = {"sleep", "30", NULL};
    struct cmd_call c = {.argv = argv, .key = "c"};
    static volatile sig_atomic_t cancel = 1;
    double t0 = now_s();
    assert_int_equal(run_cmd(&c, 1, 10, &cancel), 0);
    assert_true(now_s() - t0 < 1.0);
    assert_int_equal(c.state, CMD_CANCELLED);
    buf_free(&c.out);
}

static void test_reuse_buffer_many_times(void **state)
{
    const char *argv[] = {"printf", "x\n", NULL};
    struct cmd_call c = {.argv = argv, .key = "r"};
    int fds = open_fds();
    for (int i = 0; i < 200; i++) {
        assert_int_equal(run_cmd(&c, 1, 5, NULL), 0);
        assert_int_equal(c.state, CMD_OK);
        assert_string_equal(c.out.p, "x\n");
    }
    assert_int_equal(open_fds(), fds);
    buf_free(&c.out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_output_and_status),
        cmocka_unit_test(test_not_found),
        cmocka_unit_test(test_file_action_failure_starts_nothing),
        cmocka_unit_test(test_timeout_kills_whole_group),
        cmocka_unit_test(test_parallel),
        cmocka_unit_test(test_overflow),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_reuse_buffer_many_times),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
