/* One sample: poll the source, then per process one PID-table entry,
 * command line, filter verdict and --host figures. */
#include "gpu_watch/sampler.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gpu_watch/array.h"
#include "gpu_watch/buf.h"
#include "gpu_watch/cmdline.h"
#include "gpu_watch/filter.h"
#include "gpu_watch/monotime.h"
#include "gpu_watch/pidns.h"
#include "gpu_watch/pidtab.h"
#include "gpu_watch/procfs.h"
#include "gpu_watch/run_cmd.h"
#include "gpu_watch/valid.h"

struct sampler {
    struct sampler_opts o;
    struct source_config cfg;
    const struct source_ops *ops;
    void *src;
    struct source_poll poll;
    struct filter *filter;
    struct cmdline *cmdline;
    struct host *host;
    struct pidtab *tab;
    unsigned gen;
    const long *allow; /* sampler_set_allow: sorted PIDs, or NULL for no limit */
    size_t nallow;
    /* This sample's distinct processes, in PID order, with the driver's name. */
    struct pid_entry **ents;
    const char **names;
    size_t nents;
    size_t cap_ents;
    size_t cap_names;
    struct gw_buf scratch; /* --who's reads of /proc */
    /* In a child PID namespace (pidns.h): what the driver translates, read
     * at the first sample (drv_read); foreign when its process lists hold
     * host PIDs, which must not be looked up in our /proc. */
    bool ns_child;
    bool drv_read;
    bool foreign;
    struct pidns_driver drv;
};

/* Open the source named o->source; "auto" takes NVML when it opens, else
 * nvidia-smi, and says why in st->why. */
static int open_source(struct sampler *s, struct sampler_start *st)
{
    const char *name = s->o.source ? s->o.source : "smi";
    bool automatic = strcmp(name, "auto") == 0;
    const struct source_ops *ops =
        s->o.source_ops ? s->o.source_ops : source_find(automatic ? "nvml" : name);
    int rc = -EINVAL;
    st->why[0] = '\0';
    if (ops)
        rc = ops->open(&s->cfg, &s->src, st->why, sizeof st->why);
    if (rc == 0 || !automatic) {
        s->ops = rc == 0 ? ops : NULL;
        st->source = rc == 0 ? ops->title : NULL;
        return rc;
    }
    /* auto, and NVML did not open: nvidia-smi, keeping why NVML failed. */
    if (!ops)
        snprintf(st->why, sizeof st->why, "this build has no NVML source");
    char why[sizeof st->why];
    if ((rc = source_smi.open(&s->cfg, &s->src, why, sizeof why)) < 0) {
        snprintf(st->why, sizeof st->why, "%s", why);
        return rc;
    }
    s->ops = &source_smi;
    st->source = source_smi.title;
    return 0;
}

int sampler_new(const struct sampler_opts *o, struct sampler **out, struct sampler_start *st)
{
    struct sampler *s = calloc(1, sizeof *s);
    int rc = -ENOMEM;
    *out = NULL;
    memset(st, 0, sizeof *st);
    if (!s)
        return rc;
    s->o = *o;
    s->cfg.smi = o->smi;
    s->cfg.timeout = o->timeout;
    s->cfg.peaks = o->peaks;
    bool child = false;
    s->ns_child = pidns_self(o->proc_root, &child) == 0 && child;
    /* Inside a container other containers' processes may be unlisted: the
     * memory they hold shows as unattributed. */
    s->cfg.gpu_mem = o->gpu_mem || s->ns_child;
    s->cfg.peak_rate = o->peak_rate;
    if (!(s->tab = pidtab_new(64)) || !(s->host = host_new(o->proc_root)) ||
        !(s->cmdline = cmdline_new(o->proc_root, o->ps, o->timeout)) ||
        (rc = filter_new(o->pids, o->npids, o->match, o->match_icase, &s->filter, &st->substring)) <
            0 ||
        (rc = open_source(s, st)) < 0) {
        sampler_free(s);
        return rc < 0 ? rc : -ENOMEM;
    }
    *out = s;
    return 0;
}

void sampler_free(struct sampler *s)
{
    if (!s)
        return;
    if (s->ops)
        s->ops->close(s->src);
    free(s->poll.v);
    free(s->poll.gm);
    filter_free(s->filter);
    cmdline_free(s->cmdline);
    host_free(s->host);
    pidtab_free(s->tab);
    free(s->ents);
    free(s->names);
    buf_free(&s->scratch);
    free(s);
}

size_t sampler_gpus(const struct sampler *s, int *idx, size_t max)
{
    size_t n = s->ops->gpu_count(s->src);
    if (n > max)
        n = max;
    for (size_t i = 0; i < n; i++)
        idx[i] = s->ops->gpu_index(s->src, i);
    return n;
}

void sampler_set_allow(struct sampler *s, const long *pids, size_t n)
{
    s->allow = pids;
    s->nallow = n;
}

void sample_free(struct sample *smp)
{
    free(smp->rows);
    free(smp->gmem);
    memset(smp, 0, sizeof *smp);
}

static int cmp_long(const void *a, const void *b)
{
    const long *x = a, *y = b;
    return (*x > *y) - (*x < *y);
}

static bool sorted_by_pid(const struct source_poll *p)
{
    for (size_t i = 1; i < p->n; i++)
        if (source_proc_cmp(&p->v[i - 1], &p->v[i]) > 0)
            return false;
    return true;
}

static int cmp_gpu_pid(const void *a, const void *b)
{
    const struct sample_row *x = a, *y = b;
    if (x->gpu != y->gpu)
        return x->gpu < y->gpu ? -1 : 1;
    return (x->pid > y->pid) - (x->pid < y->pid);
}

/* Poll the source; when it gives up, go on with nvidia-smi, this sample too. */
static int poll_source(struct sampler *s, struct sample *out, const volatile sig_atomic_t *cancel)
{
    int rc = s->ops->poll(s->src, &s->poll, cancel);
    if (rc != SOURCE_GIVE_UP)
        return rc;
    char why[sizeof out->switched];
    snprintf(out->switched, sizeof out->switched, "%s: %s", s->ops->title, s->poll.gave_up);
    s->ops->close(s->src);
    s->ops = NULL;
    if ((rc = source_smi.open(&s->cfg, &s->src, why, sizeof why)) < 0)
        return rc;
    s->ops = &source_smi;
    /* In what is left of the sample; nothing left (the stuck call took it
     * all): nvidia-smi starts with the next sample. */
    if (source_time_left(&s->poll, s->o.timeout) <= 0) {
        source_poll_reset(&s->poll);
        return 0;
    }
    return s->ops->poll(s->src, &s->poll, cancel);
}

/* e's start time from /proc: a new one means the PID was reused, and all
 * that was known of the old process (command line, verdict, owner, --host
 * readings) goes. A process gone meanwhile keeps what is known. */
static int check_start(struct sampler *s, struct pid_entry *e)
{
    uint64_t start = 0;
    int rc = procfs_starttime(s->o.proc_root, e->pid, &start, &s->scratch);
    if (rc == -ENOMEM)
        return rc;
    if (rc < 0 || start == 0)
        return 0;
    if (e->start != 0 && e->start != start)
        pidtab_renew(e);
    e->start = start;
    return 0;
}

/* One PID-table entry per distinct process of the poll (records sorted by
 * PID): ents[], with the driver's name of each in names[]. */
static int find_entries(struct sampler *s)
{
    const struct source_poll *p = &s->poll;
    const bool have_proc = procfs_available(s->o.proc_root);
    int rc;
    s->nents = 0;
    if (array_reserve(&s->ents, &s->cap_ents, p->n, sizeof(struct pid_entry *)) < 0 ||
        array_reserve(&s->names, &s->cap_names, p->n, sizeof *s->names) < 0 ||
        pidtab_reserve(s->tab, p->n) < 0)
        return -ENOMEM;
    for (size_t i = 0; i < p->n; i++) {
        if (i > 0 && p->v[i].pid == p->v[i - 1].pid) {
            if (!s->names[s->nents - 1][0])
                s->names[s->nents - 1] = p->v[i].name;
            continue;
        }
        struct pid_entry *e = pidtab_get(s->tab, p->v[i].pid, NULL);
        if (!e)
            return -ENOMEM;
        e->gen = s->gen;
        if (have_proc && !s->foreign && (rc = check_start(s, e)) < 0)
            return rc;
        s->names[s->nents] = p->v[i].name;
        s->ents[s->nents++] = e;
    }
    return 0;
}

/* The driver's version: the source's, else one nvidia-smi query (only in a
 * child PID namespace, once). "" when not known. */
static void driver_version(struct sampler *s, char *out, size_t len,
                           const volatile sig_atomic_t *cancel)
{
    out[0] = '\0';
    const char *v = s->ops->driver ? s->ops->driver(s->src) : NULL;
    if (v) {
        snprintf(out, len, "%s", v);
        return;
    }
    const char *argv[] = {s->o.smi ? s->o.smi : "nvidia-smi", "--query-gpu=driver_version",
                          "--format=csv,noheader", NULL};
    struct cmd_call call = {.argv = argv, .key = "smi:driver"};
    /* "580.95.05\n" per GPU: the first line. */
    if (run_cmd(&call, 1, s->o.timeout, cancel) == 0 && call.state == CMD_OK && call.out.p)
        snprintf(out, len, "%.*s", (int)strcspn(call.out.p, "\r\n"), call.out.p);
    buf_free(&call.out);
}

/* In a child PID namespace: what the driver's answers mean here, decided
 * at the first sample, with the one warning that says what it costs. */
static void decide_pidns(struct sampler *s, struct sample *out, const volatile sig_atomic_t *cancel)
{
    char ver[96];
    driver_version(s, ver, sizeof ver, cancel);
    pidns_driver_caps(ver, &s->drv);
    s->drv_read = true;
    const char *v = s->drv.known ? ver : "of unknown version";
    if (s->drv.list_host) {
        s->foreign = true;
        cmdline_set_foreign(s->cmdline, true);
        snprintf(out->pidns_warning, sizeof out->pidns_warning,
                 "gpu_watch runs in a child PID namespace (a container) and driver %s gives "
                 "host PIDs (drivers before 535.113 do): the pid column holds the host's "
                 "numbers, cmd only the driver's process name, and the --host and --who "
                 "columns stay empty, since a process here with the same number is another "
                 "one%s. Run gpu_watch on the host, or the container with --pid=host, to see "
                 "them",
                 v, s->o.npids ? "; --pid names this namespace's PIDs and cannot select them" : "");
    } else if (s->drv.mem_host || s->drv.util_host) {
        snprintf(out->pidns_warning, sizeof out->pidns_warning,
                 "gpu_watch runs in a child PID namespace (a container) and driver %s "
                 "translates the process list but not %s (from %s on): %s stay empty. Processes "
                 "of other containers are not listed; --prom-textfile's "
                 "gpu_watch_gpu_memory_unattributed_bytes shows the memory they hold",
                 v, s->drv.mem_host ? "per-process memory or utilization" : "utilization",
                 s->drv.mem_host ? "565.57 and 570.86" : "570.86",
                 s->drv.mem_host ? "gpu_mem_mib, sm_util_pct and mem_util_pct"
                                 : "sm_util_pct and mem_util_pct");
    }
}

/* Answers looked up by host PID (pidns.h) do not belong to the process of
 * the same number here: unknown, never another process's figures. */
static void drop_host_pid_answers(struct sampler *s)
{
    for (size_t i = 0; !s->foreign && i < s->poll.n; i++) {
        struct source_proc *r = &s->poll.v[i];
        if (s->drv.mem_host)
            r->mem_mib = GW_UNKNOWN;
        if (s->drv.util_host)
            r->sm_pct = r->mem_pct = GW_UNKNOWN;
    }
}

static double clock_s(clockid_t id)
{
    struct timespec ts;
    if (clock_gettime(id, &ts) < 0)
        return 0;
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* In a child PID namespace with a driver taken to translate its PIDs (by
 * version, per-process lookups too, so that each accounting record is the
 * listed process's): a running record stamped before the local process of
 * that number started describes another process (pidns_started_after). The
 * driver gives host PIDs after all (or the PID was reused since it listed
 * it): from now on no row takes anything local, as with an old driver, and
 * this sample's entries forget what they read. */
static void check_driver_starts(struct sampler *s, struct sample *out)
{
    if (!s->ns_child || s->foreign || s->drv.mem_host)
        return;
    const struct source_poll *p = &s->poll;
    const double boot = clock_s(CLOCK_BOOTTIME), real = clock_s(CLOCK_REALTIME);
    const long hz = sysconf(_SC_CLK_TCK);
    const struct source_proc *bad = NULL;
    size_t k = 0;
    for (size_t i = 0; i < p->n && !bad; i++) {
        if (i > 0 && p->v[i].pid != p->v[i - 1].pid)
            k++;
        if (pidns_started_after(s->ents[k]->start, hz, p->v[i].acct_us, boot, real))
            bad = &p->v[i];
    }
    if (!bad)
        return;
    /* How much older the record is than our process, s. */
    const double gap =
        (real - (double)bad->acct_us / 1e6) - (boot - (double)s->ents[k]->start / (double)hz);
    s->foreign = true;
    cmdline_set_foreign(s->cmdline, true);
    for (k = 0; k < s->nents; k++)
        pidtab_renew(s->ents[k]);
    snprintf(out->pidns_warning, sizeof out->pidns_warning,
             "gpu_watch runs in a child PID namespace (a container) and the driver's accounting "
             "record of PID %ld began %.0f s before our process %ld did: the driver gives host "
             "PIDs, whatever its version says. From now on the pid column holds the host's "
             "numbers, cmd only the driver's process name, and the --host and --who columns "
             "stay empty. Run gpu_watch on the host, or the container with --pid=host, to see "
             "them",
             bad->pid, gap, bad->pid);
}

/* Per GPU, the memory in use that no listed process accounts for
 * (sample.gmem). */
static int unattributed(const struct sampler *s, struct sample *out)
{
    const struct source_poll *p = &s->poll;
    out->ngmem = 0;
    if (array_reserve(&out->gmem, &out->capgmem, p->ngm, sizeof *out->gmem) < 0)
        return -ENOMEM;
    for (size_t g = 0; g < p->ngm; g++) {
        const struct source_gpu_mem *m = &p->gm[g];
        bool known = m->used_mib >= 0;
        int64_t left = m->used_mib;
        for (size_t i = 0; i < p->n && known; i++)
            if (p->v[i].gpu == m->gpu) {
                known = p->v[i].mem_mib >= 0;
                left -= p->v[i].mem_mib;
            }
        if (m->reserved_mib > 0)
            left -= m->reserved_mib;
        /* The queries are not taken at one instant: a process that grew
         * between them can make it negative. */
        out->gmem[out->ngmem++] = (struct sample_gpu_mem){m->gpu, m->used_mib,
                                                          !known     ? GW_UNKNOWN
                                                          : left < 0 ? 0
                                                                     : left};
    }
    return 0;
}

/* Rows of the processes that pass the filter, with their command lines. */
static int keep_rows(struct sampler *s, struct sample *out)
{
    const struct source_poll *p = &s->poll;
    if (array_reserve(&out->rows, &out->cap, p->n, sizeof *out->rows) < 0)
        return -ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < p->n; i++) {
        if (i > 0 && p->v[i].pid != p->v[i - 1].pid)
            k++;
        struct pid_entry *e = s->ents[k];
        const char *cmd = e->cmd ? e->cmd : "";
        if (e->match < 0)
            e->match = filter_pass(s->filter, e->pid, cmd) ? 1 : 0;
        if (!e->match ||
            (s->allow && !bsearch(&e->pid, s->allow, s->nallow, sizeof *s->allow, cmp_long)))
            continue;
        const struct source_proc *r = &p->v[i];
        if (out->n == 0 || out->rows[out->n - 1].pid != r->pid)
            out->procs++;
        out->rows[out->n++] = (struct sample_row){
            .gpu = r->gpu,
            .pid = r->pid,
            .cmd = cmd,
            .uuid = r->uuid,
            /* Out of range (valid.h): unknown, as logread would read it. */
            .mem_mib = gw_valid(r->mem_mib, GW_VALID_MAX_MIB),
            .sm_pct = gw_valid(r->sm_pct, GW_VALID_MAX_PCT),
            .mem_pct = gw_valid(r->mem_pct, GW_VALID_MAX_PCT),
            .peak_mib = gw_valid(r->peak_mib, GW_VALID_MAX_MIB),
            .peak_hz = r->peak_hz,
            .mig = r->mig,
            .host = host_unknown,
            .start = e->start,
        };
    }
    return 0;
}

/* --host: the figures of each kept process (rows still in PID order). */
static int read_host(struct sampler *s, struct sample *out)
{
    bool alive;
    int rc;
    size_t k = 0;
    for (size_t i = 0; i < out->n;) {
        while (s->ents[k]->pid != out->rows[i].pid)
            k++;
        struct host_fields h;
        if ((rc = host_read(s->host, s->ents[k], &h, &alive)) < 0)
            return rc;
        for (; i < out->n && out->rows[i].pid == s->ents[k]->pid; i++)
            out->rows[i].host = h;
    }
    return 0;
}

/* --who: the owner of each kept process, read once per process (again
 * for a new start time: a reused PID). */
static int read_who(struct sampler *s, struct sample *out)
{
    size_t k = 0;
    for (size_t i = 0; i < out->n;) {
        while (s->ents[k]->pid != out->rows[i].pid)
            k++;
        struct pid_entry *e = s->ents[k];
        const struct owner *o;
        int rc = owner_get(s->o.proc_root, s->o.cgroup_root, e, e->start, &s->scratch, &o);
        if (rc < 0)
            return rc;
        for (; i < out->n && out->rows[i].pid == e->pid; i++)
            out->rows[i].who = o;
    }
    return 0;
}

/* --compact: the watched process's figures, on a GPU or not. */
static int read_watched(struct sampler *s, struct sample *out)
{
    struct pid_entry *e = pidtab_get(s->tab, s->o.watch_pid, NULL);
    if (!e)
        return -ENOMEM;
    e->gen = s->gen;
    int rc = host_read(s->host, e, &out->watched, &out->watched_alive);
    if (rc < 0)
        return rc;
    out->watched_mem_mib = GW_UNKNOWN;
    for (size_t i = 0; i < out->n; i++)
        if (out->rows[i].pid == s->o.watch_pid && out->rows[i].mem_mib >= 0)
            out->watched_mem_mib =
                (out->watched_mem_mib < 0 ? 0 : out->watched_mem_mib) + out->rows[i].mem_mib;
    return 0;
}

int sampler_run(struct sampler *s, struct sample *out, const volatile sig_atomic_t *cancel)
{
    int rc;
    out->n = out->procs = out->seen = 0;
    out->sys_used_mib = GW_UNKNOWN;
    out->watched_alive = false;
    out->watched = host_unknown;
    out->watched_mem_mib = GW_UNKNOWN;
    out->switched[0] = '\0';
    out->pidns_warning[0] = '\0';
    s->gen++;
    /* --timeout bounds the whole sample: every call shares this deadline. */
    s->poll.deadline = monotime_now() + s->o.timeout;

    if ((rc = poll_source(s, out, cancel)) < 0)
        return rc;
    struct source_poll *p = &s->poll;
    if (!sorted_by_pid(p)) /* nvidia-smi's come sorted; others may not */
        qsort(p->v, p->n, sizeof *p->v, source_proc_cmp);
    if (s->ns_child && !s->drv_read)
        decide_pidns(s, out, cancel);
    if (s->ns_child)
        drop_host_pid_answers(s);
    if ((rc = unattributed(s, out)) < 0)
        return rc;
    if ((rc = find_entries(s)) < 0)
        return rc;
    check_driver_starts(s, out);
    if ((rc = cmdline_resolve(s->cmdline, s->ents, s->names, s->nents, p, cancel)) < 0 ||
        (rc = keep_rows(s, out)) < 0)
        return rc;
    out->seen = s->nents;
    out->answered = p->answered;
    out->unlisted = p->unlisted;
    out->source = s->ops->title;
    out->spawned = p->spawned;
    out->nq = p->nq;
    memcpy(out->q, p->q, p->nq * sizeof *p->q);
    if (s->o.host || s->o.watch_pid > 0) {
        host_begin(s->host);
        out->sys_used_mib = host_sys_used_mib(s->host);
    }
    out->who = s->o.who;
    out->dense = s->o.peak_rate > 0;
    /* Host PIDs: nothing of ours under those numbers (host_unknown, no owner). */
    if ((s->o.host && !s->foreign && (rc = read_host(s, out)) < 0) ||
        (s->o.who && !s->foreign && (rc = read_who(s, out)) < 0) ||
        (s->o.watch_pid > 0 && (rc = read_watched(s, out)) < 0))
        return rc;
    if (out->n > 1)
        qsort(out->rows, out->n, sizeof *out->rows, cmp_gpu_pid);
    pidtab_sweep(s->tab, s->gen);
    return 0;
}
