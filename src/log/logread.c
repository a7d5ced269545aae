/* Reading gpu_watch's CSV logs: header detection, RFC 4180 records,
 * timestamps, and the streaming reader. */
#include "gpu_watch/logread.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gpu_watch/columns.h"
#include "gpu_watch/logtime.h"

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

#define BIT(c) (1u << (c))

/* The enum log_col bits of a group's columns in the table (columns.h);
 * with all, also those older logs of the group may lack. */
static unsigned group_cols(enum col_group g, bool all)
{
    unsigned m = 0;
    for (size_t i = 0; i < columns_n; i++)
        if (columns[i].group == g && (all || !columns[i].optional))
            m |= BIT(columns[i].log);
    return m;
}

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
        /* The first row of that name: the sampler's, else --compact's own
         * ("used_mib", read as gpu_mem_mib). */
        const struct column *k = columns_find(s, l, ~0u);
        if (!k || (h->have & BIT(k->log)))
            return -EPROTO;
        used_mib |= k->group == COL_COMPACT;
        gpu_mem_mib |= k->group != COL_COMPACT && k->log == LOG_COL_GPU_MEM_MIB;
        h->have |= BIT(k->log);
        h->col[i] = (int8_t)k->log;
    }
    h->nfields = n;
    if (h->col[0] != LOG_COL_TIMESTAMP)
        return -EPROTO;
    /* --who: all its columns or none, those older logs lack excepted. */
    const unsigned who_cols = group_cols(COL_WHO, false), who_all = group_cols(COL_WHO, true);
    unsigned who = h->have & who_all;
    if (who && who != who_cols && who != who_all)
        return -EPROTO;
    /* --peaks adds peak_mem_mib, --peak-rate its columns (with
     * peak_mem_mib), --who its columns, to either sampler schema. */
    const unsigned peaks = group_cols(COL_PEAKS, true), dense_cols = group_cols(COL_DENSE, true);
    unsigned dense = h->have & dense_cols;
    if (dense && (dense != dense_cols || !(h->have & peaks)))
        return -EPROTO;
    const unsigned sampler = group_cols(COL_BASE, true), host = group_cols(COL_HOST, true);
    const unsigned compact = group_cols(COL_COMPACT, false);
    unsigned base = h->have & ~(who_all | dense_cols | peaks);
    if (gpu_mem_mib && base == sampler)
        h->schema = LOG_SAMPLER;
    else if (gpu_mem_mib && base == (sampler | host))
        h->schema = LOG_HOST;
    else if (used_mib && h->col[1] == LOG_COL_GPU_MEM_MIB &&
             (h->have & ~group_cols(COL_COMPACT, true)) == 0 && (h->have & compact) == compact)
        h->schema = LOG_COMPACT;
    else
        return -EPROTO;
    return 0;
}

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

/* The field of struct log_row at off, as the type the table says it has
 * (offsetof of a field of that type: aligned, and of that type). */
#define FIELD(row, off, type) ((type *)(void *)((char *)(row) + (off)))

/* Set column c of row to unknown: NAN, -1 or "". */
static void clear_field(const struct column *c, struct log_row *row)
{
    switch (c->read) {
    case COL_READ_TIME:
        row->ts = NAN;
        row->tz = LOG_TZ_LOCAL;
        row->tz_off_s = 0;
        break;
    case COL_READ_TEXT:
        *FIELD(row, c->off, const char *) = "";
        if (c->len_off)
            *FIELD(row, c->len_off, size_t) = 0;
        break;
    case COL_READ_DOUBLE:
        *FIELD(row, c->off, double) = NAN;
        break;
    case COL_READ_INT:
        *FIELD(row, c->off, int) = -1;
        break;
    case COL_READ_LONG:
        *FIELD(row, c->off, long) = -1;
        break;
    }
}

/* Store field s (len bytes, NUL-terminated) of column c in row, as the
 * column's row of the table says. -EINVAL for a bad value. */
static int read_field(const struct column *c, const char *s, size_t len, struct log_row *row)
{
    if (c->read == COL_READ_TIME)
        return logread_parse_time_off(s, len, &row->ts, &row->tz, &row->tz_off_s);
    if (c->read == COL_READ_TEXT) {
        *FIELD(row, c->off, const char *) = s;
        if (c->len_off)
            *FIELD(row, c->len_off, size_t) = len;
        return 0;
    }
    /* One rule for impossible values: out of its column's range, a value
     * makes the row malformed, like one that is not a number. */
    double v = NAN;
    if (parse_num(s, len, &v) < 0 || (log_known(v) && v > c->max))
        return -EINVAL;
    if (c->read == COL_READ_DOUBLE) {
        *FIELD(row, c->off, double) = v;
        return 0;
    }
    /* A whole number; range first: converting 2e22 to int is undefined. */
    if (c->read == COL_READ_INT) {
        if (log_known(v) && v != (int)v)
            return -EINVAL;
        *FIELD(row, c->off, int) = log_known(v) ? (int)v : -1;
        return 0;
    }
    if (log_known(v) && v != (long)v)
        return -EINVAL;
    *FIELD(row, c->off, long) = log_known(v) ? (long)v : -1;
    return 0;
}

int logread_parse_row(const struct log_header *h, char *line, size_t len, struct log_row *row)
{
    char *f[LOG_MAX_FIELDS];
    size_t fl[LOG_MAX_FIELDS];
    int n = split_fields(line, len, f, fl, LOG_MAX_FIELDS);
    if (n != h->nfields)
        return -EINVAL;
    row->hdr = h;
    /* The columns the log lacks are unknown, as their rows of the table
     * say; the others are all set below. */
    for (int c = 0; c < LOG_NCOLS; c++)
        if (!(h->have & BIT(c)))
            clear_field(&columns[c], row);
    for (int i = 0; i < n; i++)
        if (read_field(&columns[h->col[i]], f[i], fl[i], row) < 0)
            return -EINVAL;
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
