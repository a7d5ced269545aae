/* libFuzzer harness: the CSV writer's round trip. Any byte string written
 * with csv_field, read back by an RFC 4180 reader, gives the same string with
 * control characters turned into spaces, and the field is one line. */
#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_watch/buf.h"
#include "gpu_watch/csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Read one RFC 4180 field from p[0..n) that must span all of it; the value
 * goes to out. False when the text is not exactly one well-formed field. */
static bool read_field(const char *p, size_t n, struct gw_buf *out)
{
    buf_clear(out);
    if (n == 0 || p[0] != '"') {
        for (size_t i = 0; i < n; i++)
            if (p[i] == ',' || p[i] == '"' || p[i] == '\n' || p[i] == '\r')
                return false;
        return n == 0 || buf_append(out, p, n) == 0;
    }
    size_t i = 1;
    for (;;) {
        if (i >= n)
            return false; /* unterminated */
        if (p[i] == '"') {
            if (i + 1 < n && p[i + 1] == '"') {
                buf_putc(out, '"');
                i += 2;
                continue;
            }
            return i + 1 == n; /* closing quote must end the field */
        }
        buf_putc(out, p[i++]);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gw_buf b = {0}, back = {0};
    const char *s = (const char *)data;
    /* A prefix already in the buffer must be kept as it is. */
    buf_puts(&b, "x,");
    int rc = csv_field(&b, s, size);
    assert(rc == 0);
    assert(b.len >= 2 && memcmp(b.p, "x,", 2) == 0);
    const char *f = b.p + 2;
    size_t flen = b.len - 2;
    assert(memchr(f, '\n', flen) == NULL && memchr(f, '\r', flen) == NULL);
    assert(read_field(f, flen, &back));
    assert(back.len == size);
    for (size_t i = 0; i < size; i++) {
        unsigned char c = (unsigned char)s[i];
        unsigned char want = (c < 0x20 || c == 0x7f) ? ' ' : c;
        assert((unsigned char)back.p[i] == want);
    }
    /* A leading or trailing blank survives only because it is quoted (CSV
     * readers that trim unquoted blanks would lose it). */
    if (size && (back.p[0] == ' ' || back.p[size - 1] == ' '))
        assert(f[0] == '"');
    buf_free(&b);
    buf_free(&back);
    return 0;
}
