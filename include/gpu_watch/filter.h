/* The --pid / --match filter: which processes a run keeps. Pure: no /proc,
 * no nvidia-smi; the sampler caches each verdict per process. */
#ifndef GPU_WATCH_FILTER_H
#define GPU_WATCH_FILTER_H

#include <stdbool.h>
#include <stddef.h>

struct filter;

/* A filter keeping processes whose PID is in pids[0..npids) (all when
 * npids == 0) and whose command line matches match (a POSIX extended
 * regex, searched anywhere; NULL: all), case-insensitively with icase. A
 * match that does not compile is used as a plain substring and
 * *substring is set. The filter copies what it keeps. 0 with *out set (free
 * with filter_free), or -ENOMEM. */
int filter_new(const long *pids, size_t npids, const char *match, bool icase, struct filter **out,
               bool *substring);
void filter_free(struct filter *f);

/* Does the process pid with command line cmd ("" unknown) pass? */
bool filter_pass(const struct filter *f, long pid, const char *cmd);

/* Does the filter keep every process (no --pid, no --match)? */
bool filter_all(const struct filter *f);

#endif
