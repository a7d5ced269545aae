/* The pure parsers behind --who (owner_parse.c): a buffer and its length
 * in, no reading; owner.c does the reading. */
#ifndef GPU_WATCH_OWNER_PARSE_H
#define GPU_WATCH_OWNER_PARSE_H

#include <stddef.h>

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

#endif
