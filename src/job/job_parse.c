/* Text read and written by `gpu_watch job` (see job_parse.h). */
#include "gpu_watch/job_parse.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_watch/array.h"

/* The value of a "    Key      : value" line of nvidia-smi -q whose key is
 * key, trimmed, in val (NUL-terminated); false when the line is another. */
static bool q_value(const char *l, size_t len, const char *key, char *val, size_t vlen)
{
    while (len && (*l == ' ' || *l == '\t'))
        l++, len--;
    size_t kl = strlen(key);
    if (len <= kl || memcmp(l, key, kl) != 0 || (l[kl] != ' ' && l[kl] != ':'))
        return false;
    const char *c = memchr(l + kl, ':', len - kl);
    if (!c)
        return false;
    for (const char *p = l + kl; p < c; p++)
        if (*p != ' ')
            return false; /* "Accounting Mode Buffer Size" is not "Accounting Mode" */
    const char *v = c + 1, *e = l + len;
    while (v < e && *v == ' ')
        v++;
    while (e > v && (e[-1] == ' ' || e[-1] == '\r'))
        e--;
    size_t n = (size_t)(e - v) < vlen - 1 ? (size_t)(e - v) : vlen - 1;
    memcpy(val, v, n);
    val[n] = '\0';
    return true;
}

/* A decimal number 0..max of a whole field; -1 otherwise ([N/A]). */
static long q_num(const char *s, long max)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 0 || v > max)
        return -1;
    return v;
}

struct q_section {
    char uuid[GW_UUID_MAX];
    long minor, buffer;
};

/* Apply one GPU's section to the GPU of the same UUID. */
static bool q_flush(struct q_section *q, struct job_gpu_info *gpus, size_t n)
{
    bool had = q->uuid[0] != '\0';
    for (size_t i = 0; had && i < n; i++) {
        if (strcmp(gpus[i].uuid, q->uuid) == 0) {
            gpus[i].minor = (int)q->minor;
            gpus[i].buffer = q->buffer;
        }
    }
    q->uuid[0] = '\0';
    q->minor = q->buffer = -1;
    return had;
}

int job_parse_smi_q(const char *buf, size_t len, struct job_gpu_info *gpus, size_t n)
{
    struct q_section q = {.minor = -1, .buffer = -1};
    char val[GW_UUID_MAX];
    bool any = false;
    for (size_t p = 0; p < len;) {
        const char *l = buf + p;
        const char *nl = memchr(l, '\n', len - p);
        size_t ll = nl ? (size_t)(nl - l) : len - p;
        p += ll + 1;
        if (ll > 4 && memcmp(l, "GPU ", 4) == 0) { /* a new GPU's section, at column 0 */
            any |= q_flush(&q, gpus, n);
        } else if (q_value(l, ll, "GPU UUID", val, sizeof val)) {
            if (!q.uuid[0]) /* the GPU's own, not a MIG device's below it */
                memcpy(q.uuid, val, sizeof q.uuid);
        } else if (q_value(l, ll, "Minor Number", val, sizeof val)) {
            if (q.minor < 0)
                q.minor = q_num(val, JOB_MAX_MINOR);
        } else if (q_value(l, ll, "Accounting Mode Buffer Size", val, sizeof val)) {
            q.buffer = q_num(val, 1L << 30);
        }
    }
    any |= q_flush(&q, gpus, n);
    return any ? 0 : -EINVAL;
}

static int add_gpu_num(long v, int *out, size_t cap, size_t *n)
{
    if (v < 0 || v > JOB_MAX_MINOR || *n >= cap)
        return -EINVAL;
    for (size_t i = 0; i < *n; i++)
        if (out[i] == v)
            return -EINVAL;
    out[(*n)++] = (int)v;
    return 0;
}

int job_parse_gpu_list(const char *s, int *out, size_t cap, size_t *n)
{
    *n = 0;
    if (!*s)
        return -EINVAL;
    for (const char *p = s;;) {
        char *end;
        if (*p < '0' || *p > '9')
            return -EINVAL;
        errno = 0;
        long a = strtol(p, &end, 10), b = a;
        if (errno)
            return -EINVAL;
        if (*end == '-') {
            p = end + 1;
            if (*p < '0' || *p > '9')
                return -EINVAL;
            b = strtol(p, &end, 10);
            if (errno || b < a || b - a > JOB_MAX_MINOR)
                return -EINVAL;
        }
        for (long v = a; v <= b; v++)
            if (add_gpu_num(v, out, cap, n) < 0)
                return -EINVAL;
        if (*end == '\0')
            return 0;
        if (*end != ',')
            return -EINVAL;
        p = end + 1;
    }
}

static void put_num(struct gw_buf *b, int64_t v)
{
    if (v >= 0)
        buf_printf(b, "%lld", (long long)v);
}

int job_snapshot_format(struct gw_buf *b, double taken, const struct job_rec *recs, size_t n)
{
    buf_puts(b, "# gpu_watch job snapshot 1\n");
    buf_printf(b, "taken=%.3f\n", taken);
    for (size_t i = 0; i < n; i++) {
        buf_printf(b, "%s,%ld,", recs[i].uuid, recs[i].pid);
        put_num(b, recs[i].max_mib);
        buf_putc(b, ',');
        put_num(b, recs[i].time_ms);
        buf_putc(b, '\n');
    }
    return buf_error(b);
}

/* A field of a snapshot record: a number 0..2^53, or GW_UNKNOWN when empty. */
static int snap_num(const char *s, size_t len, int64_t *v)
{
    char t[24];
    if (len == 0) {
        *v = GW_UNKNOWN;
        return 0;
    }
    if (len >= sizeof t)
        return -EINVAL;
    memcpy(t, s, len);
    t[len] = '\0';
    char *end;
    errno = 0;
    long long x = strtoll(t, &end, 10);
    if (errno || *end || x < 0 || x > (1LL << 53))
        return -EINVAL;
    *v = x;
    return 0;
}

int job_parse_snapshot(const char *buf, size_t len, double *taken, struct job_rec **recs, size_t *n)
{
    static const char magic[] = "# gpu_watch job snapshot 1\n";
    struct job_rec *v = NULL;
    size_t nv = 0, cap = 0;
    *recs = NULL;
    *n = 0;
    *taken = NAN;
    if (len < sizeof magic - 1 || memcmp(buf, magic, sizeof magic - 1) != 0)
        return -EINVAL;
    for (size_t p = sizeof magic - 1; p < len;) {
        const char *l = buf + p;
        const char *nl = memchr(l, '\n', len - p);
        size_t ll = nl ? (size_t)(nl - l) : len - p;
        p += ll + 1;
        if (ll == 0)
            continue;
        if (ll > 6 && memcmp(l, "taken=", 6) == 0) {
            char t[40];
            if (ll - 6 >= sizeof t)
                goto bad;
            memcpy(t, l + 6, ll - 6);
            t[ll - 6] = '\0';
            char *end;
            double x = strtod(t, &end);
            if (*end || !isfinite(x) || x < 0)
                goto bad;
            *taken = x;
            continue;
        }
        /* uuid,pid,max,time */
        const char *c1 = memchr(l, ',', ll);
        const char *c2 = c1 ? memchr(c1 + 1, ',', ll - (size_t)(c1 + 1 - l)) : NULL;
        const char *c3 = c2 ? memchr(c2 + 1, ',', ll - (size_t)(c2 + 1 - l)) : NULL;
        if (!c3 || c1 == l || (size_t)(c1 - l) >= GW_UUID_MAX)
            goto bad;
        if (array_reserve(&v, &cap, nv + 1, sizeof *v) < 0) {
            free(v);
            return -ENOMEM;
        }
        struct job_rec *r = &v[nv];
        memset(r, 0, sizeof *r);
        memcpy(r->uuid, l, (size_t)(c1 - l));
        int64_t pid;
        if (snap_num(c1 + 1, (size_t)(c2 - c1 - 1), &pid) < 0 || pid <= 0 ||
            snap_num(c2 + 1, (size_t)(c3 - c2 - 1), &r->max_mib) < 0 ||
            snap_num(c3 + 1, (size_t)(l + ll - c3 - 1), &r->time_ms) < 0)
            goto bad;
        r->pid = (long)pid;
        r->start = NAN;
        nv++;
    }
    if (isnan(*taken))
        goto bad;
    *recs = v;
    *n = nv;
    return 0;
bad:
    free(v);
    return -EINVAL;
}

int job_recs_from_acct(const struct acct_list *a, struct job_rec **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (a->n == 0)
        return 0;
    struct job_rec *v = calloc(a->n, sizeof *v);
    if (!v)
        return -ENOMEM;
    for (size_t i = 0; i < a->n; i++) {
        memcpy(v[i].uuid, a->v[i].uuid, sizeof v[i].uuid);
        v[i].pid = a->v[i].pid;
        v[i].max_mib = a->v[i].max_mib;
        v[i].time_ms = a->v[i].time_ms;
        v[i].start = NAN;
    }
    *out = v;
    *n = a->n;
    return 0;
}
