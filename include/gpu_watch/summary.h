/* The answer at the end of a run, or for any log: per process the peak GPU
 * memory (and when), mean and max SM utilization, samples, first and last
 * seen; per GPU the peak of the memory summed over its processes; the span
 * and the interval. Computation only: rows in, numbers out (summary.c);
 * the text, CSV, Markdown and JSON renderings are in summary_fmt.c. */
#ifndef GPU_WATCH_SUMMARY_H
#define GPU_WATCH_SUMMARY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gpu_watch/buf.h"
#include "gpu_watch/logread.h"
#include "gpu_watch/sampler.h"

/* One row fed to the summary. Unknown numbers are NAN (as in logread.h),
 * an unknown gpu or pid is -1, an unknown cmd "". */
struct summary_row {
    double ts; /* seconds since the epoch */
    int gpu;   /* GPU index */
    long pid;
    const char *cmd; /* copied when needed */
    double mem_mib;  /* GPU memory of the process on this GPU, MiB */
    double sm_pct;   /* SM utilization, % */
    double cpu_pct;  /* host CPU, % of one core (--host logs) */
    double rss_mib;  /* resident set size, MiB (--host logs) */
    double peak_mib; /* the driver's peak on this GPU, MiB (--peaks: peak_mem_mib) */
    double peak_hz;  /* --peak-rate: peak_mib was sampled at this rate, Hz (peak_rate_hz);
                        NAN or 0: peak_mib is the driver's */
};

/* One process: a PID with its command (a reused PID with another command is
 * another process). Unknown values are NAN. */
struct summary_proc {
    long pid;                /* -1 in one-process (compact) logs */
    const char *cmd;         /* "" unknown; owned by the summary */
    uint64_t gpu_mask;       /* bit g: seen on GPU index g (0..63) */
    bool gpu_other;          /* seen on an unknown GPU or an index above 63 */
    double peak_mib;         /* the larger of sampled_peak_mib and the driver's, MiB */
    double peak_ts;          /* the first sample that reached it; NAN for the driver's */
    double sampled_peak_mib; /* highest per-sample total over its GPUs, MiB */
    bool peak_driver;        /* peak_mib is the driver's (it is >= every sample): the
                                highest per-sample sum of its GPUs' peak_mem_mib */
    double peak_hz;          /* > 0: peak_mib was sampled at this rate between rows
                                (--peak-rate, no driver's peak); 0 otherwise */
    bool peak_pidns;         /* --peaks, no driver's nor dense peak, and the process
                                was in a PID namespace, where the driver's may stay 0:
                                peak_mib is a lower bound, the true peak unknown */
    double sm_mean;          /* mean SM % over its rows with a value */
    double sm_max;
    unsigned long samples; /* samples it appears in */
    double first_ts, last_ts;
    double rss_peak_mib; /* --host logs */
    double cpu_mean;     /* --host logs: mean % of one core over its samples */
};

/* One GPU: the peak of the memory of all its processes together. */
struct summary_gpu {
    int gpu;          /* index; -1 for rows whose GPU is unknown */
    double peak_mib;  /* NAN when no row had a value */
    double peak_ts;   /* NAN when peak_driver raised it */
    bool peak_driver; /* its only process's driver peak, above every sample */
};

/* Processes listed at most: a machine-wide run of weeks must not grow
 * without bound. Rows of further processes count in the GPU totals only. */
#define SUMMARY_MAX_PROCS 10000

struct summary_result {
    const struct summary_proc *procs; /* sorted by peak memory, highest first */
    size_t nprocs;
    const struct summary_gpu *gpus; /* sorted by index */
    size_t ngpus;
    double total_peak_mib; /* peak of the sum over every GPU; NAN if none */
    double total_peak_ts;
    bool total_peak_driver; /* the only process's driver peak, above every sample */
    unsigned long samples;  /* samples with at least one row (or, when none had
                               one, the samples taken) */
    unsigned long rows;
    unsigned long untracked_rows; /* rows of processes past SUMMARY_MAX_PROCS */
    double first_ts, last_ts;     /* the span; NAN when there were no samples */
    double interval;              /* seconds: as set, or the median gap; NAN unknown */
    unsigned long gaps;           /* pauses longer than 3 intervals */
    double gap_s;                 /* their total length, s */
    bool host;                    /* CPU/RSS values were seen */
    bool peaks;                   /* say where each peak came from: always set (every
                                     rendering carries peak_source, issue 23) */
    size_t driver_peaks;          /* processes whose peak is the driver's */
    size_t dense_peaks;           /* processes whose peak was sampled between rows */
    size_t pidns_peaks;           /* processes with peak_pidns */
    double dense_hz;              /* their highest rate, Hz; 0 none */
};

struct summary;

/* A new, empty summary; NULL when out of memory. Free with summary_free. */
struct summary *summary_new(void);
void summary_free(struct summary *s);

/* Start a new sample taken at ts (epoch seconds). A sample without rows
 * still counts in the span (the sampler ran and saw nothing). 0 or
 * -ENOMEM. */
int summary_sample(struct summary *s, double ts);

/* Add a row to the current sample (one is started at r->ts if none is).
 * 0 or -ENOMEM. */
int summary_add(struct summary *s, const struct summary_row *r);

/* Add a row of a log, where samples are not marked: a new sample starts
 * when the timestamp changes, or when a (GPU, PID) pair repeats within the
 * same timestamp (two samples in one second). 0 or -ENOMEM. */
int summary_add_log(struct summary *s, const struct summary_row *r);

/* summary_add_log for one row of a log read by logread (any schema). */
int summary_add_log_row(struct summary *s, const struct log_row *row);

/* Add one sample of the running sampler, taken at ts (epoch seconds): the
 * rows gpu_watch has just written, without reading the log back. host: the
 * rows carry --host figures; otherwise those of the --compact process
 * (smp->watched) are used when it is alive. A sample without rows is not
 * counted, as the log (which has no row of it) cannot count it, unless no
 * sample had rows: then they give the count and span. 0 or -ENOMEM. */
int summary_add_sample(struct summary *s, double ts, const struct sample *smp, bool host);

/* The driver's peak (MiB) of process pid on one of its GPUs, read once
 * after the run (wrap mode reads the accounting when the command has
 * ended): summed over its GPUs, it stands beside the highest sample as the
 * peak_mem_mib of rows does. 0, or -ENOENT when no process has that PID. */
int summary_add_driver_peak(struct summary *s, long pid, double mib);

/* Where p's peak came from, for every rendering: "driver", "sampled at
 * 50 Hz" (--peak-rate), "unknown (process in a PID namespace)" (peak_pidns:
 * the sampled lower bound, the driver's peak missing) or "sampled" (the rows
 * only: a lower bound). Written into dst (at most len bytes, 48 holds them
 * all); returns dst. */
const char *summary_peak_source(const struct summary_proc *p, char *dst, size_t len);

/* The rows carry the driver's peaks (a --peaks run): the renderings say
 * where each peak came from. A log with peak_mem_mib sets it by itself. */
void summary_set_peaks(struct summary *s);

/* The sampling interval, when known (a run's --interval); without it the
 * median gap between samples is used. */
void summary_set_interval(struct summary *s, double seconds);

/* Compute the results. They stay valid until the next call on s. 0 or
 * -ENOMEM. */
int summary_result(struct summary *s, struct summary_result *out);

/* Renderings. */
enum summary_format {
    SUMMARY_TEXT, /* aligned columns for a terminal */
    SUMMARY_CSV,  /* one row per process, per GPU total and for the run */
    SUMMARY_MD,   /* a Markdown table */
    SUMMARY_JSON, /* one object */
};

struct summary_fmt_opts {
    bool utc;              /* times in UTC with a Z; else local time */
    bool offset;           /* local time is a fixed offset (subcmd_show_in_zone):
                              ISO times end in it, "+01:00" */
    int width;             /* text: line width to fit the command into (0: 120; < 0: never cut) */
    const char *title;     /* text/md: what was summarised, e.g. the log's name; may be NULL */
    unsigned long skipped; /* malformed rows skipped while reading, for the note */
    /* summary --by: NULL, or each "process" is a group: by_row its row type
     * ("job", "user"), by_field its key's field ("job_id", "user"), its cmd
     * the key's value ("" none: null in JSON, empty in CSV), its pid hidden. */
    const char *by_row, *by_field;
};

#endif
