/* CSV output: field quoting and the durable, whole-line writes. */
#include "gpu_watch/csv.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gpu_watch/atomicio.h"
#include "gpu_watch/columns.h"
#include "gpu_watch/safefile.h"

/* "2025-01-10T14:22:30" in local time, or "...Z" in UTC. With ms, the
 * milliseconds: "2025-01-10T14:22:30.250". With offset (--tz-offset, and
 * the --compact log as `date -Iseconds` wrote it), the UTC offset instead
 * of any Z: "2025-01-10T14:22:30+01:00", "2025-01-10T14:22:30.250+01:00". */
void csv_format_time(char *dst, size_t len, const struct timespec *t, bool utc, bool offset,
                     bool ms)
{
    struct tm tm;
    if (utc)
        gmtime_r(&t->tv_sec, &tm);
    else
        localtime_r(&t->tv_sec, &tm);
    char base[32], frac[8] = "", zone[8] = "";
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    if (ms)
        snprintf(frac, sizeof frac, ".%03ld", t->tv_nsec / 1000000L % 1000);
    if (offset) {
        long off = utc ? 0 : tm.tm_gmtoff;
        int a = (int)((off < 0 ? -off : off) % 86400);
        snprintf(zone, sizeof zone, "%c%02d:%02d", off < 0 ? '-' : '+', a / 3600, (a / 60) % 60);
    } else if (utc) {
        snprintf(zone, sizeof zone, "Z");
    }
    snprintf(dst, len, "%.19s%s%s", base, frac, zone);
}

int csv_field(struct gw_buf *b, const char *s, size_t len)
{
    bool quote = len > 0 && (s[0] == ' ' || s[len - 1] == ' ');
    size_t quotes = 0; /* '"' to double */
    for (size_t i = 0; i < len; i++) {
        quote |= s[i] == ',';
        quotes += s[i] == '"';
    }
    /* A control character becomes a space; one at either end then needs
     * quoting like any leading or trailing space. */
    if (len > 0 && ((unsigned char)s[0] < 0x20 || (unsigned char)s[len - 1] < 0x20 ||
                    s[0] == 0x7f || s[len - 1] == 0x7f))
        quote = true;
    quote |= quotes > 0;
    /* Room for the whole field at once, then bytes straight into it (this
     * is most of the cost of writing a sample: one call per field, not per
     * byte). */
    int rc = buf_reserve(b, len + quotes + 2);
    if (rc)
        return rc;
    char *d = b->p + b->len;
    if (quote)
        *d++ = '"';
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            c = ' ';
        if (c == '"')
            *d++ = '"';
        *d++ = (char)c;
    }
    if (quote)
        *d++ = '"';
    *d = '\0';
    b->len = (size_t)(d - b->p);
    return 0;
}

int csv_int(struct gw_buf *b, int64_t v)
{
    if (v < 0)
        return 0; /* unknown: an empty field */
    char tmp[24], *p = tmp + sizeof tmp;
    uint64_t u = (uint64_t)v;
    do
        *--p = (char)('0' + u % 10);
    while ((u /= 10) != 0);
    return buf_append(b, p, (size_t)(tmp + sizeof tmp - p));
}

/* The header of csv_header's four schemas, made from the table once. */
const char *csv_header(bool host, bool peaks)
{
    static char hdr[2][2][256];
    char *h = hdr[host][peaks];
    if (!h[0] && columns_header(h, sizeof hdr[0][0], columns_set(host, peaks, false, false)) < 0)
        h[0] = '\0';
    return h;
}

/* Append one line per row of smp, or with r NULL the --compact line: the
 * columns of set, in the table's order. */
static void put_line(struct gw_buf *b, const char *ts, const struct sample *smp,
                     const struct sample_row *r, const struct column *const *cols, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        if (k)
            buf_putc(b, ',');
        cols[k]->write(b, ts, smp, r);
    }
    buf_putc(b, '\n');
}

/* The columns of set, in the table's order, into cols; their number. */
static size_t pick(unsigned set, const struct column **cols)
{
    size_t n = 0;
    for (size_t i = 0; i < columns_n && n < COLUMNS_MAX; i++)
        if (set & COL_SET(columns[i].group))
            cols[n++] = &columns[i];
    return n;
}

int csv_sample_rows(struct gw_buf *b, const char *ts, const struct sample *smp, bool host,
                    bool peaks)
{
    const struct column *cols[COLUMNS_MAX];
    size_t n = pick(columns_set(host, peaks, smp->dense, smp->who), cols);
    /* The buffer remembers its first error: one check at the end. */
    for (size_t i = 0; i < smp->n; i++)
        put_line(b, ts, smp, &smp->rows[i], cols, n);
    return buf_error(b);
}

int csv_compact_row(struct gw_buf *b, const char *ts, const struct sample *smp)
{
    const struct column *cols[COLUMNS_MAX];
    put_line(b, ts, smp, NULL, cols, pick(COL_SET(COL_COMPACT), cols));
    return buf_error(b);
}

/* Check an existing file: its first line must be hdr; make sure it ends in
 * a newline. fd is open O_RDWR|O_APPEND and locked. */
static int check_append(int fd, const char *hdr, off_t size)
{
    size_t hl = strlen(hdr);
    char first[1024];
    size_t want = hl + 2 < sizeof first ? hl + 2 : sizeof first;
    ssize_t r = pread(fd, first, want, 0);
    if (r < 0)
        return -errno;
    size_t got = (size_t)r;
    size_t line = 0;
    while (line < got && first[line] != '\n')
        line++;
    size_t cmp = line;
    if (cmp && first[cmp - 1] == '\r')
        cmp--;
    if (line == got && (off_t)got < size) /* first line longer than ours */
        return -EPROTO;
    if (cmp != hl || memcmp(first, hdr, hl) != 0)
        return -EPROTO;
    char last;
    if (pread(fd, &last, 1, size - 1) != 1)
        return -EIO;
    if (last != '\n')
        return atomicio_write_all(fd, "\n", 1); /* a regular file: no wait */
    return 0;
}

static int write_header(struct csv_out *o)
{
    char line[1024];
    int n = snprintf(line, sizeof line, "%s\n", o->header);
    if (n < 0 || (size_t)n >= sizeof line)
        return -EINVAL;
    return atomicio_write_stop(o->fd, line, (size_t)n, o->sock, o->stop, NULL);
}

/* Whether a regular file holds nothing but hdr and a newline: what a run
 * that got no sample leaves behind (a failing driver), as good as empty. */
static bool only_header(int fd, const char *hdr, off_t size)
{
    char first[1024];
    size_t hl = strlen(hdr);
    if (size != (off_t)hl + 1 || hl + 1 > sizeof first)
        return false;
    return pread(fd, first, hl + 1, 0) == (ssize_t)(hl + 1) && memcmp(first, hdr, hl) == 0 &&
           first[hl] == '\n';
}

/* -o -: fd 1 is shared with whoever started us (and a wrapped command), so
 * its flags are not ours to change; a pipe, FIFO or terminal is opened
 * again through /proc as a description of our own, non-blocking, so that a
 * reader that stops reading cannot hold a signal back (atomicio.h); a
 * socket (the journal) is written with MSG_DONTWAIT. Without /proc, fd 1
 * as it is. */
static int stdout_fd(bool *sock)
{
    struct stat st;
    if (fstat(STDOUT_FILENO, &st) < 0)
        return -errno;
    *sock = S_ISSOCK(st.st_mode);
    if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) {
        int fd = open("/proc/self/fd/1", O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (fd >= 0)
            return fd;
        if (errno == ENXIO)
            return -EPIPE; /* a FIFO whose reader is gone */
    }
    return STDOUT_FILENO;
}

/* Open (or reopen, with the lock already held: lock false) the log. */
static int open_log(struct csv_out *o, enum csv_open_mode mode, bool lock)
{
    struct safefile_path r;
    struct stat st;
    int fd = -1;
    int rc = safefile_open(o->path, O_RDWR | O_APPEND, 0644, &fd, &st, &r);
    if (rc < 0)
        return rc;
    o->fd = fd;
    o->regular = S_ISREG(st.st_mode);
    if (o->regular && lock) {
        /* One gpu_watch per log, and two runs starting on one new file must
         * not both write the header: a lock file only we can open (anyone
         * may open the 0644 log and hold a lock on it), the log itself where
         * its directory takes no new file. Held until csv_close. */
        rc = r.magic ? -EACCES : safefile_lock(&r, CSV_LOCK_WAIT_S, o->stop, &o->lock);
        if (rc == -EACCES || rc == -EROFS) { /* no lock file in /proc/self/fd either */
            rc = safefile_lock_fd(fd, CSV_LOCK_WAIT_S, o->stop);
            if (rc == 0 && (o->lock.fd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0)
                rc = -errno;
        }
    }
    safefile_path_close(&r);
    if (rc == 0 && fstat(fd, &st) < 0)
        rc = -errno;
    if (rc < 0)
        return rc;
    if (o->regular && st.st_size > 0) {
        if (mode == CSV_NEW && only_header(fd, o->header, st.st_size))
            return 0;
        if (mode == CSV_NEW)
            return -EEXIST;
        if (mode == CSV_FORCE) {
            if (ftruncate(fd, 0) < 0)
                return -errno;
            return write_header(o);
        }
        return check_append(fd, o->header, st.st_size);
    }
    if (mode != CSV_APPEND || o->regular)
        return write_header(o); /* new or empty, or a FIFO/device not appended to */
    return 0;
}

int csv_open(struct csv_out *o, const char *path, const char *header, enum csv_open_mode mode,
             const volatile sig_atomic_t *stop)
{
    o->fd = -1;
    o->path = path;
    o->header = header;
    o->is_stdout = strcmp(path, "-") == 0;
    o->regular = false;
    o->sock = false;
    o->stop = stop;
    o->lock = (struct safefile_lock){.fd = -1, .dirfd = -1};
    int rc;
    if (o->is_stdout) {
        if ((rc = o->fd = stdout_fd(&o->sock)) < 0) {
            o->fd = -1;
            return rc;
        }
        rc = mode != CSV_APPEND ? write_header(o) : 0;
    } else {
        rc = open_log(o, mode, true);
    }
    if (rc < 0)
        csv_close(o);
    return rc;
}

int csv_write(struct csv_out *o, const char *rows, size_t len)
{
    size_t done = 0;
    int rc = atomicio_write_stop(o->fd, rows, len, o->sock, o->stop, &done);
    if (rc < 0 && done > 0 && o->regular) {
        /* Undo the partial tail so the file keeps only whole lines. */
        struct stat st;
        char prev = '\n';
        if (fstat(o->fd, &st) == 0 && st.st_size >= (off_t)done) {
            off_t cut = st.st_size - (off_t)done;
            if (cut == 0 || pread(o->fd, &prev, 1, cut - 1) == 1) {
                if (prev == '\n' && ftruncate(o->fd, cut) < 0)
                    rc = -errno;
            }
        }
    }
    return rc;
}

int csv_sync(struct csv_out *o)
{
    if (!o->regular || o->fd < 0)
        return 0;
    return fdatasync(o->fd) < 0 ? -errno : 0;
}

int csv_reopen(struct csv_out *o)
{
    if (o->is_stdout)
        return 0;
    struct csv_out n = *o;
    n.fd = -1;
    int rc = open_log(&n, CSV_APPEND, false); /* a lock file (by path) stays held */
    int lock = -1;
    /* Without a lock file the lock was on the old file itself: take it on
     * the new one, or a second run could start on it. */
    if (rc == 0 && o->lock.fd >= 0 && o->lock.dirfd < 0 && n.regular &&
        (rc = safefile_lock_fd(n.fd, 0, o->stop)) == 0 &&
        (lock = fcntl(n.fd, F_DUPFD_CLOEXEC, 0)) < 0)
        rc = -errno;
    if (rc < 0) {
        if (n.fd >= 0)
            close(n.fd);
        return rc;
    }
    if (lock >= 0) {
        close(o->lock.fd);
        o->lock.fd = lock;
    }
    close(o->fd);
    o->fd = n.fd;
    o->regular = n.regular;
    return 0;
}

int csv_check(struct csv_out *o)
{
    struct stat st;
    if (!o->regular || o->fd < 0)
        return 0;
    if (fstat(o->fd, &st) < 0)
        return -errno;
    if (st.st_nlink > 0)
        return 0;
    int rc = csv_reopen(o);
    return rc < 0 ? rc : 1;
}

int csv_close(struct csv_out *o)
{
    int rc = 0;
    if (o->fd >= 0 && o->fd != STDOUT_FILENO && close(o->fd) < 0)
        rc = -errno;
    o->fd = -1;
    safefile_unlock(&o->lock);
    return rc;
}
