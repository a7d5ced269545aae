/* `gpu_watch job`: the top level of the per-job report (job_cmd.c). */
#ifndef GPU_WATCH_JOB_CMD_H
#define GPU_WATCH_JOB_CMD_H

/* `gpu_watch job ...`; argv[0] is "job". Returns the exit status: 0, 1
 * when a log, the snapshot or the spool cannot be read or the report
 * cannot be written, 2 on bad usage. Prints. */
int job_main(int argc, char **argv);

/* The --help text of `gpu_watch job`. */
const char *job_help(void);

#endif
