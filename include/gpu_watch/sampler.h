/* One sample of per-process GPU usage: poll the source (nvidia-smi or
 * another, see source.h), one PID-table entry per process, resolve command
 * lines, filter, read the --host figures, sort. */
#ifndef GPU_WATCH_SAMPLER_H
#define GPU_WATCH_SAMPLER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gpu_watch/host.h"
#include "gpu_watch/owner.h"
#include "gpu_watch/source.h"

/* One output row: one process on one GPU. Numbers are GW_UNKNOWN (-1) when
 * not reported. */
struct sample_row {
    int gpu; /* GPU index, or -1 when it could not be mapped */
    long pid;
    const char *cmd;         /* full command line, "" if unknown; valid until the next sample */
    int64_t mem_mib;         /* GPU memory used by the process on this GPU */
    int64_t sm_pct;          /* SM utilization, % */
    int64_t mem_pct;         /* memory controller utilization, % */
    struct host_fields host; /* with sampler_opts.host */
    const char *uuid;        /* the GPU's UUID, "" if unknown; valid until the next sample */
    int64_t peak_mib;        /* the driver's accounting peak, MiB (--peaks), or the dense one */
    /* With sampler_opts.who: who owns the process (fields "" when not
     * known); NULL without. Valid until the next sample. */
    const struct owner *who;
    /* The process's start time (clock ticks after boot, from /proc; 0
     * unknown): with pid, which process this is (a PID can be reused). */
    uint64_t start;
    int peak_hz;     /* --peak-rate: peak_mib was sampled at this rate; 0 the driver's */
    const char *mig; /* the MIG instance "GI/CI", "" off MIG; valid until the next sample */
};

/* The queries of a sample: the source's and the sampler's own (ps). */
#define SAMPLE_MAX_QUERIES (SOURCE_MAX_QUERIES + 1)

/* One GPU's memory in a sample. */
struct sample_gpu_mem {
    int gpu;
    int64_t used_mib;         /* in use, by anyone; GW_UNKNOWN when not reported */
    int64_t unattributed_mib; /* see sample.gmem */
};

struct sample {
    struct sample_row *rows; /* sorted by GPU index, then PID */
    size_t n;
    size_t cap;
    size_t procs;  /* distinct processes in rows (after the filter) */
    size_t seen;   /* distinct processes the source listed (before the filter) */
    bool answered; /* the source gave data (an empty list counts) */
    /* Bit i: GPU index i (< 64) could not list its processes. */
    uint64_t unlisted;
    struct source_query q[SAMPLE_MAX_QUERIES]; /* the queries made, with their status */
    size_t nq;
    bool who;           /* rows carry their owner (sampler_opts.who) */
    bool dense;         /* --peak-rate: rows carry peak_rate_hz and mig_instance */
    size_t spawned;     /* processes started for this sample */
    const char *source; /* the title of the source that answered: "nvidia-smi", "NVML" */
    /* Set when the source gave up this sample and the run goes on with
     * nvidia-smi: why (for one warning). "" otherwise. */
    char switched[300];
    /* Set once, the first sample after gpu_watch found itself in a child
     * PID namespace with a driver that gives host PIDs for some answers:
     * what that costs (for one warning). "" otherwise. */
    char pidns_warning[600];
    /* With sampler_opts.host: the machine's used RAM (MemTotal -
     * MemAvailable, MiB; < 0 unknown). */
    int64_t sys_used_mib;
    /* With sampler_opts.watch_pid: that process's figures, whether or not it
     * is on a GPU; watched_alive is false when it does not exist. */
    bool watched_alive;
    struct host_fields watched;
    int64_t watched_mem_mib; /* its GPU memory summed over GPUs; < 0: on none */
    /* With sampler_opts.gpu_mem (or in a child PID namespace), per GPU the
     * source reported, in GPU order: the memory in use that no listed
     * process accounts for (other containers' processes, a process that
     * just left, the driver's own), MiB: used minus the processes' memory
     * (all the source listed, before --pid/--match), minus what the driver
     * reports as reserved where it does; 0 at least; GW_UNKNOWN when some
     * figure is not known. */
    struct sample_gpu_mem *gmem;
    size_t ngmem;
    size_t capgmem;
};

struct sampler_opts {
    const char *source; /* "smi", "nvml", "auto" (NULL: "smi") */
    /* Tests only: this source instead of the one named by source (NULL). */
    const struct source_ops *source_ops;
    const char *smi;         /* the nvidia-smi program ("nvidia-smi", looked up in PATH) */
    const char *ps;          /* the ps program, used only when /proc is missing */
    const char *proc_root;   /* "/proc", or a fixture directory */
    const char *cgroup_root; /* "/sys/fs/cgroup", or a fixture directory (--who) */
    double timeout;          /* seconds per call */
    const long *pids;        /* --pid filter; npids == 0: all */
    size_t npids;
    const char *match; /* --match: POSIX ERE (or a substring if it does not compile) */
    bool match_icase;  /* --ignore-case */
    bool host;         /* read the --host figures of every row's process */
    bool peaks;        /* ask the source for the driver's accounting peaks */
    int peak_rate;     /* --peak-rate: Hz of the source's fast process-list readings */
    bool who;          /* resolve who owns each process (owner.h), once per process */
    long watch_pid;    /* > 0: read this process's figures every sample (--compact) */
    bool gpu_mem;      /* read each GPU's memory in use: sample.gmem (also on by
                          itself in a child PID namespace) */
};

struct sampler;

/* What sampler_new says about its start, for the top level to report. */
struct sampler_start {
    bool substring;     /* --match did not compile: used as a plain substring */
    const char *source; /* the title of the source opened */
    char why[300];      /* on failure: why no source could be opened; with auto:
                           why NVML was not used ("" when it was) */
};

/* A new sampler with its source opened. 0 with *out set (free with
 * sampler_free); -ENOMEM; -EINVAL for an unknown source name; or the
 * source's error (-ENOENT: nvidia-smi not found...) with st->why saying why. */
int sampler_new(const struct sampler_opts *o, struct sampler **out, struct sampler_start *st);
void sampler_free(struct sampler *s);

/* Take one sample into out (emptied first; free with sample_free). 0,
 * -ENOMEM, or -ECANCELED when *cancel became non-zero during it (nothing
 * to write). */
int sampler_run(struct sampler *s, struct sample *out, const volatile sig_atomic_t *cancel);

/* Keep only rows whose PID is in pids[0..n) (sorted ascending), on top of
 * the --pid/--match filter: the process tree of a watched command, updated
 * before each sample. The array is the caller's and must stay valid until
 * the next call; pids NULL turns the filter off. */
void sampler_set_allow(struct sampler *s, const long *pids, size_t n);

void sample_free(struct sample *smp);

/* The indexes of the GPUs the source knows of, at most max of them into
 * idx (in the source's order, possibly repeated); returns how many (0 until
 * known). */
size_t sampler_gpus(const struct sampler *s, int *idx, size_t max);

#endif
