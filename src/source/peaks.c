/* Matching accounting records to processes: see peaks.h for the rules. */
#include "gpu_watch/peaks.h"

#include <string.h>

static bool same_record(const struct acct_rec *a, const struct acct_rec *b)
{
    return a->pid == b->pid && a->max_mib == b->max_mib && a->time_ms == b->time_ms &&
           strcmp(a->uuid, b->uuid) == 0;
}

static bool finished_before(const struct peak_query *q, const struct acct_rec *r)
{
    for (size_t i = 0; i < q->nbefore; i++)
        if (q->before[i].time_ms > 0 && same_record(&q->before[i], r))
            return true;
    return false;
}

/* Whether r can be q's own record (apart from ambiguity). */
static bool fits(const struct peak_query *q, const struct acct_rec *r)
{
    if (r->pid != q->pid || strcmp(r->uuid, q->uuid) != 0 || r->time_ms < 0)
        return false;
    if (q->alive)
        return r->time_ms == 0;
    if (r->time_ms == 0 || q->start_ms < 0 || q->end_ms < q->start_ms)
        return false;
    return r->time_ms <= q->end_ms - q->start_ms + PEAKS_SLACK_MS && !finished_before(q, r);
}

long peaks_match(const struct acct_rec *recs, size_t n, const struct peak_query *q)
{
    long found = -1;
    if (!q->uuid || !q->uuid[0])
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (!fits(q, &recs[i]))
            continue;
        if (found >= 0)
            return -1; /* two could be its own: say nothing */
        found = (long)i;
    }
    return found;
}

int64_t peaks_find(const struct acct_rec *recs, size_t n, const struct peak_query *q)
{
    long i = peaks_match(recs, n, q);
    return i >= 0 && recs[i].max_mib > 0 ? recs[i].max_mib : GW_UNKNOWN;
}
