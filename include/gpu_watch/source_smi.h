/* What source_smi.c offers besides its entry in the source table
 * (source.h): one read of the driver's accounting through nvidia-smi, apart
 * from any sampler: gpu_watch -- CMD reads it before the command starts and
 * once more after it ended (the records outlive the processes). */
#ifndef GPU_WATCH_SOURCE_SMI_H
#define GPU_WATCH_SOURCE_SMI_H

#include <stddef.h>

#include "gpu_watch/parse.h" /* struct gpu_list, struct acct_list */

/* What one read yields; zeroed is empty; free with smi_acct_free. */
struct smi_acct {
    struct gpu_list gpus;  /* index, UUID and accounting mode of each GPU */
    struct acct_list recs; /* the accounted-apps records; empty when no GPU has it on */
};

/* Ask nvidia-smi (smi, looked up in PATH; each call at most timeout
 * seconds) for the GPUs' accounting modes, then, when some GPU has
 * accounting on, for the accounting records. Returns 0, -ENOMEM, -ENOENT
 * (nvidia-smi not found), or -EIO when a query failed; why says why. */
int smi_acct_read(const char *smi, double timeout, struct smi_acct *out, char *why, size_t whylen);

void smi_acct_free(struct smi_acct *a);

#endif
