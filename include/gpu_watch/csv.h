/* Writing the CSV log: RFC 4180 fields, one write(2) per sample on an
 * O_APPEND descriptor, and the header rules for new and appended files. */
#ifndef GPU_WATCH_CSV_H
#define GPU_WATCH_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <time.h>

#include "gpu_watch/buf.h"
#include "gpu_watch/safefile.h"
#include "gpu_watch/sampler.h"

/* The headers as literals, for the tests and fuzzers that build logs. The
 * program makes its headers from the column table (columns.h); csv_header
 * does too, and test_csv checks that the two agree. The sampler's header,
 * the same with --host, with --peaks (peak_mem_mib last, after the --host
 * columns), and --compact's (the format of the old gpu_watch.sh logger). */
#define CSV_HEADER            "timestamp,gpu_index,pid,cmd,gpu_mem_mib,sm_util_pct,mem_util_pct"
#define CSV_HEADER_HOST       CSV_HEADER ",cpu_pct,cpu_cores,rss_mib,sys_used_mib"
#define CSV_HEADER_PEAKS      CSV_HEADER ",peak_mem_mib"
#define CSV_HEADER_HOST_PEAKS CSV_HEADER_HOST ",peak_mem_mib"
#define CSV_HEADER_COMPACT    "timestamp,used_mib,sys_used_mib,cpu_cores,cpu_pct"
/* The --who columns, after all the other optional ones (columns.h). */
#define CSV_WHO_COLUMNS ",user,job_id,container,container_pid"

/* The sampler's header for these columns, from the column table (without
 * the --peak-rate and --who columns): a static string. */
const char *csv_header(bool host, bool peaks);

/* A timestamp of the log into dst (at most len bytes):
 * "2025-01-10T14:22:30" in local time, or "...Z" in UTC; with ms,
 * "2025-01-10T14:22:30.250"; with offset (--tz-offset, --compact), the UTC
 * offset instead of any Z: "2025-01-10T14:22:30.250+01:00". */
void csv_format_time(char *dst, size_t len, const struct timespec *t, bool utc, bool offset,
                     bool ms);

/* Append one field to b, quoted when it holds a comma, a double quote, or
 * a leading or trailing space (quotes doubled). Control characters (newline,
 * tab, CR, ...) are written as a space, as ps does, so a record is always one
 * line. 0 or -ENOMEM. */
int csv_field(struct gw_buf *b, const char *s, size_t len);

/* Append a number field, or an empty field when v < 0 (unknown). */
int csv_int(struct gw_buf *b, int64_t v);

/* Append the rows of one sample, each stamped with ts, one line each: the
 * columns of the table (columns.h) that are on: with host, the --host ones;
 * with peaks, peak_mem_mib (empty when unknown); with smp->dense the
 * --peak-rate ones; when the sample carries owners (smp->who), the --who
 * ones. 0 or -ENOMEM. */
int csv_sample_rows(struct gw_buf *b, const char *ts, const struct sample *smp, bool host,
                    bool peaks);

/* Append the --compact row of one sample (its watched process). 0 or -ENOMEM. */
int csv_compact_row(struct gw_buf *b, const char *ts, const struct sample *smp);

/* An open CSV output. */
struct csv_out {
    int fd;                            /* -1 when closed */
    bool is_stdout;                    /* path "-": fd 1, never closed or reopened */
    bool regular;                      /* a regular file: fdatasync applies */
    const char *path;                  /* as given (after ~ expansion); not owned */
    const char *header;                /* the header line without newline; not owned */
    bool sock;                         /* fd is a socket: written with MSG_DONTWAIT */
    const volatile sig_atomic_t *stop; /* set by a signal: a stalled write gives up */
    struct safefile_lock lock;         /* held from csv_open to csv_close */
};

/* How long csv_open waits for another process's lock on the log (s):
 * enough for a cron run that ends as the next starts, then a refusal. */
#define CSV_LOCK_WAIT_S 2.0

enum csv_open_mode {
    CSV_NEW,    /* refuse an existing non-empty file */
    CSV_FORCE,  /* truncate an existing file */
    CSV_APPEND, /* append; the existing header must equal ours */
};

/* Open path for writing rows with the given header, following mode. The
 * path is opened as safefile.h says (no untrusted link, no FIFO or device of
 * another user, no hang on a FIFO nobody reads), and a regular file is
 * locked for the whole run (a lock file "<path>.lock" only we can open,
 * CSV_LOCK_WAIT_S at most). Writes the header when the file is new or empty,
 * and a newline first when an appended file's last line lacks one; a file
 * that holds only this header counts as empty. Writes give up when *stop
 * is set (stop may be NULL). Returns 0, or:
 *   -EEXIST   CSV_NEW and the file exists and is not empty
 *   -EPROTO   CSV_APPEND and the file's first line is not our header
 *   SAFEFILE_EBUSY  another process holds the lock
 *   -EINTR    *stop was set while waiting
 *   other     a negative errno from open/read/write (not writable, ...) or
 *             one of safefile.h's refusals (safefile_strerror) */
int csv_open(struct csv_out *o, const char *path, const char *header, enum csv_open_mode mode,
             const volatile sig_atomic_t *stop);

/* Write rows (whole lines, each ending in '\n') in one write(2) (in more
 * only to a reader that stalls: the wait ends with -EINTR once *o->stop is
 * set). A write that fails part way is undone (the partial tail truncated)
 * when nothing else was appended after it. 0 or a negative errno (-EPIPE,
 * -ENOSPC, -EINTR, ...). */
int csv_write(struct csv_out *o, const char *rows, size_t len);

/* Flush rows to the disk (fdatasync) for regular files. 0 or -errno. */
int csv_sync(struct csv_out *o);

/* Close and reopen the path in append mode (after logrotate moved it);
 * a new file gets the header. The lock file stays held; a lock on the old
 * file itself (no lock file) moves to the new one. On failure the old
 * descriptor is kept. */
int csv_reopen(struct csv_out *o);

/* Whether the log was deleted while open (rm, its directory removed): if
 * so, reopen the path (a new file with the header) and return 1; 0 when it
 * is still in place (or not a regular file); a negative errno when it was
 * deleted and cannot be created again (-ENOENT: the directory is gone). */
int csv_check(struct csv_out *o);

/* Close and release the lock; returns 0 or the negative errno of close(2). */
int csv_close(struct csv_out *o);

#endif
