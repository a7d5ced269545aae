/* What the subcommands `gpu_watch plot` and `gpu_watch summary` share at
 * the top level: exit statuses, the usage error, the terminal width,
 * writing standard output and writing a file safely. These print (only
 * where said) because they are the top level. */
#ifndef GPU_WATCH_SUBCMD_H
#define GPU_WATCH_SUBCMD_H

#include <stdbool.h>
#include <stddef.h>

#include "gpu_watch/logread.h"

/* Exit statuses of the subcommands. */
enum {
    SUBCMD_OK = 0,
    SUBCMD_EXIT_FILE = 1,  /* the log cannot be read, holds no data, or output failed */
    SUBCMD_EXIT_USAGE = 2, /* bad usage */
};

/* Print "gpu_watch CMD: <fmt with arg> (see gpu_watch CMD --help)" on
 * stderr; returns SUBCMD_EXIT_USAGE. */
int subcmd_usage_error(const char *cmd, const char *fmt, const char *arg);

/* Columns of the terminal on standard output, or 0 when it is not one. */
int subcmd_term_width(void);

/* The width a text summary on fd is fitted into: the terminal's columns
 * when fd is one, else $COLUMNS when it holds 40 to 1000, else 0: not a
 * terminal, whole lines (a file, a pipe, Slurm's job output, the journal). */
int subcmd_text_width(int fd);

/* Write n bytes to standard output and flush; on failure print "gpu_watch
 * CMD: cannot write to standard output: ..." (not for EPIPE: the reader
 * left). SUBCMD_OK or SUBCMD_EXIT_FILE. */
int subcmd_write_stdout(const char *cmd, const void *p, size_t n);

/* Replace path with n bytes of p, never leaving a partial file: write to a
 * temporary file in the same directory, fsync, rename over path. On any
 * failure the old file is untouched and the temporary one removed.
 * SIGXFSZ is ignored for good so that a file-size limit is an EFBIG here,
 * not a silent death. 0 or a negative errno (-EFBIG, -ENOSPC, -EACCES...).
 * Does not print. */
int subcmd_write_file(const char *path, const void *p, size_t n);

/* Show times from here on in the zone a log's timestamps were written in:
 * UTC for Z logs, the fixed offset (no DST) for +HH:MM logs, by setting TZ
 * for this process; local logs keep the local zone. Call after the log is
 * read: naive timestamps are parsed in the local zone. */
void subcmd_show_in_zone(enum log_tz tz, long off_s);

#endif
