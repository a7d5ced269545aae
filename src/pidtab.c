/* Open-addressing hash table keyed by PID: linear probing, load factor at
 * most 1/2, deletion by backward shift (no tombstones). */
#include "gpu_watch/pidtab.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct pidtab {
    struct pid_entry *slots; /* pid == 0 marks an empty slot */
    size_t cap;              /* a power of two */
    size_t count;
};

size_t pidtab_hash(long pid, size_t cap)
{
    /* Fibonacci hashing spreads consecutive PIDs over the table. */
    uint64_t h = (uint64_t)pid * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 32) & (cap - 1);
}

struct pidtab *pidtab_new(size_t hint)
{
    struct pidtab *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    size_t cap = 16;
    while (cap < hint * 2)
        cap *= 2;
    t->slots = calloc(cap, sizeof *t->slots);
    if (!t->slots) {
        free(t);
        return NULL;
    }
    t->cap = cap;
    return t;
}

void pidtab_free(struct pidtab *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->cap; i++) {
        free(t->slots[i].cmd);
        free(t->slots[i].cores);
        free(t->slots[i].who);
    }
    free(t->slots);
    free(t);
}

static struct pid_entry *probe(const struct pidtab *t, long pid)
{
    size_t i = pidtab_hash(pid, t->cap);
    while (t->slots[i].pid != 0 && t->slots[i].pid != pid)
        i = (i + 1) & (t->cap - 1);
    return &t->slots[i];
}

static int grow(struct pidtab *t)
{
    size_t ncap = t->cap * 2;
    struct pid_entry *ns = calloc(ncap, sizeof *ns);
    if (!ns)
        return -1;
    struct pidtab nt = {ns, ncap, 0};
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i].pid != 0)
            *probe(&nt, t->slots[i].pid) = t->slots[i];
    free(t->slots);
    t->slots = ns;
    t->cap = ncap;
    return 0;
}

int pidtab_reserve(struct pidtab *t, size_t extra)
{
    while ((t->count + extra) * 2 > t->cap)
        if (grow(t) < 0)
            return -ENOMEM;
    return 0;
}

struct pid_entry *pidtab_get(struct pidtab *t, long pid, bool *created)
{
    struct pid_entry *e = probe(t, pid);
    if (e->pid == pid) {
        if (created)
            *created = false;
        return e;
    }
    if ((t->count + 1) * 2 > t->cap) {
        if (grow(t) < 0)
            return NULL;
        e = probe(t, pid);
    }
    memset(e, 0, sizeof *e);
    e->pid = pid;
    e->match = -1;
    t->count++;
    if (created)
        *created = true;
    return e;
}

void pidtab_renew(struct pid_entry *e)
{
    const long pid = e->pid;
    const unsigned gen = e->gen;
    free(e->cmd);
    free(e->cores);
    free(e->who);
    memset(e, 0, sizeof *e);
    e->pid = pid;
    e->gen = gen;
    e->match = -1;
}

struct pid_entry *pidtab_find(const struct pidtab *t, long pid)
{
    if (pid <= 0)
        return NULL;
    struct pid_entry *e = probe(t, pid);
    return e->pid == pid ? e : NULL;
}

/* Empty slot i and shift later members of its cluster back into place. */
static void remove_at(struct pidtab *t, size_t i)
{
    size_t mask = t->cap - 1;
    free(t->slots[i].cmd);
    free(t->slots[i].cores);
    free(t->slots[i].who);
    t->slots[i].pid = 0;
    t->slots[i].cmd = NULL;
    t->slots[i].cores = NULL;
    t->slots[i].who = NULL;
    size_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (t->slots[j].pid == 0)
            break;
        size_t home = pidtab_hash(t->slots[j].pid, t->cap);
        /* Move j back to i unless its home lies cyclically in (i, j]. */
        bool stays = (i <= j) ? (i < home && home <= j) : (i < home || home <= j);
        if (stays)
            continue;
        t->slots[i] = t->slots[j];
        t->slots[j].pid = 0;
        t->slots[j].cmd = NULL;
        t->slots[j].cores = NULL;
        t->slots[j].who = NULL;
        i = j;
    }
    t->count--;
}

size_t pidtab_sweep(struct pidtab *t, unsigned gen)
{
    size_t removed = 0;
    /* A backward shift can move an unvisited entry into a visited slot i,
     * so look at i again after each removal. */
    for (size_t i = 0; i < t->cap;) {
        if (t->slots[i].pid != 0 && t->slots[i].gen != gen) {
            remove_at(t, i);
            removed++;
            continue;
        }
        i++;
    }
    return removed;
}

size_t pidtab_count(const struct pidtab *t)
{
    return t->count;
}
