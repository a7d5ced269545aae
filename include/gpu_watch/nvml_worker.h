/* The NVML source's worker thread (nvml_worker.c), used by source_nvml.c
 * only; the state it shares is in nvml_state.h (types only). */
#ifndef GPU_WATCH_NVML_WORKER_H
#define GPU_WATCH_NVML_WORKER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "gpu_watch/nvml_state.h"

/* NVML's message for rc (or ours for NV_NO_MEMORY); static storage. */
const char *nvml_error(const struct nvml *s, nv_ret rc);

/* The worker thread: runs the jobs handed over by nvml_give (arg: the state). */
void *nvml_worker(void *arg);

/* The entry of pid in v[0..n), or NULL. */
const struct pname *nvml_name_in(const struct pname *v, size_t n, uint32_t pid);

/* Hand job j to the worker. */
void nvml_give(struct nvml *s, enum job j);

/* Wait for the job handed over, at most limit seconds, checking *cancel:
 * 0 done, -ETIMEDOUT (the worker is left behind: s->stuck), -ECANCELED. */
int nvml_wait(struct nvml *s, double limit, const volatile sig_atomic_t *cancel);

#endif
