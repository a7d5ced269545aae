/* --prom-textfile: one sample (sampler.h) to the plain structs of prom.h,
 * with the query history that outlives a sample. */
#include "gpu_watch/promfile.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gpu_watch/array.h"
#include "gpu_watch/atomicio.h"
#include "gpu_watch/buf.h"
#include "gpu_watch/prom.h"
#include "gpu_watch/safefile.h"

/* One query ever made: its key, last outcome and failures since start. */
struct qhist {
    char key[32];
    bool ok;
    uint64_t failures;
};

struct promfile {
    struct promfile_opts o;
    struct gw_buf text;
    struct prom_proc *procs;
    size_t cap_procs;
    struct prom_gpu_mem *gmem; /* the sample's unattributed memory per GPU */
    size_t cap_gmem;
    struct qhist hist[SAMPLE_MAX_QUERIES * 2];
    struct prom_query q[SAMPLE_MAX_QUERIES * 2];
    size_t nq;
    struct safefile_lock lock;         /* "<path>.lock", from promfile_open */
    const volatile sig_atomic_t *stop; /* a write to a stalled FIFO gives up */
};

struct promfile *promfile_new(const struct promfile_opts *o)
{
    struct promfile *pf = calloc(1, sizeof *pf);
    if (pf) {
        pf->o = *o;
        pf->lock = (struct safefile_lock){.fd = -1, .dirfd = -1};
    }
    return pf;
}

int promfile_open(struct promfile *pf, const volatile sig_atomic_t *stop)
{
    struct safefile_path r;
    pf->stop = stop;
    int rc = safefile_resolve(pf->o.path, &r);
    if (rc == 0)
        rc = safefile_check(&r);
    if (rc == 0 && !r.exists && r.via_link)
        rc = -SAFEFILE_EDANGLING;
    /* One gpu_watch per text file: two would flip the metrics between
     * their views, and the first to end would remove the other's file. A
     * FIFO or device (written in place) has nothing to remove. */
    if (rc == 0 && !r.magic && (!r.exists || S_ISREG(r.st.st_mode)))
        rc = safefile_lock(&r, PROMFILE_LOCK_WAIT_S, stop, &pf->lock);
    safefile_path_close(&r);
    return rc;
}

/* Record this sample's queries; a query not made this time keeps its last
 * state (its series must not vanish and come back). */
static void note_queries(struct promfile *pf, const struct sample *smp)
{
    for (size_t i = 0; i < smp->nq; i++) {
        const struct source_query *sq = &smp->q[i];
        size_t j = 0;
        while (j < pf->nq && strcmp(pf->hist[j].key, sq->key) != 0)
            j++;
        if (j == pf->nq) {
            if (pf->nq == sizeof pf->hist / sizeof pf->hist[0])
                continue; /* more keys than any source has: ignored */
            snprintf(pf->hist[j].key, sizeof pf->hist[j].key, "%s", sq->key);
            pf->nq++;
        }
        pf->hist[j].ok = !sq->failed;
        pf->hist[j].failures += sq->failed;
    }
    for (size_t j = 0; j < pf->nq; j++)
        pf->q[j] = (struct prom_query){pf->hist[j].key, pf->hist[j].ok, pf->hist[j].failures};
}

int promfile_write(struct promfile *pf, const struct sample *smp, double wall, double duration,
                   const int *gpus, size_t ngpus)
{
    if (array_reserve(&pf->procs, &pf->cap_procs, smp->n, sizeof *pf->procs) < 0)
        return -ENOMEM;
    for (size_t i = 0; i < smp->n; i++) {
        const struct sample_row *r = &smp->rows[i];
        const struct owner *w = r->who;
        pf->procs[i] = (struct prom_proc){
            .gpu = r->gpu,
            .gpu_uuid = r->uuid,
            .pid = r->pid,
            .mem_mib = r->mem_mib,
            .sm_pct = r->sm_pct,
            .mem_pct = r->mem_pct,
            .peak_mib = r->peak_hz > 0 ? GW_UNKNOWN : r->peak_mib, /* the driver's only */
            .cpu_pct = r->host.cpu_pct,
            .rss_mib = r->host.rss_mib,
            .cmd = r->cmd,
            .user = w ? w->user : NULL,
            .job_id = w ? w->job_id : NULL,
            .container = w ? w->container : NULL,
        };
    }
    note_queries(pf, smp);
    struct prom_sample ps = {
        .procs = pf->procs,
        .n = smp->n,
        .listed = smp->answered,
        .unlisted = smp->unlisted,
        .gpus = gpus,
        .ngpus = ngpus,
        .q = pf->q,
        .nq = pf->nq,
        .time = wall,
        .duration = duration,
        .host = pf->o.host,
        .peaks = pf->o.peaks,
        .who = smp->who,
        .command = pf->o.command,
        .version = pf->o.version,
        .source = smp->source,
        .ngmem = smp->ngmem,
    };
    if (smp->ngmem && array_reserve(&pf->gmem, &pf->cap_gmem, smp->ngmem, sizeof *pf->gmem) < 0)
        return -ENOMEM;
    for (size_t i = 0; i < smp->ngmem; i++)
        pf->gmem[i] = (struct prom_gpu_mem){smp->gmem[i].gpu, smp->gmem[i].unattributed_mib};
    ps.gmem = pf->gmem;
    buf_clear(&pf->text);
    int rc = prom_format(&ps, &pf->text);
    if (rc < 0)
        return rc;
    /* A name node_exporter skips for the temporary file (not *.prom); 0644
     * for a new file (node_exporter runs as another user); no fsync: it is
     * rewritten every sample. */
    return atomicio_replace_stop(pf->o.path, pf->text.p, pf->text.len, 0644, false, pf->stop);
}

int promfile_close(struct promfile *pf)
{
    if (!pf)
        return 0;
    int rc = 0;
    struct safefile_path r;
    /* Only our own regular file: not a device, nor what another user put at
     * the name in a shared directory (safefile_check). */
    if (pf->lock.fd >= 0 && safefile_resolve(pf->o.path, &r) == 0) {
        if (r.exists && !r.magic && S_ISREG(r.st.st_mode) && safefile_check(&r) == 0 &&
            unlinkat(r.dirfd, r.name, 0) < 0 && errno != ENOENT)
            rc = -errno;
        safefile_path_close(&r);
    }
    safefile_unlock(&pf->lock);
    buf_free(&pf->text);
    free(pf->procs);
    free(pf->gmem);
    free(pf);
    return rc;
}
