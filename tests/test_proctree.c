/* Unit tests of the process tree: /proc/<pid>/stat parsing on a real H100
 * capture and on awkward names, and the descendant set on a fixture tree
 * (tests/fixtures/proc/tree, see its README). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_watch/procfs.h"
#include "gpu_watch/proctree.h"

#define TREE "tests/fixtures/proc/tree"

static void test_parse_real(void **state)
{
    struct gw_buf b = {0};
    assert_int_equal(
        procfs_read_file("tests/fixtures/h100-580/busy", "proc_442_stat.txt", &b, 4096), 0);
    struct proc_stat st;
    assert_int_equal(procparse_stat(b.p, b.len, &st), 0);
    assert_int_equal(st.pid, 442);
    assert_int_equal(st.ppid, 396);
    assert_int_equal(st.state, 'R');
    assert_int_equal(st.starttime, 2241);
    buf_free(&b);
}

static void test_parse_awkward_name(void **state)
{
    /* A name with spaces, parentheses and a ") " that looks like the end. */
    const char *s = "77 (a) R 5 (b)) Z 12 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 999 0 0\n";
    struct proc_stat st;
    assert_int_equal(procparse_stat(s, strlen(s), &st), 0);
    assert_int_equal(st.pid, 77);
    assert_int_equal(st.state, 'Z');
    assert_int_equal(st.ppid, 12);
    assert_int_equal(st.starttime, 999);
}

static void test_parse_bad(void **state)
{
    struct proc_stat st;
    const char *bad[] = {
        "",
        "x (a) R 1",
        "12 a R 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5",
        "12 (a) R 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0",   /* no field 22 */
        "12 (a) R x 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5", /* parent not a number */
        "0 (a) R 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5",
        "12 (a",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(procparse_stat(bad[i], strlen(bad[i]), &st), -EINVAL);
    /* Length is respected: the same line cut before field 22. */
    const char *s = "12 (a) R 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5";
    assert_int_equal(procparse_stat(s, strlen(s) - 2, &st), -EINVAL);
    assert_int_equal(procparse_stat(s, strlen(s), &st), 0);
}

static void test_scan(void **state)
{
    struct proc_list l = {0};
    assert_int_equal(proctree_scan(TREE, &l), 0);
    long want[] = {1, 150, 200, 201, 202, 300, 301, 400};
    assert_int_equal(l.n, 8);
    for (size_t i = 0; i < l.n; i++)
        assert_int_equal(l.v[i].pid, want[i]);
    assert_int_equal(l.v[2].ppid, 1);
    assert_int_equal(l.v[2].starttime, 1000);
    assert_int_equal(proctree_scan("tests/fixtures/proc/nonexistent", &l), -ENOENT);
    free(l.v);
}

static void test_descendants(void **state)
{
    struct proc_list l = {0};
    struct proctree t = {0};
    assert_int_equal(proctree_scan(TREE, &l), 0);
    assert_int_equal(proctree_add(&t, 200, 1000), 0);
    assert_int_equal(proctree_update(&t, &l), 0);
    long want[] = {200, 201, 202, 300};
    assert_int_equal(t.n, 4);
    for (size_t i = 0; i < t.n; i++)
        assert_int_equal(t.pids[i], want[i]);
    assert_false(proctree_has(&t, 150)); /* older than its "parent": a reused PID */
    assert_false(proctree_has(&t, 301));
    assert_false(proctree_has(&t, 400));
    assert_false(proctree_has(&t, 1));
    assert_int_equal(proctree_alive(&t), 4);
    proctree_free(&t);
    free(l.v);
}

static void test_orphan_and_reuse(void **state)
{
    struct proc_list l = {0};
    struct proctree t = {0};
    assert_int_equal(proctree_scan(TREE, &l), 0);
    assert_int_equal(proctree_add(&t, 200, 1000), 0);
    /* 301 was seen as a member before its parent exited: it stays. */
    assert_int_equal(proctree_add(&t, 301, 1150), 0);
    /* 400 was a member, but the PID now names a process started at 900. */
    assert_int_equal(proctree_add(&t, 400, 50), 0);
    assert_int_equal(proctree_update(&t, &l), 0);
    assert_true(proctree_has(&t, 301));
    assert_false(proctree_has(&t, 400));
    assert_int_equal(t.n, 5);
    proctree_free(&t);
    free(l.v);
}

static void test_dead_members_kept_a_while(void **state)
{
    struct proc_list l = {0};
    struct proctree t = {0};
    assert_int_equal(proctree_scan(TREE, &l), 0);
    assert_int_equal(proctree_add(&t, 200, 1000), 0);
    assert_int_equal(proctree_update(&t, &l), 0);
    /* 300 exits: drop it from the scan. */
    for (size_t i = 0; i < l.n; i++)
        if (l.v[i].pid == 300) {
            memmove(&l.v[i], &l.v[i + 1], (l.n - i - 1) * sizeof l.v[0]);
            l.n--;
            break;
        }
    for (int k = 1; k <= PROCTREE_KEEP_DEAD; k++) {
        assert_int_equal(proctree_update(&t, &l), 0);
        assert_true(proctree_has(&t, 300));
        assert_int_equal(proctree_alive(&t), 3);
    }
    assert_int_equal(proctree_update(&t, &l), 0);
    assert_false(proctree_has(&t, 300));
    assert_int_equal(t.n, 3);
    proctree_free(&t);
    free(l.v);
}

static void test_root_start_unknown(void **state)
{
    /* The command's stat could not be read at once: start 0 is filled in. */
    struct proc_list l = {0};
    struct proctree t = {0};
    assert_int_equal(proctree_scan(TREE, &l), 0);
    assert_int_equal(proctree_add(&t, 200, 0), 0);
    assert_int_equal(proctree_update(&t, &l), 0);
    assert_int_equal(t.n, 4);
    assert_int_equal(t.v[0].start, 1000);
    proctree_free(&t);
    free(l.v);
}

static void test_gpu_node(void **state)
{
    assert_true(proctree_is_gpu_node("/dev/nvidia0"));
    assert_true(proctree_is_gpu_node("/dev/nvidia15"));
    assert_false(proctree_is_gpu_node("/dev/nvidiactl"));
    assert_false(proctree_is_gpu_node("/dev/nvidia-uvm"));
    assert_false(proctree_is_gpu_node("/dev/nvidia"));
    assert_false(proctree_is_gpu_node("/dev/nvidia0 (deleted)"));
    assert_false(proctree_is_gpu_node("/tmp/dev/nvidia0"));
}

static void test_uses_gpu(void **state)
{
    struct proctree t = {0};
    /* 201 holds only nvidiactl and nvidia-uvm-tools open: not yet on a GPU. */
    assert_int_equal(proctree_add(&t, 201, 1100), 0);
    assert_false(proctree_uses_gpu(&t, TREE));
    assert_int_equal(proctree_add(&t, 300, 1200), 0);
    assert_true(proctree_uses_gpu(&t, TREE));
    proctree_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_real),
        cmocka_unit_test(test_parse_awkward_name),
        cmocka_unit_test(test_parse_bad),
        cmocka_unit_test(test_scan),
        cmocka_unit_test(test_descendants),
        cmocka_unit_test(test_orphan_and_reuse),
        cmocka_unit_test(test_dead_members_kept_a_while),
        cmocka_unit_test(test_root_start_unknown),
        cmocka_unit_test(test_gpu_node),
        cmocka_unit_test(test_uses_gpu),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
