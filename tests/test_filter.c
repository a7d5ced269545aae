/* Unit tests of the --pid/--match filter and of array_reserve: pure, no
 * fake nvidia-smi. Command lines are the captured H100 ones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>

#include "gpu_watch/array.h"
#include "gpu_watch/filter.h"

static const char busy[] =
    "python3 /tmp/work dir/train,v2.py 200 --lr=3e-4 --note=a \"quoted\" arg";
static const char grow[] = "python3 /tmp/grow.py 200 --name=grow;job";

static struct filter *make(const long *pids, size_t n, const char *match, bool icase,
                           bool *substring)
{
    struct filter *f = NULL;
    assert_int_equal(filter_new(pids, n, match, icase, &f, substring), 0);
    assert_non_null(f);
    return f;
}

static void test_everything_passes_without_options(void **state)
{
    bool sub;
    struct filter *f = make(NULL, 0, NULL, false, &sub);
    assert_false(sub);
    assert_true(filter_all(f));
    assert_true(filter_pass(f, 442, busy));
    assert_true(filter_pass(f, 1, ""));
    assert_true(filter_pass(f, 2, NULL)); /* command line not known */
    filter_free(f);
}

static void test_pids(void **state)
{
    long pids[] = {442, 444};
    bool sub;
    struct filter *f = make(pids, 2, NULL, false, &sub);
    assert_false(filter_all(f));
    assert_true(filter_pass(f, 442, busy));
    assert_false(filter_pass(f, 443, busy));
    assert_true(filter_pass(f, 444, grow));
    pids[0] = 1; /* the filter keeps its own copy */
    assert_true(filter_pass(f, 442, busy));
    filter_free(f);
}

static void test_regex_and_both(void **state)
{
    long pids[] = {442, 444};
    bool sub;
    struct filter *f = make(pids, 2, "grow|idle", false, &sub);
    assert_false(sub);
    assert_true(filter_pass(f, 444, grow));
    assert_false(filter_pass(f, 442, busy)); /* listed, but does not match */
    assert_false(filter_pass(f, 443, grow)); /* matches, but not listed */
    filter_free(f);
    f = make(NULL, 0, "^python3 /tmp/grow\\.py [0-9]+ ", false, &sub);
    assert_true(filter_pass(f, 1, grow));
    assert_false(filter_pass(f, 1, busy));
    filter_free(f);
}

static void test_ignore_case(void **state)
{
    bool sub;
    struct filter *f = make(NULL, 0, "PYTHON3 .*GROW", true, &sub);
    assert_false(sub);
    assert_true(filter_pass(f, 1, grow));
    filter_free(f);
    f = make(NULL, 0, "PYTHON3 .*GROW", false, &sub);
    assert_false(filter_pass(f, 1, grow));
    filter_free(f);
    /* The substring fallback honours it too. */
    f = make(NULL, 0, "GROW.PY 200 [", true, &sub);
    assert_true(sub);
    assert_true(filter_pass(f, 1, "python3 /tmp/grow.py 200 [x"));
    filter_free(f);
}

static void test_invalid_regex_is_a_substring(void **state)
{
    bool sub;
    struct filter *f = make(NULL, 0, "train,v2.py 200 [", false, &sub);
    assert_true(sub);
    assert_false(filter_pass(f, 1, busy));
    assert_true(filter_pass(f, 1, "x train,v2.py 200 [y"));
    filter_free(f);
}

static void test_array_reserve(void **state)
{
    int *v = NULL;
    size_t cap = 0;
    assert_int_equal(array_reserve(&v, &cap, 1, sizeof *v), 0);
    assert_int_equal(cap, 16);
    v[0] = 7;
    assert_int_equal(array_reserve(&v, &cap, 17, sizeof *v), 0);
    assert_int_equal(cap, 32);
    assert_int_equal(v[0], 7); /* contents kept */
    assert_int_equal(array_reserve(&v, &cap, 5, sizeof *v), 0);
    assert_int_equal(cap, 32); /* never shrinks */
    /* need * elem past SIZE_MAX: refused, the array unchanged. */
    assert_int_equal(array_reserve(&v, &cap, SIZE_MAX / 2, sizeof *v), -EOVERFLOW);
    assert_int_equal(cap, 32);
    assert_int_equal(v[0], 7);
    free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_everything_passes_without_options),
        cmocka_unit_test(test_pids),
        cmocka_unit_test(test_regex_and_both),
        cmocka_unit_test(test_ignore_case),
        cmocka_unit_test(test_invalid_regex_is_a_substring),
        cmocka_unit_test(test_array_reserve),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
