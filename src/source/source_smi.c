/* The nvidia-smi source: compute-apps for the processes and their memory,
 * pmon for their utilization, the GPU query for the UUID -> index map (and,
 * with --peaks, each GPU's accounting mode), and with --peaks the driver's
 * accounting records (--query-accounted-apps) for the true peaks. The
 * calls of a sample run at once (run_cmd); their answers are joined here by
 * PID and GPU into one record per process per GPU. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_watch/array.h"
#include "gpu_watch/monotime.h"
#include "gpu_watch/parse.h"
#include "gpu_watch/pathfind.h"
#include "gpu_watch/peaks.h"
#include "gpu_watch/run_cmd.h"
#include "gpu_watch/source_smi.h"
#include "gpu_watch/source.h"

/* pmon watches at most this many GPUs per run unless -i names them. */
#define PMON_GROUP      4
#define MAX_PMON_GROUPS 64

static const char lost_cols[] = "its columns stay empty until it works";
static const char lost_peaks[] = "peak_mem_mib stays empty until it works";
static const char lost_mem[] = "the unattributed GPU memory stays unknown until it works";
static const char mem_query[] = "--query-gpu=index,memory.used,memory.reserved";
static const char mem_query_old[] = "--query-gpu=index,memory.used";

static const char gpus_query[] = "--query-gpu=index,uuid";
static const char gpus_acct_query[] = "--query-gpu=index,uuid,accounting.mode";
static const char acct_query[] = "--query-accounted-apps=gpu_uuid,pid,max_memory_usage,time";

struct pmon_group {
    char ids[64]; /* "-i" argument, e.g. "4,5,6,7"; "" for a plain run */
    const char *argv[10];
    char key[80];
};

struct smi {
    const char *prog; /* the nvidia-smi program */
    double timeout;   /* seconds per call */

    /* The GPU index/UUID map, cached until an unknown UUID appears. unmapped
     * holds UUIDs a fresh map did not know (MIG), so they do not trigger a
     * query every sample. */
    struct gpu_list gpus;
    bool gpus_ok;
    struct gpu_list unmapped;
    /* The last compute-apps answer listed processes (or failed): pmon is
     * worth running at once with it. While the GPUs are idle, pmon (the
     * dearest call: ~70 ms and ~45 ms of CPU on an H100) runs only after
     * compute-apps has listed a process. */
    bool busy;

    /* --peaks: the GPU query asks for accounting.mode too (until a driver
     * refuses the field: then plain, every mode unknown, no peaks), again
     * every ACCT_RECHECK_S; the accounted-apps call runs in the sample's
     * batch while some GPU has accounting on. */
    bool peaks;
    bool acct_refused; /* the driver does not know accounting.mode */
    double acct_asked; /* monotonic time of the last mode query */
    struct acct_list acct;
    const char *acct_argv[4];

    struct cmd_call gpus_call;
    const char *gpus_argv[4];
    struct cmd_call *calls; /* [0] compute-apps, [1..ncalls) pmon groups, [ncalls] accounted-apps */
    size_t ncalls;          /* compute-apps and pmon: the accounted-apps call is apart */
    bool run_acct;          /* this sample runs calls[ncalls] too */
    bool map_asked;         /* this sample ran the GPU query (no second one) */
    bool pmon_ran;          /* this sample ran pmon (not skipped while idle) */
    struct pmon_group *groups;
    size_t ngroups;
    const char *apps_argv[4];

    /* source_config.gpu_mem: each GPU's memory in use, every sample (one
     * more nvidia-smi; without memory.reserved on a driver that lacks it). */
    bool gpu_mem;
    bool mem_no_reserved;
    struct cmd_call mem_call;
    const char *mem_argv[4];
    struct gpu_mem_list mem;

    struct smi_app_list apps;
    struct pmon_list pmon;     /* one group's answer */
    struct pmon_list pmon_all; /* every group's rows */
};

static int smi_open(const struct source_config *cfg, void **state, char *why, size_t whylen)
{
    int rc = path_find(cfg->smi, getenv("PATH"));
    if (rc < 0) {
        snprintf(why, whylen, "%s %s", cfg->smi,
                 rc == -ENOENT ? "not found in PATH" : "in PATH is not executable");
        return rc;
    }
    struct smi *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(why, whylen, "%s", strerror(ENOMEM));
        return -ENOMEM;
    }
    s->prog = cfg->smi;
    s->timeout = cfg->timeout;
    s->apps_argv[0] = cfg->smi;
    s->apps_argv[1] = "--query-compute-apps=pid,gpu_uuid,used_memory";
    s->apps_argv[2] = "--format=csv,noheader,nounits";
    s->gpus_argv[0] = cfg->smi;
    s->peaks = cfg->peaks;
    s->gpus_argv[1] = cfg->peaks ? gpus_acct_query : gpus_query;
    s->gpus_argv[2] = "--format=csv,noheader";
    s->gpus_call.argv = s->gpus_argv;
    s->gpus_call.key = "gpus";
    s->acct_argv[0] = cfg->smi;
    s->acct_argv[1] = acct_query;
    s->acct_argv[2] = "--format=csv";
    s->gpu_mem = cfg->gpu_mem;
    s->mem_argv[0] = cfg->smi;
    s->mem_argv[1] = mem_query;
    s->mem_argv[2] = "--format=csv,noheader,nounits";
    s->mem_call.argv = s->mem_argv;
    s->mem_call.key = "smi:mem";
    s->busy = true; /* the first sample runs everything at once */
    *state = s;
    return 0;
}

static void free_calls(struct smi *s)
{
    for (size_t i = 0; s->calls && i <= s->ncalls; i++)
        buf_free(&s->calls[i].out);
    free(s->calls);
    free(s->groups);
    s->calls = NULL;
    s->groups = NULL;
    s->ncalls = s->ngroups = 0;
}

static void smi_close(void *state)
{
    struct smi *s = state;
    if (!s)
        return;
    free_calls(s);
    buf_free(&s->gpus_call.out);
    buf_free(&s->mem_call.out);
    free(s->mem.v);
    free(s->gpus.v);
    free(s->unmapped.v);
    free(s->acct.v);
    free(s->apps.v);
    free(s->pmon.v);
    free(s->pmon_all.v);
    free(s);
}

static size_t smi_gpu_count(const void *state)
{
    const struct smi *s = state;
    return s->gpus_ok ? s->gpus.n : 0;
}

static int smi_gpu_index(const void *state, size_t i)
{
    const struct smi *s = state;
    return s->gpus.v[i].index;
}

/* The calls of this sample: compute-apps, and pmon once per group of four
 * GPUs (one plain run when there are at most four, or the map is not known).
 * The calls are allocated again only when the number of groups changes; the
 * groups' -i lists are written each sample from the current map, so a map
 * that changed with the same count (a GPU replaced) gets fresh ones. */
static int plan_calls(struct smi *s)
{
    size_t ng = 1;
    if (s->gpus_ok && s->gpus.n > PMON_GROUP)
        ng = (s->gpus.n + PMON_GROUP - 1) / PMON_GROUP;
    if (ng > MAX_PMON_GROUPS)
        ng = MAX_PMON_GROUPS;
    if (!s->calls || s->ngroups != ng) {
        /* compute-apps' call moves over with its answer: the groups can
         * change after it ran, when the sample's GPU query gave the map. */
        struct cmd_call *calls = calloc(ng + 2, sizeof *calls);
        struct pmon_group *groups = calloc(ng, sizeof *groups);
        if (!calls || !groups) {
            free(calls);
            free(groups);
            return -ENOMEM;
        }
        if (s->calls) {
            calls[0] = s->calls[0];
            s->calls[0].out = (struct gw_buf){0};
        }
        free_calls(s);
        s->calls = calls;
        s->groups = groups;
        s->ncalls = ng + 1;
        s->ngroups = ng;
    }
    s->calls[0].argv = s->apps_argv;
    s->calls[0].key = "apps";
    s->calls[ng + 1].argv = s->acct_argv;
    s->calls[ng + 1].key = "acct";
    for (size_t g = 0; g < ng; g++) {
        struct pmon_group *pg = &s->groups[g];
        size_t k = 0;
        pg->argv[k++] = s->prog;
        pg->argv[k++] = "pmon";
        pg->argv[k++] = "-c";
        pg->argv[k++] = "1";
        pg->argv[k++] = "-s";
        pg->argv[k++] = "um";
        pg->ids[0] = '\0';
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

static void note_failure(struct source_query *q, const struct cmd_call *c, double timeout)
{
    q->failed = true;
    run_cmd_describe(c, timeout, q->why, sizeof q->why);
}

static void note_parse(struct source_query *q, size_t bad, size_t good)
{
    if (!bad)
        return;
    q->failed = true;
    snprintf(q->why, sizeof q->why, "%zu unreadable line%s of output (%zu read)", bad,
             bad == 1 ? "" : "s", good);
}

static bool was_cancelled(const struct cmd_call *c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (c[i].state == CMD_CANCELLED)
            return true;
    return false;
}

static int cmp_gpu_index(const void *a, const void *b)
{
    const struct gpu_entry *x = a, *y = b;
    return (x->index > y->index) - (x->index < y->index);
}

/* With --peaks, a driver that does not know accounting.mode fails the whole
 * GPU query: ask without it from then on (every mode unknown: no peaks).
 * After the GPU query ran; the retry gets what is left of the sample. */
static int gpus_retry_plain(struct smi *s, struct source_poll *out,
                            const volatile sig_atomic_t *cancel)
{
    if (!s->peaks || s->acct_refused)
        return 0;
    s->acct_asked = monotime_now();
    if (s->gpus_call.state == CMD_EXIT_NONZERO) {
        s->acct_refused = true;
        s->gpus_argv[1] = gpus_query;
        int rc = run_cmd(&s->gpus_call, 1, source_time_left(out, s->timeout), cancel);
        if (rc < 0)
            return rc;
        if (s->gpus_call.state != CMD_OK) { /* not the field: nvidia-smi fails */
            s->acct_refused = false;
            s->gpus_argv[1] = gpus_acct_query;
        }
    }
    return 0;
}

static int parse_gpu_map(const struct smi *s, struct gpu_list *out)
{
    const struct gw_buf *o = &s->gpus_call.out;
    return s->peaks && !s->acct_refused ? smi_parse_gpus_acct(o->p, o->len, out)
                                        : smi_parse_gpus(o->p, o->len, out);
}

/* The GPU query's answer (it ran, alone or in the sample's batch): the
 * index/UUID map; on failure the old map (if any) stays in use. */
static int gpus_answer(struct smi *s, struct source_poll *out, const volatile sig_atomic_t *cancel)
{
    int rc = gpus_retry_plain(s, out, cancel);
    if (rc < 0)
        return rc;
    if (was_cancelled(&s->gpus_call, 1))
        return -ECANCELED;
    s->map_asked = true;
    struct source_query *q =
        source_query_add(out, "smi:gpus", "nvidia-smi GPU index query", lost_cols);
    out->spawned++;
    if (s->gpus_call.state != CMD_OK) {
        note_failure(q, &s->gpus_call, s->timeout);
        return 0;
    }
    struct gpu_list fresh = {0};
    rc = parse_gpu_map(s, &fresh);
    if (rc < 0) {
        free(fresh.v);
        return rc;
    }
    note_parse(q, fresh.bad, fresh.n);
    if (fresh.n == 0) {
        free(fresh.v);
        if (!q->failed) {
            q->failed = true;
            snprintf(q->why, sizeof q->why, "no GPUs listed");
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

/* Query the index/UUID map alone, in what is left of the sample. */
static int refresh_gpus(struct smi *s, struct source_poll *out, const volatile sig_atomic_t *cancel)
{
    int rc = run_cmd(&s->gpus_call, 1, source_time_left(out, s->timeout), cancel);
    return rc < 0 ? rc : gpus_answer(s, out, cancel);
}

static int remember_unmapped(struct smi *s, const char *uuid)
{
    if (gpu_list_index(&s->unmapped, uuid) >= 0)
        return 0;
    if (array_reserve(&s->unmapped.v, &s->unmapped.cap, s->unmapped.n + 1, sizeof *s->unmapped.v) <
        0)
        return -ENOMEM;
    struct gpu_entry *e = &s->unmapped.v[s->unmapped.n++];
    e->index = 0;
    snprintf(e->uuid, sizeof e->uuid, "%s", uuid);
    return 0;
}

static bool some_acct_on(const struct gpu_list *gpus)
{
    for (size_t i = 0; i < gpus->n; i++)
        if (gpus->v[i].acct == 1)
            return true;
    return false;
}

/* Run the calls: all at once while busy (with the GPU query when the map is
 * asked for, and each GPU's memory query with gpu_mem: one wait, not one
 * after another); while idle compute-apps alone (and those two), and pmon
 * only if it lists someone, in what is left of the sample. */
static int run_calls(struct smi *s, struct source_poll *out, bool with_map,
                     const volatile sig_atomic_t *cancel)
{
    int rc;
    struct cmd_call *batch[MAX_PMON_GROUPS + 4];
    size_t n = 0;
    const size_t acct = s->run_acct ? 1 : 0;
    size_t first = s->busy ? s->ncalls + acct : 1;
    if (with_map)
        batch[n++] = &s->gpus_call;
    if (s->gpu_mem)
        batch[n++] = &s->mem_call;
    for (size_t i = 0; i < first; i++)
        batch[n++] = &s->calls[i];
    if ((rc = run_cmd_batch(batch, n, source_time_left(out, s->timeout), cancel)) < 0)
        return rc;
    out->spawned += first + (s->gpu_mem ? 1 : 0);
    if (was_cancelled(s->calls, first) || (with_map && was_cancelled(&s->gpus_call, 1)) ||
        (s->gpu_mem && was_cancelled(&s->mem_call, 1)))
        return -ECANCELED;
    s->pmon_ran = s->busy;
    if (s->busy)
        return 0;
    const struct cmd_call *a = &s->calls[0];
    bool listed = a->state != CMD_OK || memchr(a->out.p ? a->out.p : "", ',', a->out.len);
    if (!listed) {
        for (size_t g = 1; g < s->ncalls + acct; g++) {
            buf_clear(&s->calls[g].out);
            s->calls[g].state = CMD_OK; /* nothing to watch: an empty answer */
        }
        return 0;
    }
    s->pmon_ran = true;
    if ((rc = run_cmd(s->calls + 1, s->ncalls - 1 + acct, source_time_left(out, s->timeout),
                      cancel)) < 0)
        return rc;
    out->spawned += s->ncalls - 1 + acct;
    return was_cancelled(s->calls + 1, s->ncalls - 1 + acct) ? -ECANCELED : 0;
}

/* The map was not known before this sample's GPU query: the calls that
 * need it run now, in what is left of the sample: pmon per group of four
 * GPUs (a plain pmon shows four at most), and with --peaks the
 * accounted-apps call when some GPU has accounting on. */
static int run_after_map(struct smi *s, struct source_poll *out,
                         const volatile sig_atomic_t *cancel)
{
    int rc;
    const size_t ng = s->ngroups;
    if ((rc = plan_calls(s)) < 0)
        return rc;
    struct cmd_call *batch[MAX_PMON_GROUPS + 1];
    size_t n = 0;
    if (s->ngroups != ng && s->pmon_ran)
        for (size_t g = 0; g < s->ngroups; g++)
            batch[n++] = &s->calls[1 + g];
    s->run_acct = s->peaks && some_acct_on(&s->gpus);
    if (s->run_acct)
        batch[n++] = &s->calls[s->ncalls];
    if (n == 0)
        return 0;
    if ((rc = run_cmd_batch(batch, n, source_time_left(out, s->timeout), cancel)) < 0)
        return rc;
    out->spawned += n;
    for (size_t i = 0; i < n; i++)
        if (batch[i]->state == CMD_CANCELLED)
            return -ECANCELED;
    return 0;
}

/* Every pmon group's rows into pmon_all. */
static int merge_pmon(struct smi *s, struct source_poll *out, struct source_query *q)
{
    s->pmon_all.n = 0;
    for (size_t g = 0; g < s->ngroups; g++) {
        const struct cmd_call *c = &s->calls[1 + g];
        if (c->state != CMD_OK) {
            note_failure(q, c, s->timeout);
            continue;
        }
        int rc = smi_parse_pmon(c->out.p, c->out.len, &s->pmon);
        if (rc == -ENOMEM)
            return rc;
        out->answered |= rc == 0;
        note_parse(q, s->pmon.bad, s->pmon.n);
        size_t need = s->pmon_all.n + s->pmon.n;
        if (array_reserve(&s->pmon_all.v, &s->pmon_all.cap, need, sizeof *s->pmon_all.v) < 0)
            return -ENOMEM;
        if (s->pmon.n)
            memcpy(s->pmon_all.v + s->pmon_all.n, s->pmon.v, s->pmon.n * sizeof *s->pmon.v);
        s->pmon_all.n = need;
    }
    return 0;
}

static bool graphics_only(const struct pmon_row *p)
{
    return p->type[0] && !strchr(p->type, 'C');
}

static int push_pmon(struct source_poll *out, const struct pmon_row *p)
{
    struct source_proc *r = source_push(out, p->gpu, p->pid);
    if (!r)
        return -ENOMEM;
    r->mem_mib = p->fb_mib;
    return 0;
}

/* Records from compute-apps; when it could not be read, from pmon. */
static int app_records(struct smi *s, struct source_poll *out, struct source_query *qa,
                       const volatile sig_atomic_t *cancel)
{
    int rc;
    const struct cmd_call *apps = &s->calls[0];
    bool apps_ok = apps->state == CMD_OK;
    if (apps_ok) {
        if ((rc = smi_parse_apps(apps->out.p, apps->out.len, &s->apps)) < 0)
            return rc;
        note_parse(qa, s->apps.bad, s->apps.n);
        if (s->apps.bad && s->apps.n == 0)
            apps_ok = false;
    } else {
        note_failure(qa, apps, s->timeout);
    }
    s->busy = !apps_ok || s->apps.n > 0;
    out->answered |= apps_ok;
    for (size_t g = 0; !apps_ok && g < s->ngroups; g++) {
        /* pmon failed too for this group: its GPUs' processes are unknown. */
        if (s->calls[1 + g].state == CMD_OK)
            continue;
        size_t lo = s->ngroups > 1 ? g * PMON_GROUP : 0;
        size_t hi = s->ngroups > 1 ? (g + 1) * PMON_GROUP : s->gpus.n;
        for (size_t i = lo; i < hi && i < s->gpus.n; i++)
            if (s->gpus.v[i].index >= 0 && s->gpus.v[i].index < 64)
                out->unlisted |= UINT64_C(1) << s->gpus.v[i].index;
    }
    if (!apps_ok) {
        for (size_t i = 0; i < s->pmon_all.n; i++)
            if (!graphics_only(&s->pmon_all.v[i]) && (rc = push_pmon(out, &s->pmon_all.v[i])) < 0)
                return rc;
        return 0;
    }
    bool unknown_uuid = false;
    for (size_t i = 0; i < s->apps.n; i++) {
        const char *u = s->apps.v[i].uuid;
        if (gpu_list_index(&s->gpus, u) < 0 && gpu_list_index(&s->unmapped, u) < 0)
            unknown_uuid = true;
    }
    if (unknown_uuid) {
        /* A GPU was replaced or a MIG layout changed: ask once more,
         * unless this sample's map is already fresh. */
        if (!s->map_asked && (rc = refresh_gpus(s, out, cancel)) < 0)
            return rc;
        for (size_t i = 0; i < s->apps.n; i++)
            if (gpu_list_index(&s->gpus, s->apps.v[i].uuid) < 0 &&
                (rc = remember_unmapped(s, s->apps.v[i].uuid)) < 0)
                return rc;
    }
    for (size_t i = 0; i < s->apps.n; i++) {
        const struct smi_app *a = &s->apps.v[i];
        struct source_proc *r = source_push(out, gpu_list_index(&s->gpus, a->uuid), a->pid);
        if (!r)
            return -ENOMEM;
        r->mem_mib = a->mem_mib;
        r->uuid = a->uuid;
    }
    /* Some lines could not be read (output cut short): the compute
     * processes pmon saw that compute-apps did not list keep their rows. */
    for (size_t i = 0; s->apps.bad && i < s->pmon_all.n; i++) {
        const struct pmon_row *p = &s->pmon_all.v[i];
        size_t k = 0;
        while (k < s->apps.n && s->apps.v[k].pid != p->pid)
            k++;
        if (k == s->apps.n && !graphics_only(p) && (rc = push_pmon(out, p)) < 0)
            return rc;
    }
    return 0;
}

/* The first record of pid in v[0..n) sorted by PID, or n. */
static size_t lower_bound(const struct source_proc *v, size_t n, long pid)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid].pid < pid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* pmon's utilization (and name) onto the records, matched by PID and GPU. A
 * record whose UUID the map does not know (MIG) takes pmon's GPU index. */
static void join_pmon(struct smi *s, struct source_poll *out)
{
    if (out->n > 1) /* v is NULL before the first record: qsort(NULL) is UB */
        qsort(out->v, out->n, sizeof *out->v, source_proc_cmp);
    for (size_t i = 0; i < s->pmon_all.n; i++) {
        const struct pmon_row *p = &s->pmon_all.v[i];
        size_t k = lower_bound(out->v, out->n, p->pid);
        struct source_proc *match = NULL, *unmapped = NULL;
        for (size_t j = k; j < out->n && out->v[j].pid == p->pid; j++) {
            if (p->name[0] && !out->v[j].name[0])
                out->v[j].name = p->name;
            if (out->v[j].gpu == p->gpu)
                match = &out->v[j];
            else if (out->v[j].gpu < 0 && !unmapped)
                unmapped = &out->v[j];
        }
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
}

/* The GPU's entry for a record: by UUID, else by index (pmon's rows). */
static const struct gpu_entry *gpu_of(const struct gpu_list *gpus, const struct source_proc *r)
{
    int i = r->uuid[0] ? gpu_list_index(gpus, r->uuid) : -1;
    for (size_t k = 0; i < 0 && r->gpu >= 0 && !r->uuid[0] && k < gpus->n; k++)
        if (gpus->v[k].index == r->gpu)
            i = (int)k;
    return i >= 0 ? &gpus->v[i] : NULL;
}

/* --peaks: the accounted-apps answer onto the records. Every record is a
 * running process (the driver listed it now), so each takes the running
 * record of its PID on its GPU, on GPUs with accounting on only: MIG
 * (accounting forced off) can list stale records. */
static int acct_records(struct smi *s, struct source_poll *out, struct source_query *q)
{
    const struct cmd_call *c = &s->calls[s->ncalls];
    s->acct.n = 0;
    if (c->state != CMD_OK) {
        note_failure(q, c, s->timeout);
        return 0;
    }
    int rc = smi_parse_accounted(c->out.p, c->out.len, &s->acct);
    if (rc == -ENOMEM)
        return rc;
    note_parse(q, s->acct.bad, s->acct.n);
    for (size_t i = 0; i < out->n; i++) {
        struct source_proc *r = &out->v[i];
        const struct gpu_entry *g = gpu_of(&s->gpus, r);
        if (!g || g->acct != 1)
            continue;
        struct peak_query pq = {
            .uuid = g->uuid, .pid = r->pid, .alive = true, .start_ms = -1, .end_ms = -1};
        r->peak_mib = peaks_find(s->acct.v, s->acct.n, &pq);
    }
    return 0;
}

/* Each GPU's memory in use (source_config.gpu_mem), from the query that
 * ran in the sample's first batch (run_calls). A driver without
 * memory.reserved (before R510) fails the whole query: asked again
 * without it, in what is left of the sample, and so from then on. */
static int gpu_mem_records(struct smi *s, struct source_poll *out,
                           const volatile sig_atomic_t *cancel)
{
    struct source_query *q =
        source_query_add(out, "smi:mem", "nvidia-smi GPU memory query", lost_mem);
    int rc;
    if (s->mem_call.state == CMD_EXIT_NONZERO && !s->mem_no_reserved) {
        s->mem_no_reserved = true;
        s->mem_argv[1] = mem_query_old;
        if ((rc = run_cmd(&s->mem_call, 1, source_time_left(out, s->timeout), cancel)) < 0)
            return rc;
        out->spawned++;
    }
    if (was_cancelled(&s->mem_call, 1))
        return -ECANCELED;
    if (s->mem_call.state != CMD_OK) {
        note_failure(q, &s->mem_call, s->timeout);
        return 0;
    }
    if ((rc = smi_parse_gpu_mem(s->mem_call.out.p, s->mem_call.out.len, &s->mem)) < 0)
        return rc;
    note_parse(q, s->mem.bad, s->mem.n);
    for (size_t i = 0; i < s->mem.n; i++)
        if (source_gpu_mem_add(out, s->mem.v[i].index, s->mem.v[i].used_mib,
                               s->mem.v[i].reserved_mib) < 0)
            return -ENOMEM;
    return 0;
}

static int smi_poll(void *state, struct source_poll *out, const volatile sig_atomic_t *cancel)
{
    struct smi *s = state;
    int rc;
    source_poll_reset(out);
    /* In the order of the old reports: compute-apps, pmon, then the GPU query. */
    struct source_query *qa =
        source_query_add(out, "smi:apps", "nvidia-smi compute-apps query", lost_cols);
    struct source_query *qp = source_query_add(out, "smi:pmon", "nvidia-smi pmon", lost_cols);
    bool recheck = s->peaks && !s->acct_refused && monotime_now() - s->acct_asked >= ACCT_RECHECK_S;
    const bool with_map = !s->gpus_ok || recheck, was_known = s->gpus_ok;
    s->map_asked = false;
    s->run_acct = s->peaks && s->gpus_ok && some_acct_on(&s->gpus);
    if ((rc = plan_calls(s)) < 0 || (rc = run_calls(s, out, with_map, cancel)) < 0)
        return rc;
    if (with_map && (rc = gpus_answer(s, out, cancel)) < 0)
        return rc;
    if (!was_known && s->gpus_ok && (rc = run_after_map(s, out, cancel)) < 0)
        return rc;
    struct source_query *qacct =
        s->run_acct
            ? source_query_add(out, "smi:acct", "nvidia-smi accounted-apps query", lost_peaks)
            : NULL;
    if ((rc = merge_pmon(s, out, qp)) < 0 || (rc = app_records(s, out, qa, cancel)) < 0)
        return rc;
    join_pmon(s, out);
    /* A record from pmon (compute-apps failed) has an index and no UUID:
     * the map gives it, so that a series keeps its labels whichever query
     * served it. */
    for (size_t i = 0; i < out->n; i++) {
        const struct gpu_entry *g = out->v[i].uuid[0] ? NULL : gpu_of(&s->gpus, &out->v[i]);
        if (g)
            out->v[i].uuid = g->uuid;
    }
    if (qacct && (rc = acct_records(s, out, qacct)) < 0)
        return rc;
    return s->gpu_mem ? gpu_mem_records(s, out, cancel) : 0;
}

int smi_acct_read(const char *smi, double timeout, struct smi_acct *out, char *why, size_t whylen)
{
    struct source_config cfg = {.smi = smi, .timeout = timeout, .peaks = true};
    void *state = NULL;
    int rc = smi_open(&cfg, &state, why, whylen);
    if (rc < 0)
        return rc;
    struct smi *s = state;
    struct source_poll poll = {0};
    out->gpus.n = out->recs.n = 0;
    if ((rc = plan_calls(s)) < 0 || (rc = refresh_gpus(s, &poll, NULL)) < 0)
        goto done;
    rc = -EIO;
    if (poll.nq && poll.q[0].failed) {
        snprintf(why, whylen, "GPU query: %s", poll.q[0].why);
        goto done;
    }
    if ((rc = plan_calls(s)) < 0)
        goto done;
    free(out->gpus.v);
    out->gpus = s->gpus; /* the map moves to out */
    s->gpus = (struct gpu_list){0};
    rc = 0;
    if (!some_acct_on(&out->gpus))
        goto done;
    struct cmd_call *c = &s->calls[s->ncalls];
    if ((rc = run_cmd(c, 1, timeout, NULL)) < 0)
        goto done;
    rc = -EIO;
    if (c->state != CMD_OK) {
        run_cmd_describe(c, timeout, why, whylen);
        goto done;
    }
    if ((rc = smi_parse_accounted(c->out.p, c->out.len, &out->recs)) == -EINVAL)
        snprintf(why, whylen, "accounted-apps query: unreadable output");
done:
    smi_close(s);
    return rc;
}

void smi_acct_free(struct smi_acct *a)
{
    free(a->gpus.v);
    free(a->recs.v);
    memset(a, 0, sizeof *a);
}

const struct source_ops source_smi = {
    .name = "smi",
    .title = "nvidia-smi",
    .open = smi_open,
    .poll = smi_poll,
    .gpu_count = smi_gpu_count,
    .gpu_index = smi_gpu_index,
    .close = smi_close,
};
