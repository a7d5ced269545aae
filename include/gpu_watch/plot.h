/* `gpu_watch plot`: charts of a log as SVG, PNG or terminal text.
 *
 * The log is aggregated while it is read: each series keeps per-time-bucket
 * min, max, first and last values (struct plot_bucket), with at most
 * PLOT_MAX_BUCKETS buckets over the whole time span; when the span outgrows
 * them, the bucket width doubles and neighbours merge. Memory is bounded by
 * the number of series, not the number of rows, and a one-sample spike
 * stays in its bucket's max. Renderers map the buckets to pixel columns. */
#ifndef GPU_WATCH_PLOT_H
#define GPU_WATCH_PLOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gpu_watch/buf.h"
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

/* The series key of a row's process in a --per-process plot: its PID, or
 * with per_gpu its (GPU, PID) pair. */
long long plot_process_key(bool per_gpu, const struct log_row *row);

/* Set up an empty plot for a log laid out as h (its columns decide which
 * panels have data). 0 or -ENOMEM. */
int plot_init(struct plot *p, const struct plot_opts *o, const struct log_header *h);

/* Add one row (a log_row_fn: ctx is the struct plot). Rows of one sample
 * share a timestamp and come together, as the sampler writes them. */
int plot_add_row(const struct log_row *row, void *ctx);

/* After the last row: close the open sample, compute the median interval.
 * 0 or -ENOMEM. */
int plot_finish(struct plot *p);

void plot_free(struct plot *p);

/* Add a value v at time t to series s (used by plot_add_row; public for
 * tests). 0 or -ENOMEM. */
int plot_series_add(struct plot *p, struct plot_series *s, double t, double v);

/* Merge series s's buckets into ncols pixel columns spanning [tmin, tmax]
 * (out[ncols], zeroed first). */
void plot_columns(const struct plot *p, const struct plot_series *s, double tmin, double tmax,
                  int ncols, struct plot_bucket *out);

/* Record an unknown value (an empty cell) of series s at time t: the line
 * breaks there instead of running straight across. 0 or -ENOMEM. */
int plot_series_hole(struct plot *p, struct plot_series *s, double t);

/* Should the line break between two columns' samples (prev's last, next's
 * first)? When the time between them exceeds three median intervals, or a
 * value between them was unknown. A column with holes and no value (n == 0,
 * nh > 0) breaks the line by itself: renderers check that. */
bool plot_is_gap(const struct plot *p, const struct plot_bucket *prev,
                 const struct plot_bucket *next);

/* Round axis ticks for [0, hi]: *step from 1, 2, 2.5 or 5 times a power of
 * ten, about target ticks; *top the first tick at or above hi (the axis
 * end). hi <= 0 gives an axis 0..1. */
void plot_nice_ticks(double hi, int target, double *step, double *top);

/* Round time ticks over [t0, t1] (epoch seconds), about target of them, on
 * local clock boundaries (whole minutes, hours, local midnights). Writes up
 * to max tick times into ticks and returns how many; *fmt gets the
 * strftime format of their labels ("%H:%M", "%H:%M:%S", "%m-%d %H:%M",
 * "%Y-%m-%d"). */
int plot_time_ticks(double t0, double t1, int target, double *ticks, int max, const char **fmt);

/* Format t (epoch seconds) as local time with an strftime format. */
void plot_fmt_time(double t, const char *fmt, char *out, size_t outsz);

/* The time axis label: "time (UTC)" for Z logs, "time (UTC+05:30)" for
 * offset logs (shown in that zone, see subcmd_show_in_zone), and for naive
 * logs "local time (here: CET, UTC+01:00)": the zone of the machine that
 * plots, said as such, since the log does not say where it was written. */
void plot_zone_label(const struct plot *p, char *out, size_t outsz);

/* A value with its unit for labels: "3590 MiB", "12.5 %", "1.2e+06 MiB". */
void plot_fmt_value(double v, const char *unit, char *out, size_t outsz);

/* The indexes of pn's series, largest peak first (none last; ties in the
 * order first seen), into order[pn->ns]: the one order of legends and
 * labels in every renderer. 0 or -ENOMEM. */
int plot_order_by_peak(const struct plot_panel *pn, int *order);

/* A colour-blind-safe palette (Okabe & Ito), 0xRRGGBB: PLOT_NCOLORS
 * colours, then again. */
uint32_t plot_color(int i);
#define PLOT_NCOLORS 8

/* Line styles: past the palette, series are told apart by dashes. */
enum { PLOT_DASH_SOLID, PLOT_DASH_DASHED, PLOT_DASH_DOTTED, PLOT_DASH_DASHDOT, PLOT_NDASH };

/* A series' colour, and its dash: style s has colour s % 8 and dash
 * (s / 8) % 4, so 32 series look all different. */
uint32_t plot_series_color(const struct plot_series *s);
int plot_series_dash(const struct plot_series *s);

/* Renderers. Each appends a whole document to out; 0 or -ENOMEM. title is
 * the chart's title line, sub a smaller second line (may be ""). */
int plot_svg(const struct plot *p, const char *title, const char *sub, int w, int h,
             struct gw_buf *out);
int plot_png(const struct plot *p, const char *title, const char *sub, int w, int h,
             struct gw_buf *out);
/* Terminal: cols columns wide; colour escapes when color is true. */
int plot_term(const struct plot *p, const char *title, const char *sub, int cols, bool color,
              struct gw_buf *out);

/* The command: `gpu_watch plot LOG.csv [options]` with argv[0] == "plot".
 * Returns the exit status: 0, 1 (file problems), 2 (usage). */
int plot_main(int argc, char **argv);

#endif
