/* Pure parsers of /proc/<pid>/cgroup, environ and status for --who. The
 * formats, with the documents that describe them, are in
 * tests/fixtures/cgroup/README. */
#include "gpu_watch/owner_parse.h"

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

/* A component that starts Slurm's part of a v1 hierarchy: "slurm", or
 * "slurm_<host>" (several slurmd on one machine). */
static bool slurm_v1_root(struct span c)
{
    return equals(c, "slurm") || has_prefix(c, "slurm_");
}

/* Slurm's own step scope under cgroup v2: "slurmstepd.scope", or
 * "<node>_slurmstepd.scope" with several slurmd on one machine. */
static bool slurm_v2_scope(struct span c)
{
    return equals(c, "slurmstepd.scope") || has_suffix(c, "_slurmstepd.scope");
}

/* The job id of "job_<digits>" into job; false for anything else. */
static bool job_component(struct span c, char *job, size_t joblen)
{
    if (!has_prefix(c, "job_"))
        return false;
    struct span id = {c.p + 4, c.n - 4};
    return all_digits(id) && put(id, job, joblen);
}

/* The controllers of a line "hierarchy-ID:controller-list:path" ("" on v2). */
static struct span line_controllers(struct span line)
{
    struct span none = {line.p, 0};
    const char *c1 = memchr(line.p, ':', line.n);
    if (!c1)
        return none;
    const char *c2 = memchr(c1 + 1, ':', line.n - (size_t)(c1 + 1 - line.p));
    if (!c2)
        return none;
    struct span ctl = {c1 + 1, (size_t)(c2 - c1 - 1)};
    return ctl;
}

/* Copy "<a>/<b>" (a may be empty: then b alone) into out; false when it
 * does not fit. */
static bool put_dir(struct span a, struct span b, char *out, size_t outlen)
{
    size_t n = a.n + (a.n ? 1 : 0) + b.n;
    if (!out || n >= outlen)
        return false;
    memcpy(out, a.p, a.n);
    if (a.n)
        out[a.n] = '/';
    memcpy(out + a.n + (a.n ? 1 : 0), b.p, b.n);
    out[n] = '\0';
    return true;
}

int owner_parse_cgroup_job(const char *buf, size_t len, char *job, size_t joblen, char *dir,
                           size_t dirlen)
{
    if (joblen)
        job[0] = '\0';
    if (dir && dirlen)
        dir[0] = '\0';
    if (memchr(buf, '\0', len))
        return -ENOENT; /* no cgroup file the kernel writes holds a NUL */
    size_t pos = 0;
    struct span line;
    while (next_line(buf, len, &pos, &line)) {
        struct span path;
        /* A NUL is in no cgroup line the kernel writes (controllers nor
         * path): such a line is not one, and the directory checked must be
         * the job's whole path. */
        if (memchr(line.p, '\0', line.n) || !line_path(line, &path))
            continue;
        /* Only the first three components count: that is where Slurm puts
         * the job, and a user's delegated subtree
         * ("/user.slice/user-1000.slice/user@1000.service/...") can hold
         * any name deeper down, "job_1" included. */
        struct span c[3];
        size_t cpos = 0, k = 0;
        while (k < 3 && next_component(path, &cpos, &c[k]))
            k++;
        if (k < 3)
            continue;
        bool v2 = equals(c[0], "system.slice") && slurm_v2_scope(c[1]);
        /* v1: "/slurm/uid_<n>/job_<id>"; "uid_<n>" comes before the job. */
        bool v1 = slurm_v1_root(c[0]) && has_prefix(c[1], "uid_");
        if (!(v1 || v2) || !job_component(c[2], job, joblen))
            continue;
        /* The directory below the cgroup mount: "<path to job_<id>>" on v2,
         * "<controllers>/<path>" on v1, where each hierarchy is mounted
         * under its controller list ("/sys/fs/cgroup/cpu,cpuacct"). */
        struct span to_job = {c[0].p, (size_t)(c[2].p + c[2].n - c[0].p)};
        struct span ctl = line_controllers(line);
        if (ctl.n >= strlen("name=") && has_prefix(ctl, "name="))
            ctl.p += 5, ctl.n -= 5; /* a named hierarchy: "name=systemd" */
        if (dir && dirlen && !put_dir(ctl, to_job, dir, dirlen))
            dir[0] = '\0';
        return 0;
    }
    if (joblen)
        job[0] = '\0';
    return -ENOENT;
}

/* The LXC/LXD container of a path component: "lxc.payload.<name>" (the
 * container's own cgroup; "lxc.monitor.<name>" is LXC's monitor process, no
 * container) as "lxc:<name>". */
static bool lxc_payload(struct span c, char *out, size_t outlen)
{
    static const char pre[] = "lxc.payload.";
    if (!has_prefix(c, pre) || c.n == sizeof pre - 1)
        return false;
    struct span name = {c.p + sizeof pre - 1, c.n - (sizeof pre - 1)};
    if (4 + name.n >= outlen)
        return false;
    for (size_t i = 0; i < name.n; i++)
        if ((unsigned char)name.p[i] < 0x20)
            return false; /* a NUL or control: no name LXC gives (the fuzzer's) */
    memcpy(out, "lxc:", 4);
    memcpy(out + 4, name.p, name.n);
    out[4 + name.n] = '\0';
    return true;
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
    if (outlen)
        out[0] = '\0';
    if (memchr(buf, '\0', len))
        return -ENOENT; /* no cgroup file the kernel writes holds a NUL */
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
            if (lxc_payload(c, out, outlen))
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

/* The value of key ("SLURM_JOB_ID=", with its '=') in an environ text
 * (NUL-separated "KEY=value" entries; the last may lack its NUL). */
static bool environ_value(const char *buf, size_t len, const char *key, struct span *val)
{
    size_t klen = strlen(key), pos = 0;
    while (pos < len) {
        const char *start = buf + pos;
        const char *end = memchr(start, '\0', len - pos);
        size_t n = end ? (size_t)(end - start) : len - pos;
        pos += n + 1;
        struct span entry = {start, n};
        if (has_prefix(entry, key)) {
            val->p = start + klen;
            val->n = n - klen;
            return true;
        }
    }
    return false;
}

int owner_parse_environ_job(const char *buf, size_t len, char *job, size_t joblen)
{
    if (joblen)
        job[0] = '\0';
    struct span val;
    if (environ_value(buf, len, "SLURM_JOB_ID=", &val) && all_digits(val) && put(val, job, joblen))
        return 0;
    return -ENOENT;
}

int owner_parse_environ_container(const char *buf, size_t len, char *out, size_t outlen)
{
    static const char pre[] = "apptainer:";
    if (outlen)
        out[0] = '\0';
    struct span val;
    /* Apptainer sets both names; SingularityCE only the second. */
    if (!environ_value(buf, len, "APPTAINER_CONTAINER=", &val) &&
        !environ_value(buf, len, "SINGULARITY_CONTAINER=", &val))
        return -ENOENT;
    /* The image's file name: "/home/ana/images/pytorch_24.01.sif" gives
     * "pytorch_24.01.sif"; a sandbox directory may end in '/'. */
    while (val.n > 1 && val.p[val.n - 1] == '/')
        val.n--;
    const char *slash = val.n ? memrchr(val.p, '/', val.n) : NULL;
    struct span name = {slash ? slash + 1 : val.p,
                        slash ? val.n - (size_t)(slash + 1 - val.p) : val.n};
    if (name.n == 0 || sizeof pre - 1 + name.n >= outlen)
        return -ENOENT;
    memcpy(out, pre, sizeof pre - 1);
    memcpy(out + sizeof pre - 1, name.p, name.n);
    out[sizeof pre - 1 + name.n] = '\0';
    return 0;
}

int owner_parse_mountinfo_root(const char *buf, size_t len, char *out, size_t outlen)
{
    if (outlen)
        out[0] = '\0';
    if (memchr(buf, '\0', len))
        return -ENOENT; /* mountinfo holds no NUL: not one */
    size_t pos = 0;
    struct span line;
    while (next_line(buf, len, &pos, &line)) {
        /* "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw"
         * (proc(5)): field 4 is the root of the mount in its file system,
         * field 5 the mount point. */
        struct span f[5];
        size_t i = 0, k = 0;
        while (k < 5 && i < line.n) {
            while (i < line.n && line.p[i] == ' ')
                i++;
            size_t st = i;
            while (i < line.n && line.p[i] != ' ')
                i++;
            f[k].p = line.p + st;
            f[k].n = i - st;
            k++;
        }
        if (k < 5 || !equals(f[4], "/"))
            continue;
        struct span root = f[3];
        while (root.n > 1 && root.p[root.n - 1] == '/')
            root.n--;
        const char *slash = memrchr(root.p, '/', root.n);
        struct span name = {slash ? slash + 1 : root.p,
                            slash ? root.n - (size_t)(slash + 1 - root.p) : root.n};
        /* The host's own "/" has root "/": no container. The last mount on
         * "/" wins (the container's, stacked over the host's). */
        if (name.n == 0 || sizeof "enroot:" - 1 + name.n >= outlen) {
            out[0] = '\0';
            continue;
        }
        memcpy(out, "enroot:", 7);
        memcpy(out + 7, name.p, name.n);
        out[7 + name.n] = '\0';
    }
    return out[0] ? 0 : -ENOENT;
}

int owner_parse_status_nspid(const char *buf, size_t len, long *inner, int *levels)
{
    size_t pos = 0;
    struct span line;
    while (next_line(buf, len, &pos, &line)) {
        /* "NSpid:\t8120\t1" (outermost first; kernel 4.1+). */
        if (!has_prefix(line, "NSpid:"))
            continue;
        int n = 0;
        long last = -1;
        size_t i = 6;
        for (;;) {
            while (i < line.n && (line.p[i] == '\t' || line.p[i] == ' '))
                i++;
            if (i >= line.n)
                break;
            long v = 0;
            size_t d0 = i;
            while (i < line.n && isdigit((unsigned char)line.p[i]) && i - d0 < 10)
                v = v * 10 + (line.p[i++] - '0');
            if (i == d0 || (i < line.n && line.p[i] != '\t' && line.p[i] != ' '))
                return -EINVAL;
            last = v;
            n++;
        }
        if (n == 0)
            return -EINVAL;
        *inner = last;
        *levels = n;
        return 0;
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
