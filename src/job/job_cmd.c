/* `gpu_watch job`: options, reading the logs, the snapshot and the
 * driver's accounting (nvidia-smi through run_cmd), printing and saving.
 * The only part of the job report that does I/O or prints. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gpu_watch/atomicio.h"
#include "gpu_watch/job.h"
#include "gpu_watch/job_cmd.h"
#include "gpu_watch/job_fmt.h"
#include "gpu_watch/job_nvml.h"
#include "gpu_watch/job_parse.h"
#include "gpu_watch/logcheck.h"
#include "gpu_watch/logread.h"
#include "gpu_watch/logtime.h"
#include "gpu_watch/run_cmd.h"
#include "gpu_watch/source_smi.h"
#include "gpu_watch/subcmd.h"

static const char job_usage[] =
    "Usage: gpu_watch job --log LOG.csv [options] JOB_ID\n"
    "       gpu_watch job --snapshot FILE\n"
    "       gpu_watch job --spool DIR [--format text|json] JOB_ID\n"
    "\n"
    "Answer for one Slurm job on this node, at its end (from the epilog): per GPU\n"
    "its processes, samples, SM use, and its GPU memory as two bounds: at least\n"
    "the larger of the highest sampled sum and the largest driver peak, at most\n"
    "the sum of its processes' driver peaks (unknown when one has none). Reads the\n"
    "log of the node's gpu_watch service (written with --who; --peaks helps) and\n"
    "the driver's accounting records (NVML, or nvidia-smi --query-accounted-apps),\n"
    "which hold processes that no sample saw.\n"
    "\n"
    "Options:\n"
    "  --log FILE         the service's log; again for a rotated one (LOG.csv.1)\n"
    "  --gpus LIST        the job's GPUs as Slurm numbers them (SLURM_JOB_GPUS,\n"
    "                     \"0,2\" or \"0-3\"): /dev/nvidiaN minor numbers, mapped to\n"
    "                     nvidia-smi's index through nvidia-smi -q. Such GPUs are\n"
    "                     the job's alone: every process started on them in the\n"
    "                     job's window counts\n"
    "  --start TIME       the job's start: seconds since the epoch or\n"
    "                     2026-12-05T01:30:00Z; default the snapshot's time, else\n"
    "                     the job's first sample\n"
    "  --end TIME         the job's end (default now)\n"
    "  --user NAME        the job's user (SLURM_JOB_USER): the user of the\n"
    "                     processes that only the accounting records hold\n"
    "  --before FILE      the snapshot the prolog took with --snapshot: records\n"
    "                     already there belong to earlier jobs\n"
    "  --format F         text (default), json, or compact (one line for Slurm's\n"
    "                     AdminComment)\n"
    "  --save DIR         also write DIR/JOB_ID.json and DIR/JOB_ID.txt (mode 0600)\n"
    "  --reader R         how the accounting is read: nvml (its records carry start\n"
    "                     times: no snapshot needed), smi (nvidia-smi), or auto\n"
    "                     (default: nvml when libnvidia-ml loads, else smi)\n"
    "  --no-acct          do not read the driver's accounting\n"
    "  --timeout S        seconds each nvidia-smi call may take (default 10)\n"
    "  --snapshot FILE    (prolog) write the driver's accounting records and the\n"
    "                     time into FILE, then exit\n"
    "  --spool DIR        print the report the epilog saved (DIR/JOB_ID.txt, or\n"
    "                     .json with --format json)\n"
    "  -h, --help         this help\n"
    "\n"
    "Exit status: 0 on success, 1 when a log, the snapshot or the spool cannot be\n"
    "read or the report cannot be written, 2 on bad usage.\n";

const char *job_help(void)
{
    return job_usage;
}

static int usage_error(const char *fmt, const char *arg)
{
    return subcmd_usage_error("job", fmt, arg);
}

#define MAX_LOGS 8

struct job_opts {
    const char *logs[MAX_LOGS];
    size_t nlogs;
    const char *job_id;
    int gpus[64];
    size_t ngpus;
    bool gpus_given;
    double start, end;
    const char *before;
    const char *user;
    enum job_format fmt;
    const char *save;
    bool no_acct;
    enum reader { READ_AUTO, READ_NVML, READ_SMI } reader;
    double timeout;
    const char *snapshot;
    const char *spool;
};

/* Seconds since the epoch, or an ISO 8601 time (logread's forms). */
static int parse_time(const char *v, double *out)
{
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (!errno && end != v && !*end && isfinite(x) && x >= 0) {
        *out = x;
        return 0;
    }
    enum log_tz tz;
    return logread_parse_time(v, strlen(v), out, &tz);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A Slurm job id: digits, maybe "_N" of an array task? Slurm gives the
 * epilog the numeric SLURM_JOB_ID; nothing else is accepted. */
static bool valid_job_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 20)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* The value of option a at argv[*i] ("--opt V" or "--opt=V"); NULL when
 * a is another option. *missing when the value is absent. */
static const char *opt_value(const char *a, const char *name, int argc, char **argv, int *i,
                             bool *missing)
{
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0)
        return NULL;
    if (a[n] == '=')
        return a + n + 1;
    if (a[n] != '\0')
        return NULL;
    if (*i + 1 >= argc) {
        *missing = true;
        return NULL;
    }
    return argv[++*i];
}

/* --reader: "auto", "nvml" or "smi". 0 or -EINVAL. */
static int parse_reader(const char *v, enum reader *out)
{
    if (strcmp(v, "auto") == 0)
        *out = READ_AUTO;
    else if (strcmp(v, "nvml") == 0)
        *out = READ_NVML;
    else if (strcmp(v, "smi") == 0)
        *out = READ_SMI;
    else
        return -EINVAL;
    return 0;
}

/* --timeout: seconds, 0.1 to 3600, into *out. 0 or -EINVAL. */
static int parse_timeout(const char *v, double *out)
{
    char *end;
    errno = 0;
    *out = strtod(v, &end);
    if (errno || end == v || *end || !(*out >= 0.1 && *out <= 3600))
        return -EINVAL;
    return 0;
}

/* The options together: what each mode needs. 0, or the usage status. */
static int check_args(const struct job_opts *o)
{
    if (o->snapshot) {
        if (o->job_id || o->nlogs || o->spool)
            return usage_error("%s", "--snapshot FILE takes no job id, log or spool");
        return 0;
    }
    if (!o->job_id)
        return usage_error("%s", "no job id given");
    if (o->spool) {
        if (o->fmt == JOB_COMPACT)
            return usage_error("%s", "--spool shows text or json");
        return 0;
    }
    if (!o->nlogs)
        return usage_error("%s", "no log given: gpu_watch job --log LOG.csv JOB_ID");
    return 0;
}

static int parse_args(int argc, char **argv, struct job_opts *o, bool *help)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        bool missing = false;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            *help = true;
            return 0;
        } else if (strcmp(a, "--no-acct") == 0) {
            o->no_acct = true;
        } else if ((v = opt_value(a, "--log", argc, argv, &i, &missing))) {
            if (o->nlogs == MAX_LOGS)
                return usage_error("at most 8 logs, not '%s'", v);
            o->logs[o->nlogs++] = v;
        } else if ((v = opt_value(a, "--gpus", argc, argv, &i, &missing))) {
            /* An empty SLURM_JOB_GPUS: a job without GPUs on this node. */
            if (*v &&
                job_parse_gpu_list(v, o->gpus, sizeof o->gpus / sizeof o->gpus[0], &o->ngpus) < 0)
                return usage_error("--gpus wants Slurm's GPU numbers (\"0,2\", \"0-3\"), not "
                                   "'%s'",
                                   v);
            o->gpus_given = true;
        } else if ((v = opt_value(a, "--start", argc, argv, &i, &missing))) {
            if (parse_time(v, &o->start) < 0)
                return usage_error("--start wants seconds since the epoch or an ISO 8601 "
                                   "time, not '%s'",
                                   v);
        } else if ((v = opt_value(a, "--end", argc, argv, &i, &missing))) {
            if (parse_time(v, &o->end) < 0)
                return usage_error("--end wants seconds since the epoch or an ISO 8601 time, "
                                   "not '%s'",
                                   v);
        } else if ((v = opt_value(a, "--user", argc, argv, &i, &missing))) {
            o->user = v;
        } else if ((v = opt_value(a, "--before", argc, argv, &i, &missing))) {
            o->before = v;
        } else if ((v = opt_value(a, "--format", argc, argv, &i, &missing))) {
            if (job_parse_format(v, &o->fmt) < 0)
                return usage_error("unknown --format '%s': expected text, json or compact", v);
        } else if ((v = opt_value(a, "--reader", argc, argv, &i, &missing))) {
            if (parse_reader(v, &o->reader) < 0)
                return usage_error("unknown --reader '%s': expected auto, nvml or smi", v);
        } else if ((v = opt_value(a, "--save", argc, argv, &i, &missing))) {
            o->save = v;
        } else if ((v = opt_value(a, "--timeout", argc, argv, &i, &missing))) {
            if (parse_timeout(v, &o->timeout) < 0)
                return usage_error("--timeout wants seconds, 0.1 to 3600, not '%s'", v);
        } else if ((v = opt_value(a, "--snapshot", argc, argv, &i, &missing))) {
            o->snapshot = v;
        } else if ((v = opt_value(a, "--spool", argc, argv, &i, &missing))) {
            o->spool = v;
        } else if (missing) {
            return usage_error("%s needs a value", a);
        } else if (a[0] == '-' && a[1]) {
            return usage_error("unknown option '%s'", a);
        } else if (o->job_id) {
            return usage_error("more than one job id given ('%s')", a);
        } else if (!valid_job_id(a)) {
            return usage_error("a job id is a number (SLURM_JOB_ID), not '%s'", a);
        } else {
            o->job_id = a;
        }
    }
    return check_args(o);
}

/* Read a whole small file (at most 64 MiB) into b. 0 or -errno. */
static int read_file(const char *path, struct gw_buf *b)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    char chunk[65536];
    int rc = 0;
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = -errno;
            break;
        }
        if (n == 0)
            break;
        if (b->len + (size_t)n > (64u << 20)) {
            rc = -EFBIG;
            break;
        }
        if (buf_append(b, chunk, (size_t)n) < 0) {
            rc = -ENOMEM;
            break;
        }
    }
    close(fd);
    return rc;
}

/* The driver's GPUs and records: smi_acct_read, then nvidia-smi -q for the
 * minor numbers and buffer sizes. */
struct acct_read {
    struct smi_acct a;
    struct job_gpu_info *gpus;
    size_t ngpus;
    struct job_rec *recs;
    size_t nrecs;
    bool gpus_read, recs_read, minors_read;
    const char *reader; /* "nvml", "nvidia-smi" or "none" */
};

/* NVML's records, with start times. 0 (r filled), 1 (not read: fall back
to nvidia-smi), -ENOMEM. */
static int read_nvml(struct acct_read *r, double timeout, bool quiet_missing)
{
    char why[256] = "";
    int rc = job_nvml_read(timeout, &r->gpus, &r->ngpus, &r->recs, &r->nrecs, why, sizeof why);
    if (rc == -ENOMEM)
        return rc;
    if (rc < 0) {
        if (rc != -ENOENT || !quiet_missing)
            fprintf(stderr, "gpu_watch job: NVML: %s%s\n", why,
                    quiet_missing ? "; reading nvidia-smi's records" : "");
        return 1;
    }
    r->gpus_read = r->recs_read = r->minors_read = true;
    r->reader = "nvml";
    return 0;
}

static int read_acct(struct acct_read *r, double timeout, enum reader reader)
{
    char why[256] = "";
    r->reader = "none";
    if (reader != READ_SMI) {
        int n = read_nvml(r, timeout, reader == READ_AUTO);
        if (n <= 0 || reader == READ_NVML)
            return n < 0 ? n : 0;
    }
    int rc = smi_acct_read("nvidia-smi", timeout, &r->a, why, sizeof why);
    if (rc == -ENOMEM)
        return rc;
    if (rc < 0) {
        fprintf(stderr, "gpu_watch job: cannot read the driver's accounting: %s\n",
                rc == -ENOENT ? "nvidia-smi not found" : why);
        return 0;
    }
    r->gpus_read = r->recs_read = true;
    r->reader = "nvidia-smi";
    if (r->a.gpus.n && !(r->gpus = calloc(r->a.gpus.n, sizeof *r->gpus)))
        return -ENOMEM;
    r->ngpus = r->a.gpus.n;
    for (size_t i = 0; i < r->ngpus; i++) {
        r->gpus[i].index = r->a.gpus.v[i].index;
        memcpy(r->gpus[i].uuid, r->a.gpus.v[i].uuid, sizeof r->gpus[i].uuid);
        r->gpus[i].acct = r->a.gpus.v[i].acct;
        r->gpus[i].minor = -1;
        r->gpus[i].buffer = -1;
    }
    if (job_recs_from_acct(&r->a.recs, &r->recs, &r->nrecs) < 0)
        return -ENOMEM;
    static const char *const q_argv[] = {"nvidia-smi", "-q", NULL};
    struct cmd_call c = {.argv = q_argv, .key = "job:q"};
    rc = run_cmd(&c, 1, timeout, NULL);
    if (rc == 0 && c.state == CMD_OK)
        r->minors_read = job_parse_smi_q(c.out.p, c.out.len, r->gpus, r->ngpus) == 0;
    else if (rc == 0) {
        run_cmd_describe(&c, timeout, why, sizeof why);
        fprintf(stderr, "gpu_watch job: nvidia-smi -q: %s\n", why);
    }
    buf_free(&c.out);
    return rc == -ENOMEM ? rc : 0;
}

static void acct_read_free(struct acct_read *r)
{
    smi_acct_free(&r->a);
    free(r->gpus);
    free(r->recs);
}

static int do_snapshot(const struct job_opts *o)
{
    struct acct_read r = {0};
    struct gw_buf b = {0};
    int status = SUBCMD_EXIT_FILE;
    double taken = now_s();
    if (read_acct(&r, o->timeout, o->reader) < 0 ||
        job_snapshot_format(&b, taken, r.recs, r.nrecs) < 0) {
        fprintf(stderr, "gpu_watch job: out of memory\n");
        goto out;
    }
    int rc = subcmd_write_file(o->snapshot, b.p, b.len);
    if (rc < 0) {
        fprintf(stderr, "gpu_watch job: cannot write %s: %s\n", o->snapshot, strerror(-rc));
        goto out;
    }
    status = SUBCMD_OK;
out:
    buf_free(&b);
    acct_read_free(&r);
    return status;
}

static int do_spool(const struct job_opts *o)
{
    char path[4096];
    struct gw_buf b = {0};
    int n = snprintf(path, sizeof path, "%s/%s.%s", o->spool, o->job_id,
                     o->fmt == JOB_JSON ? "json" : "txt");
    if (n < 0 || (size_t)n >= sizeof path)
        return usage_error("--spool '%s' is too long", o->spool);
    int rc = read_file(path, &b);
    if (rc < 0) {
        fprintf(stderr, "gpu_watch job: no report of job %s: %s: %s\n", o->job_id, path,
                strerror(-rc));
        buf_free(&b);
        return SUBCMD_EXIT_FILE;
    }
    rc = subcmd_write_stdout("job", b.p, b.len);
    buf_free(&b);
    return rc;
}

static int on_row(const struct log_row *row, void *ctx)
{
    return job_add_row(ctx, row);
}

/* DIR/ID.json and DIR/ID.txt, mode 0600 (they hold command lines). */
static int save_reports(const struct job_opts *o, const struct job *j,
                        const struct job_fmt_info *fi)
{
    static const struct {
        const char *ext;
        enum job_format f;
    } kinds[] = {{"json", JOB_JSON}, {"txt", JOB_TEXT}};
    for (size_t k = 0; k < 2; k++) {
        char path[4096];
        struct gw_buf b = {0};
        int n = snprintf(path, sizeof path, "%s/%s.%s", o->save, o->job_id, kinds[k].ext);
        if (n < 0 || (size_t)n >= sizeof path) {
            fprintf(stderr, "gpu_watch job: --save '%s' is too long\n", o->save);
            return -ENAMETOOLONG;
        }
        int rc = job_format(j, fi, kinds[k].f, &b);
        if (rc == 0)
            rc = atomicio_replace(path, b.p, b.len, 0600, true);
        buf_free(&b);
        if (rc < 0) {
            fprintf(stderr, "gpu_watch job: cannot write %s: %s\n", path, strerror(-rc));
            return rc;
        }
    }
    return 0;
}

/* --before FILE: the snapshot taken at the job's start into snap, the time
 * it was taken and its records (*before, freed by the caller). 0, or -1
 * after saying why (snap freed). */
static int read_before(const char *path, struct gw_buf *snap, double *taken,
                       struct job_rec **before, size_t *nbefore)
{
    int rc = read_file(path, snap);
    if (rc == 0)
        rc = job_parse_snapshot(snap->p, snap->len, taken, before, nbefore);
    if (rc < 0) {
        fprintf(stderr, "gpu_watch job: cannot read the snapshot %s: %s\n", path,
                rc == -EINVAL ? "not a gpu_watch job snapshot" : strerror(-rc));
        buf_free(snap);
        return -1;
    }
    return 0;
}

/* The job's logs read, with what the driver and Slurm say at its end. 0 or
 * -ENOMEM. */
static int finish(struct job *j, const struct job_opts *o, const struct acct_read *r,
                  const struct job_rec *before, size_t nbefore)
{
    struct job_end e = {
        .gpus = r->gpus,
        .ngpus = r->ngpus,
        .gpus_read = r->gpus_read,
        .slurm = o->gpus_given ? o->gpus : NULL,
        .nslurm = o->ngpus,
        .recs = r->recs,
        .nrecs = r->nrecs,
        .recs_read = r->recs_read,
        .before = before,
        .nbefore = nbefore,
        .have_before = o->before != NULL,
        .user = o->user,
    };
    return job_finish(j, &e);
}

int job_main(int argc, char **argv)
{
    struct job_opts o = {.start = NAN, .end = NAN, .timeout = 10};
    bool help = false;
    int status = parse_args(argc, argv, &o, &help);
    if (status)
        return status;
    if (help) {
        fputs(job_usage, stdout);
        return subcmd_write_stdout("job", "", 0);
    }
    if (o.snapshot)
        return do_snapshot(&o);
    if (o.spool)
        return do_spool(&o);

    struct job j;
    struct acct_read r = {0};
    struct gw_buf snap = {0}, out = {0};
    struct job_rec *before = NULL;
    size_t nbefore = 0;
    double taken = NAN;
    const char *start_source = "option";
    status = SUBCMD_EXIT_FILE;
    if (o.before && read_before(o.before, &snap, &taken, &before, &nbefore) < 0)
        return SUBCMD_EXIT_FILE;
    if (isnan(o.start)) {
        o.start = taken;
        start_source = isnan(taken) ? "log" : "snapshot";
    }
    if (isnan(o.end))
        o.end = now_s();
    job_init(&j, o.job_id, o.start, o.end);
    /* The accounting first: read as close to the job's end as can be. */
    if (!o.no_acct && read_acct(&r, o.timeout, o.reader) < 0)
        goto oom;
    for (size_t i = 0; i < o.nlogs; i++) {
        struct log_stats st = {0};
        int rc = logread_file(o.logs[i], on_row, &j, NULL, &st);
        if (rc < 0 && (status = logcheck_report("job", o.logs[i], rc, rc == -ENOMEM ? rc : 0, &st,
                                                "reporting")) != 0)
            goto out;
    }
    if (finish(&j, &o, &r, before, nbefore) < 0)
        goto oom;
    if (isnan(o.start))
        start_source = j.start_guessed ? "log" : "none";
    char host[256] = "";
    if (gethostname(host, sizeof host) < 0)
        host[0] = '\0';
    host[sizeof host - 1] = '\0';
    struct job_fmt_info fi = {host, start_source, r.recs_read ? r.reader : "none"};
    if (job_format(&j, &fi, o.fmt, &out) < 0)
        goto oom;
    signal(SIGXFSZ, SIG_IGN); /* past a file-size limit: EFBIG, not death */
    if (o.save && save_reports(&o, &j, &fi) < 0)
        goto out;
    status = subcmd_write_stdout("job", out.p, out.len);
    goto out;
oom:
    fprintf(stderr, "gpu_watch job: out of memory\n");
    status = SUBCMD_EXIT_FILE;
out:
    buf_free(&out);
    buf_free(&snap);
    free(before);
    acct_read_free(&r);
    job_free(&j);
    return status;
}
