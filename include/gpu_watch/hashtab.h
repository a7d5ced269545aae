/* The one hash table of gpu_watch: open addressing with linear probing
 * (after htop's Hashtable), keyed by an integer (a PID, a (GPU, PID) pair)
 * or by a string, holding fixed-size values inline. The load factor stays
 * at most 1/2; deletion shifts the cluster back (no tombstones). Slot order
 * depends only on the keys and the order they came in, so iterating gives
 * the same order on every run. */
#ifndef GPU_WATCH_HASHTAB_H
#define GPU_WATCH_HASHTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum hashtab_keys {
    HASHTAB_INT, /* int64_t keys: any value, 0 and negatives included */
    HASHTAB_STR, /* NUL-terminated strings, copied into the table */
};

struct hashtab;

/* The home slot of an integer key in a table of cap slots (cap a power of
 * two): Fibonacci hashing, which spreads consecutive PIDs. */
size_t hashtab_hash_int(int64_t key, size_t cap);

/* A new table of keys of the given kind and values of value_size (> 0)
 * bytes, with room for hint entries before it grows (its capacity: the
 * least power of two >= 16 and >= 2 * hint). NULL when out of memory. Free
 * with hashtab_free. */
struct hashtab *hashtab_new(enum hashtab_keys kind, size_t value_size, size_t hint);

/* Integer tables: values added from now on are passed to init(value, key)
 * after zeroing (a typed layer sets its defaults there: pidtab.c). */
void hashtab_on_add(struct hashtab *t, void (*init)(void *value, int64_t key));

/* Free the table and its copies of string keys; what the values point to
 * is the caller's (free it first, iterating with hashtab_next). NULL is a
 * no-op. */
void hashtab_free(struct hashtab *t);

/* The value of key, added zeroed if absent (*created says which; created
 * may be NULL). NULL when out of memory. The pointer stays valid until the
 * next call that adds or removes an entry, unless hashtab_reserve made room.
 * Integer tables only. */
void *hashtab_get(struct hashtab *t, int64_t key, bool *created);
/* The value of key, or NULL. Integer tables only. */
void *hashtab_find(const struct hashtab *t, int64_t key);

/* As hashtab_get and hashtab_find, for string tables (key copied on add). */
void *hashtab_get_str(struct hashtab *t, const char *key, bool *created);
void *hashtab_find_str(const struct hashtab *t, const char *key);

/* Make room for extra more entries, so that the next extra adds neither
 * fail nor move values: the pointers they return stay valid together
 * (until an entry is removed). 0 or -ENOMEM. */
int hashtab_reserve(struct hashtab *t, size_t extra);

/* Remove every entry whose value drop(value, ctx) answers true for (drop
 * may free what the value owns first); returns how many were removed. */
size_t hashtab_remove_if(struct hashtab *t, bool (*drop)(void *value, void *ctx), void *ctx);

/* Remove every entry, keeping the capacity. */
void hashtab_clear(struct hashtab *t);

size_t hashtab_count(const struct hashtab *t);

/* Iteration in slot order: start with *pos = 0; each call returns the next
 * value (and its integer key in *key, when key is not NULL and the table
 * has integer keys), NULL after the last. No entry may be added or removed
 * meanwhile. */
void *hashtab_next(const struct hashtab *t, size_t *pos, int64_t *key);

#endif
