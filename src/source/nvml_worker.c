/* The NVML source's worker thread: every NVML call is made here, so that a
 * call stuck in the driver blocks this thread only; the poll (source_nvml.c)
 * hands a job over and waits for it until its deadline. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gpu_watch/array.h"
#include "gpu_watch/monotime.h"
#include "gpu_watch/nvml_worker.h"
#include "gpu_watch/source.h"

const char *nvml_error(const struct nvml *s, nv_ret rc)
{
    static char buf[32];
    if (rc == NV_NO_MEMORY)
        return strerror(ENOMEM);
    const char *e = s->f.error_string ? s->f.error_string(rc) : NULL;
    if (e && *e)
        return e;
    snprintf(buf, sizeof buf, "NVML error %d", rc);
    return buf;
}

/* ---- the worker: NVML calls only ---- */

/* The GPU's memory in use: v2 (used without the driver's reserved part,
 * R510+), else v1 (used with it). */
static void call_memory(struct nvml *s, struct gpu *g)
{
    struct nvml_memory_v2 m2 = {.version = NVML_MEMORY_V2_VERSION};
    atomic_store(&s->calling, "nvmlDeviceGetMemoryInfo");
    if (s->f.memory_v2 && (g->mem_rc = s->f.memory_v2(g->dev, &m2)) == NV_SUCCESS) {
        g->used = m2.used;
        g->reserved = m2.reserved;
        g->reserved_ok = true;
        return;
    }
    struct nvml_memory m = {0};
    g->mem_rc = s->f.memory(g->dev, &m);
    g->used = m.used;
    g->reserved_ok = false;
}

/* One process list (dev: a GPU or one MIG instance) appended to *buf at
 * record off; *cap in records. *n: the records the driver says it wrote
 * (more than fit: the poll calls that an impossible answer). */
static nv_ret list_procs(struct nvml *s, nv_dev dev, unsigned char **buf, size_t *cap, size_t off,
                         unsigned *n)
{
    nv_ret rc = NV_INSUFFICIENT_SIZE;
    const size_t stride = s->f.procs_stride;
    unsigned cnt = 0;
    atomic_store(&s->calling, s->f.procs_name);
    for (int t = 0; t < GROW_TRIES && rc == NV_INSUFFICIENT_SIZE; t++) {
        if (off + 1 > *cap && array_reserve(buf, cap, off + 8, stride) < 0)
            return NV_NO_MEMORY;
        cnt = (unsigned)(*cap - off);
        /* Zeroed: a driver that writes less than it claims leaves no stale
         * bytes to be read as records. */
        memset(*buf + off * stride, 0, cnt * stride);
        rc = s->f.procs(dev, &cnt, *buf + off * stride);
        /* Too small: the driver says how many there are; grow and ask again. */
        if (rc == NV_INSUFFICIENT_SIZE && array_reserve(buf, cap, off + cnt + 8, stride) < 0)
            return NV_NO_MEMORY;
    }
    *n = rc == NV_SUCCESS ? cnt : 0;
    return rc;
}

/* A GPU's process lists into *buf: the GPU's own, or on MIG each
 * instance's in turn, with (*io)[i] the instance of record i. *n records.
 * stop: a fast reading gives way to a waiting job between two lists
 * (NV_NOT_FOUND: not read). */
static nv_ret read_lists(struct nvml *s, struct gpu *g, unsigned char **buf, size_t *cap,
                         unsigned **io, size_t *iocap, unsigned *n, bool stop)
{
    *n = 0;
    if (g->ninst == 0)
        return list_procs(s, g->dev, buf, cap, 0, n);
    for (size_t k = 0; k < g->ninst; k++) {
        unsigned got = 0;
        if (stop && atomic_load(&s->want))
            return NV_NOT_FOUND;
        nv_ret rc = list_procs(s, g->inst[k].dev, buf, cap, *n, &got);
        if (rc != NV_SUCCESS) {
            *n = 0;
            return rc;
        }
        if (array_reserve(io, iocap, (size_t)*n + got, sizeof **io) < 0)
            return NV_NO_MEMORY;
        for (unsigned i = 0; i < got; i++)
            (*io)[*n + i] = (unsigned)k;
        *n += got;
        if (*n > *cap) /* impossible: left for the poll's check */
            return NV_SUCCESS;
    }
    return NV_SUCCESS;
}

static nv_ret call_procs(struct nvml *s, struct gpu *g)
{
    unsigned n = 0;
    nv_ret rc = read_lists(s, g, &g->raw, &g->raw_cap, &g->rinst, &g->rinst_cap, &n, false);
    g->nraw = n;
    return rc;
}

/* ---- --peak-rate: the dense peaks ---- */

static struct dense_peak *dense_find(struct gpu *g, uint32_t pid)
{
    for (size_t i = 0; i < g->ndp; i++)
        if (g->dp[i].pid == pid)
            return &g->dp[i];
    return NULL;
}

/* One reading (gen) of a GPU's lists (n records in raw) into its peak
 * table: each PID's memory summed over its records, the peak raised.
 * Records the poll would reject (PID 0 or past pid_max, memory unknown or
 * past the GPU's size) count for nothing. Out of memory: that PID is not
 * followed (peaks are a nicety). */
static void dense_fold(struct nvml *s, struct gpu *g, const unsigned char *raw, unsigned n,
                       size_t cap, unsigned long gen)
{
    if (n > cap || array_reserve(&g->fprocs, &g->fprocs_cap, n, sizeof *g->fprocs) < 0)
        return;
    nvml_decode_procs(raw, n, s->f.procs_stride, g->fprocs);
    for (unsigned i = 0; i < n; i++) {
        const struct nvml_proc *p = &g->fprocs[i];
        if (p->pid == 0 || (long)p->pid > s->pid_max || p->mem == NVML_NOT_AVAILABLE ||
            p->mem > g->total)
            continue;
        struct dense_peak *e = dense_find(g, p->pid);
        if (!e) {
            if (array_reserve(&g->dp, &g->dp_cap, g->ndp + 1, sizeof *g->dp) < 0)
                continue;
            e = &g->dp[g->ndp++];
            *e = (struct dense_peak){.pid = p->pid};
        }
        if (e->seen != gen) {
            e->seen = gen;
            e->cur = 0;
        }
        e->cur += p->mem;
    }
    for (size_t i = 0; i < g->ndp; i++)
        if (g->dp[i].seen == gen && g->dp[i].cur > g->dp[i].peak)
            g->dp[i].peak = g->dp[i].cur;
}

/* A row poll's list into the table; processes it no longer lists are
 * forgotten (a reused PID starts afresh); rpeak[i] gets the peak of record
 * i's PID. */
static void dense_row(struct nvml *s, struct gpu *g)
{
    g->nrpeak = 0;
    if (g->procs_rc != NV_SUCCESS || g->nraw > g->raw_cap ||
        array_reserve(&g->rpeak, &g->rpeak_cap, g->nraw, sizeof *g->rpeak) < 0)
        return;
    unsigned long gen = ++s->dense_gen;
    dense_fold(s, g, g->raw, g->nraw, g->raw_cap, gen);
    size_t k = 0;
    for (size_t i = 0; i < g->ndp; i++)
        if (g->dp[i].seen == gen)
            g->dp[k++] = g->dp[i];
    g->ndp = k;
    for (unsigned i = 0; i < g->nraw; i++) {
        const uint32_t pid = nvml_raw_pid(g->raw + (size_t)i * s->f.procs_stride);
        const struct dense_peak *e = dense_find(g, pid);
        g->rpeak[i] = e ? e->peak : NVML_NOT_AVAILABLE;
    }
    g->nrpeak = g->nraw;
}

/* One fast reading: only the process lists, every GPU, into the peak
 * tables. A job handed over meanwhile wins: the reading stops between two
 * lists (what was read still counts). A failed list is skipped: the row
 * polls report failures. */
static void job_fast(struct nvml *s)
{
    unsigned long gen = ++s->dense_gen;
    s->dense_fast++;
    for (size_t i = 0; i < s->ngpu && !atomic_load(&s->want); i++) {
        struct gpu *g = &s->g[i];
        unsigned n = 0;
        if (read_lists(s, g, &g->fraw, &g->fraw_cap, &g->finst, &g->finst_cap, &n, true) ==
            NV_SUCCESS)
            dense_fold(s, g, g->fraw, n, g->fraw_cap, gen);
    }
    atomic_store(&s->calling, NULL);
}

static nv_ret call_util(struct nvml *s, struct gpu *g)
{
    nv_ret rc = NV_NOT_SUPPORTED;
    g->nu = 0;
    if (s->f.util_info && !g->util_info_off) {
        g->usize = NVML_UTIL_INFO_SIZE;
        g->util_name = "nvmlDeviceGetProcessesUtilizationInfo";
        atomic_store(&s->calling, g->util_name);
        rc = NV_INSUFFICIENT_SIZE;
        for (int t = 0; t < GROW_TRIES && rc == NV_INSUFFICIENT_SIZE; t++) {
            struct nvml_util_info in = {NVML_UTIL_INFO_VERSION, (uint32_t)(g->uraw_cap / g->usize),
                                        g->last_seen, g->uraw};
            memset(g->uraw, 0, g->uraw_cap);
            rc = s->f.util_info(g->dev, &in);
            if (rc == NV_SUCCESS)
                g->nu = in.process_samples_count;
            else if (rc == NV_INSUFFICIENT_SIZE &&
                     array_reserve(&g->uraw, &g->uraw_cap,
                                   (size_t)in.process_samples_count * g->usize, 1) < 0)
                return NV_NO_MEMORY;
        }
        /* A driver without it, or with another version of its struct:
         * the old call from now on. */
        if (rc != NV_NOT_SUPPORTED && rc != NV_FUNCTION_NOT_FOUND &&
            rc != NV_ARGUMENT_VERSION_MISMATCH)
            return rc;
        g->util_info_off = true;
    }
    if (!s->f.util_old)
        return rc;
    g->usize = NVML_UTIL_SAMPLE_SIZE;
    g->util_name = "nvmlDeviceGetProcessUtilization";
    atomic_store(&s->calling, g->util_name);
    rc = NV_INSUFFICIENT_SIZE;
    for (int t = 0; t < GROW_TRIES && rc == NV_INSUFFICIENT_SIZE; t++) {
        unsigned cnt = (unsigned)(g->uraw_cap / g->usize);
        memset(g->uraw, 0, g->uraw_cap);
        rc = s->f.util_old(g->dev, g->uraw, &cnt, g->last_seen);
        if (rc == NV_SUCCESS)
            g->nu = cnt;
        else if (rc == NV_INSUFFICIENT_SIZE &&
                 array_reserve(&g->uraw, &g->uraw_cap, (size_t)cnt * g->usize, 1) < 0)
            return NV_NO_MEMORY;
    }
    return rc;
}

const struct pname *nvml_name_in(const struct pname *v, size_t n, uint32_t pid)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].pid == pid)
            return &v[i];
    return NULL;
}

/* The names of this GPU's listed processes into names[next]. */
static void name_procs(struct nvml *s, const struct gpu *g, int next)
{
    const int old = next ^ 1;
    for (unsigned i = 0; i < g->nraw && i < g->raw_cap; i++) {
        const uint32_t pid = nvml_raw_pid(g->raw + i * s->f.procs_stride);
        if (nvml_name_in(s->names[next], s->nnames[next], pid))
            continue;
        if (array_reserve(&s->names[next], &s->cap_names[next], s->nnames[next] + 1,
                          sizeof(struct pname)) < 0)
            return; /* names are a nicety: none rather than an error */
        struct pname *n = &s->names[next][s->nnames[next]++];
        const struct pname *known = nvml_name_in(s->names[old], s->nnames[old], pid);
        n->pid = pid;
        n->name[0] = '\0';
        if (known) {
            memcpy(n->name, known->name, sizeof n->name);
            continue;
        }
        char full[256];
        atomic_store(&s->calling, "nvmlSystemGetProcessName");
        if (s->f.pname(pid, full, sizeof full) == NV_SUCCESS) {
            full[sizeof full - 1] = '\0';
            const char *base = strrchr(full, '/');
            snprintf(n->name, sizeof n->name, "%.63s", base ? base + 1 : full);
        }
    }
}

/* --peaks: the GPU's accounting mode into g->acct. NOT_SUPPORTED (a GPU
 * without accounting) is off, not a failure; MIG forces it off, and may
 * still list stale records, so a MIG GPU is not asked. */
static void call_acct_mode(struct nvml *s, struct gpu *g)
{
    int mode = 0;
    g->acct_rc = NV_SUCCESS;
    g->acct = 0;
    if (g->mig)
        return;
    atomic_store(&s->calling, "nvmlDeviceGetAccountingMode");
    nv_ret rc = s->f.acct_mode(g->dev, &mode);
    if (rc == NV_NOT_SUPPORTED)
        return;
    g->acct_rc = rc;
    g->acct = rc == NV_SUCCESS ? mode == 1 : -1;
}

/* --peaks, accounting on: each listed process's record into g->araw, all
 * zero where the driver has none (NOT_FOUND) or fails: that row's peak is
 * unknown, the query did not fail (the record is the driver's, kept or
 * not as it likes). Peaks are a nicety: out of memory, none. */
static void call_acct_stats(struct nvml *s, struct gpu *g)
{
    g->nstats = 0;
    if (g->acct != 1 || g->procs_rc != NV_SUCCESS || g->nraw == 0 || g->nraw > g->raw_cap ||
        array_reserve(&g->araw, &g->araw_cap, g->nraw, NVML_ACCT_STATS_SIZE) < 0)
        return;
    atomic_store(&s->calling, "nvmlDeviceGetAccountingStats");
    for (unsigned i = 0; i < g->nraw; i++) {
        const uint32_t pid = nvml_raw_pid(g->raw + i * s->f.procs_stride);
        unsigned char *r = g->araw + (size_t)i * NVML_ACCT_STATS_SIZE;
        memset(r, 0, NVML_ACCT_STATS_SIZE);
        if (s->f.acct_stats(g->dev, pid, r) != NV_SUCCESS)
            memset(r, 0, NVML_ACCT_STATS_SIZE);
    }
    g->nstats = g->nraw;
}

static void job_poll(struct nvml *s)
{
    const int next = s->cur ^ 1;
    s->nnames[next] = 0;
    for (size_t i = 0; i < s->ngpu; i++) {
        struct gpu *g = &s->g[i];
        if (s->peaks && s->acct_due)
            call_acct_mode(s, g);
        g->procs_rc = call_procs(s, g);
        if (s->gpu_mem)
            call_memory(s, g);
        if (s->dense_hz)
            dense_row(s, g);
        if (s->peaks)
            call_acct_stats(s, g);
        /* Utilization only counts for listed processes: an idle GPU skips
         * the dearer call (1.8 ms on the H200). MIG has none. */
        g->util_skipped = g->mig || g->procs_rc != NV_SUCCESS || g->nraw == 0;
        g->util_rc = g->util_skipped ? NV_SUCCESS : call_util(s, g);
        if (g->procs_rc == NV_SUCCESS && s->f.pname)
            name_procs(s, g, next);
    }
    s->cur = next;
}

/* A MIG GPU's instances (compute instances, each a MIG device handle), read
 * once at the start: each has its own process list, which needs no
 * privilege (the parent's aggregate list does). A library without the MIG
 * calls, or a failure: none, the parent's list as before. */
static void find_instances(struct nvml *s, struct gpu *g)
{
    unsigned max = 0;
    if (!g->mig || !s->f.mig_max || !s->f.mig_handle || !s->f.gi_id || !s->f.ci_id)
        return;
    atomic_store(&s->calling, "nvmlDeviceGetMaxMigDeviceCount");
    if (s->f.mig_max(g->dev, &max) != NV_SUCCESS || max == 0 || max > 128 ||
        !(g->inst = calloc(max, sizeof *g->inst)))
        return;
    for (unsigned k = 0; k < max; k++) {
        struct mig_inst *m = &g->inst[g->ninst];
        /* An empty slot answers NOT_FOUND: skipped. */
        atomic_store(&s->calling, "nvmlDeviceGetMigDeviceHandleByIndex");
        if (s->f.mig_handle(g->dev, k, &m->dev) != NV_SUCCESS)
            continue;
        atomic_store(&s->calling, "nvmlDeviceGetGpuInstanceId");
        if (s->f.gi_id(m->dev, &m->gi) != NV_SUCCESS)
            continue;
        atomic_store(&s->calling, "nvmlDeviceGetComputeInstanceId");
        if (s->f.ci_id(m->dev, &m->ci) != NV_SUCCESS)
            continue;
        snprintf(m->label, sizeof m->label, "%u/%u", m->gi, m->ci);
        g->ninst++;
    }
}

static nv_ret init_step(struct nvml *s, const char *name, nv_ret rc)
{
    if (rc != NV_SUCCESS && !s->init_call)
        s->init_call = name;
    return rc;
}

/* Init once; the device handles, indices, UUIDs and sizes are kept. */
static nv_ret job_init(struct nvml *s)
{
    nv_ret rc;
    unsigned n = 0;
    atomic_store(&s->calling, "nvmlInit");
    if ((rc = init_step(s, "nvmlInit", s->f.init())) != NV_SUCCESS)
        return rc;
    atomic_store(&s->calling, "nvmlSystemGetDriverVersion");
    if (s->f.driver(s->driver, sizeof s->driver) != NV_SUCCESS)
        snprintf(s->driver, sizeof s->driver, "unknown");
    atomic_store(&s->calling, "nvmlDeviceGetCount");
    if ((rc = init_step(s, "nvmlDeviceGetCount", s->f.count(&n))) != NV_SUCCESS)
        return rc;
    if (n > 4096 || !(s->g = calloc(n ? n : 1, sizeof *s->g)))
        return NV_NO_MEMORY;
    s->ngpu = n;
    for (unsigned i = 0; i < n; i++) {
        struct gpu *g = &s->g[i];
        unsigned idx = i, cur = 0, pend = 0;
        struct nvml_memory m = {0};
        atomic_store(&s->calling, "nvmlDeviceGetHandleByIndex");
        if ((rc = init_step(s, "nvmlDeviceGetHandleByIndex", s->f.handle(i, &g->dev))) !=
            NV_SUCCESS)
            return rc;
        atomic_store(&s->calling, "nvmlDeviceGetIndex");
        if ((rc = init_step(s, "nvmlDeviceGetIndex", s->f.index(g->dev, &idx))) != NV_SUCCESS)
            return rc;
        atomic_store(&s->calling, "nvmlDeviceGetUUID");
        if ((rc = init_step(s, "nvmlDeviceGetUUID", s->f.uuid(g->dev, g->uuid, sizeof g->uuid))) !=
            NV_SUCCESS)
            return rc;
        atomic_store(&s->calling, "nvmlDeviceGetMemoryInfo");
        if ((rc = init_step(s, "nvmlDeviceGetMemoryInfo", s->f.memory(g->dev, &m))) != NV_SUCCESS)
            return rc;
        atomic_store(&s->calling, "nvmlDeviceGetMigMode");
        g->mig = s->f.mig && s->f.mig(g->dev, &cur, &pend) == NV_SUCCESS && cur == 1;
        g->index = (int)idx;
        g->total = m.total;
        find_instances(s, g);
        if (s->peaks)
            call_acct_mode(s, g);
        if (array_reserve(&g->raw, &g->raw_cap, PROCS_FIRST, s->f.procs_stride) < 0 ||
            array_reserve(&g->uraw, &g->uraw_cap, (size_t)UTIL_FIRST * NVML_UTIL_INFO_SIZE, 1) < 0)
            return NV_NO_MEMORY;
    }
    return NV_SUCCESS;
}

void *nvml_worker(void *arg)
{
    struct nvml *s = arg;
    pthread_mutex_lock(&s->mu);
    bool fast = false; /* --peak-rate, after a good init */
    for (;;) {
        while (s->job == JOB_NONE) {
            if (!fast) {
                pthread_cond_wait(&s->wake, &s->mu);
                continue;
            }
            /* Between jobs, the fast readings on their own schedule; a job
             * handed over wakes the wait and goes first. */
            double until = s->dense_next;
            struct timespec ts = {(time_t)until, (long)((until - floor(until)) * 1e9)};
            if (pthread_cond_timedwait(&s->wake, &s->mu, &ts) != ETIMEDOUT || s->job != JOB_NONE)
                continue;
            pthread_mutex_unlock(&s->mu);
            job_fast(s);
            /* Drift-free; a reading late by more than a period (a long row
             * poll, a busy machine) is skipped, not caught up in a burst. */
            double now = monotime_now();
            s->dense_next += s->dense_period;
            if (s->dense_next < now)
                s->dense_next = now + s->dense_period;
            pthread_mutex_lock(&s->mu);
        }
        enum job j = s->job;
        atomic_store(&s->want, false);
        pthread_mutex_unlock(&s->mu);
        if (j == JOB_INIT) {
            s->init_rc = job_init(s);
            fast = s->dense_hz > 0 && s->init_rc == NV_SUCCESS;
            s->dense_next = monotime_now() + s->dense_period;
        } else if (j == JOB_POLL) {
            job_poll(s);
        } else if (s->init_rc == NV_SUCCESS && s->f.shutdown) {
            atomic_store(&s->calling, "nvmlShutdown");
            s->f.shutdown();
        }
        atomic_store(&s->calling, NULL);
        pthread_mutex_lock(&s->mu);
        s->job = JOB_NONE;
        s->done = true;
        pthread_cond_signal(&s->done_cv);
        if (j == JOB_QUIT)
            break;
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* ---- the caller's side ---- */

void nvml_give(struct nvml *s, enum job j)
{
    pthread_mutex_lock(&s->mu);
    atomic_store(&s->want, true); /* a fast reading in progress stops */
    s->job = j;
    s->done = false;
    s->busy = true;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->mu);
}

/* Wait for the job handed over: 0 done, -ETIMEDOUT after limit seconds
 * (then the worker is stuck for good), -ECANCELED when *cancel is set (the
 * job is collected by the next wait). Wakes every 50 ms to look at cancel. */
int nvml_wait(struct nvml *s, double limit, const volatile sig_atomic_t *cancel)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double deadline = (double)now.tv_sec + now.tv_nsec / 1e9 + limit;
    int rc = 0;
    pthread_mutex_lock(&s->mu);
    while (!s->done) {
        if (cancel && *cancel) {
            rc = -ECANCELED;
            break;
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        double t = (double)now.tv_sec + now.tv_nsec / 1e9;
        if (t >= deadline) {
            rc = -ETIMEDOUT;
            s->stuck = true;
            source_mark_stuck(); /* the thread stays inside the library */
            break;
        }
        double until = fmin(deadline, t + 0.05);
        struct timespec ts = {(time_t)until, (long)((until - floor(until)) * 1e9)};
        pthread_cond_timedwait(&s->done_cv, &s->mu, &ts);
    }
    if (rc == 0)
        s->busy = false;
    pthread_mutex_unlock(&s->mu);
    return rc;
}
