/* The driver's accounting records through NVML, read in a child process
 * (see job_nvml.h). */
#include "gpu_watch/job_nvml.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gpu_watch/array.h"
#include "gpu_watch/atomicio.h"
#include "gpu_watch/buf.h"
#include "gpu_watch/monotime.h"
#include "gpu_watch/nvml_records.h"

/* nvmlReturn_t values used (nvml.h). */
#define NV_SUCCESS           0
#define NV_INSUFFICIENT_SIZE 7
/* The child's report is small: a line per GPU and per record (4,000 a
 * GPU at most). */
#define DUMP_MAX (16u << 20)

void job_nvml_decode(const unsigned char *raw, const char *uuid, long pid, struct job_rec *out)
{
    struct nvml_acct_stats st;
    memcpy(&st, raw, sizeof st);
    const uint64_t max = st.max_memory_usage, time_ms = st.time, start_us = st.start_time;
    const uint32_t running = st.is_running;
    memset(out, 0, sizeof *out);
    snprintf(out->uuid, sizeof out->uuid, "%s", uuid);
    out->pid = pid;
    out->max_mib = max == 0 ? GW_UNKNOWN : nvml_mib(max);
    out->time_ms = running == 1                            ? 0
                   : time_ms > 0 && time_ms < (1ULL << 53) ? (int64_t)time_ms
                                                           : GW_UNKNOWN;
    out->start = start_us > 0 && start_us < (1ULL << 62) ? (double)start_us / 1e6 : NAN;
}

/* The next space-separated number of *p, moving past it. 0 or -EINVAL. */
static int next_num(const char **p, long long *v)
{
    char *end;
    errno = 0;
    *v = strtoll(*p, &end, 10);
    if (errno || end == *p || *end != ' ')
        return -EINVAL;
    *p = end + 1;
    return 0;
}

/* n numbers then a UUID (the rest of the line, no blanks). 0 or -EINVAL. */
static int fields(const char *p, long long *v, int n, char *uuid, size_t ulen)
{
    for (int i = 0; i < n; i++)
        if (next_num(&p, &v[i]) < 0)
            return -EINVAL;
    size_t ul = strlen(p);
    if (ul == 0 || ul >= ulen || strchr(p, ' '))
        return -EINVAL;
    memcpy(uuid, p, ul + 1);
    return 0;
}

int job_nvml_parse(const char *buf, size_t len, struct job_gpu_info **gpus, size_t *ngpus,
                   struct job_rec **recs, size_t *nrecs, char *why, size_t whylen)
{
    struct job_gpu_info *g = NULL;
    struct job_rec *r = NULL;
    size_t ng = 0, gcap = 0, nr = 0, rcap = 0;
    int rc = 0;
    char line[512];
    for (size_t p = 0; p < len && rc == 0;) {
        const char *l = buf + p;
        const char *nl = memchr(l, '\n', len - p);
        size_t ll = nl ? (size_t)(nl - l) : len - p;
        p += ll + 1;
        if (ll == 0)
            continue;
        if (ll >= sizeof line) {
            rc = -EINVAL;
            break;
        }
        memcpy(line, l, ll);
        line[ll] = '\0';
        char uuid[GW_UUID_MAX];
        long long v[4];
        if (strncmp(line, "err ", 4) == 0) {
            snprintf(why, whylen, "%s", line + 4);
            rc = -EIO;
        } else if (strncmp(line, "gpu ", 4) == 0 &&
                   fields(line + 4, v, 4, uuid, sizeof uuid) == 0 && v[0] >= 0 && v[0] < 4096 &&
                   v[1] >= -1 && v[1] < 4096 && v[2] >= -1 && v[2] <= 1 && v[3] >= -1 &&
                   v[3] < (1LL << 30)) {
            if (array_reserve(&g, &gcap, ng + 1, sizeof *g) < 0) {
                rc = -ENOMEM;
                break;
            }
            g[ng] = (struct job_gpu_info){.index = (int)v[0],
                                          .minor = (int)v[1],
                                          .acct = v[2] < 0 ? GW_UNKNOWN : (int)v[2],
                                          .buffer = (long)v[3]};
            memcpy(g[ng++].uuid, uuid, sizeof uuid);
        } else if (strncmp(line, "rec ", 4) == 0 &&
                   fields(line + 4, v, 4, uuid, sizeof uuid) == 0 && v[0] > 0 &&
                   v[0] <= 0x7fffffffLL) {
            if (array_reserve(&r, &rcap, nr + 1, sizeof *r) < 0) {
                rc = -ENOMEM;
                break;
            }
            struct job_rec *x = &r[nr++];
            memset(x, 0, sizeof *x);
            memcpy(x->uuid, uuid, sizeof uuid);
            x->pid = (long)v[0];
            x->max_mib = v[1] > 0 ? v[1] : GW_UNKNOWN;
            x->time_ms = v[2] >= 0 ? v[2] : GW_UNKNOWN;
            x->start = v[3] > 0 ? (double)v[3] / 1e6 : NAN;
        } else {
            rc = -EINVAL;
        }
    }
    if (rc < 0) {
        free(g);
        free(r);
        return rc;
    }
    *gpus = g;
    *ngpus = ng;
    *recs = r;
    *nrecs = nr;
    return 0;
}

typedef int nv_ret;
typedef void *nv_dev;

struct fns {
    nv_ret (*init)(void);
    nv_ret (*shutdown)(void);
    const char *(*error_string)(nv_ret);
    nv_ret (*count)(unsigned *);
    nv_ret (*handle)(unsigned, nv_dev *);
    nv_ret (*index)(nv_dev, unsigned *);
    nv_ret (*uuid)(nv_dev, char *, unsigned);
    nv_ret (*minor)(nv_dev, unsigned *);
    nv_ret (*acct_mode)(nv_dev, int *);
    nv_ret (*acct_buffer)(nv_dev, unsigned *); /* optional */
    nv_ret (*acct_pids)(nv_dev, unsigned *, unsigned *);
    nv_ret (*acct_stats)(nv_dev, unsigned, void *);
};

static void *sym(void *lib, const char *versioned, const char *bare)
{
    void *p = versioned ? dlsym(lib, versioned) : NULL;
    return p ? p : bare ? dlsym(lib, bare) : NULL;
}

/* The child: read everything, write the report into b. */
static void child_read(void *lib, struct gw_buf *b)
{
    struct fns f = {0};
    /* POSIX allows this cast from void *: dlsym's contract. */
    *(void **)&f.init = sym(lib, "nvmlInit_v2", "nvmlInit");
    *(void **)&f.shutdown = sym(lib, "nvmlShutdown", NULL);
    *(void **)&f.error_string = sym(lib, "nvmlErrorString", NULL);
    *(void **)&f.count = sym(lib, "nvmlDeviceGetCount_v2", "nvmlDeviceGetCount");
    *(void **)&f.handle = sym(lib, "nvmlDeviceGetHandleByIndex_v2", "nvmlDeviceGetHandleByIndex");
    *(void **)&f.index = sym(lib, "nvmlDeviceGetIndex", NULL);
    *(void **)&f.uuid = sym(lib, "nvmlDeviceGetUUID", NULL);
    *(void **)&f.minor = sym(lib, "nvmlDeviceGetMinorNumber", NULL);
    *(void **)&f.acct_mode = sym(lib, "nvmlDeviceGetAccountingMode", NULL);
    *(void **)&f.acct_buffer = sym(lib, "nvmlDeviceGetAccountingBufferSize", NULL);
    *(void **)&f.acct_pids = sym(lib, "nvmlDeviceGetAccountingPids", NULL);
    *(void **)&f.acct_stats = sym(lib, "nvmlDeviceGetAccountingStats", NULL);
    if (!f.init || !f.count || !f.handle || !f.index || !f.uuid || !f.minor || !f.acct_mode ||
        !f.acct_pids || !f.acct_stats) {
        buf_puts(b, "err the NVIDIA library lacks an accounting or minor-number call\n");
        return;
    }
    nv_ret rc = f.init();
    unsigned n = 0;
    if (rc == NV_SUCCESS)
        rc = f.count(&n);
    if (rc != NV_SUCCESS) {
        buf_printf(b, "err NVML initialization: %s\n",
                   f.error_string ? f.error_string(rc) : "failed");
        return;
    }
    unsigned *pids = NULL;
    for (unsigned i = 0; i < n && i < 1024; i++) {
        nv_dev dev;
        unsigned index, minor, buffer = 0, np = 0;
        int mode = -1;
        char uuid[GW_UUID_MAX];
        if (f.handle(i, &dev) != NV_SUCCESS || f.index(dev, &index) != NV_SUCCESS ||
            f.uuid(dev, uuid, sizeof uuid) != NV_SUCCESS) {
            buf_printf(b, "err GPU %u: no handle, index or UUID\n", i);
            break;
        }
        uuid[sizeof uuid - 1] = '\0';
        if (strchr(uuid, ' ') || !*uuid)
            continue;
        if (f.minor(dev, &minor) != NV_SUCCESS)
            minor = (unsigned)-1;
        if (f.acct_mode(dev, &mode) != NV_SUCCESS)
            mode = -1;
        if (!f.acct_buffer || f.acct_buffer(dev, &buffer) != NV_SUCCESS)
            buffer = 0;
        buf_printf(b, "gpu %u %d %d %ld %s\n", index, minor > 4095 ? -1 : (int)minor,
                   mode == 1   ? 1
                   : mode == 0 ? 0
                               : -1,
                   buffer ? (long)buffer : -1L, uuid);
        /* The records: asked whatever the mode (they outlive it). */
        rc = f.acct_pids(dev, &np, NULL);
        if (rc != NV_SUCCESS && rc != NV_INSUFFICIENT_SIZE)
            continue;
        unsigned *grown = np && np <= 1000000 ? realloc(pids, np * sizeof *pids) : NULL;
        if (!grown)
            continue;
        pids = grown;
        if (f.acct_pids(dev, &np, pids) != NV_SUCCESS)
            continue;
        for (unsigned k = 0; k < np; k++) {
            unsigned char raw[NVML_ACCT_STATS_SIZE] = {0};
            struct job_rec r;
            if (pids[k] == 0 || f.acct_stats(dev, pids[k], raw) != NV_SUCCESS)
                continue;
            job_nvml_decode(raw, uuid, (long)pids[k], &r);
            buf_printf(b, "rec %u %lld %lld %lld %s\n", pids[k], (long long)r.max_mib,
                       (long long)r.time_ms,
                       isnan(r.start) ? -1LL : (long long)llround(r.start * 1e6), uuid);
        }
    }
    free(pids);
    if (f.shutdown)
        f.shutdown();
}

/* The reader child's answer from fd into out, for at most timeout seconds:
 * 0 at its end, -ETIMEDOUT, or -EIO when it is longer than DUMP_MAX. */
static int read_answer(int fd, double timeout, struct gw_buf *out)
{
    int rc = 0;
    double deadline = monotime_now() + timeout;
    for (;;) {
        double left = deadline - monotime_now();
        if (left <= 0) {
            rc = -ETIMEDOUT;
            break;
        }
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int pr = poll(&p, 1, (int)(left * 1000) + 1);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            continue; /* the deadline is checked above */
        char chunk[65536];
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (out->len + (size_t)n > DUMP_MAX || buf_append(out, chunk, (size_t)n) < 0) {
            rc = -EIO;
            break;
        }
    }
    return rc;
}

int job_nvml_read(double timeout, struct job_gpu_info **gpus, size_t *ngpus, struct job_rec **recs,
                  size_t *nrecs, char *why, size_t whylen)
{
    void *lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib)
        lib = dlopen("libnvidia-ml.so", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        snprintf(why, whylen, "cannot load the NVIDIA library libnvidia-ml.so.1");
        return -ENOENT;
    }
    int fd[2];
    if (pipe2(fd, O_CLOEXEC) < 0) {
        snprintf(why, whylen, "pipe: %s", strerror(errno));
        dlclose(lib);
        return -EIO;
    }
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(why, whylen, "fork: %s", strerror(errno));
        close(fd[0]);
        close(fd[1]);
        dlclose(lib);
        return -EIO;
    }
    if (pid == 0) {
        close(fd[0]);
        struct gw_buf b = {0};
        child_read(lib, &b);
        _exit(buf_error(&b) || atomicio_write_all(fd[1], b.p, b.len) < 0 ? 1 : 0);
    }
    close(fd[1]);
    dlclose(lib);
    struct gw_buf out = {0};
    int rc = read_answer(fd[0], timeout, &out);
    close(fd[0]);
    if (rc < 0)
        kill(pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (rc == -ETIMEDOUT) {
        snprintf(why, whylen, "NVML did not answer within %g s (killed)", timeout);
        rc = -EIO;
    } else if (rc < 0) {
        snprintf(why, whylen, "NVML's answer is too long");
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        snprintf(why, whylen, "the NVML reader failed");
        rc = -EIO;
    } else {
        rc = job_nvml_parse(out.p ? out.p : "", out.len, gpus, ngpus, recs, nrecs, why, whylen);
        if (rc == -EINVAL) {
            snprintf(why, whylen, "NVML reader: unreadable answer");
            rc = -EIO;
        }
    }
    buf_free(&out);
    return rc;
}
