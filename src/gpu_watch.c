/* gpu_watch: the top level. Parses the command line, opens the log, and runs
 * the sampling loop on a fixed monotonic schedule; the only place that
 * prints errors and chooses the exit status. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gpu_watch/csv.h"
#include "gpu_watch/options.h"
#include "gpu_watch/plot.h"
#include "gpu_watch/report.h"
#include "gpu_watch/run_cmd.h"
#include "gpu_watch/sampler.h"
#include "gpu_watch/version.h"

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
}

/* Is prog an executable file in one of PATH's directories? */
static int in_path(const char *prog)
{
    if (strchr(prog, '/'))
        return access(prog, X_OK) == 0;
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/bin:/bin";
    while (*path) {
        const char *c = strchr(path, ':');
        size_t len = c ? (size_t)(c - path) : strlen(path);
        char full[4096];
        if (snprintf(full, sizeof full, "%.*s/%s", (int)len, len ? path : ".", prog) <
            (int)sizeof full) {
            struct stat st;
            if (stat(full, &st) == 0 && S_ISREG(st.st_mode) && access(full, X_OK) == 0)
                return 1;
        }
        if (!c)
            break;
        path = c + 1;
    }
    return 0;
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
};

static void report_sample(const struct sample *smp, double now)
{
    for (int q = 0; q < Q_COUNT; q++) {
        if (!smp->ran[q])
            continue;
        const char *name = sampler_query_name((enum sample_query)q);
        char what[96], first[400];
        snprintf(what, sizeof what, "%s%s failed", q == Q_PS ? "" : "nvidia-smi ", name);
        if (smp->failed[q]) {
            snprintf(first, sizeof first, "%s: %s; %s", what, smp->why[q],
                     q == Q_PS ? "command lines fall back to pmon's names"
                               : "its columns stay empty until it works");
            report_fault(name, what, first, now);
        } else
            report_ok(name, true);
    }
}

/* Write one sample's rows; returns 0, or an exit status to stop with. */
static int write_sample(struct run_state *st, time_t wall)
{
    char ts[40];
    format_time(ts, sizeof ts, wall, st->cfg->utc, st->cfg->compact);
    buf_clear(&st->rows);
    int r = st->cfg->compact ? csv_compact_row(&st->rows, ts, &st->smp)
                             : csv_sample_rows(&st->rows, ts, &st->smp, st->cfg->host);
    if (r < 0) {
        fprintf(stderr, "gpu_watch: out of memory\n");
        return 1;
    }
    if (st->rows.len == 0)
        return 0;
    int rc = csv_write(&st->out, st->rows.p, st->rows.len);
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

static int run(struct run_state *st)
{
    const struct gw_config *cfg = st->cfg;
    double t0 = mono_now();
    unsigned long k = 0;
    unsigned long overruns = 0;
    int rc = 0;
    for (;;) {
        double slot = t0 + (double)k * cfg->interval;
        sleep_until(slot);
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
        if (sampler_run(st->sampler, &st->smp, &stop_flag) < 0) {
            fprintf(stderr, "gpu_watch: out of memory\n");
            return 1;
        }
        double now = mono_now();
        bool cancelled = false;
        for (int q = 0; q < Q_COUNT; q++)
            cancelled |= stop_flag && st->smp.failed[q];
        if (cancelled)
            break; /* a sample cut short by Ctrl+C is not written half-empty */
        report_sample(&st->smp, now);
        st->samples++;
        int w = write_sample(st, wall);
        if (w) {
            rc = w > 0 ? w : 0;
            break;
        }
        if (st->status_line)
            draw_status(st, wall);
        report_summary(now, false);
        if (cfg->count && st->samples >= (unsigned long)cfg->count)
            break;
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

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "plot") == 0)
        return plot_main(argc - 1, argv + 1);
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
    if (cfg.command || cfg.until_exit) {
        fprintf(stderr, "gpu_watch: this build does not support that mode yet\n");
        options_free(&cfg);
        return EXIT_USAGE;
    }
    const char *smi = "nvidia-smi";
    if (!in_path(smi)) {
        fprintf(stderr, "ERROR: nvidia-smi not found in PATH.\n");
        options_free(&cfg);
        return 1;
    }
    const char *proc_root = getenv("GPU_WATCH_PROC_ROOT"); /* for tests: a fixture tree */
    struct sampler_opts so = {
        .smi = smi,
        .ps = "ps",
        .proc_root = proc_root && *proc_root ? proc_root : "/proc",
        .timeout = cfg.timeout,
        .pids = cfg.pids,
        .npids = cfg.npids,
        .match = cfg.match,
        .host = cfg.host,
        .watch_pid = cfg.compact ? cfg.pids[0] : 0,
    };
    struct run_state st;
    memset(&st, 0, sizeof st);
    st.cfg = &cfg;
    enum csv_open_mode mode = cfg.append ? CSV_APPEND : cfg.force ? CSV_FORCE : CSV_NEW;
    const char *header = cfg.compact ? CSV_HEADER_COMPACT : cfg.host ? CSV_HEADER_HOST : CSV_HEADER;
    int rc = csv_open(&st.out, cfg.output, header, mode);
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
        options_free(&cfg);
        return 0;
    } else if (rc < 0) {
        fprintf(stderr, "gpu_watch: cannot open %s for writing: %s\n", cfg.output, strerror(-rc));
    }
    if (rc < 0) {
        options_free(&cfg);
        return 1;
    }
    install_signals();
    bool fallback = false;
    int err_new = 0;
    st.sampler = sampler_new(&so, &fallback, &err_new);
    if (!st.sampler) {
        fprintf(stderr, "gpu_watch: out of memory\n");
        csv_close(&st.out);
        options_free(&cfg);
        return 1;
    }
    if (fallback)
        report_warn("--match '%s' is not a valid extended regex; matching it as a plain substring",
                    cfg.match);
    st.status_line = !cfg.quiet && isatty(STDERR_FILENO);
    st.last_sync = mono_now();
    rc = run(&st);
    if (st.status_line && st.samples)
        fputc('\n', stderr);
    report_status_line(false);
    report_summary(mono_now(), true);
    if (csv_sync(&st.out) < 0 && rc == 0 && st.out.regular) {
        fprintf(stderr, "gpu_watch: cannot write to %s: %s\n", cfg.output, strerror(errno));
        rc = 1;
    }
    if (csv_close(&st.out) < 0 && rc == 0) {
        fprintf(stderr, "gpu_watch: cannot close %s: %s\n", cfg.output, strerror(errno));
        rc = 1;
    }
    run_cmd_drain(200);
    sampler_free(st.sampler);
    sample_free(&st.smp);
    buf_free(&st.rows);
    options_free(&cfg);
    return rc;
}
