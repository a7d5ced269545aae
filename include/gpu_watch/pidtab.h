/* The per-process table that joins the samples: hashtab.h keyed by PID
 * (after htop's Hashtable), with a generation mark per sample and a sweep
 * that drops the processes a sample did not see. */
#ifndef GPU_WATCH_PIDTAB_H
#define GPU_WATCH_PIDTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct owner; /* owner.h */

/* What the sampler keeps about one process between samples. */
struct pid_entry {
    long pid;          /* the key; > 0 */
    unsigned gen;      /* the sample that last saw it */
    char *cmd;         /* full command line, malloc'd and owned by the table; NULL: not known */
    bool cmd_final;    /* cmd came from /proc or ps and need not be read again */
    bool proc_missing; /* /proc had no command line for it: not asked again */
    signed char match; /* filter verdict: -1 not decided, 0 rejected, 1 kept */
    size_t row_first;  /* this sample's rows for the PID: [row_first, row_first + row_count) */
    size_t row_count;
    /* --host: the last reading of utime+stime (clock ticks), when it was
     * taken (monotonic seconds) and the process's start time (ticks after
     * boot, to tell a reused PID apart); ticks_ok says they are valid. */
    uint64_t ticks;
    double ticks_at;
    uint64_t starttime;
    bool ticks_ok;
    /* --host figures of this sample: CPU % of one core (< 0 unknown), RSS
     * in MiB (< 0 unknown), the CPUs its threads ran on (owned, NULL unknown). */
    double cpu_pct;
    int64_t rss_mib;
    char *cores;
    /* --who: who owns the process (malloc'd, owned by the table; NULL: not
     * read yet), and the start time it was read for (ticks after boot; 0
     * unknown), so that a reused PID is read again. */
    struct owner *who;
    uint64_t who_start;
    /* The process's start time (ticks after boot; 0 unknown), read each
     * sample from /proc: a new one is a new process with a reused PID
     * (pidtab_renew). */
    uint64_t start;
};

struct pidtab;

/* The home slot of pid in a table of cap slots (cap a power of two):
 * hashtab_hash_int, the table's hash (hashtab.h). */
size_t pidtab_hash(long pid, size_t cap);

/* A new table with room for about hint entries; NULL when out of memory.
 * Free with pidtab_free. */
struct pidtab *pidtab_new(size_t hint);
void pidtab_free(struct pidtab *t);

/* The entry for pid, created zeroed (match = -1) if absent; *created says
 * which. NULL when out of memory. The pointer stays valid until the next
 * pidtab_get or pidtab_sweep. */
struct pid_entry *pidtab_get(struct pidtab *t, long pid, bool *created);

/* Make room for extra more entries, so that the next extra pidtab_get calls
 * neither fail nor move entries: pointers they return stay valid together
 * (until pidtab_sweep). 0 or -ENOMEM. */
int pidtab_reserve(struct pidtab *t, size_t extra);

/* Forget what e says about its process (command line, verdict, owner,
 * --host readings), keeping its PID and generation: the PID now belongs to
 * another process. */
void pidtab_renew(struct pid_entry *e);

/* The entry for pid, or NULL. */
struct pid_entry *pidtab_find(const struct pidtab *t, long pid);

/* Remove every entry whose gen differs from gen (freeing cmd, cores and who); returns
 * how many were removed. */
size_t pidtab_sweep(struct pidtab *t, unsigned gen);

size_t pidtab_count(const struct pidtab *t);

#endif
