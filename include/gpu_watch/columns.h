/* The CSV columns: one static const table, one row per column, with its
 * name, the option that turns it on, how csv.c writes a sample's value, how
 * logread.c reads it back, and where the summary and the Prometheus
 * exposition use it. The header line, the --append check, the "not a
 * gpu_watch log" message, the rows and the column lists of --help are all
 * made from it.
 *
 * Adding a column: one row in columns.c (with its writer there), a field of
 * struct sample_row (sampler.h) filled by a pipeline step, and, to read it
 * back, a field of struct log_row and an enum log_col entry (logread.h). */
#ifndef GPU_WATCH_COLUMNS_H
#define GPU_WATCH_COLUMNS_H

#include <stdbool.h>
#include <stddef.h>

#include "gpu_watch/buf.h"
#include "gpu_watch/logread.h"
#include "gpu_watch/sampler.h"

/* The option that turns a column on; bit (1u << group) of a column set. */
enum col_group {
    COL_BASE,    /* always (the sampler's schema) */
    COL_HOST,    /* --host */
    COL_PEAKS,   /* --peaks, or --peak-rate (which implies it) */
    COL_DENSE,   /* --peak-rate */
    COL_WHO,     /* --who */
    COL_COMPACT, /* --compact: a schema of its own (the old gpu_watch.sh) */
    COL_NGROUPS
};

#define COL_SET(g) (1u << (g))

/* How logread_parse_row stores a field in struct log_row. */
enum col_read {
    COL_READ_TIME,   /* the timestamp: ts, tz and tz_off_s */
    COL_READ_TEXT,   /* const char * at off, its length at len_off (when not 0) */
    COL_READ_DOUBLE, /* a number at off, NAN when empty */
    COL_READ_LONG,   /* a whole number at off (long), -1 when empty */
    COL_READ_INT,    /* a whole number at off (int), -1 when empty */
};

/* Append a sample's value of the column to b (nothing for an unknown
 * value); ts is the sample's timestamp, r the row (NULL for --compact's one
 * row, which reads smp). Errors are kept in b (buf_error). */
typedef void (*col_write_fn)(struct gw_buf *b, const char *ts, const struct sample *smp,
                             const struct sample_row *r);

struct column {
    const char *name;     /* in the header line */
    enum col_group group; /* the option that turns it on */
    enum log_col log;     /* logread's id: the same value reads the same field */
    col_write_fn write;   /* csv.c: the value of a row */
    enum col_read read;   /* logread.c: where the value goes */
    size_t off;           /* offsetof(struct log_row, field) */
    size_t len_off;       /* COL_READ_TEXT: offsetof of its length; 0 none */
    double max;           /* numbers: the largest valid value (all are >= 0) */
    bool optional;        /* logread: older logs of its group may lack it */
    const char *used_by;  /* where plot, summary and Prometheus use it */
};

/* The table: first the sampler's columns in the order of the header (the
 * row of enum log_col c is columns[c]), then --compact's. */
extern const struct column columns[];
extern const size_t columns_n;

/* Rows in the table at most (test_columns checks columns_n). */
#define COLUMNS_MAX 32

/* The set of the sampler's columns for these options. */
unsigned columns_set(bool host, bool peaks, bool dense, bool who);

/* Append the names of the columns in set, in the table's order, joined by
 * commas, with a comma first when lead. Errors are kept in b. */
void columns_names(struct gw_buf *b, unsigned set, bool lead);

/* The header line of the columns in set (no newline, NUL-terminated) into
 * dst, at most len bytes with the NUL. 0, or -ENAMETOOLONG when it does not
 * fit. */
int columns_header(char *dst, size_t len, unsigned set);

/* The row of the first column named name (len bytes) in set, or NULL. */
const struct column *columns_find(const char *name, size_t len, unsigned set);

#endif
