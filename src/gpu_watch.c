/* gpu_watch: the top level. Parses the command line, opens the log, and runs
 * the sampling loop on a fixed monotonic schedule; the only place that
 * prints errors and chooses the exit status. */
#include <errno.h>
#include <math.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gpu_watch/columns.h"
#include "gpu_watch/csv.h"
#include "gpu_watch/monotime.h"
#include "gpu_watch/options.h"
#include "gpu_watch/pathfind.h"
#include "gpu_watch/job_cmd.h"
#include "gpu_watch/plot.h"
#include "gpu_watch/promfile.h"
#include "gpu_watch/report.h"
#include "gpu_watch/safefile.h"
#include "gpu_watch/run_cmd.h"
#include "gpu_watch/sampler.h"
#include "gpu_watch/signals.h"
#include "gpu_watch/source.h"
#include "gpu_watch/source_smi.h"
#include "gpu_watch/subcmd.h"
#include "gpu_watch/summary.h"
#include "gpu_watch/summary_cmd.h"
#include "gpu_watch/summary_fmt.h"
#include "gpu_watch/text.h"
#include "gpu_watch/truepeak.h"
#include "gpu_watch/version.h"
#include "gpu_watch/wrap.h"

#define EXIT_USAGE 2
/* What a step of main or run returns to go on; any other value is the
 * exit status to end with now. */
#define GO_ON (-1)
/* fdatasync the log at most this often (s): rows are out of the process
 * after every write(2); this bounds what a power cut can take. */
#define SYNC_EVERY_S 1.0

/* GPUs whose unattributed memory the end-of-run summary tracks (by index). */
#define UNATTR_GPUS 64

struct run_state {
    struct gw_config *cfg;
    struct csv_out out;
    struct sampler *sampler;
    struct sample smp;
    struct gw_buf rows;
    int status_line;   /* draw a status line on stderr */
    bool status_lines; /* ...as whole lines: a watched command writes to that terminal too */
    int columns;       /* the terminal's width for the status line; 0: not known yet */
    unsigned long samples;
    unsigned long answered; /* samples the source answered (sample.answered) */
    size_t max_seen;        /* most processes on the GPUs in one sample, before the filter */
    unsigned long rows_written;
    double last_sync;
    struct wrap *wrap;     /* the command, or the --pid list of --until-exit; NULL otherwise */
    struct summary *sum;   /* the end-of-run summary; NULL with --quiet */
    struct promfile *prom; /* --prom-textfile; NULL without */
    struct truepeak tp;    /* --peaks -- CMD: the command's processes seen on a GPU */
    /* --prom-textfile: wall time of the last sample published (0: none
     * yet), and the GPU indexes the source knows (write_prom's scratch). */
    struct timespec prom_last;
    int gpus[256];
    /* The highest memory in use that no listed process accounted for, MiB,
     * per GPU index (sample.gmem; 0 until some is seen), for the summary. */
    int64_t unattr_max[UNATTR_GPUS];
};

/* The highest unattributed memory of each GPU so far. */
static void note_unattributed(struct run_state *st)
{
    for (size_t i = 0; i < st->smp.ngmem; i++) {
        const struct sample_gpu_mem *g = &st->smp.gmem[i];
        if (g->gpu >= 0 && g->gpu < UNATTR_GPUS && g->unattributed_mib > st->unattr_max[g->gpu])
            st->unattr_max[g->gpu] = g->unattributed_mib;
    }
}

/* "; 1234 MiB unattributed": the memory in use on the GPUs that no listed
 * process accounts for, when some is. */
static int unattributed_text(const struct sample *smp, char *dst, size_t len)
{
    int64_t sum = 0;
    for (size_t i = 0; i < smp->ngmem; i++)
        if (smp->gmem[i].unattributed_mib > 0)
            sum += smp->gmem[i].unattributed_mib;
    dst[0] = '\0';
    return sum > 0 ? snprintf(dst, len, "; %lld MiB in use by no listed process", (long long)sum)
                   : 0;
}

static void report_sample(const struct sample *smp, double now)
{
    if (smp->switched[0])
        report_warn("%s; the run goes on with nvidia-smi", smp->switched);
    if (smp->pidns_warning[0])
        report_warn("%s", smp->pidns_warning);
    for (size_t i = 0; i < smp->nq; i++) {
        const struct source_query *q = &smp->q[i];
        if (q->failed) {
            char what[96], first[400];
            snprintf(what, sizeof what, "%s failed", q->what);
            snprintf(first, sizeof first, "%s: %s; %s", what, q->why, q->lost);
            report_fault(q->key, what, first, now);
        } else {
            report_ok(q->key, true);
        }
    }
}

/* Timestamps with milliseconds: asked for, or needed to tell samples less
 * than a second apart (but --compact keeps the old logger's format unless
 * asked). */
static bool want_ms(const struct gw_config *cfg)
{
    return cfg->ms || (cfg->interval < 1.0 && !cfg->compact);
}

/* Write one sample's rows; returns 0, or an exit status to stop with. */
static int write_sample(struct run_state *st, const struct timespec *wall)
{
    const struct gw_config *cfg = st->cfg;
    char ts[48];
    csv_format_time(ts, sizeof ts, wall, cfg->utc, cfg->compact || cfg->tz_offset, want_ms(cfg));
    buf_clear(&st->rows);
    int r = st->cfg->compact ? csv_compact_row(&st->rows, ts, &st->smp)
                             : csv_sample_rows(&st->rows, ts, &st->smp, st->cfg->host,
                                               st->cfg->peaks || st->cfg->peak_rate > 0);
    if (r < 0) {
        fprintf(stderr, "gpu_watch: out of memory\n");
        return 1;
    }
    if (st->rows.len == 0)
        return 0;
    /* The log deleted under us (rm, its directory removed): rows written to
     * the deleted file would be lost without a word. */
    int rc = csv_check(&st->out);
    if (rc > 0)
        report_warn("%s was removed; started a new one", st->out.path);
    if (rc < 0) {
        fprintf(stderr, "gpu_watch: %s was removed and cannot be created again: %s\n", st->out.path,
                strerror(-rc));
        return 1;
    }
    rc = csv_write(&st->out, st->rows.p, st->rows.len);
    if (rc == -EPIPE || (rc == -EINTR && sig_stop))
        return -1; /* reader went away, or a stop while it stalled: a quiet end */
    if (rc < 0) {
        fprintf(stderr, "gpu_watch: cannot write to %s: %s\n",
                st->out.is_stdout ? "standard output" : st->out.path, strerror(-rc));
        return 1;
    }
    st->rows_written += st->cfg->compact ? 1 : st->smp.n;
    double now = monotime_now();
    if (now - st->last_sync >= SYNC_EVERY_S) {
        st->last_sync = now;
        if ((rc = csv_sync(&st->out)) < 0 && rc != -EINVAL) {
            fprintf(stderr, "gpu_watch: cannot write to %s: %s\n", st->out.path, strerror(-rc));
            return 1;
        }
    }
    return 0;
}

/* --prom-textfile: the sample's metrics. The first write failing ends the
 * run (returns 1), as an unwritable -o does: a service that never publishes
 * must not look healthy. A later failure is warned about once (node_exporter
 * goes on serving the last file written, and its mtime shows the age) and
 * the run goes on. Returns 0 or the exit status to stop with. */
static int write_prom(struct run_state *st, double duration)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    double wall = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    size_t ng = sampler_gpus(st->sampler, st->gpus, sizeof st->gpus / sizeof st->gpus[0]);
    int rc = promfile_write(st->prom, &st->smp, wall, duration, st->gpus, ng);
    if (rc < 0 && st->prom_last.tv_sec == 0) {
        fprintf(stderr, "gpu_watch: cannot write --prom-textfile %s: %s\n", st->cfg->prom_textfile,
                strerror(-rc));
        return 1;
    }
    if (rc < 0) {
        char when[48], first[700];
        csv_format_time(when, sizeof when, &st->prom_last, st->cfg->utc, false, false);
        snprintf(first, sizeof first,
                 "cannot write %s: %s; node_exporter keeps serving the sample of %s until a "
                 "write works",
                 st->cfg->prom_textfile, strerror(-rc), when);
        report_fault("prom", "writing --prom-textfile failed", first, monotime_now());
    } else {
        st->prom_last = ts;
        report_ok("prom", true);
    }
    return 0;
}

/* --prom-command's value (NULL: the default, full). */
static enum prom_command prom_command_mode(const char *v)
{
    if (v && strcmp(v, "name") == 0)
        return PROM_COMMAND_NAME;
    if (v && strcmp(v, "none") == 0)
        return PROM_COMMAND_NONE;
    return PROM_COMMAND_FULL;
}

/* The width of the terminal on stderr, else $COLUMNS, else 0 (the default). */
static int stderr_columns(void)
{
    struct winsize ws;
    if (isatty(STDERR_FILENO) && ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    const char *c = getenv("COLUMNS");
    long n = c ? strtol(c, NULL, 10) : 0;
    return n > 0 && n <= 1000 ? (int)n : 0;
}

/* Why no process passed, for "2 processes on the GPUs, none matched ...":
 * "none matched --match 'x' and --pid 5", or "none of them the command's". */
static void filter_text(const struct gw_config *cfg, char *dst, size_t len)
{
    if (!cfg->match && !cfg->npids) {
        snprintf(dst, len, "none of them %s", cfg->command ? "the command's" : "wanted");
        return;
    }
    int n = snprintf(dst, len, "none matched ");
    if (cfg->match && n >= 0 && (size_t)n < len)
        n += snprintf(dst + n, len - (size_t)n, "--match '%s'", cfg->match);
    if (cfg->npids && n >= 0 && (size_t)n < len)
        snprintf(dst + n, len - (size_t)n, "%s--pid %ld%s", cfg->match ? " and " : "", cfg->pids[0],
                 cfg->npids > 1 ? ",..." : "");
}

/* The status line, cut to the terminal's width (one column spare: a full
 * line would wrap on some terminals, and the redraw would then scroll). */
static void draw_status(struct run_state *st, const struct timespec *wall)
{
    char ts[48], line[512], filt[200], unattr[80];
    csv_format_time(ts, sizeof ts, wall, st->cfg->utc, false, false);
    if (sig_winch || st->columns == 0) {
        sig_winch = 0;
        st->columns = stderr_columns();
    }
    const struct sample *smp = &st->smp;
    int n;
    if (smp->procs == 0 && smp->seen > 0) {
        filter_text(st->cfg, filt, sizeof filt);
        n = snprintf(line, sizeof line, "%s  sample %lu: %zu process%s on the GPUs, %s", ts + 11,
                     st->samples, smp->seen, smp->seen == 1 ? "" : "es", filt);
    } else {
        n = snprintf(line, sizeof line,
                     "%s  sample %lu: %zu process%s, %zu row%s (%lu written), from %s", ts + 11,
                     st->samples, smp->procs, smp->procs == 1 ? "" : "es", smp->n,
                     smp->n == 1 ? "" : "s", st->rows_written, smp->source ? smp->source : "-");
    }
    if (n >= 0 && (size_t)n < sizeof line && unattributed_text(smp, unattr, sizeof unattr) > 0)
        n += snprintf(line + n, sizeof line - (size_t)n, "%s", unattr);
    size_t len = n < 0 ? 0 : (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
    /* The pattern and the source's name, sanitised like all shown text. */
    struct gw_buf clean = {0};
    text_clean(&clean, line, len);
    if (clean.err || !clean.p) {
        buf_free(&clean);
        return;
    }
    len = clean.len;
    if (st->columns > 1) /* characters: one column each (text.h) */
        len = text_utf8_head(clean.p, clean.len, (size_t)st->columns - 1, SIZE_MAX);
    if (st->status_lines) {
        fprintf(stderr, "%.*s\n", (int)len, clean.p);
    } else {
        fprintf(stderr, "\r\033[K%.*s", (int)len, clean.p);
        report_status_line(true);
    }
    buf_free(&clean);
    fflush(stderr);
}

/* Before a sample of a watched command: update its process tree and limit
 * the sample to it. 0 or -ENOMEM. */
static int wrap_follow(struct run_state *st)
{
    const long *allow = NULL;
    size_t nallow = 0;
    int rc = wrap_refresh(st->wrap, &allow, &nallow);
    if (allow)
        sampler_set_allow(st->sampler, allow, nallow);
    return rc == -ENOMEM ? rc : 0;
}

/* The driver's accounting, read once at the end (the records outlive the
 * processes). With a command, its processes' true peaks go into the summary
 * whether or not --peaks was given: one call for the true answer. 0 or a
 * negative errno (-EIO: why says more). */
static int read_true_peaks(struct run_state *st, struct smi_acct *after, char *why, size_t len)
{
    int rc = smi_acct_read("nvidia-smi", st->cfg->timeout, after, why, len);
    if (rc < 0 || !st->cfg->command)
        return rc;
    truepeak_finish(&st->tp, after);
    for (size_t i = 0; st->sum && i < st->tp.n; i++)
        if (st->tp.v[i].driver_mib > 0)
            summary_add_driver_peak(st->sum, st->tp.v[i].pid, (double)st->tp.v[i].driver_mib);
    return 0;
}

/* --peaks, at the end: with a command, its processes' true peaks per GPU;
 * else, when accounting is off, how to turn it on. On stderr, after the
 * summary. rc: read_true_peaks's. */
static void print_true_peaks(struct run_state *st, const struct smi_acct *after, int rc,
                             const char *why)
{
    struct gw_buf b = {0};
    if (rc < 0) {
        fprintf(stderr, "gpu_watch: true peaks: cannot read the driver's accounting: %s\n",
                rc == -EIO ? why : strerror(-rc));
    } else if (st->cfg->command) {
        if (truepeak_format(&st->tp, after, &b) == 0)
            fwrite(b.p, 1, b.len, stderr);
    } else if (!truepeak_acct_on(after) && truepeak_hint(&b) == 0) {
        fwrite(b.p, 1, b.len, stderr);
    }
    buf_free(&b);
}

/* The summary of the run on stderr, after the command (if any) has ended. */
static void print_summary(struct run_state *st)
{
    struct summary_result res;
    struct gw_buf b = {0};
    struct summary_fmt_opts fo = {
        .utc = st->cfg->utc,
        /* As gpu_watch summary: whole commands off a terminal (Slurm's job
         * output, nohup, the journal) unless COLUMNS says otherwise. */
        .width = subcmd_text_width(STDERR_FILENO) >= 40 ? subcmd_text_width(STDERR_FILENO) : -1,
        .title = st->out.is_stdout ? "this run" : st->out.path,
    };
    summary_set_interval(st->sum, st->cfg->interval);
    if (summary_result(st->sum, &res) == 0 && summary_format(&res, SUMMARY_TEXT, &fo, &b) == 0 &&
        b.len)
        fwrite(b.p, 1, b.len, stderr);
    buf_free(&b);
    /* Memory no listed process accounted for: other containers' processes
     * (gpu_watch in a container), or memory held outside any process. */
    bool any = false;
    for (int g = 0; g < UNATTR_GPUS; g++) {
        if (st->unattr_max[g] <= 0)
            continue;
        fprintf(stderr, "%sGPU %d %lld MiB",
                any ? ", " : "GPU memory in use by no listed process (highest): ", g,
                (long long)st->unattr_max[g]);
        any = true;
    }
    if (any)
        fputs("\n", stderr);
}

/* The schedule of the samples: slot k is due at t0 + k intervals. */
struct schedule {
    double t0;           /* monotonic seconds */
    unsigned long k;     /* the slot waited for */
    double slot;         /* its time, monotonic seconds */
    enum wrap_wake wake; /* what ended the wait */
    unsigned long overruns;
};

/* Sleep until the next slot (with a command, also until it opens a GPU or
 * exits: the schedule restarts there). 1: take the sample; 0: woken early
 * (SIGHUP), wait again; -1: stop. */
static int wait_slot(struct run_state *st, struct schedule *sc)
{
    sc->slot = sc->t0 + (double)sc->k * st->cfg->interval;
    sc->wake = WRAP_SLOT;
    if (st->wrap) {
        sc->wake = wrap_sleep_until(st->wrap, sc->slot, &sig_stop, &sig_hup);
        if (sc->wake == WRAP_ON_GPU || sc->wake == WRAP_EXITED) {
            sc->t0 = sc->slot = monotime_now(); /* sample now; the schedule starts here */
            sc->k = 0;
        }
    } else {
        signals_sleep_until(sc->slot);
    }
    if (sig_stop)
        return -1;
    if (sig_hup) {
        sig_hup = 0;
        int r = csv_reopen(&st->out);
        if (r < 0)
            report_warn("SIGHUP: cannot reopen %s (%s); still writing to the old file",
                        st->out.path, strerror(-r));
        if (monotime_now() < sc->slot)
            return 0; /* woken early: wait for the slot again */
    }
    return 1;
}

/* Take one sample and hand it to every output: the log, the summary, the
 * Prometheus file, the status line. GO_ON, or the exit status to stop with. */
static int take_sample(struct run_state *st)
{
    const struct gw_config *cfg = st->cfg;
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    if (st->wrap && wrap_follow(st) < 0) {
        fprintf(stderr, "gpu_watch: out of memory\n");
        return 1;
    }
    double t_sample = monotime_now();
    int sr = sampler_run(st->sampler, &st->smp, &sig_stop);
    if (sr == -ECANCELED)
        return 0; /* a sample cut short by Ctrl+C is not written half-empty */
    if (sr < 0) {
        fprintf(stderr, "gpu_watch: %s\n", strerror(-sr));
        return 1;
    }
    double now = monotime_now();
    report_sample(&st->smp, now);
    note_unattributed(st);
    st->samples++;
    st->answered += st->smp.answered;
    if (st->smp.seen > st->max_seen)
        st->max_seen = st->smp.seen;
    int w = write_sample(st, &wall);
    if (w)
        return w > 0 ? w : 0;
    if (cfg->command && (cfg->peaks || st->sum) && truepeak_add_sample(&st->tp, &st->smp) < 0) {
        fprintf(stderr, "gpu_watch: %s\n", strerror(ENOMEM));
        return 1;
    }
    if (st->prom && (w = write_prom(st, now - t_sample)) != 0)
        return w;
    if (st->sum && summary_add_sample(st->sum, (double)wall.tv_sec + (double)wall.tv_nsec / 1e9,
                                      &st->smp, st->cfg->host) < 0) {
        report_warn("out of memory: no summary at the end of this run");
        summary_free(st->sum);
        st->sum = NULL;
    }
    if (st->status_line)
        draw_status(st, &wall);
    report_summary(now, false);
    return GO_ON;
}

/* Next slot; a sample that overran skips to the slot after now. */
static void next_slot(struct schedule *sc, double interval)
{
    sc->k++;
    double now = monotime_now();
    if (now > sc->t0 + (double)sc->k * interval) {
        unsigned long next = (unsigned long)floor((now - sc->t0) / interval) + 1;
        sc->overruns++;
        char first[200];
        snprintf(first, sizeof first,
                 "a sample took %.3f s, longer than --interval %g s: skipping to the next slot",
                 now - sc->slot, interval);
        report_fault("schedule", "samples longer than --interval", first, now);
        sc->k = next;
    } else {
        report_ok("schedule", false);
    }
}

static int run(struct run_state *st)
{
    const struct gw_config *cfg = st->cfg;
    /* A command is not on a GPU yet when it starts: the first sample comes
     * after one interval, or as soon as it opens a GPU (WRAP_ON_GPU). */
    struct schedule sc = {.t0 = monotime_now(), .k = cfg->command ? 1 : 0};
    for (;;) {
        int wr = wait_slot(st, &sc);
        if (wr < 0)
            break;
        if (wr == 0)
            continue;
        int rc = take_sample(st);
        if (rc != GO_ON)
            return rc;
        if (cfg->count && st->samples >= (unsigned long)cfg->count)
            break;
        if (sc.wake == WRAP_EXITED)
            break; /* that was the last sample */
        next_slot(&sc, cfg->interval);
    }
    return 0;
}

/* Start the command of `gpu_watch -- COMMAND`, or follow the --pid list of
 * --until-exit. Returns -1 to go on, or the status to exit with. */
static int start_targets(struct run_state *st, const char *proc_root)
{
    const struct gw_config *cfg = st->cfg;
    if (cfg->command && cfg->peaks && !cfg->quiet) {
        /* The records already finished now are not the command's. (Without
         * --peaks the summary's driver peaks do without this call, so the
         * command starts at once: a reused PID's two records then match
         * ambiguously, and peaks.c says nothing rather than a wrong peak.) */
        struct smi_acct before = {0};
        char why[200];
        if (smi_acct_read("nvidia-smi", cfg->timeout, &before, why, sizeof why) == 0 &&
            truepeak_set_before(&st->tp, &before.recs) < 0) {
            smi_acct_free(&before);
            fprintf(stderr, "gpu_watch: %s\n", strerror(ENOMEM));
            return 1;
        }
        smi_acct_free(&before);
    }
    if (cfg->command) {
        /* Before the fork: a Ctrl+C from now on is the command's. */
        wrap_install_signals();
        int rc = wrap_spawn(cfg->command, proc_root, &st->wrap);
        if (rc == -ENOMEM || rc == -EAGAIN || rc == -EMFILE || rc == -ENFILE) {
            fprintf(stderr, "gpu_watch: cannot start %s: %s\n", cfg->command[0], strerror(-rc));
            return 1;
        }
        if (rc < 0) {
            fprintf(stderr, "gpu_watch: %s: %s\n", cfg->command[0], strerror(-rc));
            return wrap_exec_status(-rc);
        }
    } else if (cfg->until_exit) {
        size_t running = 0;
        if (wrap_pids(cfg->pids, cfg->npids, proc_root, &st->wrap, &running) < 0) {
            fprintf(stderr, "gpu_watch: out of memory\n");
            return 1;
        }
        if (running == 0) {
            fprintf(stderr, "gpu_watch: --until-exit: none of the --pid processes is running\n");
            return 0;
        }
    }
    return -1;
}

/* --pid values that name no process: one warning at the start, or a typo
 * gives an empty log without a word. (The run goes on: it may start.) */
static void warn_missing_pids(const struct gw_config *cfg, const char *proc_root)
{
    char list[200] = "";
    size_t n = 0, missing = 0;
    for (size_t i = 0; i < cfg->npids; i++) {
        char dir[4200];
        struct stat sb;
        snprintf(dir, sizeof dir, "%s/%ld", proc_root, cfg->pids[i]);
        if (stat(dir, &sb) == 0 || errno != ENOENT)
            continue;
        if (n < sizeof list) {
            int w = snprintf(list + n, sizeof list - n, "%s%ld", missing ? "," : "", cfg->pids[i]);
            n += w > 0 ? (size_t)w : 0;
        }
        missing++;
    }
    if (missing)
        report_warn("--pid %s: no such process%s (yet); its rows start if it appears", list,
                    missing == 1 ? "" : "es");
}

/* Whether the end-of-run summary is wanted: asked for, or someone is
 * watching (stderr is a terminal, or a command is wrapped, like time(1)).
 * Never from cron: a run that works prints nothing there. */
static bool want_summary(const struct gw_config *cfg)
{
    return cfg->summary || (!cfg->quiet && (isatty(STDERR_FILENO) || cfg->command));
}

/* The command line into cfg: GO_ON, or the status after --help, --version
 * or a usage error. */
static int parse_options(int argc, char **argv, struct gw_config *cfg)
{
    char err[512];
    int rc = GO_ON;
    switch (options_parse(argc, argv, getenv("HOME"), cfg, err, sizeof err)) {
    case OPTIONS_HELP:
        fputs(options_help(), stdout);
        return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
    case OPTIONS_VERSION:
        printf("gpu_watch %s\nsources (--source): %s|auto; default smi\n", GPU_WATCH_VERSION,
               source_names());
        return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
    case OPTIONS_USAGE:
        fprintf(stderr, "gpu_watch: %s\n", err);
        return EXIT_USAGE;
    case OPTIONS_OK:
        break;
    }
    return rc;
}

/* gpu_watch -- CMD: the command must exist before the log is created. */
static int check_command(const struct gw_config *cfg)
{
    int rc;
    const char *path = getenv("PATH");
    if (cfg->command && (rc = path_find(cfg->command[0], path)) < 0) {
        /* Before the log is created: a mistyped command leaves nothing behind. */
        if (!*cfg->command[0])
            fprintf(stderr, "gpu_watch: '': empty command name\n");
        else
            fprintf(stderr, "gpu_watch: %s: %s\n", cfg->command[0],
                    rc == -ENOENT ? "command not found" : "permission denied (not executable)");
        return wrap_exec_status(-rc);
    }
    return GO_ON;
}

/* What the sampler is asked for, from cfg and the test aids in the
 * environment. so's strings point into cfg and the environment. */
static void sampler_options(const struct gw_config *cfg, struct sampler_opts *so)
{
    const char *proc_root = getenv("GPU_WATCH_PROC_ROOT"); /* for tests: a fixture tree */
    if (proc_root && *proc_root) /* a test aid left set would change what is watched */
        report_warn("GPU_WATCH_PROC_ROOT is set (a test aid): processes are read from %s, not "
                    "/proc",
                    proc_root);
    const char *cg_root = getenv("GPU_WATCH_CGROUP_ROOT"); /* for tests: a fixture tree */
    /* A translated pattern that still does not compile is matched as the
     * user's own text, not as our translation of it. */
    const char *match = cfg->match_ere;
    regex_t re;
    if (match && strcmp(match, cfg->match) != 0) {
        if (regcomp(&re, match, REG_EXTENDED | REG_NOSUB) == 0)
            regfree(&re);
        else
            match = cfg->match;
    }
    *so = (struct sampler_opts){
        .source = cfg->source,
        .smi = "nvidia-smi",
        .ps = "ps",
        .proc_root = proc_root && *proc_root ? proc_root : "/proc",
        .cgroup_root = cg_root && *cg_root ? cg_root : "/sys/fs/cgroup",
        .timeout = cfg->timeout,
        .pids = cfg->pids,
        .npids = cfg->npids,
        .match = match,
        .match_icase = cfg->match_icase,
        .host = cfg->host,
        .who = cfg->who,
        .peaks = cfg->peaks || cfg->peak_rate > 0, /* the driver's peak wins over the dense one */
        .peak_rate = cfg->peak_rate,
        .watch_pid = cfg->compact ? cfg->pids[0] : 0,
        .gpu_mem = cfg->prom_textfile != NULL,
    };
}

/* The source first: without one, no log file is created. */
static int open_source(struct run_state *st, const struct sampler_opts *so)
{
    const struct gw_config *cfg = st->cfg;
    int rc;
    struct sampler_start start;
    if ((rc = sampler_new(so, &st->sampler, &start)) < 0) {
        fprintf(stderr, "gpu_watch: %s\n", start.why[0] ? start.why : strerror(-rc));
        return 1;
    }
    if (cfg->peak_rate && strcmp(start.source, source_nvml.title) != 0) {
        /* --source auto fell back to nvidia-smi: bad input for this machine. */
        fprintf(stderr, "gpu_watch: --peak-rate needs NVML, which did not load (%s)\n",
                start.why[0] ? start.why : "unknown reason");
        return 2;
    }
    if (start.substring)
        report_warn("--match '%s' is not a valid extended regex; matching it as a plain substring",
                    cfg->match);
    if (strcmp(cfg->source, "auto") == 0 && !cfg->quiet) {
        /* The NVML source may already say "NVML: ": one prefix, not two. */
        const char *why = start.why;
        if (strncmp(why, "NVML: ", 6) == 0)
            why += 6;
        fprintf(stderr, "gpu_watch: --source auto: using %s%s%s%s\n", start.source,
                why[0] ? " (NVML: " : "", why, why[0] ? ")" : "");
    }
    return GO_ON;
}

/* The Prometheus text file, then the log with its header line. */
static int open_outputs(struct run_state *st, const struct sampler_opts *so,
                        enum csv_open_mode mode, const char *header)
{
    const struct gw_config *cfg = st->cfg;
    int rc;
    /* The text file first: a refused one leaves no log behind. */
    struct promfile_opts po = {
        .path = cfg->prom_textfile,
        .host = cfg->host,
        .peaks = so->peaks,
        .command = prom_command_mode(cfg->prom_command),
        .version = GPU_WATCH_VERSION,
    };
    if (cfg->prom_textfile && !(st->prom = promfile_new(&po))) {
        fprintf(stderr, "gpu_watch: out of memory\n");
        return 1;
    }
    if (st->prom && (rc = promfile_open(st->prom, &sig_stop)) < 0) {
        if (rc != -EINTR)
            fprintf(stderr, "gpu_watch: cannot use %s for --prom-textfile: %s\n",
                    cfg->prom_textfile, safefile_strerror(rc));
        rc = rc == -EINTR ? 0 : 1; /* a stop while waiting for a lock: a quiet end */
        return rc;
    }
    rc = csv_open(&st->out, cfg->output, header, mode, &sig_stop);
    if (rc == -EEXIST) {
        fprintf(stderr,
                "gpu_watch: %s already exists and is not empty; use --append to add to it or "
                "--force to overwrite it\n",
                cfg->output);
    } else if (rc == -EPROTO) {
        fprintf(stderr,
                "gpu_watch: %s has a different header than this run's (%s); it was not changed. "
                "Use another file, or --force to overwrite it instead of --append\n",
                cfg->output, header);
    } else if (rc < 0 && rc != -EPIPE && rc != -EINTR) {
        fprintf(stderr, "gpu_watch: cannot open %s for writing: %s\n", cfg->output,
                safefile_strerror(rc));
    }
    if (rc < 0) {
        /* A reader gone before the header, or a stop meanwhile: a quiet end. */
        return rc == -EPIPE || rc == -EINTR ? 0 : 1;
    }
    return GO_ON;
}

/* Before the first sample: the status line and the summary. */
static void prepare_run(struct run_state *st, const struct sampler_opts *so)
{
    const struct gw_config *cfg = st->cfg;
    st->status_line = !cfg->quiet && isatty(STDERR_FILENO) && (!cfg->command || cfg->status);
    /* The command writes to this terminal too (its stderr is ours): a line
     * redrawn in place would run into its output. */
    st->status_lines = st->status_line && cfg->command;
    st->sum = want_summary(cfg) ? summary_new() : NULL;
    if (st->sum && so->peaks)
        summary_set_peaks(st->sum);
    st->last_sync = monotime_now();
}

/* After the last sample: the command's exit status, the end of the status
 * line and the summaries. Returns the exit status so far. */
static int end_run(struct run_state *st, int rc)
{
    const struct gw_config *cfg = st->cfg;
    if (st->wrap) {
        wrap_wait(st->wrap); /* the run stopped early (--count, a write error) */
        if (cfg->command && (rc == 0 || wrap_status(st->wrap) != 0))
            rc = wrap_status(st->wrap);
    }
    if (st->status_line && st->samples && !st->status_lines)
        fputc('\n', stderr);
    report_status_line(false);
    report_summary(monotime_now(), true);
    /* With the summary only: a cron run that works prints nothing. */
    struct smi_acct after = {0};
    char why[200] = "";
    int acct_rc = -ENODATA;
    /* Without --peaks, only when a process of the command was on a GPU. */
    if (st->sum && ((cfg->command && (cfg->peaks || st->tp.n)) || (cfg->peaks && st->samples)))
        acct_rc = read_true_peaks(st, &after, why, sizeof why);
    if (st->sum && st->samples)
        print_summary(st);
    if (cfg->peaks && st->sum && (st->samples || cfg->command))
        print_true_peaks(st, &after, acct_rc, why);
    smi_acct_free(&after);
    return rc;
}

/* Processes were on the GPUs but none matched: say so, with the filter. */
static void warn_no_rows(const struct run_state *st)
{
    const struct gw_config *cfg = st->cfg;
    if (st->samples && st->rows_written == 0 && st->max_seen > 0) {
        char filt[200];
        struct gw_buf clean = {0}; /* the pattern, sanitised (text.h) */
        filter_text(cfg, filt, sizeof filt);
        text_clean(&clean, filt, strlen(filt));
        const char *shown = clean.p && !clean.err ? clean.p : "none matched";
        /* From cron (no summary, maybe --quiet): a warning, which cron mails,
         * or a --match with a typo writes header-only logs for months. */
        if (st->sum)
            fprintf(stderr, "gpu_watch: %zu process%s on the GPUs, %s\n", st->max_seen,
                    st->max_seen == 1 ? "" : "es", shown);
        else if (cfg->match || cfg->npids)
            report_warn("%zu process%s on the GPUs, %s: no rows were written", st->max_seen,
                        st->max_seen == 1 ? "" : "es", shown);
        buf_free(&clean);
    }
}

/* The last checks and the closing of the outputs; returns the exit status. */
static int close_outputs(struct run_state *st, int rc)
{
    const struct gw_config *cfg = st->cfg;
    /* The source never answered: the log says nothing, and that must show. */
    if (rc == 0 && !cfg->command && st->samples && st->answered == 0) {
        fprintf(stderr, "gpu_watch: no sample got any data from %s (%lu tried)\n",
                st->smp.source ? st->smp.source : "the source", st->samples);
        rc = 1;
    }
    int e = csv_sync(&st->out);
    if (e < 0 && rc == 0 && st->out.regular) {
        fprintf(stderr, "gpu_watch: cannot write to %s: %s\n", cfg->output, strerror(-e));
        rc = 1;
    }
    if ((e = csv_close(&st->out)) < 0 && rc == 0) {
        fprintf(stderr, "gpu_watch: cannot close %s: %s\n", cfg->output, strerror(-e));
        rc = 1;
    }
    /* The processes in the metrics file are no longer watched: remove it
     * (an admin alerts on node_textfile_mtime_seconds for a sampler that
     * died without this). */
    int pr = promfile_close(st->prom);
    st->prom = NULL;
    if (pr < 0 && rc == 0) {
        fprintf(stderr, "gpu_watch: cannot remove %s: %s\n", cfg->prom_textfile, strerror(-pr));
        rc = 1;
    }
    return rc;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "plot") == 0)
        return plot_main(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "summary") == 0)
        return summary_main(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "job") == 0)
        return job_main(argc - 1, argv + 1);
    struct gw_config cfg;
    struct run_state st;
    memset(&st, 0, sizeof st);
    st.out.fd = -1;
    st.out.lock = (struct safefile_lock){.fd = -1, .dirfd = -1};
    st.cfg = &cfg;
    struct sampler_opts so;
    int rc;
    if ((rc = parse_options(argc, argv, &cfg)) != GO_ON)
        goto out;
    if ((rc = check_command(&cfg)) != GO_ON)
        goto out;
    sampler_options(&cfg, &so);
    truepeak_init(&st.tp, so.proc_root);
    if ((rc = open_source(&st, &so)) != GO_ON)
        goto out;
    signals_install(); /* before the header is written: SIGPIPE, SIGXFSZ */
    enum csv_open_mode mode = cfg.append ? CSV_APPEND : cfg.force ? CSV_FORCE : CSV_NEW;
    unsigned cols = cfg.compact ? COL_SET(COL_COMPACT)
                                : columns_set(cfg.host, so.peaks, cfg.peak_rate > 0, cfg.who);
    char header[512];
    if (columns_header(header, sizeof header, cols) < 0) {
        fprintf(stderr, "gpu_watch: the CSV header is longer than %zu bytes\n", sizeof header);
        rc = 1;
        goto out;
    }
    if ((rc = open_outputs(&st, &so, mode, header)) != GO_ON)
        goto out;
    if (!cfg.until_exit)
        warn_missing_pids(&cfg, so.proc_root);
    if ((rc = start_targets(&st, so.proc_root)) >= 0)
        goto out;
    prepare_run(&st, &so);
    rc = run(&st);
    rc = end_run(&st, rc);
    warn_no_rows(&st);
    rc = close_outputs(&st, rc);
    run_cmd_drain(200);
out:
    csv_close(&st.out); /* on the early ways out; closed above otherwise */
    promfile_close(st.prom);
    wrap_free(st.wrap);
    summary_free(st.sum);
    truepeak_free(&st.tp);
    sampler_free(st.sampler);
    sample_free(&st.smp);
    buf_free(&st.rows);
    options_free(&cfg);
    if (source_left_stuck()) {
        /* An NVML call never returned and its thread is still inside the
         * library: exit() would run the library's destructors beside it,
         * which may wait for it forever (issue 18). The files are finished
         * (the log closed, the textfile removed, the summary printed). */
        if (fflush(NULL) != 0 && rc == 0)
            rc = 1;
        _exit(rc);
    }
    return rc;
}
