/* summary --by job|user: per-sample sums per group and GPU, fed to the
 * summary with one made-up PID per group (its index + 1; summary_cmd hides
 * it), so that the summary's process bookkeeping does the rest. */
#include "gpu_watch/summary_by.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_watch/array.h"
#include "gpu_watch/hashtab.h"

/* One group and GPU in the current sample. */
struct acc {
    size_t group;
    int gpu;
    double mem_mib; /* NAN until a row gives a value */
    double sm_pct;
};

struct summary_by {
    struct summary *s;
    enum summary_by_key key;
    char *
        *names; /* group keys, "1392969", "" for none; index + 1 is the PID given to the summary */
    size_t nnames, cap_names;
    struct hashtab *by_name; /* name -> its index in names */
    struct acc *acc;         /* the current sample */
    size_t nacc, cap_acc;
    bool in_sample;
    double ts;
    int last_gpu;
    long last_pid;
};

int summary_by_parse(const char *v, enum summary_by_key *out)
{
    if (strcmp(v, "process") == 0)
        *out = SUMMARY_BY_PROCESS;
    else if (strcmp(v, "job") == 0)
        *out = SUMMARY_BY_JOB;
    else if (strcmp(v, "user") == 0)
        *out = SUMMARY_BY_USER;
    else
        return -EINVAL;
    return 0;
}

int summary_by_column(enum summary_by_key key)
{
    return key == SUMMARY_BY_JOB ? LOG_COL_JOB_ID : key == SUMMARY_BY_USER ? LOG_COL_USER : -1;
}

struct summary_by *summary_by_new(struct summary *s, enum summary_by_key key)
{
    struct summary_by *b = calloc(1, sizeof *b);
    if (b) {
        b->s = s;
        b->key = key;
    }
    return b;
}

void summary_by_free(struct summary_by *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->nnames; i++)
        free(b->names[i]);
    free(b->names);
    hashtab_free(b->by_name);
    free(b->acc);
    free(b);
}

/* The index of the group called name, added when new; -ENOMEM. */
static long group_of(struct summary_by *b, const char *name)
{
    if (!b->by_name && !(b->by_name = hashtab_new(HASHTAB_STR, sizeof(size_t), 32)))
        return -ENOMEM;
    const size_t *known = hashtab_find_str(b->by_name, name);
    if (known)
        return (long)*known;
    char *copy = strdup(name);
    size_t *v = NULL;
    if (!copy || array_reserve(&b->names, &b->cap_names, b->nnames + 1, sizeof(char *)) < 0 ||
        !(v = hashtab_get_str(b->by_name, name, NULL))) {
        free(copy);
        return -ENOMEM;
    }
    b->names[b->nnames] = copy;
    *v = b->nnames++;
    return (long)(b->nnames - 1);
}

static double add_known(double sum, double v)
{
    if (!log_known(v))
        return sum;
    return log_known(sum) ? sum + v : v;
}

static int flush(struct summary_by *b)
{
    if (!b->in_sample)
        return 0;
    b->in_sample = false;
    if (summary_sample(b->s, b->ts) < 0)
        return -ENOMEM;
    for (size_t i = 0; i < b->nacc; i++) {
        const struct acc *a = &b->acc[i];
        struct summary_row r = {
            .ts = b->ts,
            .gpu = a->gpu,
            .pid = (long)a->group + 1,
            .cmd = b->names[a->group],
            .mem_mib = a->mem_mib,
            .sm_pct = a->sm_pct,
            .cpu_pct = NAN,
            .rss_mib = NAN,
        };
        if (summary_add(b->s, &r) < 0)
            return -ENOMEM;
    }
    b->nacc = 0;
    return 0;
}

int summary_by_add(struct summary_by *b, const struct log_row *row)
{
    /* The sampler writes each sample's rows sorted by GPU, then PID. */
    bool next = !b->in_sample || row->ts != b->ts || row->gpu < b->last_gpu ||
                (row->gpu == b->last_gpu && row->pid <= b->last_pid);
    if (next) {
        if (flush(b) < 0)
            return -ENOMEM;
        b->in_sample = true;
        b->ts = row->ts;
    }
    b->last_gpu = row->gpu;
    b->last_pid = row->pid;

    /* The key itself, "" for none: the renderings name it (summary_fmt_opts.by_row). */
    const char *v = b->key == SUMMARY_BY_JOB ? row->job_id : row->user;
    long g = group_of(b, v);
    if (g < 0)
        return -ENOMEM;
    size_t i = 0;
    while (i < b->nacc && !(b->acc[i].group == (size_t)g && b->acc[i].gpu == row->gpu))
        i++;
    if (i == b->nacc) {
        if (array_reserve(&b->acc, &b->cap_acc, b->nacc + 1, sizeof *b->acc) < 0)
            return -ENOMEM;
        b->acc[b->nacc++] = (struct acc){(size_t)g, row->gpu, NAN, NAN};
    }
    b->acc[i].mem_mib = add_known(b->acc[i].mem_mib, row->gpu_mem_mib);
    b->acc[i].sm_pct = add_known(b->acc[i].sm_pct, row->sm_util_pct);
    return 0;
}

int summary_by_finish(struct summary_by *b)
{
    return flush(b);
}
