/* gpu_watch: the top level. Parses the command line, opens the log, and runs
 * the sampling loop on a fixed monotonic schedule; the only place that
 * prints errors and chooses the exit status. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gpu_watch/csv.h"
#include "gpu_watch/options.h"
#include "gpu_watch/plot.h"
#include "gpu_watch/report.h"
#include "gpu_watch/run_cmd.h"
#include "gpu_watch/sampler.h"
#include "gpu_watch/smi_acct.h"
#include "gpu_watch/summary.h"
#include "gpu_watch/truepeak.h"
#include "gpu_watch/version.h"
#include "gpu_watch/wrap.h"

#define EXIT_USAGE 2
/* fdatasync the log at most this often (s): rows are out of the process
 * after every write(2); this bounds what a power cut can take. */
#define SYNC_EVERY_S 1.0

static volatile sig_atomic_t stop_flag;
static volatile sig_atomic_t hup_flag;

static void on_stop(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void on_hup(int sig)
{
    (void)sig;
    hup_flag = 1;
}

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sleep until monotonic time t (seconds), or until a signal sets a flag. */
static void sleep_until(double t)
{
    struct timespec ts;
    ts.tv_sec = (time_t)t;
    ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    while (!stop_flag && !hup_flag) {
        int rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
        if (rc == 0 || rc != EINTR)
            break;
    }
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sa.sa_handler = on_stop;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = on_hup;
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    /* Past ulimit -f, write(2) must fail with EFBIG (reported, exit 1)
     * instead of the default SIGXFSZ killing the process mid-row. */
    sigaction(SIGXFSZ, &sa, NULL);
}

/* "2025-01-10T14:22:30" in local time, or "...Z" in UTC. With offset (the
 * --compact log, as `date -Iseconds` wrote it): "2025-01-10T14:22:30+01:00". */
static void format_time(char *dst, size_t len, time_t t, bool utc, bool offset)
{
    struct tm tm;
    if (utc)
        gmtime_r(&t, &tm);
    else
        localtime_r(&t, &tm);
    if (!offset) {
        strftime(dst, len, utc ? "%Y-%m-%dT%H:%M:%SZ" : "%Y-%m-%dT%H:%M:%S", &tm);
        return;
    }
    long off = utc ? 0 : tm.tm_gmtoff;
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    int a = (int)((off < 0 ? -off : off) % 86400);
    snprintf(dst, len, "%.19s%c%02d:%02d", base, off < 0 ? '-' : '+', a / 3600, (a / 60) % 60);
}

struct run_state {
    struct gw_config *cfg;
    struct csv_out out;
    struct sampler *sampler;
    struct sample smp;
    struct gw_buf rows;
    int status_line; /* draw a status line on stderr */
    unsigned long samples;
    unsigned long rows_written;
    double last_sync;
    struct wrap *wrap;   /* the command, or the --pid list of --until-exit; NULL otherwise */
    struct summary *sum; /* the end-of-run summary; NULL with --quiet */
    struct truepeak tp;  /* --peaks -- CMD: the command's processes seen on a GPU */
};

static void report_sample(const struct sample *smp, double now)
{
    if (smp->switched[0])
        report_warn("%s; the run goes on with nvidia-smi", smp->switched);
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

/* Write one sample's rows; returns 0, or an exit status to stop with. */
static int write_sample(struct run_state *st, time_t wall)
{
    char ts[40];
    format_time(ts, sizeof ts, wall, st->cfg->utc, st->cfg->compact);
    buf_clear(&st->rows);
    int r = st->cfg->compact
                ? csv_compact_row(&st->rows, ts, &st->smp)
                : csv_sample_rows(&st->rows, ts, &st->smp, st->cfg->host, st->cfg->peaks);
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
    if (rc == -EPIPE)
        return -1; /* reader went away: a quiet, successful end */
    if (rc < 0) {
        fprintf(stderr, "gpu_watch: cannot write to %s: %s\n",
                st->out.is_stdout ? "standard output" : st->out.path, strerror(-rc));
        return 1;
    }
    st->rows_written += st->cfg->compact ? 1 : st->smp.n;
    double now = mono_now();
    if (now - st->last_sync >= SYNC_EVERY_S) {
        st->last_sync = now;
        if ((rc = csv_sync(&st->out)) < 0 && rc != -EINVAL) {
            fprintf(stderr, "gpu_watch: cannot write to %s: %s\n", st->out.path, strerror(-rc));
            return 1;
        }
    }
    return 0;
}

static void draw_status(struct run_state *st, time_t wall)
{
    char ts[40];
    format_time(ts, sizeof ts, wall, st->cfg->utc, false);
    fprintf(stderr, "\r\033[K%s  sample %lu: %zu process%s, %zu row%s (%lu written)", ts + 11,
            st->samples, st->smp.procs, st->smp.procs == 1 ? "" : "es", st->smp.n,
            st->smp.n == 1 ? "" : "s", st->rows_written);
    fflush(stderr);
    report_status_line(true);
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

/* --peaks, at the end: with a command, its processes' true peaks (the
 * accounting read once more, now that they ended); else, when accounting is
 * off, how to turn it on. On stderr, after the summary. */
static void print_true_peaks(struct run_state *st)
{
    struct smi_acct after = {0};
    struct gw_buf b = {0};
    char why[200];
    int rc = smi_acct_read("nvidia-smi", st->cfg->timeout, &after, why, sizeof why);
    if (rc < 0) {
        fprintf(stderr, "gpu_watch: true peaks: cannot read the driver's accounting: %s\n",
                rc == -EIO ? why : strerror(-rc));
    } else if (st->cfg->command) {
        truepeak_finish(&st->tp, &after);
        if (truepeak_format(&st->tp, &after, &b) == 0)
            fwrite(b.p, 1, b.len, stderr);
    } else if (!truepeak_acct_on(&after) && truepeak_hint(&b) == 0) {
        fwrite(b.p, 1, b.len, stderr);
    }
    buf_free(&b);
    smi_acct_free(&after);
}

/* The summary of the run on stderr, after the command (if any) has ended. */
static void print_summary(struct run_state *st)
{
    struct summary_result res;
    struct gw_buf b = {0};
    struct summary_fmt_opts fo = {
        .utc = st->cfg->utc,
        .width = stderr_columns(),
        .title = st->out.is_stdout ? "this run" : st->out.path,
    };
    summary_set_interval(st->sum, st->cfg->interval);
    if (summary_result(st->sum, &res) == 0 && summary_format(&res, SUMMARY_TEXT, &fo, &b) == 0 &&
        b.len)
        fwrite(b.p, 1, b.len, stderr);
    buf_free(&b);
}

static int run(struct run_state *st)
{
    const struct gw_config *cfg = st->cfg;
    double t0 = mono_now();
    /* A command is not on a GPU yet when it starts: the first sample comes
     * after one interval, or as soon as it opens a GPU (WRAP_ON_GPU). */
    unsigned long k = cfg->command ? 1 : 0;
    unsigned long overruns = 0;
    int rc = 0;
    for (;;) {
        double slot = t0 + (double)k * cfg->interval;
        enum wrap_wake wake = WRAP_SLOT;
        if (st->wrap) {
            wake = wrap_sleep_until(st->wrap, slot, &stop_flag, &hup_flag);
            if (wake == WRAP_ON_GPU || wake == WRAP_EXITED) {
                t0 = slot = mono_now(); /* sample now; the schedule starts here */
                k = 0;
            }
        } else {
            sleep_until(slot);
        }
        if (stop_flag)
            break;
        if (hup_flag) {
            hup_flag = 0;
            int r = csv_reopen(&st->out);
            if (r < 0)
                report_warn("SIGHUP: cannot reopen %s (%s); still writing to the old file",
                            st->out.path, strerror(-r));
            if (mono_now() < slot)
                continue; /* woken early: wait for the slot again */
        }
        time_t wall = time(NULL);
        if (st->wrap && wrap_follow(st) < 0) {
            fprintf(stderr, "gpu_watch: out of memory\n");
            return 1;
        }
        int sr = sampler_run(st->sampler, &st->smp, &stop_flag);
        if (sr == -ECANCELED)
            break; /* a sample cut short by Ctrl+C is not written half-empty */
        if (sr < 0) {
            fprintf(stderr, "gpu_watch: %s\n", strerror(-sr));
            return 1;
        }
        double now = mono_now();
        report_sample(&st->smp, now);
        st->samples++;
        int w = write_sample(st, wall);
        if (w) {
            rc = w > 0 ? w : 0;
            break;
        }
        if (cfg->peaks && cfg->command && truepeak_add_sample(&st->tp, &st->smp) < 0) {
            fprintf(stderr, "gpu_watch: %s\n", strerror(ENOMEM));
            return 1;
        }
        if (st->sum && summary_add_sample(st->sum, (double)wall, &st->smp, st->cfg->host) < 0) {
            report_warn("out of memory: no summary at the end of this run");
            summary_free(st->sum);
            st->sum = NULL;
        }
        if (st->status_line)
            draw_status(st, wall);
        report_summary(now, false);
        if (cfg->count && st->samples >= (unsigned long)cfg->count)
            break;
        if (wake == WRAP_EXITED)
            break; /* that was the last sample */
        /* Next slot; a sample that overran skips to the slot after now. */
        k++;
        now = mono_now();
        if (now > t0 + (double)k * cfg->interval) {
            unsigned long next = (unsigned long)floor((now - t0) / cfg->interval) + 1;
            overruns++;
            char first[200];
            snprintf(first, sizeof first,
                     "a sample took %.3f s, longer than --interval %g s: skipping to the next slot",
                     now - slot, cfg->interval);
            report_fault("schedule", "samples longer than --interval", first, now);
            k = next;
        } else {
            report_ok("schedule", false);
        }
    }
    return rc;
}

/* Start the command of `gpu_watch -- COMMAND`, or follow the --pid list of
 * --until-exit. Returns -1 to go on, or the status to exit with. */
static int start_targets(struct run_state *st, const char *proc_root)
{
    const struct gw_config *cfg = st->cfg;
    if (cfg->command && cfg->peaks && !cfg->quiet) {
        /* The records already finished now are not the command's. */
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

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "plot") == 0)
        return plot_main(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "summary") == 0)
        return summary_main(argc - 1, argv + 1);
    struct gw_config cfg;
    char err[512];
    enum options_result r = options_parse(argc, argv, getenv("HOME"), &cfg, err, sizeof err);
    switch (r) {
    case OPTIONS_HELP:
        fputs(options_help(), stdout);
        options_free(&cfg);
        return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
    case OPTIONS_VERSION:
        printf("gpu_watch %s\n", GPU_WATCH_VERSION);
        options_free(&cfg);
        return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
    case OPTIONS_USAGE:
        fprintf(stderr, "gpu_watch: %s\n", err);
        options_free(&cfg);
        return EXIT_USAGE;
    case OPTIONS_OK:
        break;
    }
    const char *proc_root = getenv("GPU_WATCH_PROC_ROOT"); /* for tests: a fixture tree */
    int rc = cfg.command ? wrap_find(cfg.command[0], getenv("PATH")) : 0;
    if (rc < 0) {
        /* Before the log is created: a mistyped command leaves nothing behind. */
        fprintf(stderr, "gpu_watch: %s: %s\n", cfg.command[0],
                rc == -ENOENT ? "command not found" : "permission denied (not executable)");
        options_free(&cfg);
        return wrap_exec_status(-rc);
    }
    struct sampler_opts so = {
        .source = cfg.source,
        .smi = "nvidia-smi",
        .ps = "ps",
        .proc_root = proc_root && *proc_root ? proc_root : "/proc",
        .timeout = cfg.timeout,
        .pids = cfg.pids,
        .npids = cfg.npids,
        .match = cfg.match,
        .host = cfg.host,
        .peaks = cfg.peaks,
        .watch_pid = cfg.compact ? cfg.pids[0] : 0,
    };
    struct run_state st;
    memset(&st, 0, sizeof st);
    st.cfg = &cfg;
    truepeak_init(&st.tp, so.proc_root);
    /* The source first: without one, no log file is created. */
    struct sampler_start start;
    rc = sampler_new(&so, &st.sampler, &start);
    if (rc < 0) {
        fprintf(stderr, "gpu_watch: %s\n", start.why[0] ? start.why : strerror(-rc));
        options_free(&cfg);
        return 1;
    }
    if (start.substring)
        report_warn("--match '%s' is not a valid extended regex; matching it as a plain substring",
                    cfg.match);
    if (strcmp(cfg.source, "auto") == 0 && !cfg.quiet)
        fprintf(stderr, "gpu_watch: --source auto: using %s%s%s%s\n", start.source,
                start.why[0] ? " (NVML: " : "", start.why, start.why[0] ? ")" : "");
    install_signals(); /* before the header is written: SIGPIPE, SIGXFSZ */
    enum csv_open_mode mode = cfg.append ? CSV_APPEND : cfg.force ? CSV_FORCE : CSV_NEW;
    const char *header = cfg.compact ? CSV_HEADER_COMPACT : csv_header(cfg.host, cfg.peaks);
    rc = csv_open(&st.out, cfg.output, header, mode);
    if (rc == -EEXIST) {
        fprintf(stderr,
                "gpu_watch: %s already exists and is not empty; use --append to add to it or "
                "--force to overwrite it\n",
                cfg.output);
    } else if (rc == -EPROTO) {
        fprintf(stderr,
                "gpu_watch: %s has a different header than this run's (%s); it was not changed. "
                "Use another file, or --force to overwrite it instead of --append\n",
                cfg.output, header);
    } else if (rc == -EPIPE) {
        sampler_free(st.sampler);
        options_free(&cfg);
        return 0;
    } else if (rc < 0) {
        fprintf(stderr, "gpu_watch: cannot open %s for writing: %s\n", cfg.output, strerror(-rc));
    }
    if (rc < 0) {
        sampler_free(st.sampler);
        options_free(&cfg);
        return 1;
    }
    if ((rc = start_targets(&st, so.proc_root)) >= 0) {
        wrap_free(st.wrap);
        csv_close(&st.out);
        sampler_free(st.sampler);
        options_free(&cfg);
        return rc;
    }
    st.status_line = !cfg.quiet && isatty(STDERR_FILENO) && (!cfg.command || cfg.status);
    st.sum = cfg.quiet ? NULL : summary_new();
    if (st.sum && cfg.peaks)
        summary_set_peaks(st.sum);
    st.last_sync = mono_now();
    rc = run(&st);
    if (st.wrap) {
        wrap_wait(st.wrap); /* the run stopped early (--count, a write error) */
        if (cfg.command && (rc == 0 || wrap_status(st.wrap) != 0))
            rc = wrap_status(st.wrap);
    }
    if (st.status_line && st.samples)
        fputc('\n', stderr);
    report_status_line(false);
    report_summary(mono_now(), true);
    if (st.sum && st.samples)
        print_summary(&st);
    if (cfg.peaks && !cfg.quiet && (st.samples || cfg.command))
        print_true_peaks(&st);
    if (csv_sync(&st.out) < 0 && rc == 0 && st.out.regular) {
        fprintf(stderr, "gpu_watch: cannot write to %s: %s\n", cfg.output, strerror(errno));
        rc = 1;
    }
    if (csv_close(&st.out) < 0 && rc == 0) {
        fprintf(stderr, "gpu_watch: cannot close %s: %s\n", cfg.output, strerror(errno));
        rc = 1;
    }
    run_cmd_drain(200);
    wrap_free(st.wrap);
    summary_free(st.sum);
    truepeak_free(&st.tp);
    sampler_free(st.sampler);
    sample_free(&st.smp);
    buf_free(&st.rows);
    options_free(&cfg);
    return rc;
}
