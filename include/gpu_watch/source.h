/* Where samples come from: each source (nvidia-smi, NVML) is a table of
 * functions, like canvas_ops in plot_draw.h, listed in a plain static const
 * table in source.c. A poll yields one record per process per GPU and the
 * status of each query it made; the sampler does the rest (command lines,
 * filter, /proc figures). */
#ifndef GPU_WATCH_SOURCE_H
#define GPU_WATCH_SOURCE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gpu_watch/parse.h" /* GW_UNKNOWN, GW_UUID_MAX */

/* One process on one GPU. Every number is >= 0 or GW_UNKNOWN (not
 * reported): never a made-up 0. */
struct source_proc {
    int gpu;          /* GPU index; -1 when it could not be mapped */
    long pid;         /* as the driver reports it (its PID namespace) */
    int64_t mem_mib;  /* GPU memory of the process on this GPU, MiB */
    int64_t sm_pct;   /* SM utilization, % */
    int64_t mem_pct;  /* memory-controller utilization, % */
    int64_t peak_mib; /* the driver's accounting peak, MiB (--peaks); with
                         --peak-rate, where the driver has none, the dense one */
    int peak_hz;      /* peak_mib was sampled at this rate (--peak-rate); 0: the driver's */
    uint64_t acct_us; /* when the driver began accounting the process (NVML
                         accounting startTime, us since the epoch); 0 unknown */
    /* Strings owned by the source, valid until its next poll (pointers, so
     * that records stay small: thousands are sorted every sample). */
    const char *uuid; /* the GPU's UUID; "" unknown */
    const char *name; /* the driver's short process name; "" unknown */
    const char *mig;  /* the MIG instance, "GI/CI" ("1/0"); "" off MIG or unknown */
};

/* One query a poll made (or that the sampler made: ps), for the
 * warn-once / recovered messages of report.c. */
struct source_query {
    const char *key;  /* stable, for report.c: "smi:apps", "nvml:util" */
    const char *what; /* for messages: "nvidia-smi compute-apps query" */
    const char *lost; /* what a failure costs: "its columns stay empty until it works" */
    bool failed;
    char why[200]; /* with failed: "timed out after 10 s", "exit status 9: ..." */
};

#define SOURCE_MAX_QUERIES 8

/* One GPU's memory as the driver counts it (source_config.gpu_mem), MiB;
 * GW_UNKNOWN when not reported. */
struct source_gpu_mem {
    int gpu;              /* GPU index */
    int64_t used_mib;     /* in use on the GPU, by anyone */
    int64_t reserved_mib; /* held by the driver itself (R510+), not in used_mib */
};

/* What one poll yields. The sampler owns it and reuses v between polls;
 * a poll empties it first (source_poll_reset). */
struct source_poll {
    struct source_proc *v;
    size_t n;
    size_t cap;
    struct source_query q[SOURCE_MAX_QUERIES]; /* the queries made, in order */
    size_t nq;
    size_t spawned;    /* processes started for this poll */
    bool answered;     /* some query gave data (an empty process list counts) */
    uint64_t unlisted; /* bit i: GPU index i (< 64) could not list its processes */
    char gave_up[256]; /* with SOURCE_GIVE_UP: why this source cannot go on */
    /* With source_config.gpu_mem: each GPU's memory, one entry a GPU. */
    struct source_gpu_mem *gm;
    size_t ngm;
    size_t capgm;
    /* Set by the sampler before a poll, kept by source_poll_reset: the
     * monotonic time (monotime_now, s) by which the whole sample must be
     * done, whatever hangs (--timeout bounds one sample, not one call);
     * 0: each call gets the source's timeout. */
    double deadline;
};

/* With --peaks, each source asks the accounting modes again this often,
 * seconds: an administrator may turn accounting on during a run (the NVML
 * source also at each poll while the question failed). */
#define ACCT_RECHECK_S 60.0

/* qsort order of source_proc records: by PID, then GPU index. */
int source_proc_cmp(const void *a, const void *b);

/* Seconds left before p->deadline, at most timeout (0 when it has passed);
 * timeout when p has no deadline. */
double source_time_left(const struct source_poll *p, double timeout);

/* How the sampler opens a source. */
struct source_config {
    const char *smi; /* the nvidia-smi program ("nvidia-smi", looked up in PATH) */
    double timeout;  /* seconds a query may take */
    bool peaks;      /* also read the driver's accounting peaks */
    bool gpu_mem;    /* also read each GPU's memory in use (source_gpu_mem) */
    int peak_rate;   /* --peak-rate: Hz of the fast process-list readings; 0 off */
};

/* poll's answer when the source must not be used again (a driver that
 * returns impossible records, a call stuck in the driver): the sampler
 * goes on with nvidia-smi. */
#define SOURCE_GIVE_UP 1

struct source_ops {
    const char *name;  /* the --source value: "smi", "nvml" */
    const char *title; /* for messages and the status line: "nvidia-smi", "NVML" */
    /* Start the source: 0 with *state set, or a negative errno with a
     * reason for the user in why ("nvidia-smi not found in PATH"). */
    int (*open)(const struct source_config *cfg, void **state, char *why, size_t whylen);
    /* One sample into out (emptied first): 0, SOURCE_GIVE_UP, -ENOMEM, or
     * -ECANCELED when *cancel became non-zero (running calls stopped). */
    int (*poll)(void *state, struct source_poll *out, const volatile sig_atomic_t *cancel);
    /* GPUs the source knows of (0 until known). */
    size_t (*gpu_count)(const void *state);
    /* The index (as nvidia-smi numbers it) of the i-th GPU known, i <
     * gpu_count: indexes need not be 0..n-1 (a GPU fallen off the bus). */
    int (*gpu_index)(const void *state, size_t i);
    /* The driver's version ("580.95.05"), "" or "unknown" when not known;
     * NULL where the source has no such call (the sampler asks nvidia-smi
     * when it needs it: pidns.h). */
    const char *(*driver)(const void *state);
    void (*close)(void *state);
};

extern const struct source_ops source_smi;
extern const struct source_ops source_nvml;

/* A source that leaves a thread behind inside a library call that never
 * returned (NVML stuck in the driver) says so here, once for the process:
 * exit() would then run that library's destructors beside the stuck
 * thread, which may wait for it forever. The top level finishes its files
 * and leaves with _exit when source_left_stuck() is true. */
void source_mark_stuck(void);
bool source_left_stuck(void);

/* The source called name ("smi", ...), or NULL. */
const struct source_ops *source_find(const char *name);

/* The names of all sources, "smi|nvml", for usage messages. */
const char *source_names(void);

/* Empty out for a new poll (keeps v's memory). */
void source_poll_reset(struct source_poll *out);

/* A new record at the end of out, every number GW_UNKNOWN, strings "";
 * NULL when out of memory. */
struct source_proc *source_push(struct source_poll *out, int gpu, long pid);

/* Note GPU gpu's memory in out; 0 or -ENOMEM. */
int source_gpu_mem_add(struct source_poll *out, int gpu, int64_t used_mib, int64_t reserved_mib);

/* Add a query to out (ignored past SOURCE_MAX_QUERIES); returns it so the
 * caller can mark it failed. */
struct source_query *source_query_add(struct source_poll *out, const char *key, const char *what,
                                      const char *lost);

#endif
