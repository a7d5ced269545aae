/* The NVML source's state, shared by source_nvml.c and its worker thread
 * (nvml_worker.h), types only: the few NVML types used, declared here
 * without nvml.h (layouts as in nvml_records.h). */
#ifndef GPU_WATCH_NVML_STATE_H
#define GPU_WATCH_NVML_STATE_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gpu_watch/nvml_records.h"
#include "gpu_watch/parse.h"

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

struct nv_fns {
    nv_ret (*init)(void);
    nv_ret (*shutdown)(void);
    const char *(*error_string)(nv_ret);
    nv_ret (*driver)(char *, unsigned);
    nv_ret (*count)(unsigned *);
    nv_ret (*handle)(unsigned, nv_dev *);
    nv_ret (*index)(nv_dev, unsigned *);
    nv_ret (*uuid)(nv_dev, char *, unsigned);
    nv_ret (*memory)(nv_dev, struct nvml_memory *);
    nv_ret (*memory_v2)(nv_dev, struct nvml_memory_v2 *); /* optional (R510+) */
    nv_ret (*mig)(nv_dev, unsigned *, unsigned *);        /* optional */
    nv_ret (*pname)(unsigned, char *, unsigned);          /* optional */
    nv_ret (*procs)(nv_dev, unsigned *, void *);
    const char *procs_name;                               /* the symbol found: for messages */
    size_t procs_stride;                                  /* its record size */
    nv_ret (*util_info)(nv_dev, struct nvml_util_info *); /* optional */
    nv_ret (*util_old)(nv_dev, void *, unsigned *, unsigned long long); /* optional */
    nv_ret (*acct_mode)(nv_dev, int *);                                 /* optional: --peaks */
    nv_ret (*acct_stats)(nv_dev, unsigned, void *);                     /* optional: --peaks */
    /* Optional, MIG: the instances of a MIG GPU, each with its own process list. */
    nv_ret (*mig_max)(nv_dev, unsigned *);            /* nvmlDeviceGetMaxMigDeviceCount */
    nv_ret (*mig_handle)(nv_dev, unsigned, nv_dev *); /* nvmlDeviceGetMigDeviceHandleByIndex */
    nv_ret (*gi_id)(nv_dev, unsigned *);              /* nvmlDeviceGetGpuInstanceId */
    nv_ret (*ci_id)(nv_dev, unsigned *);              /* nvmlDeviceGetComputeInstanceId */
};

/* One MIG instance of a GPU: its handle, IDs, and "GI/CI" for the rows. */
struct mig_inst {
    nv_dev dev;
    unsigned gi, ci;
    char label[24]; /* "1/0": the mig_instance column */
};

/* --peak-rate: one process's highest memory on a GPU (summed over its MIG
 * instances at each reading) since first seen. Worker-only. */
struct dense_peak {
    uint32_t pid;
    uint64_t cur;       /* this reading's sum, bytes */
    uint64_t peak;      /* the highest sum, bytes */
    unsigned long seen; /* the reading (s->dense_gen) that last listed it */
};

struct gpu {
    nv_dev dev;
    int index;
    char uuid[GW_UUID_MAX];
    uint64_t total; /* bytes */
    bool mig;
    /* With gpu_mem, written by the worker each poll: the memory in use and
     * the driver's reserved part (bytes; reserved_ok false from the v1 call,
     * whose used counts it), mem_rc the call's answer. */
    unsigned long long used, reserved;
    bool reserved_ok;
    nv_ret mem_rc;
    bool util_info_off; /* the new utilization call answered NOT_SUPPORTED */
    uint64_t last_seen; /* newest utilization sample used, CPU us */
    int acct;           /* --peaks: accounting mode, 1 on, 0 off (or MIG), -1 unknown */
    nv_ret acct_rc;     /* the last mode query's answer */

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
    /* --peaks, accounting on: one NVML_ACCT_STATS_SIZE record per process
     * record, all zero where the driver had none (NOT_FOUND) or failed. */
    unsigned char *araw;
    size_t araw_cap; /* records */
    unsigned nstats; /* records filled this poll (0: not asked) */

    /* MIG with instance handles (job_init): the process lists are read per
     * instance, and rinst[i] is the instance (index into inst) of raw record
     * i. ninst 0: off MIG, or a library without the MIG calls (the parent's
     * list, as before). */
    struct mig_inst *inst;
    size_t ninst;
    unsigned *rinst;
    size_t rinst_cap;
    /* --peak-rate (worker-only but for rpeak): the peak table, the fast
     * reading's own buffers (a row poll's raw stays untouched until read),
     * and per raw record of the row poll the peak of its PID, bytes
     * (NVML_NOT_AVAILABLE: none), read by the poll after the job. */
    struct dense_peak *dp;
    size_t ndp, dp_cap;
    unsigned char *fraw;
    size_t fraw_cap;
    unsigned *finst;
    size_t finst_cap;
    struct nvml_proc *fprocs;
    size_t fprocs_cap;
    uint64_t *rpeak;
    size_t rpeak_cap;
    unsigned nrpeak; /* rpeak entries of this row poll (0: none) */

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
    bool peaks;        /* --peaks, and the library has both accounting calls */
    bool gpu_mem;      /* read each GPU's memory in use every poll */
    bool acct_due;     /* this poll job asks the accounting modes again */
    double acct_asked; /* monotonic time of the last mode query */

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

    /* --peak-rate: between jobs the worker reads the process lists every
     * dense_period seconds (its own schedule, monotonic); want tells a fast
     * reading that a job waits, so it stops between two lists. */
    int dense_hz;             /* 0: off */
    double dense_period;      /* s */
    double dense_next;        /* monotonic time of the next fast reading */
    unsigned long dense_gen;  /* readings so far (fast and row) */
    unsigned long dense_fast; /* fast readings so far (for tests and the bench) */
    atomic_bool want;

    struct pname *names[2];
    size_t nnames[2], cap_names[2];
    int cur; /* names[cur]: this poll's */
};

#endif
