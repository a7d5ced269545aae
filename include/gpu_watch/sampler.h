/* One sample of per-process GPU usage: runs the nvidia-smi queries at once
 * through run_cmd, parses them, joins them by PID and GPU in the PID table,
 * resolves command lines from /proc and applies the --pid/--match filter. */
#ifndef GPU_WATCH_SAMPLER_H
#define GPU_WATCH_SAMPLER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* --host figures of one process. */
struct host_fields {
    double cpu_pct;    /* % of one core over the last interval (since start when first seen); < 0
                          unknown */
    const char *cores; /* "8/9/11"; NULL unknown; valid until the next sample */
    int64_t rss_mib;   /* resident memory; < 0 unknown */
};

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
};

/* The queries of a sample, for reporting what failed. */
enum sample_query { Q_APPS, Q_PMON, Q_GPUS, Q_PS, Q_COUNT };

struct sample {
    struct sample_row *rows; /* sorted by GPU index, then PID */
    size_t n;
    size_t cap;
    size_t procs; /* distinct processes in rows */
    size_t seen;  /* distinct processes on the GPUs, before the --pid/--match filter */
    /* Per query: whether it ran this sample, whether it failed, and why. */
    bool ran[Q_COUNT];
    bool failed[Q_COUNT];
    char why[Q_COUNT][200];
    size_t spawned; /* processes started for this sample */
    /* With sampler_opts.host: the machine's used RAM (MemTotal -
     * MemAvailable, MiB; < 0 unknown). */
    int64_t sys_used_mib;
    /* With sampler_opts.watch_pid: that process's figures, whether or not it
     * is on a GPU; watched_alive is false when it does not exist. */
    bool watched_alive;
    struct host_fields watched;
    int64_t watched_mem_mib; /* its GPU memory summed over GPUs; < 0: on none */
};

struct sampler_opts {
    const char *smi;       /* the nvidia-smi program ("nvidia-smi", looked up in PATH) */
    const char *ps;        /* the ps program, used only when /proc is missing */
    const char *proc_root; /* "/proc", or a fixture directory */
    double timeout;        /* seconds per call */
    const long *pids;      /* --pid filter; npids == 0: all */
    size_t npids;
    const char *match; /* --match: POSIX ERE (or a substring if it does not compile) */
    bool match_icase;  /* match ignoring case (REG_ICASE; strcasestr for the substring) */
    bool host;         /* read the --host figures of every row's process */
    long watch_pid;    /* > 0: read this process's figures every sample (--compact) */
};

struct sampler;

/* A new sampler; NULL with *err = -ENOMEM. *regex_fallback is set when
 * match did not compile as a regex and is used as a substring. */
struct sampler *sampler_new(const struct sampler_opts *o, bool *regex_fallback, int *err);
void sampler_free(struct sampler *s);

/* Take one sample into out (emptied first; free with sample_free). If cancel
 * becomes non-zero, running calls are killed. 0 or -ENOMEM. */
int sampler_run(struct sampler *s, struct sample *out, const volatile sig_atomic_t *cancel);

/* Keep only rows whose PID is in pids[0..n) (sorted ascending), on top of
 * the --pid/--match filter: the process tree of a watched command, updated
 * before each sample. The array is the caller's and must stay valid until
 * the next call; pids NULL turns the filter off. */
void sampler_set_allow(struct sampler *s, const long *pids, size_t n);

void sample_free(struct sample *smp);

/* Number of GPUs in the cached index/UUID map (0 until known). */
size_t sampler_gpu_count(const struct sampler *s);

/* The name of a query, for messages: "compute-apps", "pmon", ... */
const char *sampler_query_name(enum sample_query q);

#endif
