/* Unit tests of the PID hash table, including a randomised comparison with
 * a plain array model through growth and sweeps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "gpu_watch/pidtab.h"

static void test_get_find(void **state)
{
    struct pidtab *t = pidtab_new(4);
    assert_non_null(t);
    bool created;
    struct pid_entry *e = pidtab_get(t, 442, &created);
    assert_non_null(e);
    assert_true(created);
    assert_int_equal(e->pid, 442);
    assert_int_equal(e->match, -1);
    assert_null(e->cmd);
    e->cmd = strdup("python3");
    assert_ptr_equal(pidtab_get(t, 442, &created), e);
    assert_false(created);
    assert_ptr_equal(pidtab_find(t, 442), e);
    assert_null(pidtab_find(t, 443));
    assert_null(pidtab_find(t, 0));
    assert_int_equal(pidtab_count(t), 1);
    pidtab_free(t); /* frees cmd: valgrind/ASan would see a leak otherwise */
}

static void test_sweep(void **state)
{
    struct pidtab *t = pidtab_new(0);
    for (long p = 1; p <= 1000; p++) {
        struct pid_entry *e = pidtab_get(t, p, NULL);
        assert_non_null(e);
        e->gen = (p % 3 == 0) ? 2 : 1;
        e->cmd = malloc(8);
    }
    assert_int_equal(pidtab_count(t), 1000);
    assert_int_equal(pidtab_sweep(t, 2), 1000 - 333);
    assert_int_equal(pidtab_count(t), 333);
    for (long p = 1; p <= 1000; p++) {
        if (p % 3 == 0)
            assert_non_null(pidtab_find(t, p));
        else
            assert_null(pidtab_find(t, p));
    }
    pidtab_free(t);
}

static void test_random_against_model(void **state)
{
    enum { MAXPID = 4096 };
    static unsigned model[MAXPID]; /* gen of the last get, 0: absent */
    memset(model, 0, sizeof model);
    struct pidtab *t = pidtab_new(1);
    srand(12345);
    for (unsigned gen = 1; gen <= 200; gen++) {
        int n = rand() % 300;
        for (int i = 0; i < n; i++) {
            long pid = 1 + rand() % (MAXPID - 1);
            struct pid_entry *e = pidtab_get(t, pid, NULL);
            assert_non_null(e);
            e->gen = gen;
            model[pid] = gen;
        }
        if (gen % 7 == 0) {
            pidtab_sweep(t, gen);
            for (long p = 0; p < MAXPID; p++)
                if (model[p] != gen)
                    model[p] = 0;
        }
        size_t count = 0;
        for (long p = 1; p < MAXPID; p++) {
            struct pid_entry *e = pidtab_find(t, p);
            if (model[p]) {
                assert_non_null(e);
                assert_int_equal(e->pid, p);
                assert_int_equal(e->gen, model[p]);
                count++;
            } else {
                assert_null(e);
            }
        }
        assert_int_equal(count, pidtab_count(t));
    }
    pidtab_free(t);
}

static void test_sweep_keeps_only_current(void **state)
{
    /* Clusters that wrap around the end of the table survive deletion. */
    struct pidtab *t = pidtab_new(8);
    long pids[200];
    for (int i = 0; i < 200; i++) {
        pids[i] = 1 + (long)i * 4099;
        pidtab_get(t, pids[i], NULL)->gen = (unsigned)(i % 2);
    }
    pidtab_sweep(t, 0);
    for (int i = 0; i < 200; i++) {
        if (i % 2 == 0)
            assert_non_null(pidtab_find(t, pids[i]));
        else
            assert_null(pidtab_find(t, pids[i]));
    }
    pidtab_free(t);
}

static void test_delete_across_the_end(void **state)
{
    /* Three PIDs whose home is the last slot of a 16-slot table fill slots
     * 15, 0 and 1: deleting the one in slot 15 must shift the cluster back
     * across the end of the table (the i > j branch of the backward shift),
     * or the other two can no longer be found. */
    struct pidtab *t = pidtab_new(4);
    long pids[3];
    size_t n = 0;
    for (long p = 1; n < 3; p++)
        if (pidtab_hash(p, 16) == 15)
            pids[n++] = p;
    for (size_t i = 0; i < 3; i++)
        pidtab_get(t, pids[i], NULL)->gen = i == 0 ? 1 : 2;
    assert_int_equal(pidtab_count(t), 3);
    assert_int_equal(pidtab_sweep(t, 2), 1);
    assert_null(pidtab_find(t, pids[0]));
    assert_non_null(pidtab_find(t, pids[1]));
    assert_non_null(pidtab_find(t, pids[2]));
    assert_int_equal(pidtab_find(t, pids[1])->pid, pids[1]);
    /* And once more: the table still has room and finds what it holds. */
    assert_int_equal(pidtab_sweep(t, 3), 2);
    assert_int_equal(pidtab_count(t), 0);
    pidtab_free(t);
}

static void test_reserve_keeps_pointers(void **state)
{
    struct pidtab *t = pidtab_new(1);
    assert_int_equal(pidtab_reserve(t, 1000), 0);
    struct pid_entry *first = pidtab_get(t, 1, NULL);
    for (long p = 2; p <= 1000; p++)
        assert_non_null(pidtab_get(t, p, NULL));
    assert_ptr_equal(pidtab_find(t, 1), first); /* no rehash moved it */
    pidtab_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_delete_across_the_end),
        cmocka_unit_test(test_reserve_keeps_pointers),
        cmocka_unit_test(test_get_find),
        cmocka_unit_test(test_sweep),
        cmocka_unit_test(test_random_against_model),
        cmocka_unit_test(test_sweep_keeps_only_current),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
