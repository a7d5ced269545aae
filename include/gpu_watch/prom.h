/* Prometheus exposition of one sample for node_exporter's textfile
 * collector (--prom-textfile): the text built from plain structs (pure),
 * then published atomically. Base units (bytes, seconds, ratios 0-1), HELP
 * and TYPE on every metric, no timestamps, every series unique. */
#ifndef GPU_WATCH_PROM_H
#define GPU_WATCH_PROM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gpu_watch/buf.h"

/* Longest command label, in bytes (cut on a UTF-8 boundary): the info
 * series identifies a process; the full line is in the CSV log. */
#define PROM_COMMAND_MAX 128

/* What the command label of gpu_watch_process_info holds (--prom-command):
 * command lines may name files, hosts or secrets, and everyone who reads
 * the central Prometheus sees them. */
enum prom_command {
    PROM_COMMAND_FULL, /* the command line, cut after PROM_COMMAND_MAX bytes */
    PROM_COMMAND_NAME, /* the program name only: its first word, without the directory */
    PROM_COMMAND_NONE, /* no command label */
};

/* One process on one GPU. Numbers < 0 are unknown: the series is left out,
 * never written as 0. Strings NULL or "" are unknown. */
struct prom_proc {
    int gpu; /* GPU index; < 0 when it could not be mapped (no gpu label) */
    const char *gpu_uuid;
    long pid;
    int64_t mem_mib;  /* GPU memory, MiB */
    int64_t sm_pct;   /* SM utilization, % */
    int64_t mem_pct;  /* memory-controller utilization, % */
    int64_t peak_mib; /* the driver's peak, MiB (with peaks) */
    double cpu_pct;   /* % of one core over the last interval (with host) */
    int64_t rss_mib;  /* resident memory, MiB (with host) */
    const char *cmd;  /* full command line */
    const char *user; /* with who: name or uid */
    const char *job_id;
    const char *container;
};

/* One query the sampler makes, with its history. */
struct prom_query {
    const char *name;  /* label value: "smi:apps", "smi:pmon", ... */
    bool ok;           /* the last run succeeded */
    uint64_t failures; /* failed runs since start */
};

/* One GPU's memory that no listed process accounts for (sample.gmem). */
struct prom_gpu_mem {
    int gpu;
    int64_t unattributed_mib; /* < 0 unknown: no series */
};

struct prom_sample {
    const struct prom_proc *procs; /* any order; the same (GPU, UUID, PID) twice is written once */
    size_t n;
    /* false when the source could not list the processes this sample: the
     * per-process series and the process counts are left out (a failed
     * query must not read as an idle GPU). */
    bool listed;
    /* Bit i: GPU index i could not list its processes: it gets no count. */
    uint64_t unlisted;
    const int *gpus; /* indexes of the GPUs known (repeats ignored): each gets a */
    size_t ngpus;    /* process count, 0 when idle */
    const struct prom_query *q;
    size_t nq;
    double time;     /* wall clock when the sample was taken, s since the epoch */
    double duration; /* how long it took, s; < 0 unknown */
    bool host;       /* write the CPU and resident-memory series */
    bool peaks;      /* write the peak-memory series */
    bool who;        /* put user, job_id, container on the info series */
    enum prom_command command;
    const char *version;             /* gpu_watch_build_info's labels; NULL: no build_info */
    const char *source;              /* the source that answered ("nvidia-smi", "NVML"); NULL: "" */
    const struct prom_gpu_mem *gmem; /* gpu_watch_gpu_memory_unattributed_bytes */
    size_t ngmem;
};

/* Append the exposition of s to out (LF line ends, last line ending in LF).
 * 0 or -ENOMEM (out then holds a partial text). */
int prom_format(const struct prom_sample *s, struct gw_buf *out);

/* Append v to out as a label value: '\\', '"' and newline escaped, other
 * control characters (C0, DEL, C1) and bytes that are not UTF-8 as U+FFFD
 * (text_clean's rule), cut after max bytes of v on a character boundary
 * (max 0: no cut). 0 or -ENOMEM. */
int prom_escape(struct gw_buf *out, const char *v, size_t max);

/* Write text[0..len) to a temporary file in path's directory (its name
 * does not end in ".prom", so node_exporter ignores it), mode 0644, and
 * rename(2) it over path: a reader sees the old file or the new one, never
 * part of one. 0 or a negative errno (the temporary file removed). */
int prom_publish(const char *path, const char *text, size_t len);

/* Remove path (on a clean exit: the processes it describes are no longer
 * watched). 0 when it is gone, also when it was not there; or -errno. */
int prom_remove(const char *path);

#endif
