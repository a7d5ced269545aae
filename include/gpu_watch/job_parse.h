/* Text read and written by `gpu_watch job`: nvidia-smi -q (minor numbers
 * and accounting buffer sizes), Slurm's GPU list, and the prolog's
 * snapshot of the accounting records. Pure: buffers in, structs out. */
#ifndef GPU_WATCH_JOB_PARSE_H
#define GPU_WATCH_JOB_PARSE_H

#include <stddef.h>

#include "gpu_watch/buf.h"
#include "gpu_watch/job.h"
#include "gpu_watch/parse.h"

/* The largest GPU number accepted in a Slurm list (/dev/nvidiaN). */
#define JOB_MAX_MINOR 4095

/* Fill minor and buffer of the GPUs of gpus[0..n) (matched by UUID) from
 * `nvidia-smi -q` output, one section per GPU:
 *   GPU 00000000:18:00.0
 *       GPU UUID                          : GPU-8e5e...
 *       Minor Number                      : 2
 *       Accounting Mode Buffer Size       : 4000
 * 0, or -EINVAL when no section names a UUID. */
int job_parse_smi_q(const char *buf, size_t len, struct job_gpu_info *gpus, size_t n);

/* Parse SLURM_JOB_GPUS ("0", "0,2", "0-3,5") into out[0..cap): *n numbers,
 * each 0..JOB_MAX_MINOR, no repeats. 0 or -EINVAL (also when over cap). */
int job_parse_gpu_list(const char *s, int *out, size_t cap, size_t *n);

/* The prolog's snapshot file:
 *   # gpu_watch job snapshot 1
 *   taken=1764898200.125
 *   GPU-8e5e...,4242,1234,0
 * (uuid,pid,max MiB (empty unknown),time ms (empty unknown) per record).
 * Written by job_snapshot_format, read by job_parse_snapshot; *recs is
 * malloc'd (free() it), *taken s since the epoch. 0, -EINVAL, -ENOMEM. */
int job_snapshot_format(struct gw_buf *b, double taken, const struct job_rec *recs, size_t n);
int job_parse_snapshot(const char *buf, size_t len, double *taken, struct job_rec **recs,
                       size_t *n);

/* Records of nvidia-smi's accounted-apps list as job records (no start
 * time). *out is malloc'd (free() it). 0 or -ENOMEM. */
int job_recs_from_acct(const struct acct_list *a, struct job_rec **out, size_t *n);

#endif
