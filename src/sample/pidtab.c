/* The PID table: a typed layer over hashtab.h (integer keys, struct
 * pid_entry values), which frees what the entries own. */
#include "gpu_watch/pidtab.h"

#include <stdlib.h>
#include <string.h>

#include "gpu_watch/hashtab.h"

struct pidtab {
    struct hashtab *h; /* PID -> struct pid_entry */
};

size_t pidtab_hash(long pid, size_t cap)
{
    return hashtab_hash_int(pid, cap);
}

/* A new entry: zeroed by the table, then its PID and no verdict yet. */
static void entry_init(void *value, int64_t key)
{
    struct pid_entry *e = value;
    e->pid = (long)key;
    e->match = -1;
}

struct pidtab *pidtab_new(size_t hint)
{
    struct pidtab *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->h = hashtab_new(HASHTAB_INT, sizeof(struct pid_entry), hint);
    if (!t->h) {
        free(t);
        return NULL;
    }
    hashtab_on_add(t->h, entry_init);
    return t;
}

/* Free what e owns. */
static void entry_clear(struct pid_entry *e)
{
    free(e->cmd);
    free(e->cores);
    free(e->who);
}

void pidtab_free(struct pidtab *t)
{
    if (!t)
        return;
    size_t pos = 0;
    struct pid_entry *e;
    while ((e = hashtab_next(t->h, &pos, NULL)))
        entry_clear(e);
    hashtab_free(t->h);
    free(t);
}

int pidtab_reserve(struct pidtab *t, size_t extra)
{
    return hashtab_reserve(t->h, extra);
}

struct pid_entry *pidtab_get(struct pidtab *t, long pid, bool *created)
{
    return hashtab_get(t->h, pid, created);
}

void pidtab_renew(struct pid_entry *e)
{
    const long pid = e->pid;
    const unsigned gen = e->gen;
    entry_clear(e);
    memset(e, 0, sizeof *e);
    e->pid = pid;
    e->gen = gen;
    e->match = -1;
}

struct pid_entry *pidtab_find(const struct pidtab *t, long pid)
{
    if (pid <= 0)
        return NULL;
    return hashtab_find(t->h, pid);
}

/* hashtab_remove_if's test: the entries of other samples go, freed. */
static bool stale(void *value, void *ctx)
{
    struct pid_entry *e = value;
    if (e->gen == *(const unsigned *)ctx)
        return false;
    entry_clear(e);
    return true;
}

size_t pidtab_sweep(struct pidtab *t, unsigned gen)
{
    return hashtab_remove_if(t->h, stale, &gen);
}

size_t pidtab_count(const struct pidtab *t)
{
    return hashtab_count(t->h);
}
