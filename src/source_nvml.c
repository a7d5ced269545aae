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
#include "gpu_watch/nvml_records.h"
#include "gpu_watch/source.h"

/* nvmlReturn_t values used (nvml.h). */
#define NV_SUCCESS                   0
#define NV_NOT_SUPPORTED             3
#define NV_NOT_FOUND                 6
#define NV_INSUFFICIENT_SIZE         7
#define NV_FUNCTION_NOT_FOUND        13
#define NV_ARGUMENT_VERSION_MISMATCH 25
/* Our own codes for a worker step that did not reach NVML. */
#define NV_NO_MEMORY (-1000)

/* First buffer sizes: the utilization count is the driver's buffer size
 * (72 and 100 seen), so at least 128 entries. */
#define PROCS_FIRST 32
#define UTIL_FIRST  128
#define GROW_TRIES  4
/* Seconds NVML's initialization may take at least (see nvml_open). */
#define INIT_LIMIT 60.0

typedef int nv_ret;
typedef void *nv_dev;

/* nvmlMemory_t (v1): total, free, used, in bytes; only total is read. */
struct nv_memory {
    unsigned long long total_free_used[3];
};

/* nvmlProcessesUtilizationInfo_t: version @0, count @4, lastSeen @8, array @16. */
struct nv_util_info {
    unsigned version;
    unsigned count;
    unsigned long long last_seen; /* us */
    void *samples;
};
#define NV_UTIL_INFO_VERSION (sizeof(struct nv_util_info) | 1u << 24)

struct nv_fns {
    nv_ret (*init)(void);
    nv_ret (*shutdown)(void);
    const char *(*error_string)(nv_ret);
    nv_ret (*driver)(char *, unsigned);
    nv_ret (*count)(unsigned *);
    nv_ret (*handle)(unsigned, nv_dev *);
    nv_ret (*index)(nv_dev, unsigned *);
    nv_ret (*uuid)(nv_dev, char *, unsigned);
    nv_ret (*memory)(nv_dev, struct nv_memory *);
    nv_ret (*mig)(nv_dev, unsigned *, unsigned *); /* optional */
    nv_ret (*pname)(unsigned, char *, unsigned);   /* optional */
    nv_ret (*procs)(nv_dev, unsigned *, void *);
    const char *procs_name;                             /* the symbol found: for messages */
    size_t procs_stride;                                /* its record size */
    nv_ret (*util_info)(nv_dev, struct nv_util_info *); /* optional */
    nv_ret (*util_old)(nv_dev, void *, unsigned *, unsigned long long); /* optional */
};

struct gpu {
    nv_dev dev;
    int index;
    char uuid[GW_UUID_MAX];
    uint64_t total; /* bytes */
    bool mig;
    bool util_info_off; /* the new utilization call answered NOT_SUPPORTED */
    uint64_t last_seen; /* newest utilization sample used, CPU us */

    /* Written by the worker during a poll job. */
    unsigned char *raw; /* process records at f.procs_stride */
    size_t raw_cap;
    unsigned nraw;
    nv_ret procs_rc;
    unsigned char *uraw; /* utilization samples at usize */
    size_t uraw_cap;
    unsigned nu;
    size_t usize;
    nv_ret util_rc;
    const char *util_name;
    bool util_skipped; /* MIG: not asked */

    /* Decoded by the poll. */
    struct nvml_proc *procs;
    size_t procs_cap;
    struct nvml_util *util;
    size_t util_cap;
};

/* The driver's name of a process (nvmlSystemGetProcessName, as a base
 * name: what pmon shows), the last resort of the cmd column when neither
 * /proc nor ps knows the PID (another PID namespace). Asked once per PID:
 * each poll keeps the names of the PIDs still listed, in the other half of
 * a double buffer, so the previous poll's strings stay valid meanwhile. */
struct pname {
    uint32_t pid;
    char name[64];
};

enum job { JOB_NONE, JOB_INIT, JOB_POLL, JOB_QUIT };

struct nvml {
    void *lib;
    struct nv_fns f;
    double timeout; /* seconds a job may take */
    long pid_max;
    char driver[96];

    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t wake, done_cv;
    enum job job;
    bool done;
    bool busy;                     /* a job was handed over and not collected yet */
    bool stuck;                    /* a job overran its deadline: the thread is left behind */
    _Atomic(const char *) calling; /* the NVML call the worker is in */
    nv_ret init_rc;
    const char *init_call;

    struct gpu *g;
    size_t ngpu;

    struct pname *names[2];
    size_t nnames[2], cap_names[2];
    int cur; /* names[cur]: this poll's */
};

static const char lost_cols[] = "its columns stay empty until it works";
static const char lost_util[] = "the utilization columns stay empty until it works";

static const char *nv_error(const struct nvml *s, nv_ret rc)
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

static nv_ret call_procs(struct nvml *s, struct gpu *g)
{
    nv_ret rc = NV_INSUFFICIENT_SIZE;
    unsigned cnt = 0;
    atomic_store(&s->calling, s->f.procs_name);
    for (int t = 0; t < GROW_TRIES && rc == NV_INSUFFICIENT_SIZE; t++) {
        cnt = (unsigned)g->raw_cap;
        /* Zeroed: a driver that writes less than it claims leaves no stale
         * bytes to be read as records. */
        memset(g->raw, 0, g->raw_cap * s->f.procs_stride);
        rc = s->f.procs(g->dev, &cnt, g->raw);
        /* Too small: the driver says how many there are; grow and ask again. */
        if (rc == NV_INSUFFICIENT_SIZE &&
            array_reserve(&g->raw, &g->raw_cap, (size_t)cnt + 8, s->f.procs_stride) < 0)
            return NV_NO_MEMORY;
    }
    g->nraw = rc == NV_SUCCESS ? cnt : 0;
    return rc;
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
            struct nv_util_info in = {NV_UTIL_INFO_VERSION, (unsigned)(g->uraw_cap / g->usize),
                                      g->last_seen, g->uraw};
            memset(g->uraw, 0, g->uraw_cap);
            rc = s->f.util_info(g->dev, &in);
            if (rc == NV_SUCCESS)
                g->nu = in.count;
            else if (rc == NV_INSUFFICIENT_SIZE &&
                     array_reserve(&g->uraw, &g->uraw_cap, (size_t)in.count * g->usize, 1) < 0)
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

static const struct pname *name_in(const struct pname *v, size_t n, uint32_t pid)
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
        uint32_t pid;
        memcpy(&pid, g->raw + i * s->f.procs_stride, sizeof pid);
        if (name_in(s->names[next], s->nnames[next], pid))
            continue;
        if (array_reserve(&s->names[next], &s->cap_names[next], s->nnames[next] + 1,
                          sizeof(struct pname)) < 0)
            return; /* names are a nicety: none rather than an error */
        struct pname *n = &s->names[next][s->nnames[next]++];
        const struct pname *known = name_in(s->names[old], s->nnames[old], pid);
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

static void job_poll(struct nvml *s)
{
    const int next = s->cur ^ 1;
    s->nnames[next] = 0;
    for (size_t i = 0; i < s->ngpu; i++) {
        struct gpu *g = &s->g[i];
        g->procs_rc = call_procs(s, g);
        /* Utilization only counts for listed processes: an idle GPU skips
         * the dearer call (1.8 ms on the H200). MIG has none. */
        g->util_skipped = g->mig || g->procs_rc != NV_SUCCESS || g->nraw == 0;
        g->util_rc = g->util_skipped ? NV_SUCCESS : call_util(s, g);
        if (g->procs_rc == NV_SUCCESS && s->f.pname)
            name_procs(s, g, next);
    }
    s->cur = next;
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
        struct nv_memory m = {0};
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
        g->total = m.total_free_used[0];
        if (array_reserve(&g->raw, &g->raw_cap, PROCS_FIRST, s->f.procs_stride) < 0 ||
            array_reserve(&g->uraw, &g->uraw_cap, (size_t)UTIL_FIRST * NVML_UTIL_INFO_SIZE, 1) < 0)
            return NV_NO_MEMORY;
    }
    return NV_SUCCESS;
}

static void *worker(void *arg)
{
    struct nvml *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (s->job == JOB_NONE)
            pthread_cond_wait(&s->wake, &s->mu);
        enum job j = s->job;
        pthread_mutex_unlock(&s->mu);
        if (j == JOB_INIT) {
            s->init_rc = job_init(s);
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

static void give(struct nvml *s, enum job j)
{
    pthread_mutex_lock(&s->mu);
    s->job = j;
    s->done = false;
    s->busy = true;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->mu);
}

/* Wait for the job handed over: 0 done, -ETIMEDOUT after limit seconds
 * (then the worker is stuck for good), -ECANCELED when *cancel is set (the
 * job is collected by the next wait). Wakes every 50 ms to look at cancel. */
static int wait_done(struct nvml *s, double limit, const volatile sig_atomic_t *cancel)
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
    *(void **)&f->mig = sym(s->lib, "nvmlDeviceGetMigMode", NULL, NULL);
    *(void **)&f->pname = sym(s->lib, "nvmlSystemGetProcessName", NULL, NULL);
    *(void **)&f->util_info = sym(s->lib, "nvmlDeviceGetProcessesUtilizationInfo", NULL, NULL);
    *(void **)&f->util_old = sym(s->lib, "nvmlDeviceGetProcessUtilization", NULL, NULL);
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
        (void)wait_done(s, s->timeout, NULL);
    if (s->stuck)
        return;
    give(s, JOB_QUIT);
    if (wait_done(s, s->timeout, NULL) < 0)
        return;
    pthread_join(s->thread, NULL);
    free_state(s);
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
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->wake, NULL);
    pthread_cond_init(&s->done_cv, &ca);
    pthread_condattr_destroy(&ca);
    int rc = load(s, why, whylen);
    if (rc < 0) {
        free_state(s);
        return rc;
    }
    /* The worker takes no signals: they stay with the main thread. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&s->thread, NULL, worker, s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        snprintf(why, whylen, "cannot start the NVML thread: %s", strerror(rc));
        free_state(s);
        return -rc;
    }
    /* Without persistence mode each GPU's first handle costs 1-3 s (ECC
     * scrubbing): init gets at least INIT_LIMIT seconds. */
    double limit = s->timeout > INIT_LIMIT ? s->timeout : INIT_LIMIT;
    give(s, JOB_INIT);
    if (wait_done(s, limit, NULL) < 0) {
        const char *c = atomic_load(&s->calling);
        snprintf(why, whylen, "NVML: %s did not return within %g s", c ? c : "initialization",
                 limit);
        pthread_detach(s->thread);
        return -ETIMEDOUT; /* s stays with the stuck thread */
    }
    if (s->init_rc != NV_SUCCESS) {
        snprintf(why, whylen, "NVML: %s failed: %s", s->init_call ? s->init_call : "initialization",
                 nv_error(s, s->init_rc));
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

static void fail(struct source_query *q, const struct nvml *s, const struct gpu *g, nv_ret rc,
                 const char *call)
{
    if (q->failed)
        return; /* the first GPU's reason is enough */
    q->failed = true;
    snprintf(q->why, sizeof q->why, "GPU %d: %s (%s)", g->index, nv_error(s, rc), call);
}

/* One GPU's answers into records. 0, -ENOMEM, or SOURCE_GIVE_UP with
 * out->gave_up set. */
static int gpu_records(struct nvml *s, struct gpu *g, struct source_poll *out,
                       struct source_query *qp, struct source_query *qu)
{
    if (g->procs_rc != NV_SUCCESS) {
        fail(qp, s, g, g->procs_rc, s->f.procs_name);
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
    if (nvml_check_procs(g->procs, g->nraw, s->pid_max, g->total, why, sizeof why) < 0)
        goto bad;
    if (!g->util_skipped) {
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
    }
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
        const struct pname *pn = name_in(s->names[s->cur], s->nnames[s->cur], p->pid);
        if (pn)
            r->name = pn->name;
        r->mem_mib = mib;
        r->sm_pct = p->sm_pct;
        r->mem_pct = p->mem_pct;
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
    /* A job a cancelled poll left running is collected first. */
    if (s->busy && (rc = wait_done(s, s->timeout, cancel)) < 0)
        goto late;
    give(s, JOB_POLL);
    if ((rc = wait_done(s, s->timeout, cancel)) < 0)
        goto late;
    for (size_t i = 0; i < s->ngpu; i++)
        if ((rc = gpu_records(s, &s->g[i], out, qp, qu)) != 0)
            return rc;
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
    .close = nvml_close,
};
