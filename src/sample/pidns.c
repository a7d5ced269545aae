/* PID namespaces: the ns/pid link of gpu_watch itself, and the driver
 * versions that translate PIDs (pidns.h). */
#include "gpu_watch/pidns.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int pidns_parse_link(const char *s, size_t len, unsigned long long *ino)
{
    static const char pre[] = "pid:[";
    if (len < sizeof pre + 1 || memcmp(s, pre, sizeof pre - 1) != 0 || s[len - 1] != ']')
        return -EINVAL;
    unsigned long long v = 0;
    /* At least one digit: len >= sizeof pre + 1 ("pid:[" "]" and a digit). */
    for (size_t i = sizeof pre - 1; i < len - 1; i++) {
        if (!isdigit((unsigned char)s[i]) || v > (~0ULL - 9) / 10)
            return -EINVAL;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    *ino = v;
    return 0;
}

/* Whether the ns/pid link at root/<dir>/ns/pid names a child namespace. */
static int link_child(const char *root, const char *dir, bool *child)
{
    char path[4096], link[64];
    if (snprintf(path, sizeof path, "%s/%s/ns/pid", root, dir) >= (int)sizeof path)
        return -ENAMETOOLONG;
    ssize_t n = readlink(path, link, sizeof link);
    if (n < 0)
        return -errno;
    unsigned long long ino;
    if ((size_t)n >= sizeof link || pidns_parse_link(link, (size_t)n, &ino) < 0)
        return -EINVAL;
    *child = ino != PIDNS_INIT_INO;
    return 0;
}

int pidns_self(const char *root, bool *child)
{
    return link_child(root, "self", child);
}

int pidns_of(const char *root, long pid, bool *child)
{
    char dir[24];
    snprintf(dir, sizeof dir, "%ld", pid);
    return link_child(root, dir, child);
}

/* A decimal number of at most 6 digits at *p, moving *p past it. */
static bool number(const char **p, unsigned *out)
{
    unsigned v = 0;
    const char *s = *p;
    while (isdigit((unsigned char)*s) && s - *p < 6)
        v = v * 10 + (unsigned)(*s++ - '0');
    if (s == *p)
        return false;
    *out = v;
    *p = s;
    return true;
}

/* major.minor of "535.113.01" (the third part does not matter here). */
static bool version(const char *v, unsigned *major, unsigned *minor)
{
    return v && number(&v, major) && *v++ == '.' && number(&v, minor);
}

static bool at_least(unsigned major, unsigned minor, unsigned want_major, unsigned want_minor)
{
    return major > want_major || (major == want_major && minor >= want_minor);
}

void pidns_driver_caps(const char *v, struct pidns_driver *out)
{
    unsigned major, minor;
    out->known = version(v, &major, &minor);
    out->list_host = !out->known || !at_least(major, minor, 535, 113);
    out->mem_host = !out->known || !at_least(major, minor, 565, 57);
    out->util_host = !out->known || !at_least(major, minor, 570, 86);
}

bool pidns_started_after(uint64_t start_ticks, long hz, uint64_t drv_start_us, double boot_now,
                         double real_now)
{
    if (start_ticks == 0 || hz <= 0 || drv_start_us == 0)
        return false;
    /* Both as ages, seconds before now: boot-time ticks and wall-clock
     * microseconds share no epoch. */
    const double local_age = boot_now - (double)start_ticks / (double)hz;
    const double record_age = real_now - (double)drv_start_us / 1e6;
    return record_age - local_age > PIDNS_START_SLACK_S;
}
