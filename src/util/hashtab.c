/* Open-addressing hash table: linear probing, load factor at most 1/2,
 * deletion by backward shift (see hashtab.h). */
#include "gpu_watch/hashtab.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A key: i in HASHTAB_INT tables, s (owned) in HASHTAB_STR ones. */
union hkey {
    int64_t i;
    char *s;
};

struct hashtab {
    enum hashtab_keys kind;
    size_t vsize;                           /* bytes per value */
    size_t cap;                             /* slots, a power of two */
    size_t count;                           /* slots in use */
    unsigned char *used;                    /* cap flags: 1 in use */
    union hkey *key;                        /* cap keys */
    unsigned char *vals;                    /* cap values of vsize bytes */
    void (*init)(void *value, int64_t key); /* NULL: values start zeroed */
};

size_t hashtab_hash_int(int64_t key, size_t cap)
{
    /* Fibonacci hashing spreads consecutive PIDs over the table. */
    uint64_t h = (uint64_t)key * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 32) & (cap - 1);
}

/* FNV-1a. */
static size_t hash_str(const char *s, size_t cap)
{
    uint64_t h = 14695981039346656037ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return (size_t)h & (cap - 1);
}

static size_t home_of(const struct hashtab *t, size_t i, size_t cap)
{
    return t->kind == HASHTAB_INT ? hashtab_hash_int(t->key[i].i, cap) : hash_str(t->key[i].s, cap);
}

static void *value_at(const struct hashtab *t, size_t i)
{
    return t->vals + i * t->vsize;
}

/* Arrays for cap slots into n (kind and vsize set); 0 or -ENOMEM. */
static int alloc_slots(struct hashtab *n, size_t cap)
{
    n->cap = cap;
    n->count = 0;
    n->used = calloc(cap, 1);
    n->vals = calloc(cap, n->vsize);
    n->key = calloc(cap, sizeof *n->key);
    if (n->used && n->vals && n->key)
        return 0;
    free(n->used);
    free(n->vals);
    free(n->key);
    return -ENOMEM;
}

struct hashtab *hashtab_new(enum hashtab_keys kind, size_t value_size, size_t hint)
{
    struct hashtab *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->kind = kind;
    t->vsize = value_size ? value_size : 1;
    size_t cap = 16;
    while (cap < hint * 2)
        cap *= 2;
    if (alloc_slots(t, cap) < 0) {
        free(t);
        return NULL;
    }
    return t;
}

void hashtab_on_add(struct hashtab *t, void (*init)(void *value, int64_t key))
{
    t->init = init;
}

void hashtab_free(struct hashtab *t)
{
    if (!t)
        return;
    if (t->kind == HASHTAB_STR)
        for (size_t i = 0; i < t->cap; i++)
            if (t->used[i])
                free(t->key[i].s);
    free(t->used);
    free(t->key);
    free(t->vals);
    free(t);
}

/* The slot of key, or the empty slot that ends its cluster. */
static size_t probe_int(const struct hashtab *t, int64_t key)
{
    size_t i = hashtab_hash_int(key, t->cap);
    while (t->used[i] && t->key[i].i != key)
        i = (i + 1) & (t->cap - 1);
    return i;
}

static size_t probe_str(const struct hashtab *t, const char *key)
{
    size_t i = hash_str(key, t->cap);
    while (t->used[i] && strcmp(t->key[i].s, key) != 0)
        i = (i + 1) & (t->cap - 1);
    return i;
}

/* Double the slots, keeping every entry (in the old slot order, so that
 * the new layout depends only on the keys and their order). */
static int grow(struct hashtab *t)
{
    struct hashtab n = {.kind = t->kind, .vsize = t->vsize, .init = t->init};
    if (alloc_slots(&n, t->cap * 2) < 0)
        return -ENOMEM;
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->used[i])
            continue;
        size_t j = home_of(t, i, n.cap);
        while (n.used[j])
            j = (j + 1) & (n.cap - 1);
        n.used[j] = 1;
        n.key[j] = t->key[i];
        memcpy(value_at(&n, j), value_at(t, i), t->vsize);
    }
    free(t->used);
    free(t->key);
    free(t->vals);
    t->used = n.used;
    t->key = n.key;
    t->vals = n.vals;
    t->cap = n.cap;
    return 0;
}

int hashtab_reserve(struct hashtab *t, size_t extra)
{
    while ((t->count + extra) * 2 > t->cap)
        if (grow(t) < 0)
            return -ENOMEM;
    return 0;
}

void *hashtab_get(struct hashtab *t, int64_t key, bool *created)
{
    size_t i = probe_int(t, key);
    if (t->used[i]) {
        if (created)
            *created = false;
        return value_at(t, i);
    }
    if ((t->count + 1) * 2 > t->cap) {
        if (grow(t) < 0)
            return NULL;
        i = probe_int(t, key);
    }
    t->used[i] = 1;
    t->key[i].i = key;
    memset(value_at(t, i), 0, t->vsize);
    if (t->init)
        t->init(value_at(t, i), key);
    t->count++;
    if (created)
        *created = true;
    return value_at(t, i);
}

void *hashtab_find(const struct hashtab *t, int64_t key)
{
    size_t i = probe_int(t, key);
    return t->used[i] ? value_at(t, i) : NULL;
}

void *hashtab_get_str(struct hashtab *t, const char *key, bool *created)
{
    size_t i = probe_str(t, key);
    if (t->used[i]) {
        if (created)
            *created = false;
        return value_at(t, i);
    }
    char *copy = strdup(key);
    if (!copy)
        return NULL;
    if ((t->count + 1) * 2 > t->cap) {
        if (grow(t) < 0) {
            free(copy);
            return NULL;
        }
        i = probe_str(t, key);
    }
    t->used[i] = 1;
    t->key[i].s = copy;
    memset(value_at(t, i), 0, t->vsize);
    t->count++;
    if (created)
        *created = true;
    return value_at(t, i);
}

void *hashtab_find_str(const struct hashtab *t, const char *key)
{
    size_t i = probe_str(t, key);
    return t->used[i] ? value_at(t, i) : NULL;
}

/* Empty slot i and shift later members of its cluster back into place. */
static void remove_at(struct hashtab *t, size_t i)
{
    const size_t mask = t->cap - 1;
    if (t->kind == HASHTAB_STR)
        free(t->key[i].s);
    size_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (!t->used[j])
            break;
        size_t home = home_of(t, j, t->cap);
        /* Move j back to i unless its home lies cyclically in (i, j]. */
        bool stays = (i <= j) ? (i < home && home <= j) : (i < home || home <= j);
        if (stays)
            continue;
        t->key[i] = t->key[j];
        memcpy(value_at(t, i), value_at(t, j), t->vsize);
        i = j;
    }
    t->used[i] = 0;
    memset(value_at(t, i), 0, t->vsize);
    t->count--;
}

size_t hashtab_remove_if(struct hashtab *t, bool (*drop)(void *value, void *ctx), void *ctx)
{
    size_t removed = 0;
    /* A backward shift can move an unvisited entry into a visited slot i,
     * so look at i again after each removal. */
    for (size_t i = 0; i < t->cap;) {
        if (t->used[i] && drop(value_at(t, i), ctx)) {
            remove_at(t, i);
            removed++;
            continue;
        }
        i++;
    }
    return removed;
}

void hashtab_clear(struct hashtab *t)
{
    if (t->kind == HASHTAB_STR)
        for (size_t i = 0; i < t->cap; i++)
            if (t->used[i])
                free(t->key[i].s);
    memset(t->used, 0, t->cap);
    t->count = 0;
}

size_t hashtab_count(const struct hashtab *t)
{
    return t->count;
}

void *hashtab_next(const struct hashtab *t, size_t *pos, int64_t *key)
{
    for (size_t i = *pos; i < t->cap; i++)
        if (t->used[i]) {
            *pos = i + 1;
            if (key && t->kind == HASHTAB_INT)
                *key = t->key[i].i;
            return value_at(t, i);
        }
    *pos = t->cap;
    return NULL;
}
