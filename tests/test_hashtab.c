/* Unit tests of the one hash table (hashtab.h): integer and string keys,
 * growth, removal by backward shift across the end of the table, and a
 * randomised comparison with a plain array model. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_watch/hashtab.h"

struct val {
    int64_t key; /* a copy of the key, to check values move with their keys */
    double sum;
};

static void test_int_keys(void **state)
{
    struct hashtab *t = hashtab_new(HASHTAB_INT, sizeof(struct val), 0);
    assert_non_null(t);
    /* 0 and negative keys are keys like any other (PID -1: compact logs). */
    const int64_t keys[] = {0, -1, -3, 442, INT64_MAX, INT64_MIN, 1LL << 32 | 7};
    const size_t n = sizeof keys / sizeof *keys;
    for (size_t i = 0; i < n; i++) {
        assert_null(hashtab_find(t, keys[i]));
        bool created = false;
        struct val *v = hashtab_get(t, keys[i], &created);
        assert_non_null(v);
        assert_true(created);
        assert_int_equal(v->key, 0); /* zeroed */
        assert_true(v->sum == 0.0);
        v->key = keys[i];
        v->sum = (double)i;
    }
    assert_int_equal(hashtab_count(t), n);
    for (size_t i = 0; i < n; i++) {
        bool created = true;
        struct val *v = hashtab_get(t, keys[i], &created);
        assert_false(created);
        assert_ptr_equal(hashtab_find(t, keys[i]), v);
        assert_int_equal(v->key, keys[i]);
        assert_true(v->sum == (double)i);
    }
    assert_null(hashtab_find(t, 443));
    assert_null(hashtab_find(t, -2));
    hashtab_free(t);
    hashtab_free(NULL);
}

static void test_str_keys(void **state)
{
    struct hashtab *t = hashtab_new(HASHTAB_STR, sizeof(size_t), 0);
    assert_non_null(t);
    char name[32];
    for (size_t i = 0; i < 500; i++) {
        snprintf(name, sizeof name, "job%zu", i);
        bool created = false;
        size_t *v = hashtab_get_str(t, name, &created);
        assert_non_null(v);
        assert_true(created);
        *v = i;
    }
    /* The table kept its own copies: the caller's buffer is reused. */
    strcpy(name, "job7");
    size_t *v = hashtab_find_str(t, name);
    assert_non_null(v);
    assert_int_equal(*v, 7);
    name[3] = '8';
    assert_int_equal(*(size_t *)hashtab_find_str(t, name), 8);
    /* The empty string is a key (a row with no job). */
    assert_null(hashtab_find_str(t, ""));
    assert_non_null(hashtab_get_str(t, "", NULL));
    assert_non_null(hashtab_find_str(t, ""));
    assert_null(hashtab_find_str(t, "job500"));
    assert_int_equal(hashtab_count(t), 501);
    for (size_t i = 0; i < 500; i++) {
        snprintf(name, sizeof name, "job%zu", i);
        assert_int_equal(*(size_t *)hashtab_find_str(t, name), i);
    }
    hashtab_free(t); /* frees the key copies: ASan/valgrind see leaks otherwise */
}

static bool drop_odd(void *value, void *ctx)
{
    const size_t *v = value;
    (*(size_t *)ctx)++;
    return *v % 2 == 1;
}

static void test_str_remove(void **state)
{
    struct hashtab *t = hashtab_new(HASHTAB_STR, sizeof(size_t), 0);
    char name[32];
    for (size_t i = 0; i < 300; i++) {
        snprintf(name, sizeof name, "user%zu", i);
        *(size_t *)hashtab_get_str(t, name, NULL) = i;
    }
    size_t asked = 0;
    assert_int_equal(hashtab_remove_if(t, drop_odd, &asked), 150);
    assert_true(asked >= 300);
    assert_int_equal(hashtab_count(t), 150);
    for (size_t i = 0; i < 300; i++) {
        snprintf(name, sizeof name, "user%zu", i);
        const size_t *v = hashtab_find_str(t, name);
        if (i % 2) {
            assert_null(v);
        } else {
            assert_non_null(v);
            assert_int_equal(*v, i);
        }
    }
    hashtab_free(t);
}

/* Keys whose home is the last slot of a 16-slot table, so that their
 * cluster wraps to slot 0. */
static size_t keys_homed_last(int64_t *out, size_t want)
{
    size_t n = 0;
    for (int64_t k = 1; n < want; k++)
        if (hashtab_hash_int(k, 16) == 15)
            out[n++] = k;
    return n;
}

static bool drop_key(void *value, void *ctx)
{
    return ((const struct val *)value)->key == *(const int64_t *)ctx;
}

static void test_remove_wraps(void **state)
{
    int64_t k[3];
    keys_homed_last(k, 3);
    struct hashtab *t = hashtab_new(HASHTAB_INT, sizeof(struct val), 4); /* 16 slots */
    for (size_t i = 0; i < 3; i++)
        ((struct val *)hashtab_get(t, k[i], NULL))->key = k[i];
    /* Slots 15, 0, 1: removing the first shifts the others back over the end. */
    assert_int_equal(hashtab_remove_if(t, drop_key, &k[0]), 1);
    assert_null(hashtab_find(t, k[0]));
    for (size_t i = 1; i < 3; i++) {
        const struct val *v = hashtab_find(t, k[i]);
        assert_non_null(v);
        assert_int_equal(v->key, k[i]);
    }
    /* The order of iteration: slot order, the shifted entry first. */
    size_t pos = 0;
    int64_t key = 0;
    assert_non_null(hashtab_next(t, &pos, &key));
    assert_int_equal(key, k[2]);
    assert_non_null(hashtab_next(t, &pos, &key));
    assert_int_equal(key, k[1]);
    assert_null(hashtab_next(t, &pos, &key));
    hashtab_free(t);
}

/* The first key homed at slot home of a 16-slot table. */
static int64_t key_homed(size_t home)
{
    int64_t k = 1;
    while (hashtab_hash_int(k, 16) != home)
        k++;
    return k;
}

/* Slots 14, 15, 0 hold keys homed there: removing the first must leave the
 * one at slot 0 in place (its home lies past the hole, over the end). */
static void test_remove_keeps_home(void **state)
{
    const int64_t k[3] = {key_homed(14), key_homed(15), key_homed(0)};
    struct hashtab *t = hashtab_new(HASHTAB_INT, sizeof(struct val), 4);
    for (size_t i = 0; i < 3; i++)
        ((struct val *)hashtab_get(t, k[i], NULL))->key = k[i];
    assert_int_equal(hashtab_remove_if(t, drop_key, (void *)&k[0]), 1);
    for (size_t i = 1; i < 3; i++) {
        const struct val *v = hashtab_find(t, k[i]);
        assert_non_null(v);
        assert_int_equal(v->key, k[i]);
    }
    hashtab_free(t);
}

static void test_reserve_keeps_pointers(void **state)
{
    struct hashtab *t = hashtab_new(HASHTAB_INT, sizeof(struct val), 0);
    assert_int_equal(hashtab_reserve(t, 100), 0);
    struct val *v[100];
    for (int64_t i = 0; i < 100; i++) {
        v[i] = hashtab_get(t, 1000 + i, NULL);
        v[i]->key = 1000 + i;
    }
    for (int64_t i = 0; i < 100; i++) {
        assert_ptr_equal(hashtab_find(t, 1000 + i), v[i]);
        assert_int_equal(v[i]->key, 1000 + i);
    }
    hashtab_free(t);
}

/* The same keys in the same order give the same iteration order, after a
 * clear too (plot_rank's ranking depends on it among equal peaks). */
static void test_clear_same_order(void **state)
{
    struct hashtab *a = hashtab_new(HASHTAB_INT, sizeof(struct val), 32);
    struct hashtab *b = hashtab_new(HASHTAB_INT, sizeof(struct val), 32);
    for (int64_t i = 0; i < 200; i++)
        hashtab_get(b, 7 * i + 3, NULL);
    hashtab_clear(b);
    assert_int_equal(hashtab_count(b), 0);
    assert_null(hashtab_find(b, 3));
    size_t pos = 0;
    assert_null(hashtab_next(b, &pos, NULL));
    /* b kept its 512 slots: grow a to as many first. */
    assert_int_equal(hashtab_reserve(a, 200), 0);
    for (int64_t i = 0; i < 50; i++) {
        hashtab_get(a, 11 * i, NULL);
        hashtab_get(b, 11 * i, NULL);
    }
    size_t pa = 0, pb = 0;
    int64_t ka, kb;
    size_t seen = 0;
    while (hashtab_next(a, &pa, &ka)) {
        assert_non_null(hashtab_next(b, &pb, &kb));
        assert_int_equal(ka, kb);
        seen++;
    }
    assert_null(hashtab_next(b, &pb, &kb));
    assert_int_equal(seen, 50);
    hashtab_free(a);
    hashtab_free(b);
}

static void init_val(void *value, int64_t key)
{
    struct val *v = value;
    v->key = key;
    v->sum = -0.5;
}

/* hashtab_on_add: new values get their defaults, kept through growth;
 * values found again are not reset. */
static void test_on_add(void **state)
{
    struct hashtab *t = hashtab_new(HASHTAB_INT, sizeof(struct val), 0);
    hashtab_on_add(t, init_val);
    for (int64_t k = -50; k < 50; k++) {
        struct val *v = hashtab_get(t, k, NULL);
        assert_int_equal(v->key, k);
        assert_true(v->sum == -0.5);
        v->sum = (double)k;
    }
    for (int64_t k = -50; k < 50; k++) {
        const struct val *v = hashtab_get(t, k, NULL);
        assert_int_equal(v->key, k);
        assert_true(v->sum == (double)k);
    }
    hashtab_free(t);
}

static bool drop_marked(void *value, void *ctx)
{
    (void)ctx;
    return ((const struct val *)value)->sum < 0;
}

/* Random adds and removals against an array indexed by key. */
static void test_random_model(void **state)
{
    enum { KEYS = 4096 };
    static signed char model[KEYS]; /* 1: in the table */
    memset(model, 0, sizeof model);
    struct hashtab *t = hashtab_new(HASHTAB_INT, sizeof(struct val), 0);
    unsigned seed = 12345;
    for (int round = 0; round < 40; round++) {
        for (int i = 0; i < 300; i++) {
            seed = seed * 1103515245u + 12345u;
            int64_t k = (int64_t)((seed >> 8) % KEYS);
            bool created;
            struct val *v = hashtab_get(t, k - KEYS / 2, &created);
            assert_non_null(v);
            assert_int_equal(created, !model[k]);
            v->key = k - KEYS / 2;
            v->sum = 1;
            model[k] = 1;
        }
        /* Mark about a third for removal. */
        size_t pos = 0, n = 0;
        struct val *v;
        while ((v = hashtab_next(t, &pos, NULL))) {
            n++;
            seed = seed * 1103515245u + 12345u;
            if ((seed >> 8) % 3 == 0) {
                v->sum = -1;
                model[v->key + KEYS / 2] = 0;
            }
        }
        assert_int_equal(n, hashtab_count(t));
        hashtab_remove_if(t, drop_marked, NULL);
        size_t want = 0;
        for (int64_t k = 0; k < KEYS; k++) {
            const struct val *f = hashtab_find(t, k - KEYS / 2);
            want += model[k] != 0;
            if (model[k]) {
                assert_non_null(f);
                assert_int_equal(f->key, k - KEYS / 2);
            } else {
                assert_null(f);
            }
        }
        assert_int_equal(hashtab_count(t), want);
    }
    hashtab_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_int_keys),          cmocka_unit_test(test_str_keys),
        cmocka_unit_test(test_str_remove),        cmocka_unit_test(test_remove_wraps),
        cmocka_unit_test(test_remove_keeps_home), cmocka_unit_test(test_reserve_keeps_pointers),
        cmocka_unit_test(test_clear_same_order),  cmocka_unit_test(test_on_add),
        cmocka_unit_test(test_random_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
