/* Reading gpu_watch's CSV logs back: a streaming parser of the three log
 * schemas, for `gpu_watch plot` and `gpu_watch summary`.
 *
 * Schemas, detected from the header line (column names, not positions):
 *   LOG_SAMPLER  timestamp,gpu_index,pid,cmd,gpu_mem_mib,sm_util_pct,mem_util_pct
 *   LOG_HOST     the same, then cpu_pct,cpu_cores,rss_mib,sys_used_mib
 *   (either of them may end in peak_mem_mib: gpu_watch --peaks, then in
 *   peak_rate_hz,mig_instance: --peak-rate, then in the --who columns
 *   user,job_id,container)
 *   LOG_COMPACT  timestamp,used_mib[,sys_used_mib][,cpu_cores][,cpu_pct]
 *                (one process; the optional columns in any order)
 * Records are RFC 4180 fields on one line: quoted fields may hold commas
 * and doubled quotes; a record ends at the newline, as gpu_watch writes
 * them (a quote still open at the line end makes that one row malformed);
 * CRLF line ends and a UTF-8 byte order mark are tolerated. An
 * empty field is an unknown value. A record with the wrong number of fields,
 * a bad timestamp, a non-numeric value or one out of its column's range (a
 * percentage over 100, memory over 1 PiB, any negative number) is skipped
 * and counted. A line over 1 MiB ends the reading: -EMSGSIZE. Blank lines
 * and repeats of the header (two logs concatenated) are skipped silently.
 *
 * Two layers: logread_parse_header/logread_parse_row (and logtime.h) are
 * pure (a buffer in, structs out); log_parser is a push parser fed with
 * arbitrary chunks (no I/O); logread_file does the reading. */
#ifndef GPU_WATCH_LOGREAD_H
#define GPU_WATCH_LOGREAD_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gpu_watch/buf.h"

enum log_schema {
    LOG_NONE = 0, /* no header read yet */
    LOG_SAMPLER,
    LOG_HOST,
    LOG_COMPACT,
};

/* Columns a log may have; bit (1u << col) in log_header.have. */
enum log_col {
    LOG_COL_TIMESTAMP,
    LOG_COL_GPU_INDEX,
    LOG_COL_PID,
    LOG_COL_CMD,
    LOG_COL_GPU_MEM_MIB, /* "used_mib" in LOG_COMPACT */
    LOG_COL_SM_UTIL_PCT,
    LOG_COL_MEM_UTIL_PCT,
    LOG_COL_CPU_PCT,
    LOG_COL_CPU_CORES,
    LOG_COL_RSS_MIB,
    LOG_COL_SYS_USED_MIB,
    LOG_COL_PEAK_MEM_MIB, /* --peaks: the driver's peak of the process on this GPU */
    LOG_COL_PEAK_RATE_HZ, /* --peak-rate: peak_mem_mib was sampled at this rate (empty: driver's) */
    LOG_COL_MIG_INSTANCE, /* --peak-rate: the MIG instance "GI/CI", text */
    LOG_COL_USER,         /* --who: text */
    LOG_COL_JOB_ID,
    LOG_COL_CONTAINER,
    LOG_COL_CONTAINER_PID, /* --who since the containers work: optional */
    LOG_NCOLS
};

#define LOG_MAX_FIELDS 24

/* The layout of one log, from its header. */
struct log_header {
    enum log_schema schema;
    unsigned have;              /* bit (1u << enum log_col) per column present */
    int nfields;                /* fields per record */
    int8_t col[LOG_MAX_FIELDS]; /* field i holds column col[i] (enum log_col) */
};

/* How a timestamp gave its zone. */
enum log_tz {
    LOG_TZ_LOCAL,  /* no suffix: the reader's local time (TZ) */
    LOG_TZ_UTC,    /* Z */
    LOG_TZ_OFFSET, /* +HH:MM, -HH:MM, +HHMM or +HH */
};

/* One record. A numeric value that is unknown (an empty field, or a column
 * the schema lacks) is NAN for the doubles (test with log_known) and -1 for
 * gpu and pid. In LOG_COMPACT logs, gpu and pid are -1, cmd is "" and
 * used_mib is in gpu_mem_mib. */
struct log_row {
    double ts;             /* seconds since the epoch (UTC); fractions kept */
    enum log_tz tz;        /* how the timestamp was written */
    long tz_off_s;         /* LOG_TZ_OFFSET: its offset, seconds east of UTC; else 0 */
    int gpu;               /* GPU index, -1 unknown */
    long pid;              /* -1 unknown */
    const char *cmd;       /* unquoted, NUL-terminated; "" unknown. Valid only
                              during the callback (points into the parser). */
    size_t cmd_len;        /* bytes in cmd */
    double gpu_mem_mib;    /* MiB */
    double sm_util_pct;    /* % of the GPU's SMs */
    double mem_util_pct;   /* % memory controller */
    double cpu_pct;        /* % of one core, as ps/top: 250 = 2.5 cores */
    const char *cpu_cores; /* the CPUs its threads ran on, "8/9/11" as written; "" unknown.
                              Valid only during the callback, like cmd. */
    size_t cpu_cores_len;
    const char *user; /* --who logs: the process's user, Slurm job and container;
                         "" unknown. Valid only during the callback, like cmd. */
    const char *job_id;
    const char *container;
    long container_pid;           /* --who: the PID in its own PID namespace; -1 unknown */
    double rss_mib;               /* MiB */
    double sys_used_mib;          /* MiB of host memory in use */
    double peak_mem_mib;          /* MiB: the driver's peak (--peaks logs) */
    double peak_rate_hz;          /* --peak-rate logs: peak_mem_mib is sampled at this rate */
    const char *mig_instance;     /* --peak-rate logs: "GI/CI"; "" off MIG. Valid only
                                     during the callback, like cmd. */
    unsigned long line;           /* line number of the record's first line, 1-based */
    const struct log_header *hdr; /* the log's layout; valid, like cmd,
                                     only during the callback */
};

static inline bool log_known(double v)
{
    return !isnan(v);
}

/* Parse a header line (without its line end; a trailing CR and a leading
 * UTF-8 BOM are ignored). 0, or -EPROTO when the columns match no schema. */
int logread_parse_header(const char *line, size_t len, struct log_header *h);

/* Parse one record (without its line end) of a log laid out as h. line is
 * modified: quoted fields are unquoted in place and fields NUL-terminated;
 * row->cmd points into it. 0, or -EINVAL for a malformed record. */
int logread_parse_row(const struct log_header *h, char *line, size_t len, struct log_row *row);

/* Called for each good record; a non-zero return stops the reading and is
 * returned by logread_feed/logread_finish/logread_file. */
typedef int (*log_row_fn)(const struct log_row *row, void *ctx);

/* Counts kept while reading. */
struct log_stats {
    unsigned long lines;          /* physical lines read */
    unsigned long rows;           /* good records passed to the callback */
    unsigned long bad;            /* malformed records skipped */
    unsigned long first_bad_line; /* line of the first of them, 0 if none */
    unsigned long long_line;      /* with -EMSGSIZE: the line over 1 MiB */
};

/* A push parser: give it the bytes of a log in chunks of any size. Zero it,
 * or use log_parser_init, before the first feed; free with log_parser_free. */
struct log_parser {
    struct log_header hdr; /* valid once hdr.schema != LOG_NONE */
    struct log_stats st;
    log_row_fn fn;
    void *ctx;
    struct gw_buf rec;      /* the record being assembled */
    unsigned char qstate;   /* CSV quoting state at the end of rec (logread.c) */
    bool overlong;          /* skipping the rest of an over-long record */
    unsigned long rec_line; /* line where rec started */
    size_t line_len;        /* bytes of the current physical line so far */
};

void log_parser_init(struct log_parser *p, log_row_fn fn, void *ctx);

/* Parse a chunk. 0, -EPROTO (the header matches no schema), -EMSGSIZE (a
 * line over 1 MiB: not a log; p->st.long_line says which), -ENOMEM, or the
 * callback's non-zero return. */
int logread_feed(struct log_parser *p, const char *data, size_t len);

/* End of input: parse a last record without a line end. 0, -ENODATA (the
 * input was empty: no header), -EPROTO, -ENOMEM or the callback's return.
 * A header without rows is not an error here: check p->st.rows. */
int logread_finish(struct log_parser *p);

void log_parser_free(struct log_parser *p);

/* Read the log at path ("-" is standard input) through fn. Fills *hdr and
 * *st (either may be NULL). 0, a negative errno from open/read (-ENOENT,
 * -EISDIR, ...), or as logread_finish. */
int logread_file(const char *path, log_row_fn fn, void *ctx, struct log_header *hdr,
                 struct log_stats *st);

/* logread_file on an open descriptor, read from its current offset to its
 * end; fd stays open. */
int logread_fd(int fd, log_row_fn fn, void *ctx, struct log_header *hdr, struct log_stats *st);

/* The name of a schema, for messages: "sampler", "sampler+host", "compact". */
const char *log_schema_name(enum log_schema s);

#endif
