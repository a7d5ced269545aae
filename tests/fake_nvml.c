/* A fake libnvidia-ml.so.1 for the tests and the benchmark: the NVML calls
 * the NVML source makes, answered from a scenario file named by
 * FAKE_NVML_SCENARIO (tests/fixtures/nvml/), one directive a line:
 *
 *   driver VERSION                      what nvmlSystemGetDriverVersion says
 *   gpu INDEX UUID TOTAL_MIB [mig]      one GPU, in handle order
 *   proc GPU PID MEM_MIB|na SM|- MEM|- [GI CI]
 *                                       a compute process on the GPU of that
 *                                       index; "na": NVML_VALUE_NOT_AVAILABLE;
 *                                       SM "-": no utilization sample (idle)
 *   spike PID X_MIB W_MS P_MS           PID's memory grows by X MiB for W ms
 *                                       of every P ms of the wall clock
 *                                       (CLOCK_REALTIME ms modulo P < W), on
 *                                       every record of PID
 *   inst GPU GI CI                      a MIG instance of the (mig) GPU of that
 *                                       index, in handle order: its own process
 *                                       list holds the GPU's proc lines with
 *                                       these GI CI; without inst lines a MIG
 *                                       GPU has no instance handles
 *   name PID PATH                       what nvmlSystemGetProcessName says
 *                                       (default "/usr/bin/python3")
 *   used GPU MIB RESERVED_MIB           the memory in use (without the reserved
 *                                       part) nvmlDeviceGetMemoryInfo_v2 gives;
 *                                       v1's used is their sum (default: half
 *                                       the total in use, none reserved)
 *   acct GPU on|off|unsupported         nvmlDeviceGetAccountingMode of the GPU
 *                                       of that index (default off)
 *   stats GPU PID MAX_MIB|na RUNNING    nvmlDeviceGetAccountingStats's record
 *                                       of PID (the last line of a PID wins;
 *                                       none: NOT_FOUND); RUNNING 0 a finished
 *                                       record (time 4000 ms), 1 running;
 *                                       answered whatever the mode, as the
 *                                       driver keeps records after it is off;
 *                                       optional START_S: its startTime, s
 *                                       since the epoch (default 1764000000)
 *   minor GPU N                         nvmlDeviceGetMinorNumber of the GPU
 *                                       of that index (default the index);
 *                                       nvmlDeviceGetAccountingPids lists the
 *                                       GPU's stats PIDs, the buffer size is 4000
 *   fault NAME [N]                      init_mismatch (nvmlInit answers 18,
 *                                       "Driver/library version mismatch"),
 *                                       v1_stride (the v2/v3 calls write
 *                                       16-byte records), insufficient_first
 *                                       (each GPU's first process-list and
 *                                       utilization calls answer
 *                                       INSUFFICIENT_SIZE), util_not_found,
 *                                       util_info_not_supported, hang N (the
 *                                       Nth process-list call on the first GPU
 *                                       never returns), slow N MS (the Nth
 *                                       process-list call on the first GPU
 *                                       takes MS ms more), procs_error N [M]
 *                                       (calls N to M, or N on, of the first
 *                                       GPU's process list answer UNKNOWN, 999),
 *                                       acct_mode_error N [M] (calls N to M,
 *                                       or N on, of the first GPU's
 *                                       accounting mode answer UNKNOWN, 999)
 *
 * A hung call holds the library's lock, which the library's destructor
 * (run by exit()) takes, as a driver's library may: a process that calls
 * exit() with a thread stuck inside hangs (issue 18), so the tests must
 * leave with _exit then.
 *
 * With FAKE_NVML_RELOAD set the proc lines are read again at each
 * process-list call of the first GPU.
 *
 * Built three times (Makefile): with every symbol; -DFAKE_NO_V3 (a driver
 * before 535: no _v3, no nvmlDeviceGetProcessesUtilizationInfo); and
 * -DFAKE_V1_ONLY (no suffixed symbol at all, and no accounting calls: a
 * library without them must leave the peaks empty, with no error).
 *
 * Memory (and an accounting peak) is answered as MiB * 2^20 + 12345 bytes: a reader must round
 * down, as nvidia-smi shows it. Utilization answers mimic the driver: the count is the buffer's
 * size (72 at least), the unused entries are garbage (PID 0), with stale, older and out-of-range
 * samples around the real ones. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "gpu_watch/nvml_records.h"

#define MAX_GPUS  64
#define MAX_PROCS 4096

struct fproc {
    int gpu; /* index into gpus[] */
    unsigned pid;
    unsigned long long mem;
    int sm, mem_pct; /* -1: no sample */
    unsigned gi, ci;
};

struct fspike {
    unsigned pid;
    unsigned long long x; /* bytes */
    long w_ms, p_ms;
};
static struct fspike spikes[16];
static int nspikes;

struct finst {
    int gpu; /* index into gpus[] */
    unsigned gi, ci;
};
#define INST_BASE 0x10000u /* instance k's handle: INST_BASE + k */
static struct finst insts[64];
static int ninst;

struct fname {
    unsigned pid;
    char path[128];
};
static struct fname names[64];
static int nnames;

struct fstats {
    int gpu; /* index into gpus[] */
    unsigned pid;
    unsigned long long max; /* bytes */
    unsigned running;
    unsigned long long start_us; /* startTime */
};
static struct fstats stats[256];
static int nstats;

struct fgpu {
    unsigned index;
    char uuid[96];
    unsigned long long total;
    int mig;
    int acct;                 /* 1 on, 0 off, 3 NOT_SUPPORTED */
    int minor;                /* -1: the index */
    long long used, reserved; /* bytes; used < 0: half the total */
    int procs_calls, util_calls, acct_calls;
};

static struct fgpu gpus[MAX_GPUS];
static int ngpu;
static struct fproc procs[MAX_PROCS];
static int nproc;
static char driver[64] = "580.159.04";
static int f_init_mismatch, f_v1_stride, f_insufficient, f_util_not_found, f_info_unsupported;
static int f_slow, f_slow_ms;
static int f_hang, f_procs_error, f_procs_error_until, f_acct_error, f_acct_error_until;
static int loaded;
/* Held by a hung call for ever; taken by the destructor. */
static pthread_mutex_t lib_lock = PTHREAD_MUTEX_INITIALIZER;

__attribute__((destructor)) static void fake_fini(void)
{
    pthread_mutex_lock(&lib_lock);
    pthread_mutex_unlock(&lib_lock);
}

/* The gpus[] entry of a GPU index, or -1. */
static int gpu_at(unsigned index)
{
    for (int i = 0; i < ngpu; i++)
        if (gpus[i].index == index)
            return i;
    return -1;
}

static void load(void)
{
    /* FAKE_NVML_RELOAD: the process lines are read again on every call (a
     * wrapped command adds itself to the scenario). */
    if (loaded && !getenv("FAKE_NVML_RELOAD"))
        return;
    int reload = loaded;
    loaded = 1;
    if (reload)
        nproc = 0;
    const char *path = getenv("FAKE_NVML_SCENARIO");
    FILE *f = path ? fopen(path, "r") : NULL;
    if (!f) {
        fprintf(stderr, "fake NVML: cannot read FAKE_NVML_SCENARIO '%s'\n", path ? path : "");
        return;
    }
    char line[512];
    while (fgets(line, sizeof line, f)) {
        char a[128], b[128], c[128], d[128], e[128], g[128], h[128];
        int n = sscanf(line, "%127s %127s %127s %127s %127s %127s %127s", a, b, c, d, e, g, h);
        if (n < 1 || a[0] == '#')
            continue;
        if (reload && strcmp(a, "proc") != 0)
            continue;
        if (!strcmp(a, "driver") && n >= 2) {
            snprintf(driver, sizeof driver, "%.63s", b);
        } else if (!strcmp(a, "gpu") && n >= 4 && ngpu < MAX_GPUS) {
            struct fgpu *x = &gpus[ngpu++];
            x->index = (unsigned)atoi(b);
            snprintf(x->uuid, sizeof x->uuid, "%.95s", c);
            x->total = strtoull(d, NULL, 10) << 20;
            x->mig = n >= 5 && !strcmp(e, "mig");
            x->minor = -1;
            x->used = -1;
        } else if (!strcmp(a, "proc") && n >= 6 && nproc < MAX_PROCS) {
            struct fproc *p = &procs[nproc++];
            p->gpu = -1;
            for (int i = 0; i < ngpu; i++)
                if (gpus[i].index == (unsigned)atoi(b))
                    p->gpu = i;
            p->pid = (unsigned)strtoul(c, NULL, 10);
            p->mem = !strcmp(d, "na") ? ~0ULL : (strtoull(d, NULL, 10) << 20) + 12345;
            p->sm = !strcmp(e, "-") ? -1 : atoi(e);
            p->mem_pct = !strcmp(g, "-") ? -1 : atoi(g);
            p->gi = p->ci = 0xFFFFFFFFu;
            int gi, ci;
            if (sscanf(line, "%*s %*s %*s %*s %*s %*s %d %d", &gi, &ci) == 2) {
                p->gi = (unsigned)gi;
                p->ci = (unsigned)ci;
            }
        } else if (!strcmp(a, "used") && n >= 4 && gpu_at((unsigned)atoi(b)) >= 0) {
            gpus[gpu_at((unsigned)atoi(b))].used = atoll(c) << 20;
            gpus[gpu_at((unsigned)atoi(b))].reserved = atoll(d) << 20;
        } else if (!strcmp(a, "acct") && n >= 3 && gpu_at((unsigned)atoi(b)) >= 0) {
            gpus[gpu_at((unsigned)atoi(b))].acct = !strcmp(c, "on") ? 1 : !strcmp(c, "off") ? 0 : 3;
        } else if (!strcmp(a, "stats") && n >= 5 && nstats < 256) {
            struct fstats *x = &stats[nstats++];
            x->gpu = gpu_at((unsigned)atoi(b));
            x->pid = (unsigned)strtoul(c, NULL, 10);
            x->max = !strcmp(d, "na")        ? ~0ULL
                     : strtoull(d, NULL, 10) ? (strtoull(d, NULL, 10) << 20) + 12345
                                             : 0;
            x->running = (unsigned)atoi(e);
            x->start_us = (n >= 6 ? strtoull(g, NULL, 10) : 1764000000ULL) * 1000000ULL;
        } else if (!strcmp(a, "minor") && n >= 3 && gpu_at((unsigned)atoi(b)) >= 0) {
            gpus[gpu_at((unsigned)atoi(b))].minor = atoi(c);
        } else if (!strcmp(a, "spike") && n >= 5 && nspikes < 16) {
            struct fspike *x = &spikes[nspikes++];
            x->pid = (unsigned)strtoul(b, NULL, 10);
            x->x = strtoull(c, NULL, 10) << 20;
            x->w_ms = atol(d);
            x->p_ms = atol(e) > 0 ? atol(e) : 1000;
        } else if (!strcmp(a, "inst") && n >= 4 && ninst < 64 && gpu_at((unsigned)atoi(b)) >= 0) {
            insts[ninst].gpu = gpu_at((unsigned)atoi(b));
            insts[ninst].gi = (unsigned)atoi(c);
            insts[ninst++].ci = (unsigned)atoi(d);
        } else if (!strcmp(a, "name") && n >= 3 && nnames < 64) {
            names[nnames].pid = (unsigned)strtoul(b, NULL, 10);
            snprintf(names[nnames++].path, sizeof names[0].path, "%.127s", c);
        } else if (!strcmp(a, "fault") && n >= 2) {
            int arg = n >= 3 ? atoi(c) : 1;
            if (!strcmp(b, "init_mismatch"))
                f_init_mismatch = 1;
            else if (!strcmp(b, "v1_stride"))
                f_v1_stride = 1;
            else if (!strcmp(b, "insufficient_first"))
                f_insufficient = 1;
            else if (!strcmp(b, "util_not_found"))
                f_util_not_found = 1;
            else if (!strcmp(b, "util_info_not_supported"))
                f_info_unsupported = 1;
            else if (!strcmp(b, "hang"))
                f_hang = arg;
            else if (!strcmp(b, "slow")) {
                f_slow = arg;
                f_slow_ms = n >= 4 ? atoi(d) : 100;
            } else if (!strcmp(b, "acct_mode_error")) {
                f_acct_error = arg;
                f_acct_error_until = n >= 4 ? atoi(d) : 0;
            } else if (!strcmp(b, "procs_error")) {
                f_procs_error = arg;
                f_procs_error_until = n >= 4 ? atoi(d) : 0;
            }
        }
    }
    fclose(f);
}

static struct fgpu *dev_gpu(void *dev)
{
    uintptr_t i = (uintptr_t)dev;
    return i >= 1 && i <= (uintptr_t)ngpu ? &gpus[i - 1] : NULL;
}

int nvmlInit(void)
{
    load();
    return f_init_mismatch ? 18 : 0;
}

int nvmlShutdown(void)
{
    return 0;
}

const char *nvmlErrorString(int rc)
{
    switch (rc) {
    case 0:
        return "Success";
    case 3:
        return "Not Supported";
    case 6:
        return "Not Found";
    case 7:
        return "Insufficient Size";
    case 18:
        return "Driver/library version mismatch";
    default:
        return "Unknown Error";
    }
}

int nvmlSystemGetDriverVersion(char *v, unsigned len)
{
    snprintf(v, len, "%s", driver);
    return 0;
}

int nvmlSystemGetProcessName(unsigned pid, char *name, unsigned len)
{
    const char *path = "/usr/bin/python3";
    for (int i = 0; i < nnames; i++)
        if (names[i].pid == pid)
            path = names[i].path;
    snprintf(name, len, "%s", path);
    return 0;
}

int nvmlDeviceGetCount(unsigned *n)
{
    *n = (unsigned)ngpu;
    return 0;
}

int nvmlDeviceGetHandleByIndex(unsigned i, void **dev)
{
    if (i >= (unsigned)ngpu)
        return 2; /* INVALID_ARGUMENT */
    *dev = (void *)(uintptr_t)(i + 1);
    return 0;
}

int nvmlDeviceGetIndex(void *dev, unsigned *i)
{
    struct fgpu *g = dev_gpu(dev);
    if (!g)
        return 2;
    *i = g->index;
    return 0;
}

int nvmlDeviceGetUUID(void *dev, char *u, unsigned len)
{
    struct fgpu *g = dev_gpu(dev);
    if (!g)
        return 2;
    snprintf(u, len, "%s", g->uuid);
    return 0;
}

int nvmlDeviceGetMemoryInfo(void *dev, struct nvml_memory *m)
{
    struct fgpu *g = dev_gpu(dev);
    if (!g)
        return 2;
    unsigned long long used =
        g->used < 0 ? g->total - g->total / 2 : (unsigned long long)(g->used + g->reserved);
    m->total = g->total;
    m->free = g->total - used;
    m->used = used;
    return 0;
}

#ifndef FAKE_NO_V3
int nvmlDeviceGetMemoryInfo_v2(void *dev, struct nvml_memory_v2 *m)
{
    struct fgpu *g = dev_gpu(dev);
    if (!g)
        return 2;
    if (m->version != NVML_MEMORY_V2_VERSION)
        return 25; /* NVML_ERROR_ARGUMENT_VERSION_MISMATCH */
    m->total = g->total;
    m->used = g->used < 0 ? g->total - g->total / 2 : (unsigned long long)g->used;
    m->reserved = g->used < 0 ? 0 : (unsigned long long)g->reserved;
    m->free = g->total - m->used - m->reserved;
    return 0;
}
#endif

int nvmlDeviceGetMigMode(void *dev, unsigned *cur, unsigned *pend)
{
    struct fgpu *g = dev_gpu(dev);
    if (!g)
        return 2;
    *cur = *pend = (unsigned)g->mig;
    return 0;
}

/* The process list at a record size of stride bytes. */
/* A process's memory now, bytes: its proc line's, plus its spike while on. */
static unsigned long long mem_now(const struct fproc *p)
{
    unsigned long long m = p->mem;
    if (m == ~0ULL)
        return m;
    for (int i = 0; i < nspikes; i++) {
        if (spikes[i].pid != p->pid)
            continue;
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        long long ms = (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
        if (ms % spikes[i].p_ms < spikes[i].w_ms)
            m += spikes[i].x;
    }
    return m;
}

/* The instance of a MIG device handle, or NULL. */
static const struct finst *dev_inst(void *dev)
{
    uintptr_t i = (uintptr_t)dev;
    return i >= INST_BASE && i < INST_BASE + (uintptr_t)ninst ? &insts[i - INST_BASE] : NULL;
}

static int running(void *dev, unsigned *count, unsigned char *buf, size_t stride)
{
    const struct finst *in = dev_inst(dev);
    struct fgpu *g = in ? &gpus[in->gpu] : dev_gpu(dev);
    if (!g)
        return 2;
    if (g == &gpus[0])
        load();
    int call = ++g->procs_calls;
    if (g == &gpus[0] && f_hang && call >= f_hang && pthread_mutex_lock(&lib_lock) == 0)
        for (;;)
            sleep(1000); /* a call stuck in the driver */
    if (g == &gpus[0] && f_slow && call == f_slow)
        usleep((useconds_t)f_slow_ms * 1000);
    if (g == &gpus[0] && f_procs_error && call >= f_procs_error &&
        (!f_procs_error_until || call <= f_procs_error_until))
        return 999;
    unsigned n = 0;
    for (int i = 0; i < nproc; i++)
        n += procs[i].gpu == g - gpus && (!in || (procs[i].gi == in->gi && procs[i].ci == in->ci));
    if (*count < n || (f_insufficient && call == 1)) {
        *count = n;
        return 7;
    }
    unsigned k = 0;
    for (int i = 0; i < nproc; i++) {
        if (procs[i].gpu != g - gpus || (in && (procs[i].gi != in->gi || procs[i].ci != in->ci)))
            continue;
        unsigned char *r = buf + k++ * stride;
        /* v1 is v2's first 16 bytes (nvml_records.h's checks). */
        struct nvml_proc_info_v2 rec = {procs[i].pid, mem_now(&procs[i]), procs[i].gi, procs[i].ci};
        memset(r, 0, stride);
        memcpy(r, &rec, stride >= sizeof rec ? sizeof rec : sizeof(struct nvml_proc_info_v1));
    }
    *count = n;
    return 0;
}

int nvmlDeviceGetMaxMigDeviceCount(void *dev, unsigned *n)
{
    struct fgpu *g = dev_gpu(dev);
    if (!g)
        return 2;
    if (!g->mig)
        return 3; /* NOT_SUPPORTED */
    *n = 7;       /* as an H100/H200: 7 slots, the unused ones NOT_FOUND */
    return 0;
}

int nvmlDeviceGetMigDeviceHandleByIndex(void *dev, unsigned k, void **out)
{
    struct fgpu *g = dev_gpu(dev);
    if (!g)
        return 2;
    unsigned seen = 0;
    for (int i = 0; i < ninst; i++)
        if (insts[i].gpu == g - gpus && seen++ == k) {
            *out = (void *)(uintptr_t)(INST_BASE + (unsigned)i);
            return 0;
        }
    return 6; /* NOT_FOUND */
}

int nvmlDeviceGetGpuInstanceId(void *dev, unsigned *id)
{
    const struct finst *in = dev_inst(dev);
    if (!in)
        return 2;
    *id = in->gi;
    return 0;
}

int nvmlDeviceGetComputeInstanceId(void *dev, unsigned *id)
{
    const struct finst *in = dev_inst(dev);
    if (!in)
        return 2;
    *id = in->ci;
    return 0;
}

int nvmlDeviceGetComputeRunningProcesses(void *dev, unsigned *count, void *buf)
{
    return running(dev, count, buf, NVML_PROC_V1_SIZE);
}

#ifndef FAKE_V1_ONLY
int nvmlInit_v2(void)
{
    return nvmlInit();
}

int nvmlDeviceGetCount_v2(unsigned *n)
{
    return nvmlDeviceGetCount(n);
}

int nvmlDeviceGetHandleByIndex_v2(unsigned i, void **dev)
{
    return nvmlDeviceGetHandleByIndex(i, dev);
}

int nvmlDeviceGetComputeRunningProcesses_v2(void *dev, unsigned *count, void *buf)
{
    return running(dev, count, buf, f_v1_stride ? NVML_PROC_V1_SIZE : NVML_PROC_V2_SIZE);
}
#endif

#if !defined(FAKE_V1_ONLY) && !defined(FAKE_NO_V3)
int nvmlDeviceGetComputeRunningProcesses_v3(void *dev, unsigned *count, void *buf)
{
    return running(dev, count, buf, f_v1_stride ? NVML_PROC_V1_SIZE : NVML_PROC_V2_SIZE);
}
#endif

struct sample {
    unsigned pid;
    unsigned long long ts;
    unsigned sm, mem;
};

/* The driver's answer, layout aside: the real samples, around them a stale
 * one (not newer than last seen), an older one of the same PID, one with SM
 * 255, one of a PID not on the GPU, and PID-0 filler up to the buffer's size. */
static int util_samples(struct fgpu *g, unsigned long long last_seen, struct sample *s, unsigned *n)
{
    if (g->mig)
        return 3;
    if (f_util_not_found)
        return 6;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    unsigned long long now =
        (unsigned long long)tv.tv_sec * 1000000 + (unsigned long long)tv.tv_usec;
    unsigned k = 0;
    for (int i = 0; i < nproc && k + 4 < MAX_PROCS; i++) {
        const struct fproc *p = &procs[i];
        if (p->gpu != g - gpus || p->sm < 0)
            continue;
        s[k++] = (struct sample){p->pid, now, (unsigned)p->sm, (unsigned)p->mem_pct};
        s[k++] = (struct sample){p->pid, now - 500000, 99, 99};
        s[k++] = (struct sample){p->pid, last_seen, 98, 98};
        s[k++] = (struct sample){p->pid, now + 1, 255, 0};
    }
    if (k == 0)
        return 6; /* an idle GPU: NOT_FOUND, no new samples */
    s[k++] = (struct sample){4000000, now, 50, 5};
    while (k < 72)
        s[k++] = (struct sample){0, 0, 0, 0};
    *n = k;
    return 0;
}

static struct sample scratch[MAX_PROCS + 128];

int nvmlDeviceGetProcessUtilization(void *dev, void *buf, unsigned *count,
                                    unsigned long long last_seen)
{
    struct fgpu *g = dev_gpu(dev);
    if (!g)
        return 2;
    unsigned n = 0;
    int rc = util_samples(g, last_seen, scratch, &n);
    if (rc)
        return rc;
    if (!buf || *count < n || (f_insufficient && ++g->util_calls == 1)) {
        *count = n;
        return 7;
    }
    for (unsigned i = 0; i < n; i++) {
        struct nvml_util_sample e = {.pid = scratch[i].pid,
                                     .time_stamp = scratch[i].ts,
                                     .sm_util = scratch[i].sm,
                                     .mem_util = scratch[i].mem};
        memcpy((unsigned char *)buf + i * sizeof e, &e, sizeof e);
    }
    *count = n;
    return 0;
}

#if !defined(FAKE_V1_ONLY) && !defined(FAKE_NO_V3)
int nvmlDeviceGetProcessesUtilizationInfo(void *dev, struct nvml_util_info *in)
{
    struct fgpu *g = dev_gpu(dev);
    if (!g)
        return 2;
    if (in->version != NVML_UTIL_INFO_VERSION)
        return 25; /* ARGUMENT_VERSION_MISMATCH */
    if (f_info_unsupported)
        return 3;
    unsigned n = 0;
    int rc = util_samples(g, in->last_seen_time_stamp, scratch, &n);
    if (rc)
        return rc;
    if (!in->proc_util_array || in->process_samples_count < n ||
        (f_insufficient && ++g->util_calls == 1)) {
        in->process_samples_count = n;
        return 7;
    }
    for (unsigned i = 0; i < n; i++) {
        struct nvml_util_info_entry e = {.time_stamp = scratch[i].ts,
                                         .pid = scratch[i].pid,
                                         .sm_util = scratch[i].sm,
                                         .mem_util = scratch[i].mem};
        memcpy((unsigned char *)in->proc_util_array + i * sizeof e, &e, sizeof e);
    }
    in->process_samples_count = n;
    return 0;
}
#endif

#ifndef FAKE_V1_ONLY
int nvmlDeviceGetAccountingMode(void *dev, int *mode)
{
    struct fgpu *g = dev_gpu(dev);
    if (!g)
        return 2;
    int call = ++g->acct_calls;
    if (g == &gpus[0] && f_acct_error && call >= f_acct_error &&
        (!f_acct_error_until || call <= f_acct_error_until))
        return 999;
    if (g->acct == 3)
        return 3;
    *mode = g->acct;
    return 0;
}

int nvmlDeviceGetAccountingStats(void *dev, unsigned pid, struct nvml_acct_stats *out)
{
    struct fgpu *g = dev_gpu(dev);
    if (!g || !out)
        return 2;
    const struct fstats *x = NULL;
    for (int i = 0; i < nstats; i++)
        if (stats[i].gpu == g - gpus && stats[i].pid == pid)
            x = &stats[i];
    if (!x)
        return 6;                   /* NOT_FOUND */
    memset(out, 0x5A, sizeof *out); /* reserved: not for reading */
    out->gpu_utilization = 50;
    out->memory_utilization = 5;
    out->max_memory_usage = x->max;
    out->time = x->running ? 0 : 4000; /* ms */
    out->start_time = x->start_us;
    out->is_running = x->running;
    return 0;
}

int nvmlDeviceGetMinorNumber(void *dev, unsigned *minor)
{
    struct fgpu *g = dev_gpu(dev);
    if (!g)
        return 2;
    *minor = g->minor >= 0 ? (unsigned)g->minor : g->index;
    return 0;
}

int nvmlDeviceGetAccountingBufferSize(void *dev, unsigned *size)
{
    if (!dev_gpu(dev))
        return 2;
    *size = 4000;
    return 0;
}

/* The PIDs of the GPU's stats lines, each once (the driver keeps the
 * latest record of a PID). */
int nvmlDeviceGetAccountingPids(void *dev, unsigned *count, unsigned *pids)
{
    struct fgpu *g = dev_gpu(dev);
    if (!g || !count)
        return 2;
    unsigned n = 0;
    for (int i = 0; i < nstats; i++) {
        int seen = 0;
        for (int k = 0; k < i; k++)
            seen |= stats[k].gpu == stats[i].gpu && stats[k].pid == stats[i].pid;
        if (stats[i].gpu != g - gpus || seen)
            continue;
        if (pids && n < *count)
            pids[n] = stats[i].pid;
        n++;
    }
    if (!pids || n > *count) {
        *count = n;
        return 7; /* INSUFFICIENT_SIZE */
    }
    *count = n;
    return 0;
}
#endif
