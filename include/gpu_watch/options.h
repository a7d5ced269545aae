/* The command line of the sampler: parsing and checking only. Nothing here
 * prints, opens files or exits; the caller reports errors. */
#ifndef GPU_WATCH_OPTIONS_H
#define GPU_WATCH_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

#define GW_DEFAULT_INTERVAL      30.0 /* seconds */
#define GW_DEFAULT_WRAP_INTERVAL 1.0  /* seconds, when wrapping a command */
#define GW_DEFAULT_TIMEOUT       10.0 /* seconds per nvidia-smi call */
#define GW_DEFAULT_PEAK_RATE     50   /* Hz, --peak-rate without a value */
#define GW_DEFAULT_OUTPUT        "./gpu_log.csv"

struct gw_config {
    long *pids; /* --pid values, malloc'd */
    size_t npids;
    size_t cap_pids;   /* room in pids */
    const char *match; /* --match pattern or NULL; points into argv */
    char *match_ere;   /* match translated to a POSIX ERE (pattern.h), malloc'd; NULL without */
    bool match_icase;  /* -i, or match began with (?i) */
    bool icase;        /* -i, --ignore-case */
    double interval;   /* seconds between samples */
    bool interval_set;
    char *output; /* output path after ~ expansion, malloc'd; "-" is stdout */
    bool append;
    bool force;
    long count;         /* samples to take; 0 = until stopped */
    double timeout;     /* seconds per nvidia-smi call */
    const char *source; /* --source: "smi" (default), "nvml" or "auto"; static or in argv */
    bool utc;
    bool tz_offset; /* --tz-offset: "+01:00" after each timestamp */
    bool ms;        /* --ms: milliseconds in timestamps (also whenever interval < 1 s) */
    bool summary;   /* --summary: the end-of-run summary even when stderr is no terminal */
    bool quiet;
    bool host;                 /* --host: cpu_pct,cpu_cores,rss_mib,sys_used_mib columns */
    bool compact;              /* --compact: the one-process log of the old gpu_watch.sh */
    bool peaks;                /* --peaks: the peak_mem_mib column (driver's accounting) */
    int peak_rate;             /* --peak-rate: Hz of the process-list polls; 0 off */
    bool who;                  /* --who: user,job_id,container columns */
    const char *prom_textfile; /* --prom-textfile: a *.prom path, or NULL; points into argv */
    const char *prom_command;  /* --prom-command: "full", "name", "none", or NULL (full) */
    bool status;               /* --status: status line even when wrapping a command */
    bool until_exit;           /* --until-exit: stop when every --pid has exited */
    char **command;            /* after "--": the command to run and watch; points into argv */
};

enum options_result {
    OPTIONS_OK = 0,
    OPTIONS_HELP,    /* -h/--help: print options_help() to stdout, exit 0 */
    OPTIONS_VERSION, /* -V, --version */
    OPTIONS_USAGE,   /* bad input: err holds one line; exit 2 */
};

/* Parse argv into cfg (zeroed and defaulted first). home is $HOME for the
 * ~ expansion (may be NULL). On OPTIONS_USAGE err holds the message. Free
 * with options_free whatever the result. */
enum options_result options_parse(int argc, char **argv, const char *home, struct gw_config *cfg,
                                  char *err, size_t errlen);

void options_free(struct gw_config *cfg);

/* The --help text. */
const char *options_help(void);

/* Parse a non-negative number of seconds ("30", "0.5"); false on junk,
 * negatives, NaN or values above max. */
bool options_parse_seconds(const char *s, double max, double *out);

/* PATH with a leading "~" or "~/" replaced by HOME (when HOME is set and not
 * empty), as a shell would for an unquoted path; other paths copied. Returns
 * a string the caller frees with free(), or NULL when out of memory. */
char *options_expand_home(const char *path, const char *home);

#endif
