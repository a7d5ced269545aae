/* Who owns a process (--who): its user, its Slurm job and its container,
 * from /proc/<pid>/status, cgroup and environ. The parsers are pure (a
 * buffer and its length in); owner_resolve does the reading. */
#ifndef GPU_WATCH_OWNER_H
#define GPU_WATCH_OWNER_H

#include <stddef.h>
#include <stdint.h>

#include "gpu_watch/buf.h"
#include "gpu_watch/pidtab.h"

#define OWNER_USER_MAX      64 /* a user name, or the uid in decimal */
#define OWNER_JOB_MAX       24 /* a Slurm job id: decimal digits */
#define OWNER_CONTAINER_MAX 48 /* 12 hex digits, or "pod:" and a 36-byte UID */

/* The identity of one process; "" where not known (never a made-up 0). */
struct owner {
    char user[OWNER_USER_MAX];
    char job_id[OWNER_JOB_MAX];
    char container[OWNER_CONTAINER_MAX];
};

/* The Slurm job of a /proc/<pid>/cgroup text into job (NUL-terminated):
 *   v1, any controller line:  "10:devices:/slurm/uid_2101171/job_280678/step_0/task_0"
 *                             "4:memory:/slurm_node07/uid_1000/job_42/step_batch"
 *   v2:                       "0::/system.slice/slurmstepd.scope/job_1392969/step_0/user/task_0"
 * 0, or -ENOENT when no line names a job (not under Slurm, or a Slurm 26.05
 * path built from a SLUID: "/system.slice/slurmstepd.scope/s8FXKTA79XAR00/step_batch"). */
int owner_parse_cgroup_job(const char *buf, size_t len, char *job, size_t joblen);

/* The container of a /proc/<pid>/cgroup text into out (NUL-terminated):
 * Docker ("/docker/<id>", "docker-<id>.scope"), containerd
 * ("cri-containerd-<id>.scope"), CRI-O ("crio-<id>.scope"), podman
 * ("libpod-<id>.scope") as the first 12 hex digits of the id, like docker
 * ps; under Kubernetes the pod UID as "pod:<uid>", from
 * "kubepods-burstable-pod<uid with _ for ->.slice" (systemd driver) or
 * "/kubepods/burstable/pod<uid>/<id>" (cgroupfs driver). 0, or -ENOENT for
 * a process on the host. */
int owner_parse_cgroup_container(const char *buf, size_t len, char *out, size_t outlen);

/* SLURM_JOB_ID of a /proc/<pid>/environ text (NUL-separated "KEY=value"
 * entries) into job: 0, or -ENOENT when absent or not a decimal number. */
int owner_parse_environ_job(const char *buf, size_t len, char *job, size_t joblen);

/* The real uid (first field of "Uid:\t1000\t1000\t1000\t1000") of a
 * /proc/<pid>/status text. 0 or -EINVAL. */
int owner_parse_status_uid(const char *buf, size_t len, unsigned long *uid);

/* Read the owner of pid under root ("/proc", or a fixture tree): the user
 * from status (its name through getpwuid_r, so NSS/LDAP users resolve; the
 * number when there is none), the job from cgroup, else from environ
 * (unreadable for other users' processes: EACCES is normal and leaves the
 * job empty), the container from cgroup. scratch is a reusable buffer.
 * 0 (fields that could not be read stay ""), -ENOENT/-ESRCH when the
 * process is gone, or -ENOMEM. */
int owner_resolve(const char *root, long pid, struct owner *out, struct gw_buf *scratch);

/* The owner of e's process, read once per process and kept in e->who:
 * read again only when start (its start time, clock ticks after boot, as
 * --host reads it; 0 when not known) differs from the one it was read for,
 * i.e. the PID was reused. A process that is gone gets the empty owner.
 * *out points into the table (valid until the entry is swept). 0 or
 * -ENOMEM. */
int owner_get(const char *root, struct pid_entry *e, uint64_t start, struct gw_buf *scratch,
              const struct owner **out);

#endif
