/* The true peaks of a watched command's processes: see truepeak.h. */
#include "gpu_watch/truepeak.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gpu_watch/array.h"
#include "gpu_watch/peaks.h"
#include "gpu_watch/pidns.h"
#include "gpu_watch/procfs.h"
#include "gpu_watch/proctree.h"

void truepeak_init(struct truepeak *t, const char *proc_root)
{
    memset(t, 0, sizeof *t);
    t->proc_root = proc_root;
    t->hz = sysconf(_SC_CLK_TCK);
    if (t->hz <= 0)
        t->hz = 100;
}

void truepeak_free(struct truepeak *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->v[i].cmd);
    free(t->v);
    free(t->before);
    memset(t, 0, sizeof *t);
}

int truepeak_set_before(struct truepeak *t, const struct acct_list *recs)
{
    t->nbefore = 0;
    for (size_t i = 0; i < recs->n; i++) {
        if (recs->v[i].time_ms <= 0)
            continue; /* running then: it may be one of ours later */
        if (array_reserve(&t->before, &t->nbefore_cap, t->nbefore + 1, sizeof *t->before) < 0)
            return -ENOMEM;
        t->before[t->nbefore++] = recs->v[i];
    }
    return 0;
}

/* The process of a row: same PID and GPU, and the same start time when
 * both are known (a reused PID is another process, with its own record). */
static struct truepeak_proc *find(struct truepeak *t, long pid, int gpu, uint64_t start)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->v[i].pid == pid && t->v[i].gpu == gpu &&
            (!start || !t->v[i].start_ok || t->v[i].start == start))
            return &t->v[i];
    return NULL;
}

int truepeak_add_sample(struct truepeak *t, const struct sample *smp)
{
    for (size_t i = 0; i < smp->n; i++) {
        const struct sample_row *r = &smp->rows[i];
        struct truepeak_proc *p = find(t, r->pid, r->gpu, r->start);
        if (!p) {
            if (array_reserve(&t->v, &t->cap, t->n + 1, sizeof *t->v) < 0)
                return -ENOMEM;
            p = &t->v[t->n];
            memset(p, 0, sizeof *p);
            p->pid = r->pid;
            p->gpu = r->gpu;
            p->sampled_mib = GW_UNKNOWN;
            p->driver_mib = GW_UNKNOWN;
            if (!(p->cmd = strdup(r->cmd ? r->cmd : "")))
                return -ENOMEM;
            struct proc_stat st;
            if (r->start) {
                p->start = r->start;
                p->start_ok = true;
            } else if (proctree_read_stat(t->proc_root, r->pid, &st) == 0) {
                p->start = st.starttime;
                p->start_ok = true;
            }
            bool child = false;
            p->in_pidns = pidns_of(t->proc_root, r->pid, &child) == 0 && child;
            t->n++;
        }
        if (!p->uuid[0] && r->uuid && r->uuid[0])
            snprintf(p->uuid, sizeof p->uuid, "%s", r->uuid);
        if (r->mem_mib > p->sampled_mib)
            p->sampled_mib = r->mem_mib;
    }
    return 0;
}

static const struct gpu_entry *gpu_for(const struct gpu_list *g, const struct truepeak_proc *p)
{
    for (size_t i = 0; i < g->n; i++)
        if (p->uuid[0] ? strcmp(g->v[i].uuid, p->uuid) == 0 : g->v[i].index == p->gpu)
            return &g->v[i];
    return NULL;
}

void truepeak_finish(struct truepeak *t, const struct smi_acct *after)
{
    struct gw_buf scratch = {0};
    double uptime = -1;
    if (procfs_uptime(t->proc_root, &uptime, &scratch) < 0)
        uptime = -1;
    buf_free(&scratch);
    for (size_t i = 0; i < t->n; i++) {
        struct truepeak_proc *p = &t->v[i];
        const struct gpu_entry *g = gpu_for(&after->gpus, p);
        p->driver_mib = GW_UNKNOWN;
        if (!g || g->acct != 1)
            continue;
        struct proc_stat st;
        bool alive = p->start_ok && proctree_read_stat(t->proc_root, p->pid, &st) == 0 &&
                     st.starttime == p->start && st.state != 'Z';
        /* Both times in ms since boot: only the life they span matters. */
        struct peak_query q = {
            .uuid = g->uuid,
            .pid = p->pid,
            .alive = alive,
            .start_ms = p->start_ok ? (int64_t)(p->start * 1000 / (uint64_t)t->hz) : -1,
            .end_ms = uptime >= 0 ? (int64_t)(uptime * 1000.0) : -1,
            .before = t->before,
            .nbefore = t->nbefore,
        };
        p->driver_mib = peaks_find(after->recs.v, after->recs.n, &q);
    }
}

/* "9826 MiB", or "-" when unknown, right-aligned in 11 columns. */
static void mib(char *dst, size_t len, int64_t v)
{
    if (v < 0)
        snprintf(dst, len, "%11s", "-");
    else
        snprintf(dst, len, "%7lld MiB", (long long)v);
}

bool truepeak_acct_on(const struct smi_acct *a)
{
    for (size_t i = 0; i < a->gpus.n; i++)
        if (a->gpus.v[i].acct == 1)
            return true;
    return false;
}

int truepeak_hint(struct gw_buf *b)
{
    return buf_puts(b, "True peaks: the driver's accounting is off, so the peaks above are the "
                       "highest samples (lower bounds). An administrator turns it on with "
                       "`sudo nvidia-smi -pm 1; sudo nvidia-smi -am 1` (until the driver is "
                       "unloaded).\n");
}

int truepeak_format(const struct truepeak *t, const struct smi_acct *after, struct gw_buf *b)
{
    int rc = 0;
    if (!truepeak_acct_on(after))
        return truepeak_hint(b);
    rc = buf_puts(b, "True peaks from the driver's accounting, read after the command ended:\n"
                     "    PID GPU   TRUE PEAK  FROM     SAMPLED PEAK  COMMAND\n");
    for (int pass = 0; !rc && pass < 2; pass++) {
        /* Per GPU, in index order: its processes, then the sum of their
         * true peaks (an upper bound of what they held at once). */
        for (size_t gi = 0; !rc && gi < after->gpus.n; gi++) {
            const struct gpu_entry *g = &after->gpus.v[gi];
            int64_t sum = 0;
            size_t nproc = 0;
            for (size_t i = 0; !rc && i < t->n; i++) {
                const struct truepeak_proc *p = &t->v[i];
                if (gpu_for(&after->gpus, p) != g)
                    continue;
                int64_t best = p->driver_mib > p->sampled_mib ? p->driver_mib : p->sampled_mib;
                const char *from =
                    p->driver_mib >= 0 && p->driver_mib >= p->sampled_mib ? "driver" : "sampled";
                nproc++;
                sum += best > 0 ? best : 0;
                char tb[24], sb[24];
                mib(tb, sizeof tb, best);
                mib(sb, sizeof sb, p->sampled_mib);
                if (pass == 0)
                    rc = buf_printf(b, "%7ld %-3d %s  %-7s  %s   %s%s\n", p->pid, g->index, tb,
                                    best < 0 ? "" : from, sb, p->cmd,
                                    p->driver_mib < 0 && p->in_pidns
                                        ? "  [driver peak unknown (process in a PID namespace)]"
                                        : "");
            }
            if (!rc && pass == 1 && nproc)
                rc = buf_printf(b, "  total %-3d %7lld MiB  the sum of its processes' peaks%s\n",
                                g->index, (long long)sum,
                                g->acct == 1 ? "" : ": accounting off on this GPU");
        }
    }
    return rc;
}
