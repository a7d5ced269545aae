/* The table of sample sources and the helpers every source uses to fill a
 * poll. A new source adds one line to sources[]. */
#include "gpu_watch/source.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "gpu_watch/array.h"
#include "gpu_watch/monotime.h"

static const struct source_ops *const sources[] = {
    &source_smi,
    &source_nvml,
};
#define NSOURCES (sizeof sources / sizeof(const struct source_ops *))

/* Set from the thread that gave up on the stuck one; read at exit. */
static atomic_bool left_stuck;

void source_mark_stuck(void)
{
    atomic_store(&left_stuck, true);
}

bool source_left_stuck(void)
{
    return atomic_load(&left_stuck);
}

int source_proc_cmp(const void *a, const void *b)
{
    const struct source_proc *x = a, *y = b;
    if (x->pid != y->pid)
        return x->pid < y->pid ? -1 : 1;
    return (x->gpu > y->gpu) - (x->gpu < y->gpu);
}

const struct source_ops *source_find(const char *name)
{
    for (size_t i = 0; i < NSOURCES; i++)
        if (strcmp(sources[i]->name, name) == 0)
            return sources[i];
    return NULL;
}

const char *source_names(void)
{
    static char names[64];
    if (!names[0]) {
        size_t len = 0;
        for (size_t i = 0; i < NSOURCES && len < sizeof names; i++)
            len += (size_t)snprintf(names + len, sizeof names - len, "%s%s", i ? "|" : "",
                                    sources[i]->name);
    }
    return names;
}

double source_time_left(const struct source_poll *p, double timeout)
{
    if (p->deadline <= 0)
        return timeout;
    double left = p->deadline - monotime_now();
    return left <= 0 ? 0 : left < timeout ? left : timeout;
}

void source_poll_reset(struct source_poll *out)
{
    out->n = 0;
    out->nq = 0;
    out->spawned = 0;
    out->answered = false;
    out->unlisted = 0;
    out->gave_up[0] = '\0';
    out->ngm = 0;
}

int source_gpu_mem_add(struct source_poll *out, int gpu, int64_t used_mib, int64_t reserved_mib)
{
    if (array_reserve(&out->gm, &out->capgm, out->ngm + 1, sizeof *out->gm) < 0)
        return -ENOMEM;
    out->gm[out->ngm++] = (struct source_gpu_mem){gpu, used_mib, reserved_mib};
    return 0;
}

struct source_proc *source_push(struct source_poll *out, int gpu, long pid)
{
    if (array_reserve(&out->v, &out->cap, out->n + 1, sizeof *out->v) < 0)
        return NULL;
    struct source_proc *p = &out->v[out->n++];
    p->gpu = gpu;
    p->pid = pid;
    p->mem_mib = GW_UNKNOWN;
    p->sm_pct = GW_UNKNOWN;
    p->mem_pct = GW_UNKNOWN;
    p->peak_mib = GW_UNKNOWN;
    p->peak_hz = 0;
    p->acct_us = 0;
    p->mig = "";
    p->uuid = "";
    p->name = "";
    return p;
}

struct source_query *source_query_add(struct source_poll *out, const char *key, const char *what,
                                      const char *lost)
{
    static struct source_query spare; /* past SOURCE_MAX_QUERIES: written, never reported */
    struct source_query *q = out->nq < SOURCE_MAX_QUERIES ? &out->q[out->nq++] : &spare;
    q->key = key;
    q->what = what;
    q->lost = lost;
    q->failed = false;
    q->why[0] = '\0';
    return q;
}
