/* Command lines of the processes of a sample: /proc first (kept for the
 * life of the PID), then one batched ps call when /proc is missing, then the
 * driver's short name. A PID that /proc does not show (another PID
 * namespace) is not looked up there again until it leaves. */
#ifndef GPU_WATCH_CMDLINE_H
#define GPU_WATCH_CMDLINE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "gpu_watch/pidtab.h"
#include "gpu_watch/source.h"

struct cmdline;

/* A resolver reading root ("/proc" or a fixture tree), with ps (the
 * program; NULL: never) bounded by timeout seconds. NULL when out of memory. */
struct cmdline *cmdline_new(const char *root, const char *ps, double timeout);
void cmdline_free(struct cmdline *c);

/* With foreign, the driver's PIDs are not ours (gpu_watch in a child PID
 * namespace, a driver that gives host PIDs): neither /proc nor ps is asked,
 * as the same number there is another process; the driver's name only. */
void cmdline_set_foreign(struct cmdline *c, bool foreign);

/* Give each of ents[0..n) (distinct processes, sorted by PID) a command
 * line in its cmd, if it has no final one yet; names[i] is the driver's
 * short name of ents[i] ("" none). When ps had to run, its status is added
 * to q and *spawned counted. 0, -ENOMEM, or -ECANCELED when *cancel became
 * non-zero while ps ran. */
int cmdline_resolve(struct cmdline *c, struct pid_entry *const *ents, const char *const *names,
                    size_t n, struct source_poll *q, const volatile sig_atomic_t *cancel);

#endif
