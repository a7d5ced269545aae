/* `gpu_watch plot LOG.csv [-o OUT] [...]`: options, reading the log, the
 * title, writing the output file and the terminal chart. The only part of
 * plot that prints or touches files. */
#include "gpu_watch/atomicio.h"
#include "gpu_watch/logcheck.h"
#include "gpu_watch/options.h"
#include "gpu_watch/plot.h"
#include "gpu_watch/plot_axis.h"
#include "gpu_watch/plot_data.h"
#include "gpu_watch/plot_png.h"
#include "gpu_watch/plot_svg.h"
#include "gpu_watch/plot_term.h"
#include "gpu_watch/plot_rank.h"
#include "gpu_watch/safefile.h"
#include "gpu_watch/subcmd.h"
#include "gpu_watch/text.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static const char plot_usage[] =
    "Usage: gpu_watch plot LOG.csv [-o OUT] [--format png|svg] [--per-gpu | --per-process]\n"
    "                      [--util] [--cpu] [--show] [--title TEXT] [--size WxH]\n"
    "\n"
    "Chart a gpu_watch log: GPU memory over time, then system memory, and optionally\n"
    "SM utilization and CPU use. LOG.csv may be '-' for standard input. Reads the\n"
    "sampler's rows (with or without the --host columns) and one-process logs\n"
    "(timestamp,used_mib[,sys_used_mib][,cpu_cores][,cpu_pct]).\n"
    "\n"
    "Options:\n"
    "  -o, --output OUT   write the chart to OUT: .svg or .png (by the extension);\n"
    "                     '-' writes it to standard output (then --format is\n"
    "                     needed); without -o the chart is drawn in the terminal.\n"
    "                     OUT is replaced whole or not at all (a temporary file\n"
    "                     renamed over it)\n"
    "  --format F         png or svg: the image format of an OUT that does not end\n"
    "                     in .svg or .png (one that does must agree)\n"
    "  --per-gpu          one line per GPU index (default: the total of all processes)\n"
    "  --per-process      one line per PID, named by its command (not with --per-gpu):\n"
    "                     the 31 of highest peak; the others summed in one line\n"
    "  --util             add a panel of SM utilization (%)\n"
    "  --cpu              add a panel of CPU use (% of one core, summed over processes)\n"
    "  --show             also draw the chart in the terminal (Unicode braille)\n"
    "  --title TEXT       the chart's title (default: the file name and time span)\n"
    "  --size WxH         image size in pixels (default 1200 x 260 per panel + 150)\n"
    "  -h, --help         this help\n"
    "\n"
    "Pauses in the log (more than three median intervals) are drawn as breaks;\n"
    "each series' peak is marked. Big logs are aggregated while read into\n"
    "per-pixel min/max buckets, so a one-sample spike stays visible.\n"
    "\n"
    "Examples:\n"
    "  gpu_watch plot gpu_log.csv -o run.png\n"
    "  gpu_watch plot gpu_log.csv --per-process --util --cpu -o run.svg --show\n"
    "  gpu_watch plot gpu_log.csv          (in the terminal, e.g. over SSH)\n"
    "\n"
    "Exit status: 0 on success, 1 when the log cannot be read or holds no data,\n"
    "2 on bad usage.\n";

struct plot_args {
    const char *log;
    const char *out;
    bool svg;
    bool show;
    const char *title;
    const char *format; /* --format: "png" or "svg"; NULL: by OUT's extension */
    int w, h;           /* 0: default */
    struct plot_opts o;
    char *log_home, *out_home; /* log and out with "~/" expanded (free()) */
};

static int usage_error(const char *fmt, const char *arg)
{
    subcmd_usage_error("plot", fmt, arg);
    return SUBCMD_EXIT_USAGE;
}

/* "1200x800" -> w, h. 0 or -EINVAL. */
static int parse_size(const char *s, int *w, int *h)
{
    char *end;
    errno = 0;
    /* false positive: every caller passes a value (--size always takes one) */
    // NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker)
    long a = strtol(s, &end, 10);
    if (errno || end == s || (*end != 'x' && *end != 'X'))
        return -EINVAL;
    const char *s2 = end + 1;
    long b = strtol(s2, &end, 10);
    if (errno || end == s2 || *end)
        return -EINVAL;
    if (a < 320 || a > 10000 || b < 200 || b > 10000)
        return -EINVAL;
    *w = (int)a;
    *h = (int)b;
    return 0;
}

/* One option (name, its value val or NULL; arg as given) into a. Returns -1
 * to go on, or an exit status (help printed, usage error). */
static int set_option(struct plot_args *a, const char *name, const char *val, const char *arg)
{
    if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0) {
        fputs(plot_usage, stdout);
        return subcmd_write_stdout("plot", "", 0);
    } else if (strcmp(name, "-o") == 0 || strcmp(name, "--output") == 0) {
        a->out = val;
    } else if (strcmp(name, "--format") == 0) {
        if (strcasecmp(val, "svg") != 0 && strcasecmp(val, "png") != 0)
            return usage_error("--format wants png or svg, not '%s'", val);
        a->format = val;
    } else if (strcmp(name, "--title") == 0) {
        a->title = val;
    } else if (strcmp(name, "--size") == 0) {
        if (parse_size(val, &a->w, &a->h))
            return usage_error("--size wants WIDTHxHEIGHT in pixels, 320x200 to "
                               "10000x10000, not '%s'",
                               val);
    } else if (strcmp(name, "--per-gpu") == 0) {
        a->o.per_gpu = true;
    } else if (strcmp(name, "--per-process") == 0) {
        a->o.per_process = true;
    } else if (strcmp(name, "--util") == 0) {
        a->o.util = true;
    } else if (strcmp(name, "--cpu") == 0) {
        a->o.cpu = true;
    } else if (strcmp(name, "--show") == 0) {
        a->show = true;
    } else {
        return usage_error("unknown option '%s'", arg);
    }
    return -1;
}

/* The options together, the paths expanded, the image format decided.
 * Returns -1 to go on, or an exit status (usage error). */
static int check_args(struct plot_args *a)
{
    if (!a->log)
        return usage_error("%s", "which log? give LOG.csv (or - for standard input)");
    if (a->o.per_gpu && a->o.per_process)
        return usage_error("%s", "--per-gpu and --per-process cannot go together: pick one");
    if (a->format && !a->out)
        return usage_error("%s", "--format is for -o OUT: the terminal chart has no format");
    if (a->out && strcmp(a->out, "-") == 0) {
        if (!a->format)
            return usage_error("%s", "-o - needs --format png or --format svg");
        if (a->show)
            return usage_error("%s", "-o - writes the image to standard output: not with --show");
    }
    /* "~/x.csv" quoted, or from a script: expanded as the sampler's -o is. */
    const char *home = getenv("HOME");
    a->log_home = options_expand_home(a->log, home);
    a->out_home = a->out ? options_expand_home(a->out, home) : NULL;
    if (!a->log_home || (a->out && !a->out_home)) {
        fprintf(stderr, "gpu_watch plot: out of memory\n");
        return SUBCMD_EXIT_FILE;
    }
    a->log = a->log_home;
    if (a->out)
        a->out = a->out_home;
    if (a->format) {
        a->svg = strcasecmp(a->format, "svg") == 0;
        /* "-o out.svg --format png" would put PNG bytes into a .svg file. */
        const char *dot = a->out ? strrchr(a->out, '.') : NULL;
        const char *slash = a->out ? strrchr(a->out, '/') : NULL;
        if (dot && (!slash || dot > slash) &&
            (strcasecmp(dot, ".svg") == 0 || strcasecmp(dot, ".png") == 0) &&
            strcasecmp(dot + 1, a->format) != 0)
            return usage_error("--format %s does not match the output file's extension: "
                               "give one or the other, or make them agree",
                               a->format);
    } else if (a->out) {
        const char *dot = strrchr(a->out, '.');
        const char *slash = strrchr(a->out, '/');
        if (dot && (!slash || dot > slash) && strcasecmp(dot, ".svg") == 0)
            a->svg = true;
        else if (!(dot && (!slash || dot > slash) && strcasecmp(dot, ".png") == 0))
            return usage_error("cannot tell the format of '%s': the output file must end in "
                               ".svg or .png (or give --format)",
                               a->out);
    } else {
        a->show = true;
    }
    return -1;
}

/* Returns -1 to go on, or an exit status (help printed, usage error). */
static int parse_args(int argc, char **argv, struct plot_args *a)
{
    memset(a, 0, sizeof *a);
    bool dashdash = false;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *val = NULL;
        if (!dashdash && strcmp(arg, "--") == 0) {
            dashdash = true;
            continue;
        }
        if (dashdash || arg[0] != '-' || strcmp(arg, "-") == 0) {
            if (a->log)
                return usage_error("more than one log given ('%s')", arg);
            a->log = arg;
            continue;
        }
        /* Options that take a value: "--opt VALUE", "--opt=VALUE", "-oVALUE". */
        static const char *const with_value[] = {"--output", "--title", "--size", "--format"};
        const char *name = arg;
        char namebuf[32];
        const char *eq = strchr(arg, '=');
        if (strncmp(arg, "--", 2) == 0 && eq && (size_t)(eq - arg) < sizeof namebuf) {
            memcpy(namebuf, arg, (size_t)(eq - arg));
            namebuf[eq - arg] = '\0';
            name = namebuf;
            val = eq + 1;
        } else if (strncmp(arg, "-o", 2) == 0 && arg[2]) {
            name = "-o";
            val = arg + 2;
        }
        bool takes = strcmp(name, "-o") == 0;
        for (size_t k = 0; k < sizeof with_value / sizeof with_value[0]; k++)
            if (strcmp(name, with_value[k]) == 0)
                takes = true;
        if (takes && !val) {
            if (i + 1 >= argc)
                return usage_error("%s needs a value", name);
            val = argv[++i];
        } else if (!takes && val) {
            return usage_error("%s takes no value", name);
        }
        /* One value each, as for the sampler's options: a second is refused. */
        const char *canon = strcmp(name, "-o") == 0 ? "--output" : name;
        if (takes && ((strcmp(canon, "--output") == 0 && a->out) ||
                      (strcmp(canon, "--title") == 0 && a->title) ||
                      (strcmp(canon, "--format") == 0 && a->format) ||
                      (strcmp(canon, "--size") == 0 && a->w)))
            return usage_error("%s given twice: give it once", canon);
        int rc = set_option(a, name, val, arg);
        if (rc >= 0)
            return rc;
    }
    return check_args(a);
}

/* Reading state: the plot is set up at the first row, from its header. */
struct reading {
    struct plot p;
    const struct plot_opts *o;
    bool inited;
    int err;
};

static int on_row(const struct log_row *row, void *ctx)
{
    struct reading *r = ctx;
    if (!r->inited) {
        if ((r->err = plot_init(&r->p, r->o, row->hdr)))
            return r->err;
        r->inited = true;
    }
    return plot_add_row(row, &r->p);
}

static const char *base_name(const char *path)
{
    if (strcmp(path, "-") == 0)
        return "standard input";
    const char *s = strrchr(path, '/');
    return s && s[1] ? s + 1 : path;
}

static void make_titles(const struct plot *p, const struct plot_args *a, const struct log_stats *st,
                        char *title, size_t tsz, char *sub, size_t ssz)
{
    char t0[32], t1[32], dur[32], iv[32];
    /* Seconds only matter in a log shorter than an hour. */
    bool short_log = p->tmax - p->tmin < 3600;
    plot_fmt_time(p->tmin, short_log ? "%Y-%m-%d %H:%M:%S" : "%Y-%m-%d %H:%M", t0, sizeof t0);
    char d0[16], d1[16];
    plot_fmt_time(p->tmin, "%Y-%m-%d", d0, sizeof d0);
    plot_fmt_time(p->tmax, "%Y-%m-%d", d1, sizeof d1);
    const char *f1 = strcmp(d0, d1) != 0 ? "%Y-%m-%d %H:%M" : short_log ? "%H:%M:%S" : "%H:%M";
    plot_fmt_time(p->tmax, f1, t1, sizeof t1);
    text_duration(p->tmax - p->tmin, dur, sizeof dur);
    if (a->title)
        snprintf(title, tsz, "%s", a->title);
    else
        snprintf(title, tsz, "%s: %s to %s (%s)", base_name(a->log), t0, t1, dur);
    /* A title cut inside a UTF-8 character ends in '?'. */
    text_clean_inplace(title);
    text_interval(p->median_dt, iv, sizeof iv);
    int n = snprintf(sub, ssz, "%lu samples, %lu rows (%s log), every %s", p->samples, p->rows,
                     log_schema_name(p->schema), iv);
    if (p->panel[PANEL_SYS_MEM].missing && n > 0 && (size_t)n < ssz)
        n += snprintf(sub + n, ssz - (size_t)n, "; no sys_used_mib column: no system memory panel");
    if (st->bad && n > 0 && (size_t)n < ssz)
        snprintf(sub + n, ssz - (size_t)n, "; %lu malformed rows skipped", st->bad);
}

/* --per-process reads the log twice (plot_rank.h): a file is rewound;
 * standard input, or a pipe, is first copied to an unlinked temporary file
 * in $TMPDIR (the disk holds the log, not the memory). The descriptor at
 * offset 0, or a negative errno. */
static int open_rewindable(const char *log)
{
    int src = STDIN_FILENO;
    if (strcmp(log, "-") != 0) {
        if ((src = open(log, O_RDONLY | O_CLOEXEC)) < 0)
            return -errno;
        struct stat sb;
        if (fstat(src, &sb) == 0 && !S_ISFIFO(sb.st_mode) && !S_ISSOCK(sb.st_mode) &&
            !S_ISCHR(sb.st_mode))
            return src; /* a file (or a directory: reading it says so) */
    }
    const char *dir = getenv("TMPDIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/gpu_watch-plot-XXXXXX", dir && *dir ? dir : "/tmp");
    int rc = 0, t = mkstemp(path);
    char *chunk = malloc(1 << 16);
    if (t < 0 || !chunk) {
        rc = t < 0 ? -errno : -ENOMEM;
        goto out;
    }
    unlink(path);
    for (;;) {
        ssize_t n = read(src, chunk, 1 << 16);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = n < 0 ? -errno : 0;
            break;
        }
        if ((rc = atomicio_write_all(t, chunk, (size_t)n)) < 0)
            break;
    }
    if (rc == 0 && lseek(t, 0, SEEK_SET) < 0)
        rc = -errno;
out:
    free(chunk);
    if (src != STDIN_FILENO)
        close(src);
    if (rc < 0 && t >= 0)
        close(t);
    return rc < 0 ? rc : t;
}

/* Read the log into r; with --per-process, a first pass picks the
 * processes drawn apart (a->o.keep, into keep[]). As logread_file. */
static int read_log(struct plot_args *a, struct reading *r, long long *keep, struct log_header *hdr,
                    struct log_stats *st)
{
    if (!a->o.per_process)
        return logread_file(a->log, on_row, r, hdr, st);
    int fd = open_rewindable(a->log);
    if (fd < 0)
        return fd;
    struct plot_rank rk;
    plot_rank_init(&rk, &a->o);
    int rc = logread_fd(fd, plot_rank_row, &rk, NULL, NULL);
    int n = plot_rank_finish(&rk, keep);
    plot_rank_free(&rk);
    if (rc == 0) {
        a->o.keep = keep;
        a->o.nkeep = n;
    }
    if (lseek(fd, 0, SEEK_SET) < 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    /* A first pass that failed: the second says why, in the usual words. */
    rc = logread_fd(fd, on_row, r, hdr, st);
    close(fd);
    return rc;
}

int plot_main(int argc, char **argv)
{
    struct plot_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0) {
        free(a.log_home);
        free(a.out_home);
        return rc;
    }
    struct reading r = {.o = &a.o};
    struct log_header hdr;
    struct log_stats st = {0};
    struct gw_buf out = {0};
    const char *name = strcmp(a.log, "-") == 0 ? "standard input" : a.log;
    int status = SUBCMD_EXIT_FILE;
    long long keep[PLOT_MAX_PROCS];
    rc = read_log(&a, &r, keep, &hdr, &st);
    if ((status = logcheck_report("plot", name, rc, r.err, &st, "plotting")) != 0)
        goto out;
    status = SUBCMD_EXIT_FILE;
    /* harmless: this path returns status (SUBCMD_EXIT_FILE), rc is not needed */
    // NOLINTNEXTLINE(clang-analyzer-deadcode.DeadStores)
    if ((rc = plot_finish(&r.p))) {
        fprintf(stderr, "gpu_watch plot: out of memory\n");
        goto out;
    }
    subcmd_show_in_zone(r.p.tz, r.p.tz_off);
    char title[256], sub[256];
    make_titles(&r.p, &a, &st, title, sizeof title, sub, sizeof sub);
    if (a.out) {
        int w = a.w ? a.w : 1200;
        int h = a.h ? a.h : 150 + 260 * r.p.npanels;
        rc =
            a.svg ? plot_svg(&r.p, title, sub, w, h, &out) : plot_png(&r.p, title, sub, w, h, &out);
        if (rc) {
            fprintf(stderr, "gpu_watch plot: out of memory drawing the chart\n");
            goto out;
        }
        if (strcmp(a.out, "-") == 0) {
            if ((status = subcmd_write_stdout("plot", out.p, out.len)) != 0)
                goto out;
            status = SUBCMD_EXIT_FILE;
        } else if ((rc = subcmd_write_file(a.out, out.p, out.len)) < 0) {
            fprintf(stderr, "gpu_watch plot: cannot write %s: %s%s\n", a.out, safefile_strerror(rc),
                    rc == -EFBIG ? " (over the file-size limit, ulimit -f)" : "");
            goto out;
        }
    }
    if (a.show) {
        const char *term = getenv("TERM");
        bool color = isatty(STDOUT_FILENO) && !getenv("NO_COLOR") && term && *term &&
                     strcmp(term, "dumb") != 0;
        buf_clear(&out);
        int cols = subcmd_term_width();
        if (plot_term(&r.p, title, sub, cols >= 20 ? cols : 80, color, &out)) {
            fprintf(stderr, "gpu_watch plot: out of memory drawing the chart\n");
            goto out;
        }
        if (subcmd_write_stdout("plot", out.p, out.len) != 0)
            goto out;
    }
    status = 0;
out:
    buf_free(&out);
    if (r.inited)
        plot_free(&r.p);
    free(a.log_home);
    free(a.out_home);
    return status;
}
