/* Command-line parsing for the sampler. */
#include "gpu_watch/options.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_watch/array.h"
#include "gpu_watch/buf.h"
#include "gpu_watch/columns.h"
#include "gpu_watch/pattern.h"

#define MAX_INTERVAL 86400.0 /* one sample a day at most */
/* The shortest --interval, seconds: below it the loop only wakes to find
 * its slot gone (one sample takes milliseconds at best); the timestamps
 * have milliseconds. 1 ms keeps the stress tests (soak) possible. */
#define MIN_INTERVAL 0.001
#define MAX_TIMEOUT  3600.0
#define MAX_PIDS     4096
#define MAX_HZ       1000 /* --peak-rate: a reading every millisecond at most */

/* The --help text around the option list; "{base}" and the other group
 * names in braces stand for that group's columns (columns.h). */
static const char help_head[] =
    "Usage: gpu_watch [OPTIONS]\n"
    "       gpu_watch [OPTIONS] -- COMMAND [ARGS...]\n"
    "       gpu_watch plot LOG.csv [PLOT OPTIONS]      (see gpu_watch plot --help)\n"
    "       gpu_watch summary LOG.csv [--format F]    (see gpu_watch summary --help)\n"
    "       gpu_watch job --log LOG.csv JOB_ID         (see gpu_watch job --help)\n"
    "\n"
    "Sample per-process NVIDIA GPU usage (nvidia-smi and /proc) and append CSV rows\n"
    "{base} until stopped.\n"
    "\n"
    "Options:\n";

static const char help_tail[] =
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

/* What parsing one command line keeps besides cfg. */
struct parse_state {
    int argc;
    char **argv;
    const char *output;   /* -o's value (expanded at the end) */
    const char *last_arg; /* the value of the last option, to tell it from a "--" */
    char *err;
    size_t errlen;
};

/* Take the value of an option into cfg: 0, or -1 with ps->err set. */
typedef int (*opt_set_fn)(struct gw_config *cfg, const char *arg, struct parse_state *ps);

/* One option: a row of the table, as git's parse-options describes them. */
struct opt {
    const char *name;           /* long name, without "--" */
    char short_name;            /* the one-letter form, 0 none */
    int has_arg;                /* getopt's no_argument, required_argument, optional_argument */
    const char *arg;            /* the value's name in --help ("SEC", "[HZ]"); NULL none */
    const char *help;           /* --help's text, lines joined by '\n'; column groups in braces */
    size_t flag;                /* no value: offsetof(struct gw_config, bool) set to true; 0 none */
    opt_set_fn set;             /* with a value: takes it (NULL for a flag) */
    bool many;                  /* may be given more than once; else a value once (as -o) */
    enum options_result result; /* -h, -V: what parsing returns at once; OPTIONS_OK none */
};

static int set_pid(struct gw_config *cfg, const char *arg, struct parse_state *ps)
{
    return add_pids(cfg, arg, ps->err, ps->errlen);
}

static int set_match(struct gw_config *cfg, const char *arg, struct parse_state *ps)
{
    (void)ps;
    cfg->match = arg;
    return 0;
}

static int set_interval(struct gw_config *cfg, const char *arg, struct parse_state *ps)
{
    if (!options_parse_seconds(arg, MAX_INTERVAL, &cfg->interval)) {
        set_err(ps->err, ps->errlen,
                "invalid --interval '%s': expected seconds > 0 (fractions allowed, at most %g)",
                arg, MAX_INTERVAL);
        return -1;
    }
    if (cfg->interval < MIN_INTERVAL) {
        set_err(ps->err, ps->errlen,
                "invalid --interval '%s': the shortest interval is %g s (a shorter one only "
                "keeps a core busy)",
                arg, MIN_INTERVAL);
        return -1;
    }
    cfg->interval_set = true;
    return 0;
}

static int set_output(struct gw_config *cfg, const char *arg, struct parse_state *ps)
{
    (void)cfg;
    if (!*arg) {
        set_err(ps->err, ps->errlen, "invalid --output '': expected a path or '-'");
        return -1;
    }
    ps->output = arg;
    return 0;
}

static int set_count(struct gw_config *cfg, const char *arg, struct parse_state *ps)
{
    if (!parse_long(arg, 1, LONG_MAX, &cfg->count)) {
        set_err(ps->err, ps->errlen, "invalid --count '%s': expected a whole number >= 1", arg);
        return -1;
    }
    return 0;
}

static int set_timeout(struct gw_config *cfg, const char *arg, struct parse_state *ps)
{
    if (!options_parse_seconds(arg, MAX_TIMEOUT, &cfg->timeout)) {
        set_err(ps->err, ps->errlen, "invalid --timeout '%s': expected seconds > 0 (at most %g)",
                arg, MAX_TIMEOUT);
        return -1;
    }
    return 0;
}

/* Whether arg is one of the words of list ("a|b|c"). */
static bool one_of(const char *arg, const char *list)
{
    size_t n = strlen(arg);
    for (const char *p = list; n > 0;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && memcmp(p, arg, n) == 0)
            return true;
        if (!bar)
            return false;
        p = bar + 1;
    }
    return false;
}

static int set_source(struct gw_config *cfg, const char *arg, struct parse_state *ps)
{
    if (!one_of(arg, "smi|nvml|auto")) {
        set_err(ps->err, ps->errlen, "invalid --source '%s': expected smi, nvml or auto", arg);
        return -1;
    }
    cfg->source = arg;
    return 0;
}

/* "--peak-rate 100" as well as "--peak-rate=100": getopt gives an optional
 * value only after '='; a number next is taken. */
static int set_peak_rate(struct gw_config *cfg, const char *arg, struct parse_state *ps)
{
    const char *v = arg;
    if (!v && optind < ps->argc && parse_hz(ps->argv[optind], &cfg->peak_rate)) {
        v = ps->argv[optind++];
        ps->last_arg = v;
    }
    if (!v)
        cfg->peak_rate = GW_DEFAULT_PEAK_RATE;
    else if (!parse_hz(v, &cfg->peak_rate)) {
        set_err(ps->err, ps->errlen,
                "invalid --peak-rate '%s': expected a whole number of Hz from 1 to %d", v, MAX_HZ);
        return -1;
    }
    return 0;
}

/* node_exporter reads only *.prom: another name would be ignored without
 * a word. */
static int set_prom_textfile(struct gw_config *cfg, const char *arg, struct parse_state *ps)
{
    size_t n = strlen(arg);
    const char *base = strrchr(arg, '/');
    base = base ? base + 1 : arg;
    if (n < 5 || strcmp(arg + n - 5, ".prom") != 0 || strlen(base) <= 5) {
        set_err(ps->err, ps->errlen,
                "invalid --prom-textfile '%s': expected a file name ending in .prom "
                "(node_exporter reads only those)",
                arg);
        return -1;
    }
    cfg->prom_textfile = arg;
    return 0;
}

static int set_prom_command(struct gw_config *cfg, const char *arg, struct parse_state *ps)
{
    if (!one_of(arg, "full|name|none")) {
        set_err(ps->err, ps->errlen, "invalid --prom-command '%s': expected full, name or none",
                arg);
        return -1;
    }
    cfg->prom_command = arg;
    return 0;
}

#define FLAG(f) offsetof(struct gw_config, f)
/* Offset 0 means "no flag": the first member is no flag. */
_Static_assert(offsetof(struct gw_config, pids) == 0, "opt.flag 0 is taken");

/* The options, in the order of --help. */
static const struct opt opts[] = {
    {"pid", 0, required_argument, "N[,N...]",
     "only these processes (may be repeated): PIDs as gpu_watch\n"
     "sees them, the container's inside a container, the host's\n"
     "on the host",
     0, set_pid, true, OPTIONS_OK},
    {"match", 0, required_argument, "PATTERN",
     "only processes whose command line (capped at 4096 bytes,\n"
     "see the README) matches this regex: POSIX extended, plus\n"
     "Python's \\d \\s \\w \\xHH, (?i), (?:...) and lazy quantifiers\n"
     "(look-arounds, back-references, \\u... are refused); an\n"
     "invalid regex is used as a plain substring",
     0, set_match, false, OPTIONS_OK},
    {"ignore-case", 'i', no_argument, NULL, "--match ignores case", FLAG(icase), NULL, false,
     OPTIONS_OK},
    {"interval", 0, required_argument, "SEC",
     "seconds between samples (default 30; 1 when wrapping a\n"
     "command); fractions allowed, at least 0.001",
     0, set_interval, false, OPTIONS_OK},
    {"output", 'o', required_argument, "PATH",
     "CSV file (default ./gpu_log.csv); '-' writes to stdout", 0, set_output, false, OPTIONS_OK},
    {"append", 0, no_argument, NULL, "add rows to an existing log (its header must match)",
     FLAG(append), NULL, false, OPTIONS_OK},
    {"force", 0, no_argument, NULL, "overwrite an existing log", FLAG(force), NULL, false,
     OPTIONS_OK},
    {"count", 0, required_argument, "N", "stop after N samples", 0, set_count, false, OPTIONS_OK},
    {"timeout", 0, required_argument, "SEC",
     "upper bound on one sample, all its calls together\n"
     "(default 10)",
     0, set_timeout, false, OPTIONS_OK},
    {"source", 0, required_argument, "SRC",
     "where samples come from: smi (nvidia-smi, the default),\n"
     "nvml (the NVIDIA library, in-process), auto (NVML if it\n"
     "loads, else nvidia-smi)",
     0, set_source, false, OPTIONS_OK},
    {"utc", 0, no_argument, NULL, "timestamps in UTC with a Z suffix (default: local time)",
     FLAG(utc), NULL, false, OPTIONS_OK},
    {"tz-offset", 0, no_argument, NULL,
     "timestamps with the UTC offset: 2026-11-20T10:00:00+01:00\n"
     "(for long runs, this or --utc: local times repeat when\n"
     "daylight saving time ends)",
     FLAG(tz_offset), NULL, false, OPTIONS_OK},
    {"ms", 0, no_argument, NULL,
     "timestamps with milliseconds (always when --interval < 1,\n"
     "but for --compact)",
     FLAG(ms), NULL, false, OPTIONS_OK},
    {"host", 0, no_argument, NULL, "add {host} columns", FLAG(host), NULL, false, OPTIONS_OK},
    {"peaks", 0, no_argument, NULL,
     "add {peaks}: each process's true peak GPU memory\n"
     "from the driver's accounting (empty while accounting is off)",
     FLAG(peaks), NULL, false, OPTIONS_OK},
    {"peak-rate", 0, optional_argument, "[HZ]",
     "NVML (--source nvml or auto): between rows, read the process\n"
     "lists HZ times a second (default 50) and keep each process's\n"
     "highest memory in {peaks}; adds {dense}",
     0, set_peak_rate, false, OPTIONS_OK},
    {"who", 0, no_argument, NULL,
     "add {who} columns: the\n"
     "process's user, its Slurm job (claimed:N when only its\n"
     "environment names it), its container or Kubernetes pod,\n"
     "and its PID inside its own PID namespace",
     FLAG(who), NULL, false, OPTIONS_OK},
    {"prom-textfile", 0, required_argument, "PATH",
     "after each sample, write the Prometheus metrics of that\n"
     "sample to PATH (a .prom file in node_exporter's textfile\n"
     "directory), replaced atomically; removed on exit. With\n"
     "-o /dev/null no CSV is kept",
     0, set_prom_textfile, false, OPTIONS_OK},
    {"prom-command", 0, required_argument, "full|name|none",
     "what the command label of\n"
     "gpu_watch_process_info holds: the command line (default,\n"
     "at most 128 bytes), the program name only, or no label",
     0, set_prom_command, false, OPTIONS_OK},
    {"compact", 0, no_argument, NULL,
     "one row per interval for one --pid:\n"
     "{compact}",
     FLAG(compact), NULL, false, OPTIONS_OK},
    {"until-exit", 0, no_argument, NULL, "with --pid: stop once every given process has exited",
     FLAG(until_exit), NULL, false, OPTIONS_OK},
    {"status", 0, no_argument, NULL, "show the status line even when wrapping a command",
     FLAG(status), NULL, false, OPTIONS_OK},
    {"summary", 0, no_argument, NULL,
     "print the summary at the end even when stderr is not a\n"
     "terminal (by default: on a terminal, or with a command)",
     FLAG(summary), NULL, false, OPTIONS_OK},
    {"quiet", 'q', no_argument, NULL, "no status line and no summary at the end; warnings only",
     FLAG(quiet), NULL, false, OPTIONS_OK},
    {"help", 'h', no_argument, NULL, "this help", 0, NULL, false, OPTIONS_HELP},
    {"version", 'V', no_argument, NULL, "print the version", 0, NULL, false, OPTIONS_VERSION},
};

#define NOPTS (sizeof opts / sizeof opts[0])

/* A rule between options, checked after all are read: broken says when the
 * command line breaks it, msg what to say then. */
struct opt_rule {
    bool (*broken)(const struct gw_config *cfg);
    const char *msg;
};

static bool append_force(const struct gw_config *c)
{
    return c->append && c->force;
}
static bool compact_pids(const struct gw_config *c)
{
    return c->compact && c->npids != 1;
}
static bool compact_columns(const struct gw_config *c)
{
    return c->compact && (c->host || c->match || c->who);
}
static bool compact_peaks(const struct gw_config *c)
{
    return c->compact && c->peaks;
}
static bool peak_rate_smi(const struct gw_config *c)
{
    return c->peak_rate && strcmp(c->source, "smi") == 0;
}
static bool compact_peak_rate(const struct gw_config *c)
{
    return c->compact && c->peak_rate;
}
static bool until_exit_pid(const struct gw_config *c)
{
    return c->until_exit && c->npids == 0;
}
static bool command_pids(const struct gw_config *c)
{
    return c->command && (c->npids || c->until_exit || c->compact);
}
static bool prom_command_alone(const struct gw_config *c)
{
    return c->prom_command && !c->prom_textfile;
}
static bool icase_alone(const struct gw_config *c)
{
    return c->icase && !c->match;
}
static bool utc_tz_offset(const struct gw_config *c)
{
    return c->utc && c->tz_offset;
}

/* In the order they are checked: the first broken one is reported. */
static const struct opt_rule rules[] = {
    {append_force, "--append and --force cannot be used together"},
    {compact_pids, "--compact needs exactly one --pid"},
    {compact_columns, "--compact cannot be combined with --host, --who or --match"},
    {compact_peaks, "--compact cannot be combined with --peaks"},
    {peak_rate_smi, "--peak-rate needs --source nvml or auto: nvidia-smi cannot poll the process "
                    "lists that often at a bearable cost"},
    {compact_peak_rate, "--compact cannot be combined with --peak-rate"},
    {until_exit_pid, "--until-exit needs --pid"},
    {command_pids, "--pid, --until-exit and --compact cannot be used with a command"},
    {prom_command_alone, "--prom-command needs --prom-textfile"},
    {icase_alone, "--ignore-case needs --match"},
    {utc_tz_offset, "--utc and --tz-offset cannot be used together"},
};

/* ---- --help, made from the table ---- */

/* Where an option's text starts in --help; a longer option name is
 * followed by two spaces. */
#define HELP_COL 21

/* Append the n bytes of s to b, each "{group}" replaced by that group's
 * columns ("{host}": "cpu_pct,cpu_cores,rss_mib,sys_used_mib"). */
static void help_expand(struct gw_buf *b, const char *s, size_t n)
{
    static const char *const groups[COL_NGROUPS] = {
        [COL_BASE] = "base",   [COL_HOST] = "host", [COL_PEAKS] = "peaks",
        [COL_DENSE] = "dense", [COL_WHO] = "who",   [COL_COMPACT] = "compact",
    };
    const char *end = s + n;
    while (s < end) {
        const char *open = memchr(s, '{', (size_t)(end - s));
        const char *close = open ? memchr(open, '}', (size_t)(end - open)) : NULL;
        if (!close) {
            buf_append(b, s, (size_t)(end - s));
            return;
        }
        buf_append(b, s, (size_t)(open - s));
        size_t len = (size_t)(close - open - 1);
        int g = 0;
        while (g < COL_NGROUPS &&
               (strlen(groups[g]) != len || memcmp(groups[g], open + 1, len) != 0))
            g++;
        if (g < COL_NGROUPS)
            columns_names(b, COL_SET(g), false);
        else
            buf_append(b, open, len + 2);
        s = close + 1;
    }
}

/* One option's lines of --help. */
static void help_option(struct gw_buf *b, const struct opt *o)
{
    size_t start = b->len;
    buf_puts(b, "  ");
    if (o->short_name)
        buf_printf(b, "-%c, ", o->short_name);
    buf_printf(b, "--%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
    size_t w = b->len - start;
    buf_printf(b, "%*s", w + 2 <= HELP_COL ? (int)(HELP_COL - w) : 2, "");
    for (const char *p = o->help; *p;) {
        const char *nl = strchr(p, '\n');
        help_expand(b, p, nl ? (size_t)(nl - p) : strlen(p));
        buf_putc(b, '\n');
        if (!nl)
            break;
        buf_printf(b, "%*s", HELP_COL, "");
        p = nl + 1;
    }
}

const char *options_help(void)
{
    static char text[8192];
    if (text[0])
        return text;
    struct gw_buf b = {0};
    help_expand(&b, help_head, strlen(help_head));
    for (size_t i = 0; i < NOPTS; i++)
        help_option(&b, &opts[i]);
    buf_puts(&b, help_tail);
    if (buf_error(&b) || b.len >= sizeof text)
        snprintf(text, sizeof text, "gpu_watch: out of memory; see man gpu_watch\n");
    else
        memcpy(text, b.p, b.len + 1);
    buf_free(&b);
    return text;
}

/* ---- parsing ---- */

/* getopt's tables made from opts: long options (val: 256 + the row) and
 * the short ones ("+:o:qhiV": '+' stops at the first non-option, so
 * "-- cmd -x" keeps -x for cmd; ':' reports a missing value). */
static void getopt_tables(struct option *lo, char *shorts)
{
    char *s = shorts;
    *s++ = '+';
    *s++ = ':';
    for (size_t i = 0; i < NOPTS; i++) {
        lo[i] = (struct option){opts[i].name, opts[i].has_arg, NULL, 256 + (int)i};
        if (opts[i].short_name) {
            *s++ = opts[i].short_name;
            if (opts[i].has_arg == required_argument)
                *s++ = ':';
        }
    }
    lo[NOPTS] = (struct option){NULL, 0, NULL, 0};
    *s = '\0';
}

/* The row of getopt's answer c, or -1 (not an option of ours). */
static int opt_row(int c)
{
    if (c >= 256 && c < 256 + (int)NOPTS)
        return c - 256;
    for (size_t i = 0; c > 0 && i < NOPTS; i++)
        if (opts[i].short_name == c)
            return (int)i;
    return -1;
}

/* Read the options (to the first non-option). OPTIONS_OK, or what to
 * return at once. */
static enum options_result read_options(struct gw_config *cfg, struct parse_state *ps)
{
    struct option lo[NOPTS + 1];
    char shorts[2 + 2 * NOPTS + 1];
    getopt_tables(lo, shorts);
    opterr = 0;
    optind = 0; /* full re-initialisation (glibc), so tests can parse repeatedly */
    /* Each option that takes one value may be given once (one rule for
     * all, as for -o): the value of the first, by row. */
    const char *seen[NOPTS] = {NULL};
    int c;
    while ((c = getopt_long(ps->argc, ps->argv, shorts, lo, NULL)) != -1) {
        ps->last_arg = optarg;
        int k = opt_row(c);
        if (c == ':') {
            set_err(ps->err, ps->errlen, "option '%s' needs a value", ps->argv[optind - 1]);
            return OPTIONS_USAGE;
        }
        if (k < 0) {
            if (optopt)
                set_err(ps->err, ps->errlen, "unknown option '-%c' (see --help)", optopt);
            else
                set_err(ps->err, ps->errlen, "unknown option '%s' (see --help)",
                        ps->argv[optind - 1]);
            return OPTIONS_USAGE;
        }
        const struct opt *o = &opts[k];
        if (o->has_arg == required_argument && !o->many) {
            if (seen[k]) {
                set_err(ps->err, ps->errlen, "--%s given twice ('%s' after '%s'): give it once",
                        o->name, optarg, seen[k]);
                return OPTIONS_USAGE;
            }
            seen[k] = optarg;
        }
        if (o->result != OPTIONS_OK)
            return o->result;
        if (o->set && o->set(cfg, optarg, ps) < 0)
            return OPTIONS_USAGE;
        if (o->flag)
            *(bool *)((char *)cfg + o->flag) = true;
    }
    return OPTIONS_OK;
}

/* After the options: a command after "--", or nothing. */
static enum options_result read_command(struct gw_config *cfg, struct parse_state *ps)
{
    char **argv = ps->argv;
    /* Did getopt stop on a "--" of ours (not the value of an option)? */
    bool dashdash =
        optind > 0 && strcmp(argv[optind - 1], "--") == 0 && argv[optind - 1] != ps->last_arg;
    if (optind == ps->argc && dashdash) {
        set_err(ps->err, ps->errlen, "'--' must be followed by a command to watch");
        return OPTIONS_USAGE;
    }
    if (optind < ps->argc) {
        if (!dashdash) {
            set_err(ps->err, ps->errlen,
                    "unexpected argument '%s' (a command to watch goes after '--')", argv[optind]);
            return OPTIONS_USAGE;
        }
        cfg->command = &argv[optind];
    }
    return OPTIONS_OK;
}

/* --match as a POSIX ERE (pattern.h). */
static enum options_result compile_match(struct gw_config *cfg, struct parse_state *ps)
{
    char what[128];
    bool icase = false;
    int rc = pattern_to_ere(cfg->match, &cfg->match_ere, &icase, what, sizeof what);
    if (rc == -EINVAL) {
        set_err(ps->err, ps->errlen,
                "--match '%s': the %s cannot be translated to a POSIX regular expression",
                cfg->match, what);
        return OPTIONS_USAGE;
    }
    if (rc < 0) {
        set_err(ps->err, ps->errlen, "out of memory");
        return OPTIONS_USAGE;
    }
    cfg->match_icase = cfg->icase || icase;
    return OPTIONS_OK;
}

enum options_result options_parse(int argc, char **argv, const char *home, struct gw_config *cfg,
                                  char *err, size_t errlen)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->interval = GW_DEFAULT_INTERVAL;
    cfg->timeout = GW_DEFAULT_TIMEOUT;
    cfg->source = "smi";
    err[0] = '\0';
    struct parse_state ps = {argc, argv, GW_DEFAULT_OUTPUT, NULL, err, errlen};
    enum options_result r = read_options(cfg, &ps);
    if (r == OPTIONS_OK)
        r = read_command(cfg, &ps);
    for (size_t i = 0; r == OPTIONS_OK && i < sizeof rules / sizeof rules[0]; i++)
        if (rules[i].broken(cfg)) {
            set_err(err, errlen, "%s", rules[i].msg);
            r = OPTIONS_USAGE;
        }
    if (r == OPTIONS_OK && cfg->match)
        r = compile_match(cfg, &ps);
    if (r != OPTIONS_OK)
        return r;
    if (cfg->command && !cfg->interval_set)
        cfg->interval = GW_DEFAULT_WRAP_INTERVAL;
    cfg->output = options_expand_home(ps.output, home);
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
