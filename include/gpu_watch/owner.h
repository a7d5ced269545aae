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

/* The Slurm job of a /proc/<pid>/cgroup text into job (NUL-terminated),
 * only where Slurm puts it, the first three components of the path:
 *   v1, any controller line:  "10:devices:/slurm/uid_2101171/job_280678/step_0/task_0"
 *                             "4:memory:/slurm_node07/uid_1000/job_42/step_batch"
 *   v2:                       "0::/system.slice/slurmstepd.scope/job_1392969/step_0/user/task_0"
 * never deeper (a user's delegated "user@UID.service/..." subtree may hold
 * any name). With dir (may be NULL), the job's directory below the cgroup
 * mount, for the check that root owns it: "system.slice/slurmstepd.scope/
 * job_1392969" (v2), "devices/slurm/uid_2101171/job_280678" (v1: the
 * controller list first, as the hierarchy is mounted). 0, or -ENOENT when
 * no line names a job (not under Slurm, or a Slurm 26.05 path built from a
 * SLUID: "/system.slice/slurmstepd.scope/s8FXKTA79XAR00/step_batch"). */
int owner_parse_cgroup_job(const char *buf, size_t len, char *job, size_t joblen, char *dir,
                           size_t dirlen);

/* The container of a /proc/<pid>/cgroup text into out (NUL-terminated):
 * Docker ("/docker/<id>", "docker-<id>.scope"), containerd
 * ("cri-containerd-<id>.scope"), CRI-O ("crio-<id>.scope"), podman
 * ("libpod-<id>.scope") as the first 12 hex digits of the id, like docker
 * ps; under Kubernetes the pod UID as "pod:<uid>", from
 * "kubepods-burstable-pod<uid with _ for ->.slice" (systemd driver) or
 * "/kubepods/burstable/pod<uid>/<id>" (cgroupfs driver); LXC/LXD
 * ("lxc.payload.<name>") as "lxc:<name>". 0, or -ENOENT for a process on
 * the host. */
int owner_parse_cgroup_container(const char *buf, size_t len, char *out, size_t outlen);

/* SLURM_JOB_ID of a /proc/<pid>/environ text (NUL-separated "KEY=value"
 * entries) into job: 0, or -ENOENT when absent or not a decimal number. */
int owner_parse_environ_job(const char *buf, size_t len, char *job, size_t joblen);

/* Apptainer/Singularity, which makes no cgroup and (by default) no PID
 * namespace of its own, from an environ text: APPTAINER_CONTAINER or
 * SINGULARITY_CONTAINER (the image's path) as "apptainer:<file name>".
 * 0 or -ENOENT. */
int owner_parse_environ_container(const char *buf, size_t len, char *out, size_t outlen);

/* enroot (and pyxis, which runs enroot under Slurm: containers named
 * "pyxis_<job>_<name>" or "pyxis_<job>.<step>"), which makes no cgroup and
 * no PID namespace: the name of the container's root directory, the root
 * (field 4) of the mount on "/" in a /proc/<pid>/mountinfo text, as
 * "enroot:<name>" (how `enroot list --fancy` finds it). 0, or -ENOENT when
 * "/" is the root of its file system. */
int owner_parse_mountinfo_root(const char *buf, size_t len, char *out, size_t outlen);

/* The NSpid line of a /proc/<pid>/status text ("NSpid:\t8120\t1": the PID
 * in each PID namespace from the reader's own inwards): the last field in
 * *inner, the number of fields in *levels. 0, -ENOENT (no such line: a
 * kernel before 4.1) or -EINVAL. */
int owner_parse_status_nspid(const char *buf, size_t len, long *inner, int *levels);

/* The real uid (first field of "Uid:\t1000\t1000\t1000\t1000") of a
 * /proc/<pid>/status text. 0 or -EINVAL. */
int owner_parse_status_uid(const char *buf, size_t len, unsigned long *uid);

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
