/* Reading gpu_watch's CSV logs: header detection, RFC 4180 records,
 * timestamps, and the streaming reader. */
#include "gpu_watch/logread.h"
#include "gpu_watch/logtime.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gpu_watch/valid.h"

/* A record longer than this is no gpu_watch row (the writer caps command
 * lines at TEXT_CMD_MAX): it is skipped and counted instead of buffered.
 * Bytes. */
#define LOG_MAX_RECORD (64 * 1024)

/* A physical line longer than this is no log line at all (a binary file,
 * /dev/zero): the reading stops with -EMSGSIZE instead of skipping to a
 * line end that may never come. Bytes. */
#define LOG_MAX_LINE (1024 * 1024)

/* Read size for logread_file, bytes. */
#define LOG_CHUNK (256 * 1024)

static const char *const col_names[LOG_NCOLS] = {
    [LOG_COL_TIMESTAMP] = "timestamp",
    [LOG_COL_GPU_INDEX] = "gpu_index",
    [LOG_COL_PID] = "pid",
    [LOG_COL_CMD] = "cmd",
    [LOG_COL_GPU_MEM_MIB] = "gpu_mem_mib",
    [LOG_COL_SM_UTIL_PCT] = "sm_util_pct",
    [LOG_COL_MEM_UTIL_PCT] = "mem_util_pct",
    [LOG_COL_CPU_PCT] = "cpu_pct",
    [LOG_COL_CPU_CORES] = "cpu_cores",
    [LOG_COL_RSS_MIB] = "rss_mib",
    [LOG_COL_SYS_USED_MIB] = "sys_used_mib",
    [LOG_COL_PEAK_MEM_MIB] = "peak_mem_mib",
    [LOG_COL_PEAK_RATE_HZ] = "peak_rate_hz",
    [LOG_COL_MIG_INSTANCE] = "mig_instance",
    [LOG_COL_USER] = "user",
    [LOG_COL_JOB_ID] = "job_id",
    [LOG_COL_CONTAINER] = "container",
    [LOG_COL_CONTAINER_PID] = "container_pid",
};

#define BIT(c) (1u << (c))
#define SAMPLER_COLS                                                                               \
    (BIT(LOG_COL_TIMESTAMP) | BIT(LOG_COL_GPU_INDEX) | BIT(LOG_COL_PID) | BIT(LOG_COL_CMD) |       \
     BIT(LOG_COL_GPU_MEM_MIB) | BIT(LOG_COL_SM_UTIL_PCT) | BIT(LOG_COL_MEM_UTIL_PCT))
#define HOST_COLS                                                                                  \
    (BIT(LOG_COL_CPU_PCT) | BIT(LOG_COL_CPU_CORES) | BIT(LOG_COL_RSS_MIB) |                        \
     BIT(LOG_COL_SYS_USED_MIB))
/* --who: all three or none, after the others; container_pid (logs written
 * since it was added) only with them. */
#define WHO_COLS         (BIT(LOG_COL_USER) | BIT(LOG_COL_JOB_ID) | BIT(LOG_COL_CONTAINER))
#define WHO_COLS_ALL     (WHO_COLS | BIT(LOG_COL_CONTAINER_PID))
#define COMPACT_OPTIONAL (BIT(LOG_COL_SYS_USED_MIB) | BIT(LOG_COL_CPU_CORES) | BIT(LOG_COL_CPU_PCT))
/* --peak-rate: both, with peak_mem_mib. */
#define DENSE_COLS (BIT(LOG_COL_PEAK_RATE_HZ) | BIT(LOG_COL_MIG_INSTANCE))

const char *log_schema_name(enum log_schema s)
{
    switch (s) {
    case LOG_SAMPLER:
        return "sampler";
    case LOG_HOST:
        return "sampler+host";
    case LOG_COMPACT:
        return "compact";
    case LOG_NONE:
        break;
    }
    return "none";
}

/* Split line into fields, unquoting in place and NUL-terminating each;
 * line[len] must be writable. Returns the number of fields, or -EINVAL for
 * an unterminated quote, text after a closing quote, or too many fields. */
static int split_fields(char *line, size_t len, char **f, size_t *flen, int max)
{
    char *p = line, *end = line + len;
    int n = 0;
    for (;;) {
        if (n == max)
            return -EINVAL;
        char *start = p, *w = p;
        if (p < end && *p == '"') {
            p++;
            for (;;) {
                if (p >= end)
                    return -EINVAL;
                if (*p == '"') {
                    if (p + 1 < end && p[1] == '"') {
                        *w++ = '"';
                        p += 2;
                        continue;
                    }
                    p++;
                    break;
                }
                *w++ = *p++;
            }
            if (p < end && *p != ',')
                return -EINVAL;
        } else {
            while (p < end && *p != ',')
                p++;
            w = p;
        }
        f[n] = start;
        flen[n] = (size_t)(w - start);
        n++;
        bool last = p >= end;
        *w = '\0';
        if (last)
            return n;
        p++; /* past the comma */
    }
}

int logread_parse_header(const char *line, size_t len, struct log_header *h)
{
    memset(h, 0, sizeof *h);
    if (len >= 3 && memcmp(line, "\xef\xbb\xbf", 3) == 0) {
        line += 3;
        len -= 3;
    }
    while (len && (line[len - 1] == '\r' || line[len - 1] == '\n'))
        len--;
    char copy[512];
    if (len >= sizeof copy)
        return -EPROTO;
    memcpy(copy, line, len);
    copy[len] = '\0';
    char *f[LOG_MAX_FIELDS];
    size_t fl[LOG_MAX_FIELDS];
    int n = split_fields(copy, len, f, fl, LOG_MAX_FIELDS);
    if (n < 2)
        return -EPROTO;
    bool used_mib = false, gpu_mem_mib = false;
    for (int i = 0; i < n; i++) {
        /* Tolerate spaces around names ("timestamp, used_mib"). */
        char *s = f[i];
        size_t l = fl[i];
        while (l && (*s == ' ' || *s == '\t'))
            s++, l--;
        while (l && (s[l - 1] == ' ' || s[l - 1] == '\t'))
            l--;
        int c = -1;
        if (l == 8 && memcmp(s, "used_mib", 8) == 0) {
            c = LOG_COL_GPU_MEM_MIB;
            used_mib = true;
        } else {
            for (int k = 0; k < LOG_NCOLS; k++)
                if (strlen(col_names[k]) == l && memcmp(s, col_names[k], l) == 0)
                    c = k;
            if (c == LOG_COL_GPU_MEM_MIB)
                gpu_mem_mib = true;
        }
        if (c < 0 || (h->have & BIT(c)))
            return -EPROTO;
        h->have |= BIT((unsigned)c);
        h->col[i] = (int8_t)c;
    }
    h->nfields = n;
    if (h->col[0] != LOG_COL_TIMESTAMP)
        return -EPROTO;
    unsigned who = h->have & WHO_COLS_ALL;
    if (who && who != WHO_COLS && who != WHO_COLS_ALL)
        return -EPROTO;
    /* --peaks adds peak_mem_mib, --peak-rate peak_rate_hz and mig_instance,
     * --who its columns, to either sampler schema. */
    unsigned dense = h->have & DENSE_COLS;
    if (dense && (dense != DENSE_COLS || !(h->have & BIT(LOG_COL_PEAK_MEM_MIB))))
        return -EPROTO;
    unsigned base = h->have & ~(WHO_COLS_ALL | DENSE_COLS | BIT(LOG_COL_PEAK_MEM_MIB));
    if (gpu_mem_mib && base == SAMPLER_COLS)
        h->schema = LOG_SAMPLER;
    else if (gpu_mem_mib && base == (SAMPLER_COLS | HOST_COLS))
        h->schema = LOG_HOST;
    else if (used_mib && h->col[1] == LOG_COL_GPU_MEM_MIB &&
             (h->have & ~(BIT(LOG_COL_TIMESTAMP) | BIT(LOG_COL_GPU_MEM_MIB) | COMPACT_OPTIONAL)) ==
                 0)
        h->schema = LOG_COMPACT;
    else
        return -EPROTO;
    return 0;
}

/* The largest possible value per numeric column (all are >= 0): a GPU
 * index, a PID (PID_MAX_LIMIT), MiB up to 1 PiB, utilization to 100 %, CPU %
 * of one core up to 4096 cores. */
static const double col_max[LOG_NCOLS] = {
    [LOG_COL_GPU_INDEX] = 1e6,
    [LOG_COL_PID] = 4194304.0 * 1024,
    [LOG_COL_GPU_MEM_MIB] = GW_VALID_MAX_MIB,
    [LOG_COL_SM_UTIL_PCT] = GW_VALID_MAX_PCT,
    [LOG_COL_MEM_UTIL_PCT] = GW_VALID_MAX_PCT,
    [LOG_COL_CPU_PCT] = 409600,
    [LOG_COL_RSS_MIB] = GW_VALID_MAX_MIB,
    [LOG_COL_SYS_USED_MIB] = GW_VALID_MAX_MIB,
    [LOG_COL_PEAK_MEM_MIB] = GW_VALID_MAX_MIB,
    [LOG_COL_CONTAINER_PID] = 4194304.0,
    [LOG_COL_PEAK_RATE_HZ] = 1000,
};

/* A non-negative decimal number ("1642", "12.5", " 3 "); empty is unknown
 * (NAN). -EINVAL for anything else. */
static int parse_num(const char *s, size_t len, double *out)
{
    const char *end = s + len;
    while (s < end && *s == ' ')
        s++;
    while (end > s && end[-1] == ' ')
        end--;
    if (s == end) {
        *out = NAN;
        return 0;
    }
    double v = 0;
    const char *d0 = s;
    while (s < end && *s >= '0' && *s <= '9')
        v = v * 10 + (*s++ - '0');
    bool any = s > d0;
    if (s < end && *s == '.') {
        s++;
        double scale = 0.1;
        while (s < end && *s >= '0' && *s <= '9') {
            v += (*s++ - '0') * scale;
            scale /= 10;
            any = true;
        }
    }
    if (!any || s != end)
        return -EINVAL;
    *out = v;
    return 0;
}

/* Every field of row unknown (row->hdr: h). */
static void row_clear(const struct log_header *h, struct log_row *row)
{
    row->ts = NAN;
    row->tz = LOG_TZ_LOCAL;
    row->tz_off_s = 0;
    row->hdr = h;
    row->gpu = -1;
    row->pid = -1;
    row->cmd = "";
    row->cmd_len = 0;
    row->gpu_mem_mib = row->sm_util_pct = row->mem_util_pct = NAN;
    row->cpu_pct = row->rss_mib = row->sys_used_mib = row->peak_mem_mib = NAN;
    row->peak_rate_hz = NAN;
    row->mig_instance = "";
    row->cpu_cores = "";
    row->cpu_cores_len = 0;
    row->user = row->job_id = row->container = "";
    row->container_pid = -1;
}

/* A numeric column's value v (NAN: unknown) into row. 0, or -EINVAL for
 * a GPU index or PID that is not a whole number. */
static int set_number(struct log_row *row, enum log_col col, double v)
{
    switch (col) {
    case LOG_COL_GPU_INDEX:
        /* Range first: converting 2e22 to int is undefined. */
        if (log_known(v) && v != (int)v)
            return -EINVAL;
        row->gpu = log_known(v) ? (int)v : -1;
        break;
    case LOG_COL_PID:
        if (log_known(v) && v != (long)v)
            return -EINVAL;
        row->pid = log_known(v) ? (long)v : -1;
        break;
    case LOG_COL_GPU_MEM_MIB:
        row->gpu_mem_mib = v;
        break;
    case LOG_COL_SM_UTIL_PCT:
        row->sm_util_pct = v;
        break;
    case LOG_COL_MEM_UTIL_PCT:
        row->mem_util_pct = v;
        break;
    case LOG_COL_CPU_PCT:
        row->cpu_pct = v;
        break;
    case LOG_COL_RSS_MIB:
        row->rss_mib = v;
        break;
    case LOG_COL_SYS_USED_MIB:
        row->sys_used_mib = v;
        break;
    case LOG_COL_PEAK_MEM_MIB:
        row->peak_mem_mib = v;
        break;
    case LOG_COL_CONTAINER_PID:
        if (log_known(v) && v != (long)v)
            return -EINVAL;
        row->container_pid = log_known(v) ? (long)v : -1;
        break;
    case LOG_COL_PEAK_RATE_HZ:
        row->peak_rate_hz = v;
        break;
    default:
        break;
    }
    return 0;
}

int logread_parse_row(const struct log_header *h, char *line, size_t len, struct log_row *row)
{
    char *f[LOG_MAX_FIELDS];
    size_t fl[LOG_MAX_FIELDS];
    int n = split_fields(line, len, f, fl, LOG_MAX_FIELDS);
    if (n != h->nfields)
        return -EINVAL;
    row_clear(h, row);
    for (int i = 0; i < n; i++) {
        double v = NAN;
        switch ((enum log_col)h->col[i]) {
        case LOG_COL_TIMESTAMP:
            if (logread_parse_time_off(f[i], fl[i], &row->ts, &row->tz, &row->tz_off_s) < 0)
                return -EINVAL;
            continue;
        case LOG_COL_CMD:
            row->cmd = f[i];
            row->cmd_len = fl[i];
            continue;
        case LOG_COL_CPU_CORES: /* a list of CPU numbers, "8/9/11": text */
            row->cpu_cores = f[i];
            row->cpu_cores_len = fl[i];
            continue;
        case LOG_COL_USER:
            row->user = f[i];
            continue;
        case LOG_COL_JOB_ID:
            row->job_id = f[i];
            continue;
        case LOG_COL_CONTAINER:
            row->container = f[i];
            continue;
        case LOG_COL_MIG_INSTANCE:
            row->mig_instance = f[i];
            continue;
        default:
            break;
        }
        /* One rule for impossible values: out of its column's range, a
         * value makes the row malformed, like one that is not a number. */
        if (parse_num(f[i], fl[i], &v) < 0 || (log_known(v) && v > col_max[h->col[i]]))
            return -EINVAL;
        if (set_number(row, (enum log_col)h->col[i], v) < 0)
            return -EINVAL;
    }
    return 0;
}

void log_parser_init(struct log_parser *p, log_row_fn fn, void *ctx)
{
    memset(p, 0, sizeof *p);
    p->fn = fn;
    p->ctx = ctx;
    p->rec_line = 1;
}

void log_parser_free(struct log_parser *p)
{
    buf_free(&p->rec);
}

/* A whole record is in p->rec (without its '\n'). */
static int handle_record(struct log_parser *p)
{
    char *s = p->rec.p;
    size_t n = p->rec.len;
    if (n && s[n - 1] == '\r')
        n--;
    size_t blank = 0;
    while (blank < n && (s[blank] == ' ' || s[blank] == '\t' || s[blank] == '\r'))
        blank++;
    if (blank == n)
        return 0;
    if (p->hdr.schema == LOG_NONE)
        return logread_parse_header(s, n, &p->hdr) < 0 ? -EPROTO : 0;
    /* The header again: two logs concatenated. */
    if (n >= 9 && memcmp(s, "timestamp", 9) == 0 && (n == 9 || s[9] == ','))
        return 0;
    s[n] = '\0';
    struct log_row row;
    if (logread_parse_row(&p->hdr, s, n, &row) < 0) {
        if (!p->st.bad)
            p->st.first_bad_line = p->rec_line;
        p->st.bad++;
        return 0;
    }
    row.line = p->rec_line;
    p->st.rows++;
    return p->fn ? p->fn(&row, p->ctx) : 0;
}

/* Quoting states of a record being scanned. */
enum { Q_START, Q_UNQUOTED, Q_QUOTED, Q_QUOTE_IN_QUOTED };

/* Advance the quoting state over [s, s+n). A quote opens a quoted field only
 * at the start of a field, so a stray quote inside an unquoted cell cannot
 * swallow the following lines. */
static unsigned char scan_quotes(const char *s, size_t n, unsigned char st)
{
    if (st != Q_QUOTED && st != Q_QUOTE_IN_QUOTED && !memchr(s, '"', n)) {
        /* The common case: no quote at all. Only the end state matters. */
        if (n == 0)
            return st;
        return s[n - 1] == ',' ? Q_START : Q_UNQUOTED;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        switch (st) {
        case Q_START:
            st = c == '"' ? Q_QUOTED : c == ',' ? Q_START : Q_UNQUOTED;
            break;
        case Q_UNQUOTED:
            if (c == ',')
                st = Q_START;
            break;
        case Q_QUOTED:
            if (c == '"')
                st = Q_QUOTE_IN_QUOTED;
            break;
        default: /* Q_QUOTE_IN_QUOTED: a doubled quote, or the field's end */
            st = c == '"' ? Q_QUOTED : c == ',' ? Q_START : Q_UNQUOTED;
            break;
        }
    }
    return st;
}

int logread_feed(struct log_parser *p, const char *data, size_t len)
{
    const char *end = data + len;
    while (data < end) {
        const char *nl = memchr(data, '\n', (size_t)(end - data));
        size_t seg = nl ? (size_t)(nl - data) : (size_t)(end - data);
        p->line_len += seg;
        if (p->line_len > LOG_MAX_LINE) {
            p->st.long_line = p->st.lines + 1;
            return -EMSGSIZE;
        }
        p->qstate = scan_quotes(data, seg, p->qstate);
        int rc = 0;
        if (!p->overlong && p->rec.len + seg > LOG_MAX_RECORD) {
            /* Not a log line (a binary file, a runaway quote): skip to the
             * next line end instead of buffering it. */
            if (!p->st.bad)
                p->st.first_bad_line = p->rec_line;
            p->st.bad++;
            p->overlong = true;
            buf_clear(&p->rec);
        }
        if (!p->overlong && (rc = buf_append(&p->rec, data, seg)))
            return rc;
        if (!nl)
            break;
        data = nl + 1;
        p->st.lines++;
        p->line_len = 0;
        if (p->overlong) {
            p->overlong = false;
            p->qstate = Q_START;
            buf_clear(&p->rec);
            p->rec_line = p->st.lines + 1;
            continue;
        }
        if (p->qstate == Q_QUOTED) {
            /* A record ends at the newline: gpu_watch never writes one
             * inside a field (csv_field), and a line cut inside a quoted
             * field (a crash, then --append) must cost that one row, not
             * the rows that follow. Count it and resynchronise here. */
            if (!p->st.bad)
                p->st.first_bad_line = p->rec_line;
            p->st.bad++;
        } else if ((rc = handle_record(p))) {
            return rc;
        }
        p->qstate = Q_START;
        buf_clear(&p->rec);
        p->rec_line = p->st.lines + 1;
    }
    return 0;
}

int logread_finish(struct log_parser *p)
{
    int rc = 0;
    p->overlong = false;
    if (p->rec.len) {
        p->st.lines++;
        if (p->qstate == Q_QUOTED) {
            if (!p->st.bad)
                p->st.first_bad_line = p->rec_line;
            p->st.bad++;
        } else {
            rc = handle_record(p);
        }
        buf_clear(&p->rec);
        p->qstate = Q_START;
    }
    if (rc == 0 && p->hdr.schema == LOG_NONE)
        rc = -ENODATA;
    return rc;
}

int logread_file(const char *path, log_row_fn fn, void *ctx, struct log_header *hdr,
                 struct log_stats *st)
{
    bool is_stdin = strcmp(path, "-") == 0;
    int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = logread_fd(fd, fn, ctx, hdr, st);
    if (!is_stdin)
        close(fd);
    return rc;
}

int logread_fd(int fd, log_row_fn fn, void *ctx, struct log_header *hdr, struct log_stats *st)
{
    struct log_parser p;
    log_parser_init(&p, fn, ctx);
    int rc = 0;
    char *chunk = malloc(LOG_CHUNK);
    if (!chunk) {
        rc = -ENOMEM;
        goto out;
    }
    for (;;) {
        ssize_t r = read(fd, chunk, LOG_CHUNK);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = -errno;
            goto out;
        }
        if (r == 0)
            break;
        if ((rc = logread_feed(&p, chunk, (size_t)r)))
            goto out;
    }
    rc = logread_finish(&p);
out:
    if (hdr)
        *hdr = p.hdr;
    if (st)
        *st = p.st;
    free(chunk);
    log_parser_free(&p);
    return rc;
}
