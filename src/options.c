/* Command-line parsing for the sampler. */
#include "gpu_watch/options.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_watch/array.h"
#include "gpu_watch/pattern.h"

#define MAX_INTERVAL 86400.0 /* one sample a day at most */
/* The shortest --interval, seconds: below it the loop only wakes to find
 * its slot gone (one sample takes milliseconds at best); the timestamps
 * have milliseconds. 1 ms keeps the stress tests (soak) possible. */
#define MIN_INTERVAL 0.001
#define MAX_TIMEOUT  3600.0
#define MAX_PIDS     4096
#define MAX_HZ       1000 /* --peak-rate: a reading every millisecond at most */

static const char help_text[] =
    "Usage: gpu_watch [OPTIONS]\n"
    "       gpu_watch [OPTIONS] -- COMMAND [ARGS...]\n"
    "       gpu_watch plot LOG.csv [PLOT OPTIONS]      (see gpu_watch plot --help)\n"
    "       gpu_watch summary LOG.csv [--format F]    (see gpu_watch summary --help)\n"
    "       gpu_watch job --log LOG.csv JOB_ID         (see gpu_watch job --help)\n"
    "\n"
    "Sample per-process NVIDIA GPU usage (nvidia-smi and /proc) and append CSV rows\n"
    "timestamp,gpu_index,pid,cmd,gpu_mem_mib,sm_util_pct,mem_util_pct until stopped.\n"
    "\n"
    "Options:\n"
    "  --pid N[,N...]     only these processes (may be repeated): PIDs as gpu_watch\n"
    "                     sees them, the container's inside a container, the host's\n"
    "                     on the host\n"
    "  --match PATTERN    only processes whose command line (capped at 4096 bytes,\n"
    "                     see the README) matches this regex: POSIX extended, plus\n"
    "                     Python's \\d \\s \\w \\xHH, (?i), (?:...) and lazy quantifiers\n"
    "                     (look-arounds, back-references, \\u... are refused); an\n"
    "                     invalid regex is used as a plain substring\n"
    "  -i, --ignore-case  --match ignores case\n"
    "  --interval SEC     seconds between samples (default 30; 1 when wrapping a\n"
    "                     command); fractions allowed, at least 0.001\n"
    "  -o, --output PATH  CSV file (default ./gpu_log.csv); '-' writes to stdout\n"
    "  --append           add rows to an existing log (its header must match)\n"
    "  --force            overwrite an existing log\n"
    "  --count N          stop after N samples\n"
    "  --timeout SEC      upper bound on one sample, all its calls together\n"
    "                     (default 10)\n"
    "  --source SRC       where samples come from: smi (nvidia-smi, the default),\n"
    "                     nvml (the NVIDIA library, in-process), auto (NVML if it\n"
    "                     loads, else nvidia-smi)\n"
    "  --utc              timestamps in UTC with a Z suffix (default: local time)\n"
    "  --tz-offset        timestamps with the UTC offset: 2026-11-20T10:00:00+01:00\n"
    "                     (for long runs, this or --utc: local times repeat when\n"
    "                     daylight saving time ends)\n"
    "  --ms               timestamps with milliseconds (always when --interval < 1,\n"
    "                     but for --compact)\n"
    "  --host             add cpu_pct,cpu_cores,rss_mib,sys_used_mib columns\n"
    "  --peaks            add peak_mem_mib: each process's true peak GPU memory\n"
    "                     from the driver's accounting (empty while accounting is off)\n"
    "  --peak-rate [HZ]   NVML (--source nvml or auto): between rows, read the process\n"
    "                     lists HZ times a second (default 50) and keep each process's\n"
    "                     highest memory in peak_mem_mib; adds peak_rate_hz,mig_instance\n"
    "  --who              add user,job_id,container,container_pid columns: the\n"
    "                     process's user, its Slurm job (claimed:N when only its\n"
    "                     environment names it), its container or Kubernetes pod,\n"
    "                     and its PID inside its own PID namespace\n"
    "  --prom-textfile PATH  after each sample, write the Prometheus metrics of that\n"
    "                     sample to PATH (a .prom file in node_exporter's textfile\n"
    "                     directory), replaced atomically; removed on exit. With\n"
    "                     -o /dev/null no CSV is kept\n"
    "  --prom-command full|name|none  what the command label of\n"
    "                     gpu_watch_process_info holds: the command line (default,\n"
    "                     at most 128 bytes), the program name only, or no label\n"
    "  --compact          one row per interval for one --pid:\n"
    "                     timestamp,used_mib,sys_used_mib,cpu_cores,cpu_pct\n"
    "  --until-exit       with --pid: stop once every given process has exited\n"
    "  --status           show the status line even when wrapping a command\n"
    "  --summary          print the summary at the end even when stderr is not a\n"
    "                     terminal (by default: on a terminal, or with a command)\n"
    "  -q, --quiet        no status line and no summary at the end; warnings only\n"
    "  -h, --help         this help\n"
    "  -V, --version      print the version\n"
    "\n"
    "Examples:\n"
    "  gpu_watch --match python --interval 30\n"
    "  gpu_watch --pid 1234 --append -o ~/gpu.csv\n"
    "  gpu_watch --count 1 --append -o /var/log/gpu/gpu.csv  (from cron; silent)\n"
    "  gpu_watch -o run.csv -- python3 train.py --epochs 3   (watch a command)\n"
    "\n"
    "Signals: SIGINT, SIGTERM and a hangup of the terminal end the run; SIGHUP sent\n"
    "by a process (kill -HUP, logrotate) reopens the log.\n"
    "\n"
    "Exit status: 0 when stopped by Ctrl+C, SIGTERM, --count or --until-exit; 1 on\n"
    "a runtime error (output not writable, nvidia-smi not found, no sample got\n"
    "any data from nvidia-smi); 2 on bad usage;\n"
    "with a command, the command's own status (128+N if signal N killed it), 127\n"
    "if it was not found, 126 if it could not be run. See man gpu_watch.\n";

const char *options_help(void)
{
    return help_text;
}

static void set_err(char *err, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
}

bool options_parse_seconds(const char *s, double max, double *out)
{
    if (!s || !*s)
        return false;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || end == s || !isfinite(v) || v <= 0 || v > max)
        return false;
    /* strtod accepts hex and "inf"; only plain decimals are seconds here. */
    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || *p == '.'))
            return false;
    *out = v;
    return true;
}

static bool parse_long(const char *s, long min, long max, long *out)
{
    if (!s || !*s || *s == '+' || *s == ' ')
        return false;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < min || v > max)
        return false;
    *out = v;
    return true;
}

/* --peak-rate: a whole number of Hz, 1 to MAX_HZ. */
static bool parse_hz(const char *s, int *out)
{
    long v;
    if (!parse_long(s, 1, MAX_HZ, &v))
        return false;
    *out = (int)v;
    return true;
}

static int add_pids(struct gw_config *cfg, const char *arg, char *err, size_t errlen)
{
    const char *p = arg;
    for (;;) {
        const char *c = strchr(p, ',');
        size_t len = c ? (size_t)(c - p) : strlen(p);
        char tok[32];
        long pid;
        if (len == 0 || len >= sizeof tok) {
            set_err(err, errlen, "invalid --pid '%s': expected a process ID or a comma list", arg);
            return -1;
        }
        memcpy(tok, p, len);
        tok[len] = '\0';
        if (!parse_long(tok, 1, INT_MAX, &pid)) {
            set_err(err, errlen, "invalid --pid '%s': '%s' is not a process ID", arg, tok);
            return -1;
        }
        if (cfg->npids >= MAX_PIDS) {
            set_err(err, errlen, "too many --pid values (at most %d)", MAX_PIDS);
            return -1;
        }
        if (array_reserve(&cfg->pids, &cfg->cap_pids, cfg->npids + 1, sizeof *cfg->pids) < 0) {
            set_err(err, errlen, "out of memory");
            return -1;
        }
        cfg->pids[cfg->npids++] = pid;
        if (!c)
            return 0;
        p = c + 1;
    }
}

char *options_expand_home(const char *path, const char *home)
{
    if (path[0] == '~' && (path[1] == '/' || path[1] == '\0') && home && *home) {
        size_t n = strlen(home) + strlen(path);
        char *s = malloc(n);
        if (s)
            snprintf(s, n, "%s%s", home, path + 1);
        return s;
    }
    return strdup(path);
}

enum {
    OPT_PID = 256,
    OPT_MATCH,
    OPT_INTERVAL,
    OPT_APPEND,
    OPT_FORCE,
    OPT_COUNT,
    OPT_TIMEOUT,
    OPT_UTC,
    OPT_HOST,
    OPT_COMPACT,
    OPT_UNTIL_EXIT,
    OPT_STATUS,
    OPT_TZ_OFFSET,
    OPT_MS,
    OPT_SUMMARY,
    OPT_SOURCE,
    OPT_PEAKS,
    OPT_PEAK_RATE,
    OPT_WHO,
    OPT_PROM_TEXTFILE,
    OPT_PROM_COMMAND,
};

static const struct option long_opts[] = {
    {"pid", required_argument, NULL, OPT_PID},
    {"match", required_argument, NULL, OPT_MATCH},
    {"interval", required_argument, NULL, OPT_INTERVAL},
    {"output", required_argument, NULL, 'o'},
    {"append", no_argument, NULL, OPT_APPEND},
    {"force", no_argument, NULL, OPT_FORCE},
    {"count", required_argument, NULL, OPT_COUNT},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"utc", no_argument, NULL, OPT_UTC},
    {"host", no_argument, NULL, OPT_HOST},
    {"compact", no_argument, NULL, OPT_COMPACT},
    {"until-exit", no_argument, NULL, OPT_UNTIL_EXIT},
    {"status", no_argument, NULL, OPT_STATUS},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {"ignore-case", no_argument, NULL, 'i'},
    {"tz-offset", no_argument, NULL, OPT_TZ_OFFSET},
    {"ms", no_argument, NULL, OPT_MS},
    {"summary", no_argument, NULL, OPT_SUMMARY},
    {"source", required_argument, NULL, OPT_SOURCE},
    {"peaks", no_argument, NULL, OPT_PEAKS},
    {"peak-rate", optional_argument, NULL, OPT_PEAK_RATE},
    {"who", no_argument, NULL, OPT_WHO},
    {"prom-textfile", required_argument, NULL, OPT_PROM_TEXTFILE},
    {"prom-command", required_argument, NULL, OPT_PROM_COMMAND},
    {NULL, 0, NULL, 0},
};

enum options_result options_parse(int argc, char **argv, const char *home, struct gw_config *cfg,
                                  char *err, size_t errlen)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->interval = GW_DEFAULT_INTERVAL;
    cfg->timeout = GW_DEFAULT_TIMEOUT;
    cfg->source = "smi";
    const char *output = GW_DEFAULT_OUTPUT;
    err[0] = '\0';

    opterr = 0;
    optind = 0; /* full re-initialisation (glibc), so tests can parse repeatedly */
    int c;
    const char *last_arg = NULL; /* the value of the last option, to tell it from a "--" */
    /* '+': stop at the first non-option, so "-- cmd -x" keeps -x for cmd. */
    /* Each option that takes one value may be given once (one rule for all,
     * as for -o): the value of the first, by index into long_opts. */
    const char *seen[sizeof long_opts / sizeof long_opts[0]] = {NULL};
    int li;
    while ((li = -1, c = getopt_long(argc, argv, "+:o:qhiV", long_opts, &li)) != -1) {
        last_arg = optarg;
        for (int k = 0; li < 0 && c == 'o' && long_opts[k].name; k++)
            if (long_opts[k].val == 'o')
                li = k; /* the short form -o: the row of --output */
        if (li >= 0 && long_opts[li].has_arg == required_argument && c != OPT_PID) {
            if (seen[li]) {
                set_err(err, errlen, "--%s given twice ('%s' after '%s'): give it once",
                        long_opts[li].name, optarg, seen[li]);
                return OPTIONS_USAGE;
            }
            seen[li] = optarg;
        }
        switch (c) {
        case OPT_PID:
            if (add_pids(cfg, optarg, err, errlen) < 0)
                return OPTIONS_USAGE;
            break;
        case OPT_MATCH:
            cfg->match = optarg;
            break;
        case OPT_INTERVAL:
            if (!options_parse_seconds(optarg, MAX_INTERVAL, &cfg->interval)) {
                set_err(err, errlen,
                        "invalid --interval '%s': expected seconds > 0 (fractions allowed, at most "
                        "%g)",
                        optarg, MAX_INTERVAL);
                return OPTIONS_USAGE;
            }
            if (cfg->interval < MIN_INTERVAL) {
                set_err(err, errlen,
                        "invalid --interval '%s': the shortest interval is %g s (a shorter one "
                        "only keeps a core busy)",
                        optarg, MIN_INTERVAL);
                return OPTIONS_USAGE;
            }
            cfg->interval_set = true;
            break;
        case 'o':
            if (!*optarg) {
                set_err(err, errlen, "invalid --output '': expected a path or '-'");
                return OPTIONS_USAGE;
            }
            output = optarg;
            break;
        case OPT_APPEND:
            cfg->append = true;
            break;
        case OPT_FORCE:
            cfg->force = true;
            break;
        case OPT_COUNT:
            if (!parse_long(optarg, 1, LONG_MAX, &cfg->count)) {
                set_err(err, errlen, "invalid --count '%s': expected a whole number >= 1", optarg);
                return OPTIONS_USAGE;
            }
            break;
        case OPT_TIMEOUT:
            if (!options_parse_seconds(optarg, MAX_TIMEOUT, &cfg->timeout)) {
                set_err(err, errlen, "invalid --timeout '%s': expected seconds > 0 (at most %g)",
                        optarg, MAX_TIMEOUT);
                return OPTIONS_USAGE;
            }
            break;
        case OPT_SOURCE:
            if (strcmp(optarg, "smi") != 0 && strcmp(optarg, "nvml") != 0 &&
                strcmp(optarg, "auto") != 0) {
                set_err(err, errlen, "invalid --source '%s': expected smi, nvml or auto", optarg);
                return OPTIONS_USAGE;
            }
            cfg->source = optarg;
            break;
        case OPT_UTC:
            cfg->utc = true;
            break;
        case OPT_HOST:
            cfg->host = true;
            break;
        case OPT_COMPACT:
            cfg->compact = true;
            break;
        case OPT_PEAKS:
            cfg->peaks = true;
            break;
        case OPT_PEAK_RATE: {
            /* "--peak-rate 100" as well as "--peak-rate=100": getopt gives
             * an optional value only after '='; a number next is taken. */
            /* The value after '=' read from the option's own word, not as
             * optarg == NULL: clang's analyzer would carry that NULL into
             * later options' (required) optarg. */
            const char *eq = strchr(argv[optind - 1], '=');
            const char *v = eq ? eq + 1 : NULL;
            if (!v && optind < argc && parse_hz(argv[optind], &cfg->peak_rate)) {
                v = argv[optind++];
                last_arg = v;
            }
            if (!v)
                cfg->peak_rate = GW_DEFAULT_PEAK_RATE;
            else if (!parse_hz(v, &cfg->peak_rate)) {
                set_err(err, errlen,
                        "invalid --peak-rate '%s': expected a whole number of Hz from 1 to %d", v,
                        MAX_HZ);
                return OPTIONS_USAGE;
            }
            break;
        }
        case OPT_WHO:
            cfg->who = true;
            break;
        case OPT_PROM_TEXTFILE: {
            /* node_exporter reads only *.prom: another name would be
             * ignored without a word. */
            size_t n = strlen(optarg);
            const char *base = strrchr(optarg, '/');
            base = base ? base + 1 : optarg;
            if (n < 5 || strcmp(optarg + n - 5, ".prom") != 0 || strlen(base) <= 5) {
                set_err(err, errlen,
                        "invalid --prom-textfile '%s': expected a file name ending in .prom "
                        "(node_exporter reads only those)",
                        optarg);
                return OPTIONS_USAGE;
            }
            cfg->prom_textfile = optarg;
            break;
        }
        case OPT_PROM_COMMAND:
            if (strcmp(optarg, "full") != 0 && strcmp(optarg, "name") != 0 &&
                strcmp(optarg, "none") != 0) {
                set_err(err, errlen, "invalid --prom-command '%s': expected full, name or none",
                        optarg);
                return OPTIONS_USAGE;
            }
            cfg->prom_command = optarg;
            break;
        case OPT_UNTIL_EXIT:
            cfg->until_exit = true;
            break;
        case OPT_STATUS:
            cfg->status = true;
            break;
        case 'q':
            cfg->quiet = true;
            break;
        case 'i':
            cfg->icase = true;
            break;
        case OPT_TZ_OFFSET:
            cfg->tz_offset = true;
            break;
        case OPT_MS:
            cfg->ms = true;
            break;
        case OPT_SUMMARY:
            cfg->summary = true;
            break;
        case 'h':
            return OPTIONS_HELP;
        case 'V':
            return OPTIONS_VERSION;
        case ':':
            set_err(err, errlen, "option '%s' needs a value", argv[optind - 1]);
            return OPTIONS_USAGE;
        default:
            if (optopt)
                set_err(err, errlen, "unknown option '-%c' (see --help)", optopt);
            else
                set_err(err, errlen, "unknown option '%s' (see --help)", argv[optind - 1]);
            return OPTIONS_USAGE;
        }
    }
    /* Did getopt stop on a "--" of ours (not the value of an option)? */
    bool dashdash =
        optind > 0 && strcmp(argv[optind - 1], "--") == 0 && argv[optind - 1] != last_arg;
    if (optind == argc && dashdash) {
        set_err(err, errlen, "'--' must be followed by a command to watch");
        return OPTIONS_USAGE;
    }
    if (optind < argc) {
        if (dashdash)
            cfg->command = &argv[optind];
        else {
            set_err(err, errlen, "unexpected argument '%s' (a command to watch goes after '--')",
                    argv[optind]);
            return OPTIONS_USAGE;
        }
    }
    if (cfg->append && cfg->force) {
        set_err(err, errlen, "--append and --force cannot be used together");
        return OPTIONS_USAGE;
    }
    if (cfg->compact && cfg->npids != 1) {
        set_err(err, errlen, "--compact needs exactly one --pid");
        return OPTIONS_USAGE;
    }
    if (cfg->compact && (cfg->host || cfg->match || cfg->who)) {
        set_err(err, errlen, "--compact cannot be combined with --host, --who or --match");
        return OPTIONS_USAGE;
    }
    if (cfg->compact && cfg->peaks) {
        set_err(err, errlen, "--compact cannot be combined with --peaks");
        return OPTIONS_USAGE;
    }
    if (cfg->peak_rate && strcmp(cfg->source, "smi") == 0) {
        set_err(err, errlen,
                "--peak-rate needs --source nvml or auto: nvidia-smi cannot poll the process "
                "lists that often at a bearable cost");
        return OPTIONS_USAGE;
    }
    if (cfg->compact && cfg->peak_rate) {
        set_err(err, errlen, "--compact cannot be combined with --peak-rate");
        return OPTIONS_USAGE;
    }
    if (cfg->until_exit && cfg->npids == 0) {
        set_err(err, errlen, "--until-exit needs --pid");
        return OPTIONS_USAGE;
    }
    if (cfg->command && (cfg->npids || cfg->until_exit || cfg->compact)) {
        set_err(err, errlen, "--pid, --until-exit and --compact cannot be used with a command");
        return OPTIONS_USAGE;
    }
    if (cfg->prom_command && !cfg->prom_textfile) {
        set_err(err, errlen, "--prom-command needs --prom-textfile");
        return OPTIONS_USAGE;
    }
    if (cfg->icase && !cfg->match) {
        set_err(err, errlen, "--ignore-case needs --match");
        return OPTIONS_USAGE;
    }
    if (cfg->utc && cfg->tz_offset) {
        set_err(err, errlen, "--utc and --tz-offset cannot be used together");
        return OPTIONS_USAGE;
    }
    if (cfg->match) {
        char what[128];
        bool icase = false;
        int rc = pattern_to_ere(cfg->match, &cfg->match_ere, &icase, what, sizeof what);
        if (rc == -EINVAL) {
            set_err(err, errlen,
                    "--match '%s': the %s cannot be translated to a POSIX regular "
                    "expression",
                    cfg->match, what);
            return OPTIONS_USAGE;
        }
        if (rc < 0) {
            set_err(err, errlen, "out of memory");
            return OPTIONS_USAGE;
        }
        cfg->match_icase = cfg->icase || icase;
    }
    if (cfg->command && !cfg->interval_set)
        cfg->interval = GW_DEFAULT_WRAP_INTERVAL;
    cfg->output = options_expand_home(output, home);
    if (!cfg->output) {
        set_err(err, errlen, "out of memory");
        return OPTIONS_USAGE;
    }
    return OPTIONS_OK;
}

void options_free(struct gw_config *cfg)
{
    free(cfg->pids);
    free(cfg->output);
    free(cfg->match_ere);
    cfg->pids = NULL;
    cfg->output = NULL;
    cfg->match_ere = NULL;
}
