/* The types of `gpu_watch plot`, shared by its files (a type-only header:
 * the functions are in plot_data.h, plot_bucket.h, plot_axis.h and one
 * header per renderer).
 *
 * The log is aggregated while it is read: each series keeps per-time-bucket
 * min, max, first and last values (struct plot_bucket), with at most
 * PLOT_MAX_BUCKETS buckets over the whole time span; when the span outgrows
 * them, the bucket width doubles and neighbours merge. Memory is bounded by
 * the number of series, not the number of rows, and a one-sample spike
 * stays in its bucket's max. Renderers map the buckets to pixel columns. */
#ifndef GPU_WATCH_PLOT_TYPES_H
#define GPU_WATCH_PLOT_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gpu_watch/hashtab.h"
#include "gpu_watch/logread.h"

/* Buckets over the whole time span: twice a wide chart's pixel columns. */
#define PLOT_MAX_BUCKETS 4096
/* Finest bucket width, seconds: a short log keeps every sample apart. */
#define PLOT_MIN_WIDTH 0.001

/* The values of one series that fell in one time bucket (or pixel column).
 * Empty when n == 0. */
struct plot_bucket {
    float min, max;    /* extremes, in the panel's unit */
    float first, last; /* the earliest and latest values */
    double t_first;    /* epoch seconds of first */
    double t_last;     /* epoch seconds of last */
    uint32_t n;        /* values merged in */
    uint32_t nh;       /* unknown values (empty cells) merged in: holes */
    double h_first;    /* epoch seconds of the first hole, when nh > 0 */
    double h_last;     /* and of the last */
};

struct plot_series {
    char name[72]; /* legend text */
    long long key; /* GPU index, PID, or both; 0 for a total */
    int style;     /* colour and dash (plot_series_color/_dash): the same
                      process has the same style in every panel */
    int lo;        /* global index of b[0] */
    int nb;        /* buckets held */
    size_t cap;    /* buckets allocated */
    struct plot_bucket *b;
    double peak;   /* largest value, NAN before any */
    double peak_t; /* its time, epoch seconds */
    unsigned long count;
    /* The value being summed for the current sample. */
    double pend;
    bool pend_set;
    /* GPU memory panel of a --peaks log: the highest per-sample sum of the
     * driver's peaks (peak_mem_mib) of the series' rows, MiB; NAN none. */
    double driver_peak;
    double drv_pend;
    bool drv_set;
};

enum plot_panel_kind { PANEL_GPU_MEM, PANEL_SYS_MEM, PANEL_SM, PANEL_CPU, PANEL_NKINDS };

struct plot_panel {
    enum plot_panel_kind kind;
    const char *label;   /* axis label with unit, "GPU memory (MiB)" */
    const char *unit;    /* "MiB" or "%" */
    const char *missing; /* the log lacks the column: what to say instead */
    struct plot_series *s;
    int ns;
    size_t cap;
    struct hashtab *hidx; /* key -> its index in s (int); NULL before the first */
    int *touched;         /* series with a pending value in the current sample */
    int ntouched;
    size_t tcap;
};

/* --per-process: processes drawn apart at most. Styles are told apart up
 * to 8 colours x 4 dashes = 32 (plot_series_style): one is left for the
 * "other processes" series that sums the rest, so memory and output stay
 * bounded whatever the log holds. */
#define PLOT_MAX_PROCS 31
/* The key of that series. */
#define PLOT_KEY_OTHER (-2LL)

/* How rows become series. */
struct plot_opts {
    bool per_gpu;     /* one line per GPU index */
    bool per_process; /* one line per PID */
    bool util;        /* SM utilization panel */
    bool cpu;         /* CPU panel */
    /* per_process: the keys (plot_process_key) drawn apart, sorted
     * ascending (plot_rank_finish); rows of other keys are summed into
     * "other processes". NULL: every key apart (at most PLOT_MAX_PROCS;
     * the next ones are folded, in order of appearance). Not owned. */
    const long long *keep;
    int nkeep;
};

/* Reservoir of sample intervals, for the median that decides breaks. */
#define PLOT_RESERVOIR 8192

struct plot {
    struct plot_opts o;
    enum log_schema schema;
    struct plot_panel panel[PANEL_NKINDS];
    int npanels;
    int order[PANEL_NKINDS]; /* panel kinds, top to bottom */
    double t0;               /* time of bucket 0's start, epoch seconds */
    double w;                /* bucket width, seconds */
    int hi;                  /* one past the highest bucket index used */
    bool started;
    double tmin, tmax;     /* of the samples, epoch seconds */
    unsigned long samples; /* distinct timestamps (runs of rows) */
    unsigned long rows;
    /* The sample being accumulated: rows with the same timestamp. */
    double cur_t;
    bool in_sample;
    double gpu_sm[64]; /* per GPU index of the sample: summed SM %, NAN none */
    double sys;        /* sys_used_mib of the sample, NAN none */
    /* (GPU, PID) pairs seen in the sample: one seen again means a new
     * sample with the same timestamp (sub-second --interval). A set
     * (hashtab.h, values unused), emptied at each sample; NULL before. */
    struct hashtab *seen;
    float *iv; /* interval reservoir, seconds */
    unsigned long niv;
    uint32_t rng;
    int nstyles;      /* styles handed out so far */
    double median_dt; /* after plot_finish; 0 when unknown */
    enum log_tz tz;   /* how the first row's timestamp gave its zone */
    long tz_off;      /* its offset, s east of UTC (LOG_TZ_OFFSET) */
    int err;          /* first -ENOMEM */
};

/* Colours of the palette (plot_color). */
#define PLOT_NCOLORS 8

/* Line styles: past the palette, series are told apart by dashes. */
enum { PLOT_DASH_SOLID, PLOT_DASH_DASHED, PLOT_DASH_DOTTED, PLOT_DASH_DASHDOT, PLOT_NDASH };

#endif
