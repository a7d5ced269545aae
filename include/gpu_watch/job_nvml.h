/* The driver's accounting records through NVML for `gpu_watch job`: unlike
 * nvidia-smi's, NVML's records carry the process's start time, so the job's
 * window is told without a prolog snapshot. The library is loaded with
 * dlopen in a child process that writes what it read into a pipe: an NVML
 * call can block inside the driver and cannot be cancelled, a child can be
 * killed (the epilog must end). */
#ifndef GPU_WATCH_JOB_NVML_H
#define GPU_WATCH_JOB_NVML_H

#include <stddef.h>

#include "gpu_watch/job.h"

/* The child's report, one line each (parsed by job_nvml_parse):
 *   gpu INDEX MINOR ACCT BUFFER UUID      (MINOR, BUFFER -1 unknown; ACCT 1, 0, -1)
 *   rec PID MAX_MIB TIME_MS START_US UUID (MAX_MIB -1 unknown; TIME_MS 0 running)
 *   err TEXT                              (the read failed: why) */

/* Read the GPUs (index, UUID, minor number, accounting mode and buffer
 * size) and every GPU's accounting records (nvmlDeviceGetAccountingPids,
 * then ...Stats for each), waiting at most timeout seconds for the child.
 * *gpus and *recs are malloc'd (free() them). 0, -ENOENT (no library),
 * -EIO (a call failed, or the child did not finish in time: why says), or
 * -ENOMEM. */
int job_nvml_read(double timeout, struct job_gpu_info **gpus, size_t *ngpus, struct job_rec **recs,
                  size_t *nrecs, char *why, size_t whylen);

/* Parse the child's report. 0, -EIO (an err line: its text in why),
 * -EINVAL (a malformed line), -ENOMEM. Pure. */
int job_nvml_parse(const char *buf, size_t len, struct job_gpu_info **gpus, size_t *ngpus,
                   struct job_rec **recs, size_t *nrecs, char *why, size_t whylen);

/* One nvmlAccountingStats_t (56 bytes: maxMemoryUsage @8 bytes, time @16
 * ms, startTime @24 us, isRunning @32) of pid on GPU uuid as a record:
 * peak MiB rounded down (0 and NVML_VALUE_NOT_AVAILABLE unknown), time 0
 * while running, start in seconds. Pure. */
void job_nvml_decode(const unsigned char *raw, const char *uuid, long pid, struct job_rec *out);

#endif
