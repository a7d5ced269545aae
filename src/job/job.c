/* One job's answer: the log's rows of the job joined with the driver's
 * accounting records read at the end (see job.h). Pure. */
#include "gpu_watch/job.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_watch/array.h"

static const struct {
    const char *name;
    const char *text;
} flags[JOB_NFLAGS] = {
    {"accounting_off", "accounting mode is off on a GPU of the job: no driver peaks there (an "
                       "administrator turns it on with nvidia-smi -am 1)"},
    {"accounting_unread", "the driver's accounting could not be read"},
    {"accounting_overwritten", "the accounting buffer is full of records of the job's window: "
                               "older records of the job may have been overwritten"},
    {"accounting_overwrite_possible", "the accounting buffer is full and nothing tells whether "
                                      "it overwrote records of the job"},
    {"no_who_columns", "the log has no --who columns: no row can be told to be the job's"},
    {"samples_missing", "samples are missing for part of the job's window"},
    {"unsampled_uncounted", "processes that no sample saw cannot be counted: the records carry "
                            "no start time and there is no prolog snapshot"},
    {"gpu_map_unknown", "Slurm's GPU numbers could not be mapped to the driver's (no minor "
                        "numbers)"},
    {"job_id_claimed", "the job id of some rows was only claimed by the process (its "
                       "environment), not proven by its cgroup"},
    {"no_log_rows", "the log holds no row of the job"},
};

static int bit_no(unsigned bit)
{
    for (int i = 0; i < JOB_NFLAGS; i++)
        if (bit == 1u << i)
            return i;
    return -1;
}

const char *job_flag_name(unsigned bit)
{
    int i = bit_no(bit);
    return i < 0 ? NULL : flags[i].name;
}

const char *job_flag_text(unsigned bit)
{
    int i = bit_no(bit);
    return i < 0 ? NULL : flags[i].text;
}

const char *job_src_name(enum job_src s)
{
    switch (s) {
    case JOB_SRC_SAMPLED:
        return "sampled";
    case JOB_SRC_DRIVER:
        return "driver";
    case JOB_SRC_LOG_PEAK:
        return "log_peak";
    case JOB_SRC_NONE:
        break;
    }
    return "none";
}

void job_init(struct job *j, const char *job_id, double start, double end)
{
    memset(j, 0, sizeof *j);
    j->job_id = job_id;
    j->start = start;
    j->end = end;
    j->log_first = j->log_last = j->interval = j->prev_ts = NAN;
    j->lower_mib = j->upper_mib = NAN;
    j->have_who = true;
}

bool job_id_matches(const char *field, const char *id, bool *claimed)
{
    *claimed = false;
    size_t n = strlen(id);
    if (!field || !n)
        return false;
    /* The first run of digits is the id; anything around it is a mark. */
    const char *d = field;
    while (*d && (*d < '0' || *d > '9'))
        d++;
    size_t k = 0;
    while (d[k] >= '0' && d[k] <= '9')
        k++;
    if (k != n || memcmp(d, id, n) != 0)
        return false;
    *claimed = d != field || d[k] != '\0';
    return true;
}

static struct job_gpu *gpu_get(struct job *j, int index)
{
    for (size_t i = 0; i < j->ngpus; i++)
        if (j->gpus[i].index == index)
            return &j->gpus[i];
    if (array_reserve(&j->gpus, &j->cap, j->ngpus + 1, sizeof *j->gpus) < 0)
        return NULL;
    struct job_gpu *g = &j->gpus[j->ngpus++];
    memset(g, 0, sizeof *g);
    g->index = index;
    g->minor = -1;
    g->acct = GW_UNKNOWN;
    g->first = g->last = g->sum_max_mib = g->cur_ts = NAN;
    g->lower_mib = g->upper_mib = NAN;
    return g;
}

static struct job_proc *proc_new(struct job_gpu *g, long pid)
{
    if (array_reserve(&g->procs, &g->cap, g->nprocs + 1, sizeof *g->procs) < 0)
        return NULL;
    struct job_proc *p = &g->procs[g->nprocs];
    memset(p, 0, sizeof *p);
    p->pid = pid;
    p->cmd = strdup("");
    p->user = strdup("");
    if (!p->cmd || !p->user) {
        free(p->cmd);
        free(p->user);
        return NULL;
    }
    p->first = p->last = p->sampled_mib = p->log_peak_mib = p->driver_mib = p->true_mib = NAN;
    p->rec = -1;
    g->nprocs++;
    return p;
}

/* The process pid running cmd on g: a PID reused by another command is
 * another process. */
static struct job_proc *proc_get(struct job_gpu *g, long pid, const char *cmd)
{
    for (size_t i = 0; i < g->nprocs; i++) {
        struct job_proc *p = &g->procs[i];
        if (p->pid == pid && (!*cmd || !*p->cmd || strcmp(p->cmd, cmd) == 0))
            return p;
    }
    return proc_new(g, pid);
}

/* Close the sample being summed on g. */
static void gpu_flush(struct job_gpu *g)
{
    if (isnan(g->cur_ts))
        return;
    g->samples++;
    if (g->cur_mem_ok && (isnan(g->sum_max_mib) || g->cur_mem > g->sum_max_mib))
        g->sum_max_mib = g->cur_mem;
    if (g->cur_sm_ok) {
        g->sm_sum += g->cur_sm;
        g->sm_n++;
        if (g->cur_sm > g->sm_max)
            g->sm_max = g->cur_sm;
    }
    if (!isnan(g->last) && g->cur_ts - g->last > g->max_gap)
        g->max_gap = g->cur_ts - g->last;
    if (isnan(g->first) || g->cur_ts < g->first)
        g->first = g->cur_ts;
    if (isnan(g->last) || g->cur_ts > g->last)
        g->last = g->cur_ts;
    g->cur_ts = NAN;
}

static int set_text(char **dst, const char *s)
{
    if (!*s || **dst)
        return 0;
    char *c = strdup(s);
    if (!c)
        return -ENOMEM;
    free(*dst);
    *dst = c;
    return 0;
}

static void max_in(double *m, double v)
{
    if (log_known(v) && (isnan(*m) || v > *m))
        *m = v;
}

int job_add_row(struct job *j, const struct log_row *row)
{
    double ts = row->ts;
    if (isnan(j->log_first) || ts < j->log_first)
        j->log_first = ts;
    if (isnan(j->log_last) || ts > j->log_last)
        j->log_last = ts;
    if (ts != j->prev_ts) {
        if (ts > j->prev_ts) { /* false while prev_ts is NAN */
            if (array_reserve(&j->gaps, &j->gaps_cap, j->ngaps + 1, sizeof *j->gaps) < 0)
                return -ENOMEM;
            j->gaps[j->ngaps++] = ts - j->prev_ts;
        }
        j->prev_ts = ts;
    }
    if (!(row->hdr->have & (1u << LOG_COL_JOB_ID))) {
        j->have_who = false;
        j->flags |= JOB_F_NO_WHO;
        return 0;
    }
    if (!isnan(j->start) && (ts < j->start - JOB_SLACK_S || ts > j->end + JOB_SLACK_S))
        return 0;
    bool claimed;
    if (!job_id_matches(row->job_id, j->job_id, &claimed)) {
        j->other_rows++;
        return 0;
    }
    if (claimed)
        j->flags |= JOB_F_JOB_ID_CLAIMED;
    j->rows++;
    struct job_gpu *g = gpu_get(j, row->gpu);
    if (!g)
        return -ENOMEM;
    if (ts != g->cur_ts) {
        gpu_flush(g);
        g->cur_ts = ts;
        g->cur_mem = g->cur_sm = 0;
        g->cur_mem_ok = g->cur_sm_ok = false;
    }
    if (log_known(row->gpu_mem_mib)) {
        g->cur_mem += row->gpu_mem_mib;
        g->cur_mem_ok = true;
    }
    if (log_known(row->sm_util_pct)) {
        g->cur_sm += row->sm_util_pct;
        g->cur_sm_ok = true;
    }
    struct job_proc *p = proc_get(g, row->pid, row->cmd);
    if (!p || set_text(&p->cmd, row->cmd) < 0 || set_text(&p->user, row->user) < 0)
        return -ENOMEM;
    p->samples++;
    if (isnan(p->first) || ts < p->first)
        p->first = ts;
    if (isnan(p->last) || ts > p->last)
        p->last = ts;
    max_in(&p->sampled_mib, row->gpu_mem_mib);
    max_in(&p->log_peak_mib, row->peak_mem_mib);
    return 0;
}

/* Whether a and b are the same record (nothing changed between two reads). */
static bool same_rec(const struct job_rec *a, const struct job_rec *b)
{
    return a->pid == b->pid && strcmp(a->uuid, b->uuid) == 0 && a->time_ms == b->time_ms &&
           a->max_mib == b->max_mib;
}

int job_rec_in_window(const struct job_rec *rec, double start, double end,
                      const struct job_rec *before, size_t nbefore, bool have_before)
{
    if (!isnan(rec->start)) {
        if (isnan(start))
            return -1;
        return rec->start >= start - JOB_SLACK_S && rec->start <= end + JOB_SLACK_S;
    }
    if (!have_before)
        return -1;
    for (size_t i = 0; i < nbefore; i++) {
        const struct job_rec *b = &before[i];
        if (b->pid != rec->pid || strcmp(b->uuid, rec->uuid) != 0)
            continue;
        /* Running at the start: the same process (running PIDs are unique),
         * whether it still runs or ended since. Finished then: the same
         * record unless a new process of that PID replaced it. */
        if (b->time_ms == 0 || same_rec(b, rec))
            return 0;
    }
    return 1;
}

long job_match_record(const struct job_rec *recs, size_t n, const char *uuid, long pid,
                      double first, double last, double start, double end,
                      const struct job_rec *before, size_t nbefore, bool have_before)
{
    long found = -1;
    for (size_t i = 0; i < n; i++) {
        const struct job_rec *r = &recs[i];
        if (r->pid != pid || strcmp(r->uuid, uuid) != 0)
            continue;
        if (job_rec_in_window(r, start, end, before, nbefore, have_before) == 0)
            continue; /* the job before's, or older */
        bool fits;
        if (r->time_ms == 0) {
            fits = true; /* its running process's */
        } else if (r->time_ms > 0) {
            double life = (double)r->time_ms / 1000.0;
            fits = (isnan(start) || life <= end - start + JOB_SLACK_S) &&
                   (isnan(first) || life >= last - first - JOB_SLACK_S);
        } else {
            fits = false;
        }
        if (fits && !isnan(r->start) && !isnan(first))
            fits = r->start <= first + JOB_SLACK_S;
        if (!fits)
            continue;
        if (found >= 0)
            return -1; /* two fit: cannot be told apart */
        found = (long)i;
    }
    return found;
}

int job_overwritten(const struct job_rec *recs, size_t n, const char *uuid, long buffer,
                    double start, const struct job_rec *before, size_t nbefore, bool have_before)
{
    size_t count = 0;
    bool older = false, all_start = true;
    for (size_t i = 0; i < n; i++) {
        const struct job_rec *r = &recs[i];
        if (strcmp(r->uuid, uuid) != 0)
            continue;
        count++;
        if (isnan(r->start))
            all_start = false;
        else if (!isnan(start) && r->start < start - JOB_SLACK_S)
            older = true;
        if (have_before && job_rec_in_window(r, start, NAN, before, nbefore, true) == 0 &&
            isnan(r->start))
            older = true;
    }
    if (count < (size_t)(buffer > 0 ? buffer : JOB_ACCT_BUFFER))
        return 0;
    /* The buffer overwrites its oldest record first: while one from before
     * the window is left, none of the window's was lost. */
    if (older)
        return 0;
    if (have_before || (all_start && !isnan(start)))
        return 1;
    return -1;
}

/* The driver's description of GPU index, or NULL. */
static const struct job_gpu_info *info_by_index(const struct job_end *e, int index)
{
    for (size_t i = 0; i < e->ngpus && index >= 0; i++)
        if (e->gpus[i].index == index)
            return &e->gpus[i];
    return NULL;
}

static const struct job_gpu_info *info_by_minor(const struct job_end *e, int minor)
{
    for (size_t i = 0; i < e->ngpus; i++)
        if (e->gpus[i].minor == minor)
            return &e->gpus[i];
    return NULL;
}

/* Processes of a GPU of the job's alone that only the records hold. */
static int add_unsampled(struct job *j, struct job_gpu *g, const struct job_end *e)
{
    for (size_t i = 0; i < e->nrecs; i++) {
        const struct job_rec *r = &e->recs[i];
        if (strcmp(r->uuid, g->uuid) != 0)
            continue;
        bool owned = false;
        for (size_t k = 0; k < g->nprocs; k++)
            owned |= g->procs[k].rec == (long)i;
        if (owned)
            continue;
        /* A guessed start (the first sample) is late by up to an interval. */
        double start = j->start_guessed && !isnan(j->interval) ? j->start - j->interval : j->start;
        int in = job_rec_in_window(r, start, j->end, e->before, e->nbefore, e->have_before);
        if (in < 0) {
            g->flags |= JOB_F_UNSAMPLED_UNCOUNTED;
            continue;
        }
        if (in == 0)
            continue;
        struct job_proc *p = proc_new(g, r->pid);
        if (!p)
            return -ENOMEM;
        p->rec = (long)i;
        p->from_acct_only = true;
        if (e->user && set_text(&p->user, e->user) < 0)
            return -ENOMEM;
        if (r->max_mib > 0)
            p->driver_mib = (double)r->max_mib;
    }
    return 0;
}

static void proc_truth(struct job_proc *p)
{
    p->true_mib = NAN;
    p->true_src = JOB_SRC_NONE;
    const struct {
        double v;
        enum job_src s;
    } c[] = {{p->driver_mib, JOB_SRC_DRIVER},
             {p->log_peak_mib, JOB_SRC_LOG_PEAK},
             {p->sampled_mib, JOB_SRC_SAMPLED}};
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        if (log_known(c[i].v) && (isnan(p->true_mib) || c[i].v > p->true_mib)) {
            p->true_mib = c[i].v;
            p->true_src = c[i].s;
        }
    }
}

static void gpu_bounds(struct job_gpu *g)
{
    g->lower_mib = g->sum_max_mib;
    g->lower_src = isnan(g->lower_mib) ? JOB_SRC_NONE : JOB_SRC_SAMPLED;
    double upper = 0;
    const char *why = NULL;
    for (size_t i = 0; i < g->nprocs; i++) {
        const struct job_proc *p = &g->procs[i];
        if (log_known(p->driver_mib) && (isnan(g->lower_mib) || p->driver_mib > g->lower_mib)) {
            g->lower_mib = p->driver_mib;
            g->lower_src = JOB_SRC_DRIVER;
        }
        if (isnan(p->driver_mib))
            why = why ? why : "some process of the job has no driver peak";
        else
            upper += p->true_mib;
    }
    if (g->acct == 0)
        why = "accounting is off on this GPU";
    else if (g->flags & JOB_F_ACCT_UNREAD)
        why = "the accounting could not be read";
    else if (g->flags & JOB_F_UNSAMPLED_UNCOUNTED)
        why = "processes that no sample saw cannot be counted";
    else if (g->flags & (JOB_F_OVERWRITTEN | JOB_F_OVERWRITE_MAYBE))
        why = "the accounting buffer may have lost records of the job";
    else if (g->nprocs == 0)
        why = "no process of the job was seen on this GPU";
    g->upper_why = why;
    g->upper_mib = why ? NAN : upper;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The GPUs seen in the log described by the driver, then Slurm's GPUs of
 * the job (by minor number, never by position). 0 or -ENOMEM. */
static int describe_gpus(struct job *j, const struct job_end *e)
{
    /* The GPUs seen in the log, described by the driver. */
    for (size_t i = 0; i < j->ngpus; i++) {
        struct job_gpu *g = &j->gpus[i];
        const struct job_gpu_info *in = info_by_index(e, g->index);
        if (in) {
            memcpy(g->uuid, in->uuid, sizeof g->uuid);
            g->minor = in->minor;
            g->acct = in->acct;
        }
    }
    /* Slurm's GPUs, by minor number (never by position). */
    for (size_t i = 0; e->slurm && i < e->nslurm; i++) {
        const struct job_gpu_info *in = info_by_minor(e, e->slurm[i]);
        struct job_gpu *g = NULL;
        if (!in) {
            j->flags |= JOB_F_GPU_MAP_UNKNOWN;
            g = gpu_get(j, -2 - e->slurm[i]); /* a placeholder index, shown as unknown */
            if (g) {
                g->minor = e->slurm[i];
                g->slurm = true;
            }
        } else if ((g = gpu_get(j, in->index)) != NULL) {
            memcpy(g->uuid, in->uuid, sizeof g->uuid);
            g->minor = in->minor;
            g->acct = in->acct;
            g->slurm = true;
        }
        if (!g)
            return -ENOMEM;
    }
    return 0;
}

/* GPU g's processes matched with the driver's accounting records, and its
 * flags: accounting off or unread, records overwritten, samples missing.
 * 0 or -ENOMEM. */
static int check_gpu(struct job *j, struct job_gpu *g, const struct job_end *e)
{
    if (!e->gpus_read || !e->recs_read)
        g->flags |= JOB_F_ACCT_UNREAD;
    else if (g->acct == 0)
        g->flags |= JOB_F_ACCT_OFF;
    if (*g->uuid && g->acct == 1 && e->recs_read) {
        for (size_t k = 0; k < g->nprocs; k++) {
            struct job_proc *p = &g->procs[k];
            /* A sampled process may have started before the first
             * sample: with a guessed start, no record is too early. */
            p->rec = job_match_record(e->recs, e->nrecs, g->uuid, p->pid, p->first, p->last,
                                      j->start_guessed ? NAN : j->start, j->end, e->before,
                                      e->nbefore, e->have_before);
            if (p->rec >= 0 && e->recs[p->rec].max_mib > 0)
                p->driver_mib = (double)e->recs[p->rec].max_mib;
        }
        if (g->slurm && add_unsampled(j, g, e) < 0)
            return -ENOMEM;
        const struct job_gpu_info *in = info_by_index(e, g->index);
        int o = job_overwritten(e->recs, e->nrecs, g->uuid, in ? in->buffer : -1, j->start,
                                e->before, e->nbefore, e->have_before);
        g->flags |= o > 0 ? JOB_F_OVERWRITTEN : o < 0 ? JOB_F_OVERWRITE_MAYBE : 0;
    }
    /* Missing samples: a gap in the job's own samples, a log that
     * begins inside the window, or a process that lived several
     * intervals with no sample of it. */
    if (!isnan(j->interval)) {
        double gap = JOB_GAP_INTERVALS * j->interval;
        if (g->samples > 1 && g->max_gap > gap)
            g->flags |= JOB_F_SAMPLES_MISSING;
        for (size_t k = 0; k < g->nprocs; k++) {
            const struct job_proc *p = &g->procs[k];
            if (p->from_acct_only && p->rec >= 0 && (double)e->recs[p->rec].time_ms / 1000.0 > gap)
                g->flags |= JOB_F_SAMPLES_MISSING;
        }
    }
    return 0;
}

/* The job: the most one of its GPUs needed. */
static void job_bounds(struct job *j)
{
    for (size_t gi = 0; gi < j->ngpus; gi++) {
        const struct job_gpu *g = &j->gpus[gi];
        if (log_known(g->lower_mib) && (isnan(j->lower_mib) || g->lower_mib > j->lower_mib)) {
            j->lower_mib = g->lower_mib;
            j->lower_src = g->lower_src;
        }
    }
    j->upper_mib = j->ngpus ? 0 : NAN;
    j->upper_why = j->ngpus ? NULL : "no GPU of the job was seen";
    for (size_t gi = 0; gi < j->ngpus && !j->upper_why; gi++) {
        const struct job_gpu *g = &j->gpus[gi];
        if (isnan(g->upper_mib))
            j->upper_why = g->upper_why;
        else if (g->upper_mib > j->upper_mib)
            j->upper_mib = g->upper_mib;
    }
    if (j->upper_why)
        j->upper_mib = NAN;
}

int job_finish(struct job *j, const struct job_end *e)
{
    for (size_t i = 0; i < j->ngpus; i++)
        gpu_flush(&j->gpus[i]);
    if (j->ngaps) {
        qsort(j->gaps, j->ngaps, sizeof *j->gaps, cmp_double);
        j->interval = j->gaps[j->ngaps / 2];
    }
    if (isnan(j->start)) {
        /* No start given: the job's first sample, the best there is. */
        for (size_t i = 0; i < j->ngpus; i++)
            if (!isnan(j->gpus[i].first) && (isnan(j->start) || j->gpus[i].first < j->start))
                j->start = j->gpus[i].first;
        j->start_guessed = !isnan(j->start);
    }
    if (describe_gpus(j, e) < 0)
        return -ENOMEM;
    for (size_t gi = 0; gi < j->ngpus; gi++) {
        struct job_gpu *g = &j->gpus[gi];
        if (check_gpu(j, g, e) < 0)
            return -ENOMEM;
        for (size_t k = 0; k < g->nprocs; k++)
            proc_truth(&g->procs[k]);
        gpu_bounds(g);
        j->flags |= g->flags;
    }
    if (!isnan(j->start) && !isnan(j->interval) &&
        (isnan(j->log_first) || j->log_first > j->start + JOB_GAP_INTERVALS * j->interval))
        j->flags |= JOB_F_SAMPLES_MISSING;
    if (j->rows == 0)
        j->flags |= JOB_F_NO_LOG;
    job_bounds(j);
    return 0;
}

void job_free(struct job *j)
{
    for (size_t i = 0; i < j->ngpus; i++) {
        for (size_t k = 0; k < j->gpus[i].nprocs; k++) {
            free(j->gpus[i].procs[k].cmd);
            free(j->gpus[i].procs[k].user);
        }
        free(j->gpus[i].procs);
    }
    free(j->gpus);
    free(j->gaps);
    memset(j, 0, sizeof *j);
}
