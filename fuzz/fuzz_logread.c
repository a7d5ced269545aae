/* libFuzzer harness: the CSV log reader of plot/summary (logread).
 *  1. The input fed whole and fed in chunks (sizes taken from the input
 *     itself) gives the same rows, counts and result: the push parser keeps
 *     no state that depends on where a read(2) happened to end.
 *  2. Every row passed to the callback is sane: cmd NUL-terminated at
 *     cmd_len (cpu_cores likewise), a finite timestamp, gpu/pid >= -1, each
 *     number NaN (unknown) or finite.
 *  3. The writer's round trip: the input written as the cmd field of a
 *     sampler row by csv_field reads back through logread_parse_row as the
 *     same bytes (control characters as spaces).
 * logread_parse_time is also run on the raw input. */
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_watch/buf.h"
#include "gpu_watch/csv.h"
#include "gpu_watch/logread.h"
#include "gpu_watch/logtime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    setenv("TZ", "UTC", 1); /* local timestamps: no dependence on the machine */
    return 0;
}

struct digest {
    uint64_t h;
    unsigned long rows;
};

static void mix(struct digest *d, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        d->h = (d->h ^ b[i]) * 1099511628211u;
}

static void mix_num(struct digest *d, double v)
{
    if (isnan(v))
        v = -12345.5; /* every NaN alike */
    mix(d, &v, sizeof v);
}

static int on_row(const struct log_row *r, void *ctx)
{
    struct digest *d = ctx;
    assert(r->cmd && r->cmd[r->cmd_len] == '\0');
    assert(isfinite(r->ts));
    assert(r->gpu >= -1 && r->pid >= -1);
    const double nums[] = {r->gpu_mem_mib, r->sm_util_pct, r->mem_util_pct,
                           r->cpu_pct,     r->rss_mib,     r->sys_used_mib};
    assert(r->cpu_cores && r->cpu_cores[r->cpu_cores_len] == '\0');
    mix(d, r->cpu_cores, r->cpu_cores_len + 1);
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        assert(isnan(nums[i]) || isfinite(nums[i]));
        mix_num(d, nums[i]);
    }
    mix_num(d, r->ts);
    mix(d, &r->tz, sizeof r->tz);
    mix(d, &r->gpu, sizeof r->gpu);
    mix(d, &r->pid, sizeof r->pid);
    mix(d, r->cmd, r->cmd_len + 1);
    mix(d, &r->line, sizeof r->line);
    d->rows++;
    return 0;
}

/* Parse data in chunks; step gives chunk sizes (0: all at once). */
static int parse(const uint8_t *data, size_t size, const uint8_t *steps, size_t nsteps,
                 struct digest *d, struct log_stats *st)
{
    struct log_parser p;
    log_parser_init(&p, on_row, d);
    int rc = 0;
    size_t off = 0, k = 0;
    while (off < size && rc == 0) {
        size_t n = nsteps ? (size_t)steps[k++ % nsteps] % 64 + 1 : size;
        if (n > size - off)
            n = size - off;
        rc = logread_feed(&p, (const char *)data + off, n);
        off += n;
    }
    if (rc == 0)
        rc = logread_finish(&p);
    *st = p.st;
    log_parser_free(&p);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct digest whole = {14695981039346656037u, 0}, chunked = whole;
    struct log_stats s1, s2;
    int r1 = parse(data, size, NULL, 0, &whole, &s1);
    int r2 = parse(data, size, data, size < 16 ? size : 16, &chunked, &s2);
    assert(r1 == 0 || r1 == -EPROTO || r1 == -ENODATA || r1 == -ENOMEM);
    assert(r1 == r2);
    assert(whole.rows == chunked.rows && whole.h == chunked.h);
    assert(s1.rows == s2.rows && s1.bad == s2.bad && s1.lines == s2.lines);
    assert(s1.rows == whole.rows);

    double t;
    enum log_tz tz;
    if (logread_parse_time((const char *)data, size, &t, &tz) == 0)
        assert(isfinite(t));

    /* The writer's round trip through the reader. */
    struct log_header h;
    const char hdr[] = CSV_HEADER;
    assert(logread_parse_header(hdr, sizeof hdr - 1, &h) == 0);
    struct gw_buf line = {0};
    buf_puts(&line, "2025-01-10T14:22:30Z,0,42,");
    assert(csv_field(&line, (const char *)data, size) == 0);
    buf_puts(&line, ",100,50,");
    struct log_row row;
    int rc = logread_parse_row(&h, line.p, line.len, &row);
    assert(rc == 0);
    assert(row.cmd_len == size && row.pid == 42 && row.gpu == 0);
    for (size_t i = 0; i < size; i++) {
        unsigned char c = data[i];
        assert((unsigned char)row.cmd[i] == ((c < 0x20 || c == 0x7f) ? ' ' : c));
    }
    assert(row.gpu_mem_mib == 100 && row.sm_util_pct == 50 && isnan(row.mem_util_pct));
    buf_free(&line);
    return 0;
}
