/* The NVML source: the NVIDIA management library, loaded with dlopen (no
 * link-time dependency, no nvml.h: the few types used are declared here,
 * laid out as in ../notes: see nvml_records.h). Every NVML call runs on one
 * worker thread; a poll waits for it until the --timeout deadline, so a call
 * stuck in the driver costs one sample and a switch to nvidia-smi, never a
 * hung run. The answers are decoded, checked and filtered in
 * nvml_records.c. */
#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gpu_watch/array.h"
#include "gpu_watch/monotime.h"
#include "gpu_watch/nvml_records.h"
#include "gpu_watch/nvml_state.h"
#include "gpu_watch/nvml_worker.h"
#include "gpu_watch/source.h"

static const char lost_cols[] = "its columns stay empty until it works";
static const char lost_util[] = "the utilization columns stay empty until it works";
static const char lost_peaks[] = "peak_mem_mib stays empty until it works";

static void *sym(void *lib, const char *versioned, const char *bare, const char **found)
{
    void *p = versioned ? dlsym(lib, versioned) : NULL;
    if (p && found)
        *found = versioned;
    if (!p && bare && (p = dlsym(lib, bare)) && found)
        *found = bare;
    return p;
}

static int load(struct nvml *s, char *why, size_t whylen)
{
    if (!(s->lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL)) &&
        !(s->lib = dlopen("libnvidia-ml.so", RTLD_NOW | RTLD_LOCAL))) {
        const char *e = dlerror();
        snprintf(why, whylen, "cannot load the NVIDIA library libnvidia-ml.so.1 (%s)",
                 e ? e : "not found");
        return -ENOENT;
    }
    struct nv_fns *f = &s->f;
    /* POSIX allows this cast from void *: dlsym's contract. */
    *(void **)&f->init = sym(s->lib, "nvmlInit_v2", "nvmlInit", NULL);
    *(void **)&f->shutdown = sym(s->lib, "nvmlShutdown", NULL, NULL);
    *(void **)&f->error_string = sym(s->lib, "nvmlErrorString", NULL, NULL);
    *(void **)&f->driver = sym(s->lib, "nvmlSystemGetDriverVersion", NULL, NULL);
    *(void **)&f->count = sym(s->lib, "nvmlDeviceGetCount_v2", "nvmlDeviceGetCount", NULL);
    *(void **)&f->handle =
        sym(s->lib, "nvmlDeviceGetHandleByIndex_v2", "nvmlDeviceGetHandleByIndex", NULL);
    *(void **)&f->index = sym(s->lib, "nvmlDeviceGetIndex", NULL, NULL);
    *(void **)&f->uuid = sym(s->lib, "nvmlDeviceGetUUID", NULL, NULL);
    *(void **)&f->memory = sym(s->lib, "nvmlDeviceGetMemoryInfo", NULL, NULL);
    *(void **)&f->memory_v2 = sym(s->lib, "nvmlDeviceGetMemoryInfo_v2", NULL, NULL);
    *(void **)&f->mig = sym(s->lib, "nvmlDeviceGetMigMode", NULL, NULL);
    *(void **)&f->pname = sym(s->lib, "nvmlSystemGetProcessName", NULL, NULL);
    *(void **)&f->util_info = sym(s->lib, "nvmlDeviceGetProcessesUtilizationInfo", NULL, NULL);
    *(void **)&f->util_old = sym(s->lib, "nvmlDeviceGetProcessUtilization", NULL, NULL);
    *(void **)&f->acct_mode = sym(s->lib, "nvmlDeviceGetAccountingMode", NULL, NULL);
    *(void **)&f->acct_stats = sym(s->lib, "nvmlDeviceGetAccountingStats", NULL, NULL);
    *(void **)&f->mig_max = sym(s->lib, "nvmlDeviceGetMaxMigDeviceCount", NULL, NULL);
    *(void **)&f->mig_handle = sym(s->lib, "nvmlDeviceGetMigDeviceHandleByIndex", NULL, NULL);
    *(void **)&f->gi_id = sym(s->lib, "nvmlDeviceGetGpuInstanceId", NULL, NULL);
    *(void **)&f->ci_id = sym(s->lib, "nvmlDeviceGetComputeInstanceId", NULL, NULL);
    /* The process list: v3, then v2, then v1, each with its own record size. */
    static const struct {
        const char *name;
        size_t stride;
    } procs[] = {
        {"nvmlDeviceGetComputeRunningProcesses_v3", NVML_PROC_V2_SIZE},
        {"nvmlDeviceGetComputeRunningProcesses_v2", NVML_PROC_V2_SIZE},
        {"nvmlDeviceGetComputeRunningProcesses", NVML_PROC_V1_SIZE},
    };
    for (size_t i = 0; i < sizeof procs / sizeof procs[0] && !f->procs; i++) {
        *(void **)&f->procs = dlsym(s->lib, procs[i].name);
        f->procs_name = procs[i].name;
        f->procs_stride = procs[i].stride;
    }
    const char *missing = !f->init                         ? "nvmlInit"
                          : !f->driver                     ? "nvmlSystemGetDriverVersion"
                          : !f->count                      ? "nvmlDeviceGetCount"
                          : !f->handle                     ? "nvmlDeviceGetHandleByIndex"
                          : !f->index                      ? "nvmlDeviceGetIndex"
                          : !f->uuid                       ? "nvmlDeviceGetUUID"
                          : !f->memory                     ? "nvmlDeviceGetMemoryInfo"
                          : !f->procs                      ? "nvmlDeviceGetComputeRunningProcesses"
                          : !(f->util_info || f->util_old) ? "nvmlDeviceGetProcessUtilization"
                                                           : NULL;
    if (missing) {
        snprintf(why, whylen, "the NVIDIA library has no %s", missing);
        return -ENOSYS;
    }
    return 0;
}

/* The kernel's largest PID: a record above it cannot be a process. */
static long read_pid_max(void)
{
    long v = 4194304; /* PID_MAX_LIMIT on 64-bit: the bound when unreadable */
    FILE *f = fopen("/proc/sys/kernel/pid_max", "re");
    if (f) {
        char line[32], *end;
        if (fgets(line, sizeof line, f)) {
            long x = strtol(line, &end, 10);
            if (end != line && x > 0)
                v = x;
        }
        fclose(f);
    }
    return v;
}

static void free_state(struct nvml *s)
{
    for (size_t i = 0; i < s->ngpu; i++) {
        free(s->g[i].raw);
        free(s->g[i].uraw);
        free(s->g[i].procs);
        free(s->g[i].util);
        free(s->g[i].araw);
        free(s->g[i].inst);
        free(s->g[i].rinst);
        free(s->g[i].dp);
        free(s->g[i].fraw);
        free(s->g[i].finst);
        free(s->g[i].fprocs);
        free(s->g[i].rpeak);
    }
    free(s->g);
    free(s->names[0]);
    free(s->names[1]);
    if (s->lib)
        dlclose(s->lib);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->wake);
    pthread_cond_destroy(&s->done_cv);
    free(s);
}

/* Stop the worker (nvmlShutdown on its way out) and free everything; a
 * stuck worker, or one that does not stop in time, keeps the state and the
 * library: it may still return into them. */
static void nvml_close(void *state)
{
    struct nvml *s = state;
    if (!s)
        return;
    if (!s->stuck && s->busy)
        (void)nvml_wait(s, s->timeout, NULL);
    if (s->stuck)
        return;
    nvml_give(s, JOB_QUIT);
    if (nvml_wait(s, s->timeout, NULL) < 0)
        return;
    pthread_join(s->thread, NULL);
    free_state(s);
}

/* The worker's mutex and conditions (done_cv on the monotonic clock, for
 * nvml_wait's deadline): 0, or an errno with none left initialized. */
static int init_sync(struct nvml *s)
{
    pthread_condattr_t ca;
    int rc = pthread_condattr_init(&ca);
    if (rc != 0)
        return rc;
    if ((rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC)) == 0 &&
        (rc = pthread_mutex_init(&s->mu, NULL)) == 0) {
        /* wake: monotonic too, the --peak-rate schedule waits on it. */
        if ((rc = pthread_cond_init(&s->wake, &ca)) == 0 &&
            (rc = pthread_cond_init(&s->done_cv, &ca)) != 0)
            pthread_cond_destroy(&s->wake);
        if (rc != 0)
            pthread_mutex_destroy(&s->mu);
    }
    pthread_condattr_destroy(&ca);
    return rc;
}

static int nvml_open(const struct source_config *cfg, void **state, char *why, size_t whylen)
{
    struct nvml *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(why, whylen, "%s", strerror(ENOMEM));
        return -ENOMEM;
    }
    s->timeout = cfg->timeout;
    s->pid_max = read_pid_max();
    int rc = init_sync(s);
    if (rc != 0) {
        snprintf(why, whylen, "cannot start the NVML thread: %s", strerror(rc));
        free(s);
        return -rc;
    }
    rc = load(s, why, whylen);
    if (rc < 0) {
        free_state(s);
        return rc;
    }
    /* A library without the accounting calls: no peaks, and no error. */
    s->peaks = cfg->peaks && s->f.acct_mode && s->f.acct_stats;
    s->gpu_mem = cfg->gpu_mem;
    s->dense_hz = cfg->peak_rate;
    s->dense_period = cfg->peak_rate > 0 ? 1.0 / cfg->peak_rate : 0;
    /* The worker takes no signals: they stay with the main thread. */
    sigset_t all, old;
    sigfillset(&all);
    if ((rc = pthread_sigmask(SIG_SETMASK, &all, &old)) == 0) {
        rc = pthread_create(&s->thread, NULL, nvml_worker, s);
        /* Restoring a mask that was in force cannot fail. */
        (void)pthread_sigmask(SIG_SETMASK, &old, NULL);
    }
    if (rc != 0) {
        snprintf(why, whylen, "cannot start the NVML thread: %s", strerror(rc));
        free_state(s);
        return -rc;
    }
    /* Without persistence mode each GPU's first handle costs 1-3 s (ECC
     * scrubbing): init gets at least INIT_LIMIT seconds. */
    double limit = s->timeout > INIT_LIMIT ? s->timeout : INIT_LIMIT;
    s->acct_asked = monotime_now();
    nvml_give(s, JOB_INIT);
    if (nvml_wait(s, limit, NULL) < 0) {
        const char *c = atomic_load(&s->calling);
        snprintf(why, whylen, "NVML: %s did not return within %g s", c ? c : "initialization",
                 limit);
        pthread_detach(s->thread);
        return -ETIMEDOUT; /* s stays with the stuck thread */
    }
    if (s->init_rc != NV_SUCCESS) {
        snprintf(why, whylen, "NVML: %s failed: %s", s->init_call ? s->init_call : "initialization",
                 nvml_error(s, s->init_rc));
        rc = s->init_rc == NV_NO_MEMORY ? -ENOMEM : -EIO;
        s->init_rc = -1; /* no nvmlShutdown after a failed init */
        nvml_close(s);
        return rc;
    }
    *state = s;
    return 0;
}

static size_t nvml_gpu_count(const void *state)
{
    const struct nvml *s = state;
    return s->ngpu;
}

static int nvml_gpu_index(const void *state, size_t i)
{
    const struct nvml *s = state;
    return s->g[i].index;
}

static const char *nvml_driver(const void *state)
{
    const struct nvml *s = state;
    return s->driver;
}

static void fail(struct source_query *q, const struct nvml *s, const struct gpu *g, nv_ret rc,
                 const char *call)
{
    if (q->failed)
        return; /* the first GPU's reason is enough */
    q->failed = true;
    snprintf(q->why, sizeof q->why, "GPU %d: %s (%s)", g->index, nvml_error(s, rc), call);
}

/* GPU g's utilization samples decoded and matched with its processes, or
 * the failure recorded in qu. 0 or -ENOMEM. */
static int util_records(struct nvml *s, struct gpu *g, struct source_query *qu)
{
    if (g->util_rc == NV_SUCCESS) {
        size_t n = g->nu, cap = g->uraw_cap / g->usize;
        if (n > cap) /* a count past the buffer: only the buffer holds samples */
            n = cap;
        if (array_reserve(&g->util, &g->util_cap, n, sizeof *g->util) < 0)
            return -ENOMEM;
        nvml_decode_util(g->uraw, n, g->usize, g->util);
        nvml_filter_util(g->util, n, g->procs, g->nraw, &g->last_seen);
    } else if (g->util_rc != NV_NOT_FOUND) { /* NOT_FOUND: no new samples */
        fail(qu, s, g, g->util_rc, g->util_name);
    }
    return 0;
}

/* One GPU's answers into records. 0, -ENOMEM, or SOURCE_GIVE_UP with
 * out->gave_up set. */
static int gpu_records(struct nvml *s, struct gpu *g, struct source_poll *out,
                       struct source_query *qp, struct source_query *qu, struct source_query *qa)
{
    if (qa && g->acct_rc != NV_SUCCESS)
        fail(qa, s, g, g->acct_rc, "nvmlDeviceGetAccountingMode");
    if (g->procs_rc != NV_SUCCESS) {
        fail(qp, s, g, g->procs_rc, s->f.procs_name);
        if (g->index >= 0 && g->index < 64)
            out->unlisted |= UINT64_C(1) << g->index;
        return 0;
    }
    out->answered = true;
    char why[160];
    if (g->nraw > g->raw_cap) {
        snprintf(why, sizeof why, "%u records in a %zu-record buffer", g->nraw, g->raw_cap);
        goto bad;
    }
    if (array_reserve(&g->procs, &g->procs_cap, g->nraw, sizeof *g->procs) < 0)
        return -ENOMEM;
    nvml_decode_procs(g->raw, g->nraw, s->f.procs_stride, g->procs);
    /* Read per MIG instance: the instance's IDs, whatever the record says
     * (v1 records have none). */
    for (size_t i = 0; i < g->nraw && g->ninst; i++) {
        g->procs[i].gi = g->inst[g->rinst[i]].gi;
        g->procs[i].ci = g->inst[g->rinst[i]].ci;
    }
    if (nvml_check_procs(g->procs, g->nraw, s->pid_max, g->total, why, sizeof why) < 0)
        goto bad;
    if (!g->util_skipped && util_records(s, g, qu) < 0)
        return -ENOMEM;
    size_t first = out->n;
    for (size_t i = 0; i < g->nraw; i++) {
        const struct nvml_proc *p = &g->procs[i];
        struct source_proc *r = NULL;
        /* On MIG a process can hold memory in several instances: one row. */
        for (size_t k = first; k < out->n && !r; k++)
            if (out->v[k].pid == (long)p->pid)
                r = &out->v[k];
        int64_t mib = nvml_mib(p->mem);
        if (r) {
            r->mem_mib = r->mem_mib < 0 || mib < 0 ? GW_UNKNOWN : r->mem_mib + mib;
            continue;
        }
        if (!(r = source_push(out, g->index, (long)p->pid)))
            return -ENOMEM;
        r->uuid = g->uuid;
        const struct pname *pn = nvml_name_in(s->names[s->cur], s->nnames[s->cur], p->pid);
        if (pn)
            r->name = pn->name;
        r->mem_mib = mib;
        r->sm_pct = p->sm_pct;
        r->mem_pct = p->mem_pct;
        if (g->ninst) /* a PID in several instances: named by its first */
            r->mig = g->inst[g->rinst[i]].label;
        /* Off MIG a PID has one record per GPU, its stats at the same index. */
        if (i < g->nstats) {
            r->peak_mib = nvml_acct_peak(g->araw + i * NVML_ACCT_STATS_SIZE);
            r->acct_us = nvml_acct_start(g->araw + i * NVML_ACCT_STATS_SIZE);
        }
        /* --peak-rate: the dense peak where the driver has none. */
        if (s->dense_hz && r->peak_mib < 0 && i < g->nrpeak && g->rpeak[i] != NVML_NOT_AVAILABLE) {
            r->peak_mib = nvml_mib(g->rpeak[i]);
            r->peak_hz = s->dense_hz;
        }
    }
    return 0;
bad:
    snprintf(out->gave_up, sizeof out->gave_up,
             "driver %.40s: %.40s returned an impossible record on GPU %d (%.100s)", s->driver,
             s->f.procs_name, g->index, why);
    return SOURCE_GIVE_UP;
}

static int nvml_poll(void *state, struct source_poll *out, const volatile sig_atomic_t *cancel)
{
    struct nvml *s = state;
    int rc;
    source_poll_reset(out);
    struct source_query *qp = source_query_add(out, "nvml:procs", "NVML process list", lost_cols);
    struct source_query *qu =
        source_query_add(out, "nvml:util", "NVML process utilization", lost_util);
    struct source_query *qa =
        s->peaks ? source_query_add(out, "nvml:acct", "NVML accounting mode query", lost_peaks)
                 : NULL;
    /* A job a cancelled poll left running is collected first. Both waits
     * share the sample's deadline: --timeout bounds the sample. */
    if (s->busy && (rc = nvml_wait(s, source_time_left(out, s->timeout), cancel)) < 0)
        goto late;
    /* --peaks: the modes again once a minute, and each poll while one fails. */
    s->acct_due = false;
    for (size_t i = 0; s->peaks && i < s->ngpu; i++)
        s->acct_due = s->acct_due || s->g[i].acct_rc != NV_SUCCESS;
    if (s->peaks && (s->acct_due || monotime_now() - s->acct_asked >= ACCT_RECHECK_S)) {
        s->acct_due = true;
        s->acct_asked = monotime_now();
    }
    nvml_give(s, JOB_POLL);
    if ((rc = nvml_wait(s, source_time_left(out, s->timeout), cancel)) < 0)
        goto late;
    for (size_t i = 0; i < s->ngpu; i++)
        if ((rc = gpu_records(s, &s->g[i], out, qp, qu, qa)) != 0)
            return rc;
    for (size_t i = 0; s->gpu_mem && i < s->ngpu; i++) {
        const struct gpu *g = &s->g[i];
        bool ok = g->mem_rc == NV_SUCCESS;
        if (source_gpu_mem_add(out, g->index, ok ? (int64_t)(g->used >> 20) : GW_UNKNOWN,
                               ok && g->reserved_ok ? (int64_t)(g->reserved >> 20) : GW_UNKNOWN) <
            0)
            return -ENOMEM;
    }
    return 0;
late:
    if (rc == -ECANCELED)
        return rc;
    {
        const char *c = atomic_load(&s->calling);
        snprintf(out->gave_up, sizeof out->gave_up,
                 "driver %.40s: %.60s did not return within %g s", s->driver,
                 c ? c : "an NVML call", s->timeout);
    }
    out->n = 0;
    return SOURCE_GIVE_UP;
}

const struct source_ops source_nvml = {
    .name = "nvml",
    .title = "NVML",
    .open = nvml_open,
    .poll = nvml_poll,
    .gpu_count = nvml_gpu_count,
    .gpu_index = nvml_gpu_index,
    .driver = nvml_driver,
    .close = nvml_close,
};
