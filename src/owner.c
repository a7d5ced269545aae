/* Reading the owner of a process (--who) from /proc: the files, the user
 * database; the parsing is in owner_parse.c. */
#include "gpu_watch/owner.h"
#include "gpu_watch/procfs.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Bounds of what is read: a cgroup file is a line per v1 controller; an
 * environment past 1 MiB is cut (SLURM_ variables come early). */
#define CGROUP_MAX  (64u * 1024u)
#define ENVIRON_MAX (1024u * 1024u)
#define STATUS_MAX  (16u * 1024u)

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

int owner_resolve(const char *root, long pid, struct owner *out, struct gw_buf *scratch)
{
    char rel[64];
    memset(out, 0, sizeof *out);

    snprintf(rel, sizeof rel, "%ld/status", pid);
    int rc = procfs_read_file(root, rel, scratch, STATUS_MAX);
    if (rc == -ENOMEM || rc == -ENOENT || rc == -ESRCH)
        return rc;
    unsigned long uid;
    if (rc == 0 && owner_parse_status_uid(scratch->p, scratch->len, &uid) == 0)
        user_name(uid, out->user, sizeof out->user);

    snprintf(rel, sizeof rel, "%ld/cgroup", pid);
    /* From here a missing file is a process that left after status was
     * read, or a fixture tree without it: the fields stay empty. */
    rc = procfs_read_file(root, rel, scratch, CGROUP_MAX);
    if (rc == -ENOMEM)
        return rc;
    if (rc == 0) {
        owner_parse_cgroup_job(scratch->p, scratch->len, out->job_id, sizeof out->job_id);
        owner_parse_cgroup_container(scratch->p, scratch->len, out->container,
                                     sizeof out->container);
    }
    if (out->job_id[0])
        return 0;

    /* No job in the path (not under Slurm's cgroup plugin, or a 26.05
     * SLUID path): the job's environment, readable only by the same user
     * or root; EACCES is the normal answer for other users' processes. */
    snprintf(rel, sizeof rel, "%ld/environ", pid);
    rc = procfs_read_file(root, rel, scratch, ENVIRON_MAX);
    if (rc == -ENOMEM)
        return rc;
    if (rc == 0)
        owner_parse_environ_job(scratch->p, scratch->len, out->job_id, sizeof out->job_id);
    return 0;
}

/* The start time of pid, 0 when it cannot be read. */
static uint64_t start_time(const char *root, long pid, struct gw_buf *scratch)
{
    uint64_t start = 0;
    return procfs_starttime(root, pid, &start, scratch) == 0 ? start : 0;
}

int owner_get(const char *root, struct pid_entry *e, uint64_t start, struct gw_buf *scratch,
              const struct owner **out)
{
    if (e->who && (start == 0 || e->who_start == 0 || start == e->who_start)) {
        *out = e->who;
        return 0;
    }
    if (!e->who && !(e->who = malloc(sizeof *e->who)))
        return -ENOMEM;
    e->who_start = start ? start : start_time(root, e->pid, scratch);
    int rc = owner_resolve(root, e->pid, e->who, scratch);
    if (rc == -ENOMEM)
        return rc;
    if (rc < 0)
        memset(e->who, 0, sizeof *e->who); /* gone: nothing to say */
    *out = e->who;
    return 0;
}
