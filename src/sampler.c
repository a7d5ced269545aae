/* One sample: run the nvidia-smi queries at once, parse, join by PID and GPU,
 * resolve command lines, filter. */
#include "gpu_watch/sampler.h"

#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gpu_watch/parse.h"
#include "gpu_watch/pidtab.h"
#include "gpu_watch/procfs.h"
#include "gpu_watch/procparse.h"
#include "gpu_watch/run_cmd.h"

/* pmon watches at most this many GPUs per run unless -i names them. */
#define PMON_GROUP      4
#define MAX_PMON_GROUPS 64

struct pmon_group {
    char ids[64]; /* "-i" argument, e.g. "4,5,6,7"; "" for a plain run */
    const char *argv[10];
    char key[80];
};

struct sampler {
    struct sampler_opts o;
    regex_t re;
    bool use_re;
    struct pidtab *tab;
    unsigned gen;

    /* The GPU index/UUID map, cached until an unknown UUID appears or a
     * query fails. unmapped holds UUIDs a fresh map did not know, so they do
     * not trigger a query every sample. */
    struct gpu_list gpus;
    bool gpus_ok;
    /* The last compute-apps answer listed processes (or failed): pmon is
     * worth running at once with it. While the GPUs are idle, pmon (the
     * dearest call: ~70 ms and ~45 ms of CPU on an H100) runs only after
     * compute-apps has listed a process. */
    bool busy;
    struct gpu_list unmapped;

    struct cmd_call gpus_call;
    const char *gpus_argv[5];
    struct cmd_call *calls; /* [0] compute-apps, [1..] pmon groups */
    size_t ncalls;
    struct pmon_group *groups;
    size_t ngroups;
    const char *apps_argv[5];
    struct cmd_call ps_call;

    const long *allow; /* sampler_set_allow: sorted PIDs, or NULL for no limit */
    size_t nallow;

    struct smi_app_list apps;
    struct pmon_list pmon;
    struct pmon_list pmon_all;
    struct ps_list ps;

    long hz;               /* clock ticks per second, for --host CPU % */
    struct gw_buf scratch; /* reused by the /proc readers */
};

static const char *const query_names[Q_COUNT] = {"compute-apps query", "pmon", "GPU index query",
                                                 "ps"};

const char *sampler_query_name(enum sample_query q)
{
    return query_names[q];
}

struct sampler *sampler_new(const struct sampler_opts *o, bool *regex_fallback, int *err)
{
    struct sampler *s = calloc(1, sizeof *s);
    *regex_fallback = false;
    if (!s || !(s->tab = pidtab_new(64))) {
        free(s);
        *err = -ENOMEM;
        return NULL;
    }
    s->o = *o;
    if (o->match) {
        if (regcomp(&s->re, o->match,
                    REG_EXTENDED | REG_NOSUB | (o->match_icase ? REG_ICASE : 0)) == 0)
            s->use_re = true;
        else
            *regex_fallback = true;
    }
    s->apps_argv[0] = o->smi;
    s->apps_argv[1] = "--query-compute-apps=pid,gpu_uuid,used_memory";
    s->apps_argv[2] = "--format=csv,noheader,nounits";
    s->apps_argv[3] = NULL;
    s->gpus_argv[0] = o->smi;
    s->gpus_argv[1] = "--query-gpu=index,uuid";
    s->gpus_argv[2] = "--format=csv,noheader";
    s->gpus_argv[3] = NULL;
    s->gpus_call.argv = s->gpus_argv;
    s->gpus_call.key = "gpus";
    s->ps_call.key = "ps";
    s->hz = sysconf(_SC_CLK_TCK);
    s->busy = true; /* the first sample runs everything at once */
    *err = 0;
    return s;
}

static void free_calls(struct sampler *s)
{
    for (size_t i = 0; i < s->ncalls; i++)
        buf_free(&s->calls[i].out);
    free(s->calls);
    free(s->groups);
    s->calls = NULL;
    s->groups = NULL;
    s->ncalls = s->ngroups = 0;
}

void sampler_free(struct sampler *s)
{
    if (!s)
        return;
    if (s->use_re)
        regfree(&s->re);
    pidtab_free(s->tab);
    free_calls(s);
    buf_free(&s->gpus_call.out);
    buf_free(&s->ps_call.out);
    free(s->gpus.v);
    free(s->unmapped.v);
    free(s->apps.v);
    free(s->pmon.v);
    free(s->pmon_all.v);
    free(s->ps.v);
    buf_free(&s->scratch);
    free(s);
}

size_t sampler_gpu_count(const struct sampler *s)
{
    return s->gpus_ok ? s->gpus.n : 0;
}

void sampler_set_allow(struct sampler *s, const long *pids, size_t n)
{
    s->allow = pids;
    s->nallow = n;
}

static int cmp_long(const void *a, const void *b)
{
    const long *x = a, *y = b;
    return (*x > *y) - (*x < *y);
}

static bool pid_allowed(const struct sampler *s, long pid)
{
    return !s->allow || bsearch(&pid, s->allow, s->nallow, sizeof *s->allow, cmp_long);
}

void sample_free(struct sample *smp)
{
    free(smp->rows);
    memset(smp, 0, sizeof *smp);
}

/* Build the calls for this sample: compute-apps, and pmon once per group
 * of four GPUs (one plain run when there are at most four, or the map is
 * not known). */
static int plan_calls(struct sampler *s)
{
    size_t ng = 1;
    if (s->gpus_ok && s->gpus.n > PMON_GROUP)
        ng = (s->gpus.n + PMON_GROUP - 1) / PMON_GROUP;
    if (ng > MAX_PMON_GROUPS)
        ng = MAX_PMON_GROUPS;
    if (s->calls && s->ngroups == ng)
        return 0;
    free_calls(s);
    s->calls = calloc(ng + 1, sizeof *s->calls);
    s->groups = calloc(ng, sizeof *s->groups);
    if (!s->calls || !s->groups) {
        free_calls(s);
        return -ENOMEM;
    }
    s->ncalls = ng + 1;
    s->ngroups = ng;
    s->calls[0].argv = s->apps_argv;
    s->calls[0].key = "apps";
    for (size_t g = 0; g < ng; g++) {
        struct pmon_group *pg = &s->groups[g];
        size_t k = 0;
        pg->argv[k++] = s->o.smi;
        pg->argv[k++] = "pmon";
        pg->argv[k++] = "-c";
        pg->argv[k++] = "1";
        pg->argv[k++] = "-s";
        pg->argv[k++] = "um";
        if (ng > 1) {
            size_t len = 0;
            for (size_t i = g * PMON_GROUP; i < s->gpus.n && i < (g + 1) * PMON_GROUP; i++)
                len += (size_t)snprintf(pg->ids + len, sizeof pg->ids - len, "%s%d", len ? "," : "",
                                        s->gpus.v[i].index);
            pg->argv[k++] = "-i";
            pg->argv[k++] = pg->ids;
        }
        pg->argv[k] = NULL;
        snprintf(pg->key, sizeof pg->key, "pmon:%s", pg->ids);
        s->calls[1 + g].argv = pg->argv;
        s->calls[1 + g].key = pg->key;
    }
    return 0;
}

static void note_failure(struct sample *out, enum sample_query q, const struct cmd_call *c,
                         double timeout)
{
    out->failed[q] = true;
    run_cmd_describe(c, timeout, out->why[q], sizeof out->why[q]);
}

static void note_parse(struct sample *out, enum sample_query q, size_t bad, size_t good)
{
    if (!bad)
        return;
    out->failed[q] = true;
    snprintf(out->why[q], sizeof out->why[q], "%zu unreadable line%s of output (%zu read)", bad,
             bad == 1 ? "" : "s", good);
}

static int cmp_gpu_index(const void *a, const void *b)
{
    const struct gpu_entry *x = a, *y = b;
    return (x->index > y->index) - (x->index < y->index);
}

/* Query the index/UUID map; on failure the old map (if any) stays in use. */
static int refresh_gpus(struct sampler *s, struct sample *out, const volatile sig_atomic_t *cancel)
{
    int rc = run_cmd(&s->gpus_call, 1, s->o.timeout, cancel);
    if (rc < 0)
        return rc;
    out->ran[Q_GPUS] = true;
    out->spawned++;
    if (s->gpus_call.state != CMD_OK) {
        note_failure(out, Q_GPUS, &s->gpus_call, s->o.timeout);
        return 0;
    }
    struct gpu_list fresh = {0};
    rc = smi_parse_gpus(s->gpus_call.out.p, s->gpus_call.out.len, &fresh);
    if (rc < 0) {
        free(fresh.v);
        return rc;
    }
    note_parse(out, Q_GPUS, fresh.bad, fresh.n);
    if (fresh.n == 0) {
        free(fresh.v);
        if (!out->failed[Q_GPUS]) {
            out->failed[Q_GPUS] = true;
            snprintf(out->why[Q_GPUS], sizeof out->why[Q_GPUS], "no GPUs listed");
        }
        return 0;
    }
    /* Index order, so pmon groups are "-i 0,1,2,3", "-i 4,5,6,7", ... */
    qsort(fresh.v, fresh.n, sizeof *fresh.v, cmp_gpu_index);
    free(s->gpus.v);
    s->gpus = fresh;
    s->gpus_ok = true;
    s->unmapped.n = 0;
    return 0;
}

static bool uuid_known_unmapped(const struct sampler *s, const char *uuid)
{
    return gpu_list_index(&s->unmapped, uuid) >= 0;
}

static int remember_unmapped(struct sampler *s, const char *uuid)
{
    if (uuid_known_unmapped(s, uuid))
        return 0;
    if (s->unmapped.n == s->unmapped.cap) {
        size_t nc = s->unmapped.cap ? s->unmapped.cap * 2 : 4;
        struct gpu_entry *v = realloc(s->unmapped.v, nc * sizeof *v);
        if (!v)
            return -ENOMEM;
        s->unmapped.v = v;
        s->unmapped.cap = nc;
    }
    struct gpu_entry *e = &s->unmapped.v[s->unmapped.n++];
    e->index = 0;
    snprintf(e->uuid, sizeof e->uuid, "%s", uuid);
    return 0;
}

static int push_row(struct sample *out, int gpu, long pid, int64_t mem)
{
    if (out->n == out->cap) {
        size_t nc = out->cap ? out->cap * 2 : 16;
        struct sample_row *r = realloc(out->rows, nc * sizeof *r);
        if (!r)
            return -ENOMEM;
        out->rows = r;
        out->cap = nc;
    }
    struct sample_row *r = &out->rows[out->n++];
    r->gpu = gpu;
    r->pid = pid;
    r->cmd = "";
    r->mem_mib = mem;
    r->sm_pct = GW_UNKNOWN;
    r->mem_pct = GW_UNKNOWN;
    r->host.cpu_pct = -1;
    r->host.cores = NULL;
    r->host.rss_mib = -1;
    return 0;
}

static int cmp_pid_gpu(const void *a, const void *b)
{
    const struct sample_row *x = a, *y = b;
    if (x->pid != y->pid)
        return x->pid < y->pid ? -1 : 1;
    return (x->gpu > y->gpu) - (x->gpu < y->gpu);
}

static int cmp_gpu_pid(const void *a, const void *b)
{
    const struct sample_row *x = a, *y = b;
    if (x->gpu != y->gpu)
        return x->gpu < y->gpu ? -1 : 1;
    return (x->pid > y->pid) - (x->pid < y->pid);
}

static bool pid_wanted(const struct sampler *s, long pid)
{
    if (s->o.npids == 0)
        return true;
    for (size_t i = 0; i < s->o.npids; i++)
        if (s->o.pids[i] == pid)
            return true;
    return false;
}

static bool cmd_matches(const struct sampler *s, const char *cmd)
{
    if (!s->o.match)
        return true;
    if (s->use_re)
        return regexec(&s->re, cmd, 0, NULL, 0) == 0;
    return (s->o.match_icase ? strcasestr(cmd, s->o.match) : strstr(cmd, s->o.match)) != NULL;
}

/* pmon's name for pid, or NULL. */
static const char *pmon_name(const struct sampler *s, long pid)
{
    for (size_t i = 0; i < s->pmon_all.n; i++)
        if (s->pmon_all.v[i].pid == pid && s->pmon_all.v[i].name[0])
            return s->pmon_all.v[i].name;
    return NULL;
}

static int set_cmd(struct pid_entry *e, const char *s, size_t len, bool final)
{
    char *c = malloc(len + 1);
    if (!c)
        return -ENOMEM;
    memcpy(c, s, len);
    c[len] = '\0';
    free(e->cmd);
    e->cmd = c;
    e->cmd_final = final;
    e->match = -1;
    return 0;
}

/* Command lines: /proc first (cached for the life of the PID), then one ps
 * call for every PID that /proc could not give when /proc is missing, then
 * pmon's short name (a PID from another namespace, say). */
static int resolve_cmds(struct sampler *s, struct sample *out, const volatile sig_atomic_t *cancel)
{
    bool have_proc = procfs_available(s->o.proc_root);
    size_t need_ps = 0;
    struct gw_buf pids = {0};
    int rc = 0;
    for (size_t i = 0; i < out->n; i++) {
        if (i > 0 && out->rows[i].pid == out->rows[i - 1].pid)
            continue;
        struct pid_entry *e = pidtab_find(s->tab, out->rows[i].pid);
        if (!e || e->cmd_final)
            continue;
        int err = 0;
        char *c = have_proc ? procfs_cmdline(s->o.proc_root, e->pid, &err) : NULL;
        if (c) {
            free(e->cmd);
            e->cmd = c;
            e->cmd_final = true;
            e->match = -1;
            continue;
        }
        if (!have_proc && s->o.ps) {
            if ((rc = buf_printf(&pids, "%s%ld", need_ps ? "," : "", e->pid)) < 0)
                goto out;
            need_ps++;
        }
    }
    if (need_ps) {
        const char *argv[] = {s->o.ps, "-o", "pid=,args=", "-p", pids.p, NULL};
        s->ps_call.argv = argv;
        if ((rc = run_cmd(&s->ps_call, 1, s->o.timeout, cancel)) < 0)
            goto out;
        s->ps_call.argv = NULL;
        out->ran[Q_PS] = true;
        out->spawned++;
        /* ps exits 1 when some PIDs are gone; its output is still good. */
        if (s->ps_call.state == CMD_OK ||
            (s->ps_call.state == CMD_EXIT_NONZERO && s->ps_call.status == 1)) {
            if ((rc = ps_parse_args(s->ps_call.out.p, s->ps_call.out.len, &s->ps)) < 0)
                goto out;
            for (size_t i = 0; i < s->ps.n; i++) {
                struct pid_entry *e = pidtab_find(s->tab, s->ps.v[i].pid);
                if (e && e->gen == s->gen && !e->cmd_final && s->ps.v[i].args_len &&
                    (rc = set_cmd(e, s->ps.v[i].args, s->ps.v[i].args_len, true)) < 0)
                    goto out;
            }
        } else {
            note_failure(out, Q_PS, &s->ps_call, s->o.timeout);
        }
    }
    /* Last resort: pmon's short name, kept only until a better source answers. */
    for (size_t i = 0; i < out->n; i++) {
        struct pid_entry *e = pidtab_find(s->tab, out->rows[i].pid);
        if (!e || e->cmd_final)
            continue;
        const char *n = pmon_name(s, e->pid);
        if (n && (!e->cmd || strcmp(e->cmd, n) != 0) && (rc = set_cmd(e, n, strlen(n), false)) < 0)
            goto out;
    }
out:
    buf_free(&pids);
    return rc;
}

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const struct host_fields unknown_host = {-1.0, NULL, -1};

/* Read one process's --host figures into its entry and h. CPU % is the
 * change of utime+stime over the wall time since the last reading; for a
 * process seen the first time (or a reused PID) the average since it
 * started, as ps -o pcpu prints. *uptime is read once per sample (< 0: not
 * yet). Returns 0 (alive or not: *alive says) or -ENOMEM. */
static int read_host(struct sampler *s, struct pid_entry *e, double *uptime, struct host_fields *h,
                     bool *alive)
{
    struct proc_host ph;
    int rc = procfs_host(s->o.proc_root, e->pid, &ph, &s->scratch);
    double now = mono_now();
    free(e->cores);
    e->cores = NULL;
    e->cpu_pct = -1;
    e->rss_mib = -1;
    *h = unknown_host;
    *alive = rc == 0;
    if (rc == -ENOMEM)
        return rc;
    if (rc < 0) { /* gone between the GPU query and now: empty fields */
        e->ticks_ok = false;
        return 0;
    }
    e->cores = ph.cores;
    e->rss_mib = ph.rss_kb >= 0 ? (ph.rss_kb + 512) / 1024 : -1;
    if (e->ticks_ok && e->starttime == ph.starttime && now > e->ticks_at && ph.ticks >= e->ticks) {
        e->cpu_pct = 100.0 * ((double)(ph.ticks - e->ticks) / (double)s->hz) / (now - e->ticks_at);
    } else {
        if (*uptime < 0 && procfs_uptime(s->o.proc_root, uptime, &s->scratch) < 0)
            *uptime = 0;
        e->cpu_pct = procparse_pcpu_since_start(ph.ticks, ph.starttime, *uptime, s->hz);
    }
    e->ticks = ph.ticks;
    e->ticks_at = now;
    e->starttime = ph.starttime;
    e->ticks_ok = true;
    h->cpu_pct = e->cpu_pct;
    h->cores = e->cores;
    h->rss_mib = e->rss_mib;
    return 0;
}

/* --host and --compact: the figures of every kept process (rows sorted by
 * PID), the machine's used RAM, and the watched process. */
static int collect_host(struct sampler *s, struct sample *out)
{
    double uptime = -1;
    int rc;
    bool alive;
    int64_t kb;
    out->sys_used_mib =
        procfs_mem_used_kb(s->o.proc_root, &kb, &s->scratch) == 0 ? (kb + 512) / 1024 : GW_UNKNOWN;
    if (s->o.host) {
        for (size_t i = 0; i < out->n;) {
            struct pid_entry *e = pidtab_find(s->tab, out->rows[i].pid);
            struct host_fields h = unknown_host;
            if (e && (rc = read_host(s, e, &uptime, &h, &alive)) < 0)
                return rc;
            size_t j = i;
            for (; j < out->n && out->rows[j].pid == out->rows[i].pid; j++)
                out->rows[j].host = h;
            i = j;
        }
    }
    if (s->o.watch_pid > 0) {
        struct pid_entry *e = pidtab_get(s->tab, s->o.watch_pid, NULL);
        if (!e)
            return -ENOMEM;
        e->gen = s->gen;
        if ((rc = read_host(s, e, &uptime, &out->watched, &out->watched_alive)) < 0)
            return rc;
        out->watched_mem_mib = GW_UNKNOWN;
        for (size_t i = 0; i < out->n; i++) {
            if (out->rows[i].pid != s->o.watch_pid || out->rows[i].mem_mib < 0)
                continue;
            out->watched_mem_mib =
                (out->watched_mem_mib < 0 ? 0 : out->watched_mem_mib) + out->rows[i].mem_mib;
        }
    }
    return 0;
}

int sampler_run(struct sampler *s, struct sample *out, const volatile sig_atomic_t *cancel)
{
    int rc;
    out->n = 0;
    out->procs = 0;
    out->seen = 0;
    out->spawned = 0;
    out->sys_used_mib = GW_UNKNOWN;
    out->watched_alive = false;
    out->watched = unknown_host;
    out->watched_mem_mib = GW_UNKNOWN;
    memset(out->ran, 0, sizeof out->ran);
    memset(out->failed, 0, sizeof out->failed);
    s->gen++;

    if (!s->gpus_ok && (rc = refresh_gpus(s, out, cancel)) < 0)
        return rc;
    if ((rc = plan_calls(s)) < 0)
        return rc;
    if (s->busy) {
        if ((rc = run_cmd(s->calls, s->ncalls, s->o.timeout, cancel)) < 0)
            return rc;
        out->spawned += s->ncalls;
    } else {
        /* Idle last time: compute-apps alone, pmon only if it lists someone. */
        if ((rc = run_cmd(s->calls, 1, s->o.timeout, cancel)) < 0)
            return rc;
        out->spawned++;
        const struct cmd_call *a = &s->calls[0];
        bool listed = a->state != CMD_OK || memchr(a->out.p ? a->out.p : "", ',', a->out.len);
        if (listed) {
            if ((rc = run_cmd(s->calls + 1, s->ncalls - 1, s->o.timeout, cancel)) < 0)
                return rc;
            out->spawned += s->ncalls - 1;
        } else {
            for (size_t g = 1; g < s->ncalls; g++) {
                buf_clear(&s->calls[g].out);
                s->calls[g].state = CMD_OK; /* nothing to watch: an empty answer */
            }
        }
    }
    out->ran[Q_APPS] = out->ran[Q_PMON] = true;

    /* pmon: all groups into one list. */
    s->pmon_all.n = 0;
    for (size_t g = 0; g < s->ngroups; g++) {
        struct cmd_call *c = &s->calls[1 + g];
        if (c->state != CMD_OK) {
            note_failure(out, Q_PMON, c, s->o.timeout);
            continue;
        }
        rc = smi_parse_pmon(c->out.p, c->out.len, &s->pmon);
        if (rc == -ENOMEM)
            return rc;
        note_parse(out, Q_PMON, s->pmon.bad, s->pmon.n);
        for (size_t i = 0; i < s->pmon.n; i++) {
            struct pmon_row *r;
            if (s->pmon_all.n == s->pmon_all.cap) {
                size_t nc = s->pmon_all.cap ? s->pmon_all.cap * 2 : 16;
                r = realloc(s->pmon_all.v, nc * sizeof *r);
                if (!r)
                    return -ENOMEM;
                s->pmon_all.v = r;
                s->pmon_all.cap = nc;
            }
            s->pmon_all.v[s->pmon_all.n++] = s->pmon.v[i];
        }
    }

    /* Rows: the compute processes of compute-apps; pmon's when it failed. */
    struct cmd_call *apps = &s->calls[0];
    bool apps_ok = apps->state == CMD_OK;
    if (apps_ok) {
        if ((rc = smi_parse_apps(apps->out.p, apps->out.len, &s->apps)) < 0)
            return rc;
        note_parse(out, Q_APPS, s->apps.bad, s->apps.n);
        if (s->apps.bad && s->apps.n == 0)
            apps_ok = false;
    } else {
        note_failure(out, Q_APPS, apps, s->o.timeout);
    }
    s->busy = !apps_ok || s->apps.n > 0;
    if (apps_ok) {
        bool unknown_uuid = false;
        for (size_t i = 0; i < s->apps.n; i++) {
            const char *u = s->apps.v[i].uuid;
            if (gpu_list_index(&s->gpus, u) < 0 && !uuid_known_unmapped(s, u))
                unknown_uuid = true;
        }
        if (unknown_uuid) {
            /* A GPU was replaced or a MIG layout changed: ask once more. */
            if ((rc = refresh_gpus(s, out, cancel)) < 0)
                return rc;
            for (size_t i = 0; i < s->apps.n; i++)
                if (gpu_list_index(&s->gpus, s->apps.v[i].uuid) < 0 &&
                    (rc = remember_unmapped(s, s->apps.v[i].uuid)) < 0)
                    return rc;
        }
        for (size_t i = 0; i < s->apps.n; i++) {
            const struct smi_app *a = &s->apps.v[i];
            if ((rc = push_row(out, gpu_list_index(&s->gpus, a->uuid), a->pid, a->mem_mib)) < 0)
                return rc;
        }
        /* Some lines could not be read (output cut short): the compute
         * processes pmon saw that compute-apps did not list keep their rows. */
        for (size_t i = 0; s->apps.bad && i < s->pmon_all.n; i++) {
            const struct pmon_row *p = &s->pmon_all.v[i];
            size_t k = 0;
            while (k < s->apps.n && s->apps.v[k].pid != p->pid)
                k++;
            if (k == s->apps.n && !(p->type[0] && !strchr(p->type, 'C')) &&
                (rc = push_row(out, p->gpu, p->pid, p->fb_mib)) < 0)
                return rc;
        }
    } else {
        for (size_t i = 0; i < s->pmon_all.n; i++) {
            const struct pmon_row *p = &s->pmon_all.v[i];
            if (p->type[0] && !strchr(p->type, 'C'))
                continue; /* graphics-only */
            if ((rc = push_row(out, p->gpu, p->pid, p->fb_mib)) < 0)
                return rc;
        }
    }
    /* Join: rows grouped by PID, the PID table points at each group. */
    if (out->n > 1) /* rows is NULL before the first row: qsort(NULL) is UB */
        qsort(out->rows, out->n, sizeof *out->rows, cmp_pid_gpu);
    for (size_t i = 0; i < out->n;) {
        size_t j = i;
        while (j < out->n && out->rows[j].pid == out->rows[i].pid)
            j++;
        struct pid_entry *e = pidtab_get(s->tab, out->rows[i].pid, NULL);
        if (!e)
            return -ENOMEM;
        e->gen = s->gen;
        e->row_first = i;
        e->row_count = j - i;
        i = j;
    }
    for (size_t i = 0; i < s->pmon_all.n; i++) {
        const struct pmon_row *p = &s->pmon_all.v[i];
        struct pid_entry *e = pidtab_find(s->tab, p->pid);
        if (!e || e->gen != s->gen)
            continue;
        struct sample_row *match = NULL, *unmapped = NULL;
        for (size_t k = e->row_first; k < e->row_first + e->row_count; k++) {
            if (out->rows[k].gpu == p->gpu)
                match = &out->rows[k];
            else if (out->rows[k].gpu < 0 && !unmapped)
                unmapped = &out->rows[k];
        }
        /* A UUID the map does not know (MIG): take pmon's GPU index. */
        if (!match && unmapped) {
            unmapped->gpu = p->gpu;
            match = unmapped;
        }
        if (match) {
            match->sm_pct = p->sm_pct;
            match->mem_pct = p->mem_pct;
            if (match->mem_mib < 0 && p->fb_mib >= 0)
                match->mem_mib = p->fb_mib;
        }
    }

    if ((rc = resolve_cmds(s, out, cancel)) < 0)
        return rc;

    /* Filter, attach command lines, count processes. */
    size_t kept = 0;
    long prev_pid = -1;
    for (size_t i = 0; i < out->n; i++) {
        struct sample_row *r = &out->rows[i];
        if (r->pid != prev_pid)
            out->seen++;
        prev_pid = r->pid;
        struct pid_entry *e = pidtab_find(s->tab, r->pid);
        const char *cmd = e && e->cmd ? e->cmd : "";
        if (e && e->match < 0)
            e->match = pid_wanted(s, r->pid) && cmd_matches(s, cmd) ? 1 : 0;
        if ((e && !e->match) || !pid_allowed(s, r->pid))
            continue;
        r->cmd = cmd;
        if (kept == 0 || out->rows[kept - 1].pid != r->pid)
            out->procs++;
        out->rows[kept++] = *r;
    }
    out->n = kept;
    if ((s->o.host || s->o.watch_pid > 0) && (rc = collect_host(s, out)) < 0)
        return rc;
    if (out->n > 1) /* rows is NULL before the first row: qsort(NULL) is UB */
        qsort(out->rows, out->n, sizeof *out->rows, cmp_gpu_pid);
    pidtab_sweep(s->tab, s->gen);
    return 0;
}
