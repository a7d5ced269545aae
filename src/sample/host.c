/* --host figures from /proc: procfs reads, this module keeps the state. */
#include "gpu_watch/host.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "gpu_watch/buf.h"
#include "gpu_watch/monotime.h"
#include "gpu_watch/parse.h"
#include "gpu_watch/procfs.h"
#include "gpu_watch/procparse.h"

const struct host_fields host_unknown = {-1.0, NULL, -1};

struct host {
    const char *root;
    long hz;               /* clock ticks per second */
    double uptime;         /* s since boot, read once per sample; < 0 not yet */
    struct gw_buf scratch; /* reused by the /proc readers */
};

struct host *host_new(const char *root)
{
    struct host *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->root = root;
    h->hz = sysconf(_SC_CLK_TCK);
    h->uptime = -1;
    return h;
}

void host_free(struct host *h)
{
    if (!h)
        return;
    buf_free(&h->scratch);
    free(h);
}

void host_begin(struct host *h)
{
    h->uptime = -1;
}

int host_read(struct host *h, struct pid_entry *e, struct host_fields *out, bool *alive)
{
    struct proc_host ph;
    int rc = procfs_host(h->root, e->pid, &ph, &h->scratch);
    double now = monotime_now();
    free(e->cores);
    e->cores = NULL;
    e->cpu_pct = -1;
    e->rss_mib = -1;
    *out = host_unknown;
    *alive = rc == 0;
    if (rc == -ENOMEM)
        return rc;
    if (rc < 0) { /* gone between the GPU query and now: empty fields */
        e->ticks_ok = false;
        return 0;
    }
    e->cores = ph.cores;
    e->rss_mib = ph.rss_kb >= 0 ? (ph.rss_kb + 512) / 1024 : -1;
    if (e->ticks_ok && e->starttime == ph.starttime && now > e->ticks_at && ph.ticks >= e->ticks) {
        e->cpu_pct = 100.0 * ((double)(ph.ticks - e->ticks) / (double)h->hz) / (now - e->ticks_at);
    } else {
        if (h->uptime < 0 && procfs_uptime(h->root, &h->uptime, &h->scratch) < 0)
            h->uptime = 0;
        e->cpu_pct = procparse_pcpu_since_start(ph.ticks, ph.starttime, h->uptime, h->hz);
    }
    e->ticks = ph.ticks;
    e->ticks_at = now;
    e->starttime = ph.starttime;
    e->ticks_ok = true;
    out->cpu_pct = e->cpu_pct;
    out->cores = e->cores;
    out->rss_mib = e->rss_mib;
    return 0;
}

int64_t host_sys_used_mib(struct host *h)
{
    int64_t kb;
    return procfs_mem_used_kb(h->root, &kb, &h->scratch) == 0 ? (kb + 512) / 1024 : GW_UNKNOWN;
}
