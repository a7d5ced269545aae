/* /proc text parsers. */
#include "gpu_watch/procparse.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

/* Read an unsigned decimal at *p (after blanks); advances *p. */
static bool read_u64(const char **p, const char *end, uint64_t *v)
{
    while (*p < end && (**p == ' ' || **p == '\t'))
        (*p)++;
    if (*p >= end || **p < '0' || **p > '9')
        return false;
    uint64_t x = 0;
    while (*p < end && **p >= '0' && **p <= '9') {
        uint64_t d = (uint64_t)(**p - '0');
        if (x > (UINT64_MAX - d) / 10)
            return false; /* more than 64 bits: not a /proc number */
        x = x * 10 + d;
        (*p)++;
    }
    *v = x;
    return true;
}

/* Skip one blank-separated field (it may be negative, e.g. tty_nr -1). */
static bool skip_field(const char **p, const char *end)
{
    while (*p < end && **p == ' ')
        (*p)++;
    if (*p >= end || **p == '\n')
        return false;
    while (*p < end && **p != ' ' && **p != '\n')
        (*p)++;
    return true;
}

/* Sample: 442 (python3) R 396 395 395 0 -1 4194560 ... 1796 64 ... 2241 ... 12 ... */
int procparse_stat(const char *buf, size_t len, struct proc_stat *out)
{
    const char *rp = NULL;
    for (size_t i = len; i > 0; i--)
        if (buf[i - 1] == ')') {
            rp = buf + i - 1;
            break;
        }
    if (!rp)
        return -EINVAL;
    const char *p = buf, *end = buf + len;
    uint64_t v;
    memset(out, 0, sizeof *out);
    out->processor = -1;
    /* Field 1, the PID, then " (" and the name up to the last ')'. */
    if (!read_u64(&p, end, &v) || v == 0 || v > 0x7fffffff || end - p < 2 || p[0] != ' ' ||
        p[1] != '(' || p + 1 > rp)
        return -EINVAL;
    out->pid = (long)v;
    p = rp + 1;
    /* Field 3, the state: one character. */
    if (end - p < 2 || p[0] != ' ' || p[1] == ' ' || p[1] == '\n')
        return -EINVAL;
    out->state = p[1];
    p += 2;
    int field = 4;
    while (field <= 39) {
        if (field > 22) { /* fields past the start time are optional */
            const char *q = p;
            while (q < end && *q == ' ')
                q++;
            if (q >= end || *q == '\n')
                break;
        }
        if (field == 4 || field == 14 || field == 15 || field == 22 || field == 39) {
            if (!read_u64(&p, end, &v))
                return -EINVAL;
            if (field == 4)
                out->ppid = (long)v;
            else if (field == 14)
                out->utime = v;
            else if (field == 15)
                out->stime = v;
            else if (field == 22)
                out->starttime = v;
            else
                out->processor = v > 65535 ? -1 : (int)v;
        } else if (!skip_field(&p, end)) {
            return -EINVAL;
        }
        field++;
    }
    return 0;
}

/* Find "key:" at the start of a line and read its number. */
static int find_kb(const char *buf, size_t len, const char *key, int64_t *kb)
{
    size_t kl = strlen(key);
    const char *p = buf, *end = buf + len;
    while (p < end) {
        if ((size_t)(end - p) > kl && memcmp(p, key, kl) == 0 && p[kl] == ':') {
            const char *q = p + kl + 1;
            uint64_t v;
            if (!read_u64(&q, end, &v) || v > (uint64_t)INT64_MAX)
                return -EINVAL;
            *kb = (int64_t)v;
            return 0;
        }
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            break;
        p = nl + 1;
    }
    return -EINVAL;
}

int procparse_status_rss_kb(const char *buf, size_t len, int64_t *kb)
{
    return find_kb(buf, len, "VmRSS", kb);
}

int procparse_meminfo_used_kb(const char *buf, size_t len, int64_t *kb)
{
    int64_t total, avail;
    if (find_kb(buf, len, "MemTotal", &total) < 0 ||
        find_kb(buf, len, "MemAvailable", &avail) < 0 || avail > total)
        return -EINVAL;
    *kb = total - avail;
    return 0;
}

/* Sample: 851.74 1418.42 */
int procparse_uptime(const char *buf, size_t len, double *seconds)
{
    const char *p = buf, *end = buf + len;
    uint64_t whole, frac = 0;
    if (!read_u64(&p, end, &whole))
        return -EINVAL;
    double scale = 1;
    if (p < end && *p == '.') {
        p++;
        while (p < end && *p >= '0' && *p <= '9' && scale < 1e9) {
            frac = frac * 10 + (uint64_t)(*p - '0');
            scale *= 10;
            p++;
        }
    }
    *seconds = (double)whole + (double)frac / scale;
    return 0;
}

double procparse_pcpu_since_start(uint64_t ticks, uint64_t starttime, double uptime, long hz)
{
    if (hz <= 0)
        return -1;
    double elapsed = uptime - (double)starttime / (double)hz;
    if (elapsed <= 0)
        return -1;
    return 100.0 * ((double)ticks / (double)hz) / elapsed;
}
