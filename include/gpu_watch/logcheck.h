/* What plot and summary say about a log they could not read (or read only
 * in part): one place, so the two subcommands behave alike on a bad file.
 * This prints to stderr: it belongs to the subcommands' top level. */
#ifndef GPU_WATCH_LOGCHECK_H
#define GPU_WATCH_LOGCHECK_H

#include "gpu_watch/logread.h"

/* Report the outcome of logread_file on the log called name (its path, or
 * "standard input") for subcommand prog ("plot", "summary"). rc is
 * logread_file's result, cb_err the callback's own error (-ENOMEM or 0), and
 * doing says what is done with the good rows ("plotting", "summing up").
 * Prints one line for a problem and a warning for skipped rows. Returns 0
 * when there are rows to use, or 1 (the exit status for file problems). */
int logcheck_report(const char *prog, const char *name, int rc, int cb_err,
                    const struct log_stats *st, const char *doing);

#endif
