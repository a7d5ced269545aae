/* The `gpu_watch summary` command (summary_cmd.c). */
#ifndef GPU_WATCH_SUMMARY_CMD_H
#define GPU_WATCH_SUMMARY_CMD_H

/* `gpu_watch summary LOG.csv [--format F]`; argv[0] is "summary". Returns
 * the exit status: 0, 1 when the log cannot be read or holds no data, 2 on
 * bad usage. Prints. */
int summary_main(int argc, char **argv);

/* The --help text of `gpu_watch summary`. */
const char *summary_help(void);

#endif
