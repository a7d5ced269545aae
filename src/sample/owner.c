/* Reading the owner of a process (--who) from /proc: the files, the user
 * database; the parsing is in owner_parse.c. */
#include "gpu_watch/owner.h"
#include "gpu_watch/owner_parse.h"
#include "gpu_watch/procfs.h"

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Bounds of what is read: a cgroup file is a line per v1 controller; an
 * environment past 1 MiB is cut (SLURM_ variables come early). */
#define CGROUP_MAX    (64u * 1024u)
#define ENVIRON_MAX   (1024u * 1024u)
#define STATUS_MAX    (16u * 1024u)
#define MOUNTINFO_MAX (256u * 1024u)

/* The name of uid (NSS: files, LDAP, sssd...), else the number. */
static void user_name(unsigned long uid, char *out, size_t outlen)
{
    long sz = sysconf(_SC_GETPW_R_SIZE_MAX);
    size_t bufsz = sz > 0 ? (size_t)sz : 4096;
    char *buf = NULL;
    struct passwd pw;
    struct passwd *res = NULL;
    int rc;
    /* ERANGE: the entry needs a bigger buffer; give up past 1 MiB. */
    do {
        char *nb = realloc(buf, bufsz);
        if (!nb)
            break;
        buf = nb;
        rc = getpwuid_r((uid_t)uid, &pw, buf, bufsz, &res);
        bufsz *= 2;
    } while (rc == ERANGE && bufsz <= 1024u * 1024u);
    if (res && res->pw_name && res->pw_name[0] && strlen(res->pw_name) < outlen)
        snprintf(out, outlen, "%s", res->pw_name);
    else
        snprintf(out, outlen, "%lu", uid);
    free(buf);
}

/* True when dir (below the cgroup mount cgroot) is a directory root owns:
 * Slurm's job directories are made by slurmstepd as root; one a user made
 * (in a delegated subtree) is theirs. A directory that cannot be seen (no
 * cgroup file system there) proves nothing. */
static bool root_owned_dir(const char *cgroot, const char *dir)
{
    char path[OWNER_CGDIR_MAX + 256];
    struct stat st;
    if (snprintf(path, sizeof path, "%s/%s", cgroot ? cgroot : "/sys/fs/cgroup", dir) >=
            (int)sizeof path ||
        lstat(path, &st) < 0)
        return false;
    return S_ISDIR(st.st_mode) && st.st_uid == 0;
}

/* Apptainer's mark in environ, else enroot's root directory (its lock
 * file "/.lock" in the process's root, then the mount on "/"). */
static int container_no_cgroup(const char *root, long pid, const struct gw_buf *env,
                               struct owner *out, struct gw_buf *scratch)
{
    char rel[64];
    if (env &&
        owner_parse_environ_container(env->p, env->len, out->container, sizeof out->container) == 0)
        return 0;
    snprintf(rel, sizeof rel, "%ld/root/.lock", pid);
    char path[PATH_MAX];
    struct stat st;
    if (snprintf(path, sizeof path, "%s/%s", root, rel) >= (int)sizeof path ||
        lstat(path, &st) < 0 || !S_ISREG(st.st_mode))
        return 0;
    snprintf(rel, sizeof rel, "%ld/mountinfo", pid);
    int rc = procfs_read_file(root, rel, scratch, MOUNTINFO_MAX);
    if (rc == -ENOMEM)
        return rc;
    if (rc < 0 || owner_parse_mountinfo_root(scratch->p, scratch->len, out->container,
                                             sizeof out->container) < 0)
        snprintf(out->container, sizeof out->container, "enroot");
    return 0;
}

int owner_resolve(const char *root, const char *cgroot, long pid, struct owner *out,
                  struct gw_buf *scratch)
{
    char rel[64];
    struct gw_buf env = {0};
    memset(out, 0, sizeof *out);
    out->container_pid = -1;

    snprintf(rel, sizeof rel, "%ld/status", pid);
    int rc = procfs_read_file(root, rel, scratch, STATUS_MAX);
    if (rc == -ENOMEM || rc == -ENOENT || rc == -ESRCH)
        return rc;
    unsigned long uid;
    long inner;
    int levels;
    if (rc == 0 && owner_parse_status_uid(scratch->p, scratch->len, &uid) == 0)
        user_name(uid, out->user, sizeof out->user);
    /* One field: the process is in gpu_watch's own PID namespace. */
    if (rc == 0 && owner_parse_status_nspid(scratch->p, scratch->len, &inner, &levels) == 0 &&
        levels > 1)
        out->container_pid = inner;

    /* The environment: the job a process claims, Apptainer's image.
     * Readable only by the same user or root; EACCES is the normal answer
     * for other users' processes. */
    snprintf(rel, sizeof rel, "%ld/environ", pid);
    rc = procfs_read_file(root, rel, &env, ENVIRON_MAX);
    if (rc == -ENOMEM)
        goto out;
    bool have_env = rc == 0;

    snprintf(rel, sizeof rel, "%ld/cgroup", pid);
    /* From here a missing file is a process that left after status was
     * read, or a fixture tree without it: the fields stay empty. */
    rc = procfs_read_file(root, rel, scratch, CGROUP_MAX);
    if (rc == -ENOMEM)
        goto out;
    if (rc == 0) {
        /* Line by line: on cgroup v1 the first controller naming the
         * job may not be mounted where its directory can be checked. */
        char dir[OWNER_CGDIR_MAX];
        for (size_t pos = 0; pos < scratch->len && !out->job_id[0];) {
            const char *line = scratch->p + pos;
            const char *nl = memchr(line, '\n', scratch->len - pos);
            size_t n = nl ? (size_t)(nl - line) : scratch->len - pos;
            pos += n + 1;
            if (owner_parse_cgroup_job(line, n, out->job_id, sizeof out->job_id, dir, sizeof dir) ==
                    0 &&
                !(dir[0] && root_owned_dir(cgroot, dir)))
                out->job_id[0] = '\0';
        }
        owner_parse_cgroup_container(scratch->p, scratch->len, out->container,
                                     sizeof out->container);
    }
    /* No job Slurm vouches for (not under Slurm's cgroup plugin, a 26.05
     * SLUID path, a path a user made): what the environment claims. */
    static const char claim[] = OWNER_CLAIMED;
    _Static_assert(sizeof claim - 1 + 20 < OWNER_JOB_MAX, "room for a claimed 20-digit job id");
    if (!out->job_id[0] && have_env &&
        owner_parse_environ_job(env.p, env.len, out->job_id + sizeof claim - 1,
                                sizeof out->job_id - (sizeof claim - 1)) == 0)
        memcpy(out->job_id, claim, sizeof claim - 1);
    rc = 0;
    if (!out->container[0])
        rc = container_no_cgroup(root, pid, have_env ? &env : NULL, out, scratch);
out:
    buf_free(&env);
    return rc == -ENOMEM ? rc : 0;
}

/* The start time of pid, 0 when it cannot be read. */
static uint64_t start_time(const char *root, long pid, struct gw_buf *scratch)
{
    uint64_t start = 0;
    return procfs_starttime(root, pid, &start, scratch) == 0 ? start : 0;
}

int owner_get(const char *root, const char *cgroot, struct pid_entry *e, uint64_t start,
              struct gw_buf *scratch, const struct owner **out)
{
    if (e->who && (start == 0 || e->who_start == 0 || start == e->who_start)) {
        *out = e->who;
        return 0;
    }
    if (!e->who && !(e->who = malloc(sizeof *e->who)))
        return -ENOMEM;
    e->who_start = start ? start : start_time(root, e->pid, scratch);
    int rc = owner_resolve(root, cgroot, e->pid, e->who, scratch);
    if (rc == -ENOMEM)
        return rc;
    if (rc < 0)
        memset(e->who, 0, sizeof *e->who); /* gone: nothing to say */
    *out = e->who;
    return 0;
}
