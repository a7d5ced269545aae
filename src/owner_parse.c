/* Pure parsers of /proc/<pid>/cgroup, environ and status for --who. The
 * formats, with the documents that describe them, are in
 * tests/fixtures/cgroup/README. */
#include "gpu_watch/owner.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* A view into the caller's buffer: no NUL at the end. */
struct span {
    const char *p;
    size_t n;
};

/* Sanity bounds: a longer "job id" or container id is not one. */
#define JOB_DIGITS_MAX 20
#define SHORT_ID       12 /* docker ps shows the first 12 hex digits */

static bool has_prefix(struct span s, const char *pre)
{
    size_t n = strlen(pre);
    return s.n >= n && memcmp(s.p, pre, n) == 0;
}

static bool has_suffix(struct span s, const char *suf)
{
    size_t n = strlen(suf);
    return s.n >= n && memcmp(s.p + s.n - n, suf, n) == 0;
}

static bool equals(struct span s, const char *str)
{
    return s.n == strlen(str) && memcmp(s.p, str, s.n) == 0;
}

static bool all_digits(struct span s)
{
    if (s.n == 0 || s.n > JOB_DIGITS_MAX)
        return false;
    for (size_t i = 0; i < s.n; i++)
        if (!isdigit((unsigned char)s.p[i]))
            return false;
    return true;
}

static bool all_hex(struct span s)
{
    if (s.n < SHORT_ID)
        return false;
    for (size_t i = 0; i < s.n; i++)
        if (!isxdigit((unsigned char)s.p[i]))
            return false;
    return true;
}

/* Copy s into out as a string; false (out "") when it does not fit. */
static bool put(struct span s, char *out, size_t outlen)
{
    if (outlen == 0)
        return false;
    if (s.n >= outlen) {
        out[0] = '\0';
        return false;
    }
    memcpy(out, s.p, s.n);
    out[s.n] = '\0';
    return true;
}

/* The next line of buf[*pos..len) (without its '\n'); false at the end. */
static bool next_line(const char *buf, size_t len, size_t *pos, struct span *line)
{
    if (*pos >= len)
        return false;
    const char *start = buf + *pos;
    const char *nl = memchr(start, '\n', len - *pos);
    line->p = start;
    line->n = nl ? (size_t)(nl - start) : len - *pos;
    *pos += line->n + 1;
    return true;
}

/* The path of a cgroup line "hierarchy-ID:controller-list:path" (the
 * controller list may be empty: "0::/..."); false when malformed. */
static bool line_path(struct span line, struct span *path)
{
    const char *c1 = memchr(line.p, ':', line.n);
    if (!c1)
        return false;
    size_t rest = line.n - (size_t)(c1 + 1 - line.p);
    const char *c2 = memchr(c1 + 1, ':', rest);
    if (!c2)
        return false;
    path->p = c2 + 1;
    path->n = line.n - (size_t)(path->p - line.p);
    return true;
}

/* The next '/'-separated component of path from *pos (empty ones skipped);
 * false at the end. */
static bool next_component(struct span path, size_t *pos, struct span *comp)
{
    while (*pos < path.n && path.p[*pos] == '/')
        (*pos)++;
    if (*pos >= path.n)
        return false;
    size_t start = *pos;
    while (*pos < path.n && path.p[*pos] != '/')
        (*pos)++;
    comp->p = path.p + start;
    comp->n = *pos - start;
    return true;
}

/* A component that starts Slurm's part of the hierarchy: "slurm" (v1),
 * "slurm_<host>" (v1, several slurmd on one machine), "slurmstepd.scope" (v2). */
static bool slurm_root(struct span c)
{
    return equals(c, "slurm") || has_prefix(c, "slurm_") || equals(c, "slurmstepd.scope");
}

int owner_parse_cgroup_job(const char *buf, size_t len, char *job, size_t joblen)
{
    if (joblen)
        job[0] = '\0';
    size_t pos = 0;
    struct span line;
    while (next_line(buf, len, &pos, &line)) {
        struct span path;
        if (!line_path(line, &path))
            continue;
        size_t cpos = 0;
        struct span c;
        bool in_slurm = false;
        while (next_component(path, &cpos, &c)) {
            if (!in_slurm) {
                in_slurm = slurm_root(c);
                continue;
            }
            /* "uid_<n>" (v1) comes before the job; a SLUID
             * ("s8FXKTA79XAR00") in its place is no numeric id. */
            if (has_prefix(c, "job_")) {
                struct span id = {c.p + 4, c.n - 4};
                if (all_digits(id) && put(id, job, joblen))
                    return 0;
            }
        }
    }
    return -ENOENT;
}

/* "<pre><hex id><suf>": the first 12 hex digits into out. */
static bool scoped_id(struct span c, const char *pre, const char *suf, char *out, size_t outlen)
{
    if (!has_prefix(c, pre) || !has_suffix(c, suf))
        return false;
    size_t np = strlen(pre), ns = strlen(suf);
    if (c.n < np + ns)
        return false;
    struct span id = {c.p + np, c.n - np - ns};
    if (!all_hex(id))
        return false;
    id.n = SHORT_ID;
    return put(id, out, outlen);
}

/* A pod UID, "pod" then 32 hex digits in the 8-4-4-4-12 form, with '-' or
 * (systemd driver, where '-' separates slice levels) '_': "pod:<uid>" with
 * '-' into out. */
static bool pod_uid(struct span c, char *out, size_t outlen)
{
    static const char pre[] = "pod:";
    if (c.n != 36 || outlen < sizeof pre + 36)
        return false;
    size_t digits = 0;
    for (size_t i = 0; i < c.n; i++) {
        char ch = c.p[i];
        bool sep = i == 8 || i == 13 || i == 18 || i == 23;
        if (sep ? (ch != '-' && ch != '_') : !isxdigit((unsigned char)ch))
            return false;
        digits += !sep;
    }
    if (digits != 32)
        return false;
    memcpy(out, pre, sizeof pre - 1);
    for (size_t i = 0; i < c.n; i++)
        out[sizeof pre - 1 + i] = c.p[i] == '_' ? '-' : c.p[i];
    out[sizeof pre - 1 + c.n] = '\0';
    return true;
}

/* The pod UID of one path component under kubepods:
 *   systemd driver:  "kubepods-burstable-pod6b7e2f0a_1c2d_4e5f_8a9b_0c1d2e3f4a5b.slice"
 *                    "kubepods-pod<uid>.slice" (Guaranteed QoS)
 *   cgroupfs driver: "pod6b7e2f0a-1c2d-4e5f-8a9b-0c1d2e3f4a5b" */
static bool kube_pod(struct span c, char *out, size_t outlen)
{
    if (has_prefix(c, "kubepods") && has_suffix(c, ".slice")) {
        size_t end = c.n - strlen(".slice");
        /* The UID is the last 36 bytes before ".slice", after "-pod". */
        if (end < 36 + 4)
            return false;
        struct span uid = {c.p + end - 36, 36};
        if (memcmp(uid.p - 4, "-pod", 4) != 0)
            return false;
        return pod_uid(uid, out, outlen);
    }
    if (has_prefix(c, "pod")) {
        struct span uid = {c.p + 3, c.n - 3};
        return pod_uid(uid, out, outlen);
    }
    return false;
}

int owner_parse_cgroup_container(const char *buf, size_t len, char *out, size_t outlen)
{
    /* Kubernetes wins over the runtime's container id: the pod is what
     * users know; the id of the first runtime scope is kept for the rest. */
    char runtime[SHORT_ID + 1] = "";
    size_t pos = 0;
    struct span line;
    while (next_line(buf, len, &pos, &line)) {
        struct span path;
        if (!line_path(line, &path))
            continue;
        size_t cpos = 0;
        struct span c, prev = {"", 0};
        bool in_kube = false;
        while (next_component(path, &cpos, &c)) {
            if (has_prefix(c, "kubepods"))
                in_kube = true;
            if (in_kube && kube_pod(c, out, outlen))
                return 0;
            if (!runtime[0]) {
                /* cgroup v1 with the cgroupfs driver: "/docker/<64 hex>". */
                if (equals(prev, "docker") && all_hex(c)) {
                    struct span id = {c.p, SHORT_ID};
                    put(id, runtime, sizeof runtime);
                } else if (!scoped_id(c, "docker-", ".scope", runtime, sizeof runtime) &&
                           !scoped_id(c, "cri-containerd-", ".scope", runtime, sizeof runtime) &&
                           !scoped_id(c, "crio-", ".scope", runtime, sizeof runtime)) {
                    scoped_id(c, "libpod-", ".scope", runtime, sizeof runtime);
                }
            }
            prev = c;
        }
    }
    if (!runtime[0]) {
        if (outlen)
            out[0] = '\0';
        return -ENOENT;
    }
    struct span id = {runtime, strlen(runtime)};
    return put(id, out, outlen) ? 0 : -ENOENT;
}

int owner_parse_environ_job(const char *buf, size_t len, char *job, size_t joblen)
{
    static const char key[] = "SLURM_JOB_ID=";
    if (joblen)
        job[0] = '\0';
    size_t pos = 0;
    while (pos < len) {
        const char *start = buf + pos;
        const char *end = memchr(start, '\0', len - pos);
        size_t n = end ? (size_t)(end - start) : len - pos;
        pos += n + 1;
        struct span entry = {start, n};
        if (!has_prefix(entry, key))
            continue;
        struct span val = {start + sizeof key - 1, n - (sizeof key - 1)};
        if (all_digits(val) && put(val, job, joblen))
            return 0;
        return -ENOENT;
    }
    return -ENOENT;
}

/* Status line: "Uid:\t<real>\t<effective>\t<saved>\t<filesystem>". */
int owner_parse_status_uid(const char *buf, size_t len, unsigned long *uid)
{
    size_t pos = 0;
    struct span line;
    while (next_line(buf, len, &pos, &line)) {
        if (!has_prefix(line, "Uid:"))
            continue;
        size_t i = 4;
        while (i < line.n && (line.p[i] == '\t' || line.p[i] == ' '))
            i++;
        struct span num = {line.p + i, 0};
        while (i < line.n && isdigit((unsigned char)line.p[i])) {
            i++;
            num.n++;
        }
        char tmp[JOB_DIGITS_MAX + 1];
        if (!all_digits(num) || !put(num, tmp, sizeof tmp))
            return -EINVAL;
        errno = 0;
        char *endp = NULL;
        unsigned long v = strtoul(tmp, &endp, 10);
        if (errno || *endp || v > 0xffffffffUL)
            return -EINVAL;
        *uid = v;
        return 0;
    }
    return -EINVAL;
}
