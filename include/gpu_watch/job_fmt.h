/* Writing a job's report (job.h): text for people, JSON for scripts (its
 * fields are listed in README.md, "Per-job answers"; schema
 * "gpu_watch-job/1": fields are added, never renamed or removed), and one
 * compact line for Slurm's AdminComment. Pure: into a gw_buf. */
#ifndef GPU_WATCH_JOB_FMT_H
#define GPU_WATCH_JOB_FMT_H

#include "gpu_watch/buf.h"
#include "gpu_watch/job.h"

enum job_format { JOB_TEXT, JOB_JSON, JOB_COMPACT };

/* "text", "json", "compact". 0 or -EINVAL. */
int job_parse_format(const char *name, enum job_format *out);

/* Where the figures came from, for the report's header. */
struct job_fmt_info {
    const char *host;         /* the node's name; "" unknown */
    const char *start_source; /* "option", "snapshot", "log" (the first sample), "none" */
    const char *acct_reader;  /* "nvidia-smi", or "none" */
};

/* Append j in format f to b. 0 or -ENOMEM. Times are UTC. */
int job_format(const struct job *j, const struct job_fmt_info *info, enum job_format f,
               struct gw_buf *b);

#endif
