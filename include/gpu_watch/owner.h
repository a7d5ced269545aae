/* Who owns a process (--who): its user, its Slurm job and its container,
 * from /proc/<pid>/status, cgroup and environ. The parsers are pure (a
 * buffer and its length in); owner_resolve does the reading. */
#ifndef GPU_WATCH_OWNER_H
#define GPU_WATCH_OWNER_H

#include <stddef.h>
#include <stdint.h>

#include "gpu_watch/buf.h"
#include "gpu_watch/pidtab.h"

#define OWNER_USER_MAX      64  /* a user name, or the uid in decimal */
#define OWNER_JOB_MAX       32  /* a Slurm job id: digits, or OWNER_CLAIMED and digits */
#define OWNER_CONTAINER_MAX 96  /* 12 hex digits, "pod:<36-byte UID>", "lxc:<name>"... */
#define OWNER_CGDIR_MAX     512 /* a cgroup directory below the cgroup mount */

/* The prefix of a job id that only the process's own environment gave
 * (SLURM_JOB_ID, which its owner can set to anything): "claimed:1392969".
 * A bare number comes from a cgroup directory Slurm made and root owns. */
#define OWNER_CLAIMED "claimed:"

/* The identity of one process; "" where not known (never a made-up 0). */
struct owner {
    char user[OWNER_USER_MAX];
    char job_id[OWNER_JOB_MAX];
    char container[OWNER_CONTAINER_MAX];
    /* Its PID in its innermost PID namespace (the last field of NSpid),
     * when that is not the namespace gpu_watch runs in; -1 otherwise or
     * when not known. */
    long container_pid;
};

/* Read the owner of pid under root ("/proc", or a fixture tree): the user
 * and container_pid from status (the user's name through getpwuid_r, so
 * NSS/LDAP users resolve; the number when there is none); the job from
 * cgroup, trusted only when its directory under cgroot ("/sys/fs/cgroup",
 * or a fixture tree) exists and root owns it; else SLURM_JOB_ID from
 * environ, written OWNER_CLAIMED<id> (environ is unreadable for other
 * users' processes unless root: EACCES is normal and leaves the job
 * empty); the container from cgroup, else environ (Apptainer), else the
 * mounts (enroot). scratch is a reusable buffer. 0 (fields that could not
 * be read stay ""), -ENOENT/-ESRCH when the process is gone, or -ENOMEM. */
int owner_resolve(const char *root, const char *cgroot, long pid, struct owner *out,
                  struct gw_buf *scratch);

/* The owner of e's process, read once per process and kept in e->who:
 * read again only when start (its start time, clock ticks after boot, as
 * --host reads it; 0 when not known) differs from the one it was read for,
 * i.e. the PID was reused. A process that is gone gets the empty owner.
 * *out points into the table (valid until the entry is swept). 0 or
 * -ENOMEM. */
int owner_get(const char *root, const char *cgroot, struct pid_entry *e, uint64_t start,
              struct gw_buf *scratch, const struct owner **out);

#endif
