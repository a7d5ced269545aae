/* `gpu_watch job`: one job's answer on this node, from the service's
 * --who log and the driver's accounting records read at the end of the
 * job. Pure: rows and records in, a report out; no I/O (job_cmd.c reads
 * the log and runs nvidia-smi, job_fmt.c writes the report).
 *
 * Memory per GPU as two bounds (MiB):
 *  - lower: the larger of the highest sampled sum over the job's
 *    processes in one sample and the largest single driver peak: the job
 *    held at least that much at some instant;
 *  - upper: the sum of the job's processes' true peaks (each the larger
 *    of its driver peak and its highest sample), known only when every
 *    process has a driver peak: they may have peaked at different times,
 *    so it may be above the truth, never below. The two are equal with one
 *    process, or when the processes' peaks fell in one sample. */
#ifndef GPU_WATCH_JOB_H
#define GPU_WATCH_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gpu_watch/logread.h"
#include "gpu_watch/parse.h" /* GW_UUID_MAX, GW_UNKNOWN, struct acct_rec */

/* The driver's accounting buffer per GPU when the driver does not say
 * ("Accounting Mode Buffer Size" of nvidia-smi -q): 4,000 on every Linux
 * driver seen. */
#define JOB_ACCT_BUFFER 4000
/* Seconds of clock slack when a record's start time is compared with the
 * job's window (the prolog's snapshot is taken just before the job's
 * processes start; clocks have a tick's resolution). */
#define JOB_SLACK_S 1.0
/* A gap between two of the job's samples on a GPU longer than this many
 * intervals means samples are missing. */
#define JOB_GAP_INTERVALS 2.5

/* One GPU as the driver describes it. */
struct job_gpu_info {
    int index;              /* nvidia-smi's index (PCI order) */
    char uuid[GW_UUID_MAX]; /* "" unknown */
    int minor;              /* /dev/nvidiaN: Slurm's number; -1 unknown */
    int acct;               /* accounting mode: 1 on, 0 off, GW_UNKNOWN */
    long buffer;            /* accounting buffer size, records; -1 unknown */
};

/* One accounting record read at the end (or in the prolog's snapshot). */
struct job_rec {
    char uuid[GW_UUID_MAX];
    long pid;
    int64_t max_mib; /* the process's peak, MiB; GW_UNKNOWN (0 is unknown too) */
    int64_t time_ms; /* life of its GPU context, ms; 0 while it runs; GW_UNKNOWN */
    double start;    /* start, s since the epoch (NVML startTime); NAN unknown
                        (nvidia-smi gives none) */
};

/* Quality flags of a report (bits). */
enum job_flag {
    JOB_F_ACCT_OFF = 1u << 0,            /* some GPU of the job has accounting off */
    JOB_F_ACCT_UNREAD = 1u << 1,         /* the accounting could not be read */
    JOB_F_OVERWRITTEN = 1u << 2,         /* the buffer overwrote records inside the window */
    JOB_F_OVERWRITE_MAYBE = 1u << 3,     /* full buffer, and nothing tells whether it did */
    JOB_F_NO_WHO = 1u << 4,              /* the log has no --who columns */
    JOB_F_SAMPLES_MISSING = 1u << 5,     /* no sample for part of the window */
    JOB_F_UNSAMPLED_UNCOUNTED = 1u << 6, /* no start times, no snapshot: processes
                                            no sample saw cannot be counted */
    JOB_F_GPU_MAP_UNKNOWN = 1u << 7,     /* Slurm's GPUs could not be mapped (no minor numbers) */
    JOB_F_JOB_ID_CLAIMED = 1u << 8,      /* some rows' job id is only claimed (environ) */
    JOB_F_NO_LOG = 1u << 9,              /* no log row of the job */
};
#define JOB_NFLAGS 10

/* The flag's stable name ("accounting_off", ...) and a sentence for the
 * text report; NULL for a bit that is not a flag. */
const char *job_flag_name(unsigned bit);
const char *job_flag_text(unsigned bit);

/* Where a figure came from. */
enum job_src {
    JOB_SRC_NONE = 0, /* unknown */
    JOB_SRC_SAMPLED,  /* the highest sample (or sampled sum) */
    JOB_SRC_DRIVER,   /* the driver's accounting record, read at the end */
    JOB_SRC_LOG_PEAK, /* the log's peak_mem_mib column (the driver's, while it ran) */
};
const char *job_src_name(enum job_src s); /* "sampled", "driver", "log_peak", "none" */

/* One process of the job on one GPU. */
struct job_proc {
    long pid;
    char *cmd;  /* owned; "" unknown */
    char *user; /* owned; "" unknown */
    unsigned long samples;
    double first, last;  /* seen in samples, s since the epoch; NAN: no sample saw it */
    double sampled_mib;  /* highest sample, MiB; NAN none */
    double log_peak_mib; /* highest peak_mem_mib of its rows; NAN none */
    double driver_mib;   /* its accounting record's peak; NAN none */
    long rec;            /* index of its record in the records given; -1 none */
    double true_mib;     /* the larger of the known figures; NAN none */
    enum job_src true_src;
    bool from_acct_only; /* no sample saw it: found in the accounting records */
};

struct job_gpu {
    int index;              /* gpu_watch's (nvidia-smi's) index; -1 unknown */
    char uuid[GW_UUID_MAX]; /* "" unknown */
    int minor;              /* -1 unknown */
    bool slurm;             /* one of the GPUs Slurm gave the job (whole, its alone) */
    int acct;               /* 1 on, 0 off, GW_UNKNOWN */
    unsigned long samples;  /* samples holding a row of the job on this GPU */
    double first, last;     /* s since the epoch; NAN none */
    double sm_sum, sm_max;  /* SM %, summed over the job's processes per sample */
    unsigned long sm_n;     /* samples with a known SM figure */
    double sum_max_mib;     /* highest per-sample sum of the job's memory; NAN none */
    double cur_ts;          /* the sample being summed (rows of a sample come together) */
    double cur_mem, cur_sm;
    bool cur_mem_ok, cur_sm_ok;
    double max_gap;   /* longest time between two of its samples, s */
    unsigned flags;   /* enum job_flag of this GPU */
    double lower_mib; /* NAN unknown */
    enum job_src lower_src;
    double upper_mib; /* NAN unknown: upper_why says why */
    const char *upper_why;
    struct job_proc *procs;
    size_t nprocs, cap;
};

/* The report, filled by job_add_row and job_finish; zero it with job_init. */
struct job {
    const char *job_id;             /* not owned */
    double start, end;              /* the window, s since the epoch; start NAN unknown */
    bool start_guessed;             /* start is the job's first sample (no real start known):
                                       a process may have started before it */
    unsigned flags;                 /* enum job_flag */
    unsigned long rows, other_rows; /* the job's rows; rows of the window from others */
    double log_first, log_last;     /* the log's first and last timestamps; NAN none */
    double interval;                /* the log's interval, s; NAN unknown */
    double prev_ts;                 /* the previous distinct timestamp (interval) */
    double *gaps;                   /* the log's distinct steps, for the median */
    size_t ngaps, gaps_cap;
    struct job_gpu *gpus;
    size_t ngpus, cap;
    double lower_mib, upper_mib; /* the most one GPU needed; NAN unknown */
    enum job_src lower_src;
    const char *upper_why;
    bool have_who; /* the log has the --who columns */
};

/* What the end of the job knows besides the log. */
struct job_end {
    const struct job_gpu_info *gpus; /* the driver's GPUs; may be NULL */
    size_t ngpus;
    bool gpus_read;   /* the GPU list was read (else: no accounting at all) */
    const int *slurm; /* Slurm's GPU numbers (minor numbers); NULL: not given */
    size_t nslurm;
    const struct job_rec *recs; /* the accounting records read at the end */
    size_t nrecs;
    bool recs_read;
    const struct job_rec *before; /* the prolog's snapshot; NULL: none */
    size_t nbefore;
    bool have_before;
    const char *user; /* the job's user, for processes only the records hold; NULL unknown */
};

void job_init(struct job *j, const char *job_id, double start, double end);

/* Whether a log's job_id field names job id; *claimed is set when it does
 * with a mark that the id was only claimed (read from the process's
 * environment, not from the cgroup). The one place that reads the owner
 * columns: marks accepted are anything around the digits ("123?",
 * "claimed:123", "~123", "123 (claimed)"); bare digits are proven. */
bool job_id_matches(const char *field, const char *id, bool *claimed);

/* Take one log row: the job's rows build processes and per-GPU sums; all
 * rows give the log's span and interval. 0 or -ENOMEM. */
int job_add_row(struct job *j, const struct log_row *row);

/* Join the rows with the GPUs and records of e (a start still unknown
 * becomes the job's first sample: start_guessed): map Slurm's numbers by
 * minor number, give each process its own record, add the processes only
 * the records hold (GPUs of the job's alone, records started inside the
 * window), compute the bounds and the flags. 0 or -ENOMEM. */
int job_finish(struct job *j, const struct job_end *e);

void job_free(struct job *j);

/* Which record of recs[0..n) on uuid is pid's own, the process seen in
 * samples from first to last (NAN: never sampled), in a job's window
 * [start, end]: a record that is in before (a snapshot taken at the start)
 * or started before the window is someone else's; a running record (time
 * 0) of a PID is its running process's; a finished one must have a life no
 * longer than the window and no shorter than the span sampled. -1 when
 * none or more than one fits. Pure; exposed for the tests. */
long job_match_record(const struct job_rec *recs, size_t n, const char *uuid, long pid,
                      double first, double last, double start, double end,
                      const struct job_rec *before, size_t nbefore, bool have_before);

/* Whether rec started inside the window [start, end], judged from its start
 * time or, without one, from the snapshot (a record absent from it, or
 * changed since, is new): 1 yes, 0 no, -1 cannot be told. */
int job_rec_in_window(const struct job_rec *rec, double start, double end,
                      const struct job_rec *before, size_t nbefore, bool have_before);

/* Whether the buffer of the GPU uuid may have overwritten records of the
 * window: 1 yes (full, and no record older than the window is left), 0 no,
 * -1 cannot be told (full, no start times, no snapshot). */
int job_overwritten(const struct job_rec *recs, size_t n, const char *uuid, long buffer,
                    double start, const struct job_rec *before, size_t nbefore, bool have_before);

#endif
