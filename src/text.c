/* Shared text helpers: durations and UTF-8 cuts. */
#include "gpu_watch/text.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

void text_duration(double seconds, char *dst, size_t len)
{
    if (isnan(seconds) || seconds < 0 || seconds > 1e15) {
        snprintf(dst, len, "-");
        return;
    }
    long long t = llround(seconds);
    if (t < 60)
        snprintf(dst, len, "%llds", t);
    else if (t < 3600)
        snprintf(dst, len, "%lldm%02llds", t / 60, t % 60);
    else if (t < 86400)
        snprintf(dst, len, "%lldh%02lldm", t / 3600, t % 3600 / 60);
    else
        snprintf(dst, len, "%lldd%02lldh", t / 86400, t % 86400 / 3600);
}

void text_interval(double seconds, char *dst, size_t len)
{
    if (!(seconds > 0))
        snprintf(dst, len, "-");
    else if (seconds < 59.95)
        snprintf(dst, len, "%.3g s", seconds);
    else
        text_duration(seconds, dst, len);
}

void text_utc_offset(long off_s, char *dst, size_t len)
{
    long a = off_s < 0 ? -off_s : off_s;
    snprintf(dst, len, "UTC%c%02ld:%02ld", off_s < 0 ? '-' : '+', a / 3600, a % 3600 / 60);
}

size_t text_utf8_len(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    if (n == 0)
        return 0;
    if (s[0] < 0x80)
        return 1;
    /* The lead byte gives the length and the first continuation's range:
     * no overlong forms, no surrogates, nothing past U+10FFFF. */
    size_t len = 0;
    unsigned lo = 0x80, hi = 0xBF;
    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        len = 2;
    } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        len = 3;
        lo = s[0] == 0xE0 ? 0xA0 : 0x80;
        hi = s[0] == 0xED ? 0x9F : 0xBF;
    } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        len = 4;
        lo = s[0] == 0xF0 ? 0x90 : 0x80;
        hi = s[0] == 0xF4 ? 0x8F : 0xBF;
    }
    if (len == 0 || len > n || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return len;
}

/* Bytes of the character at s: its sequence, or one stray byte. */
static size_t step(const char *s, size_t n)
{
    size_t k = text_utf8_len(s, n);
    return k ? k : 1;
}

size_t text_utf8_cols(const char *s, size_t n)
{
    size_t cols = 0;
    for (size_t i = 0; i < n; i += step(s + i, n - i))
        cols++;
    return cols;
}

size_t text_utf8_head(const char *s, size_t n, size_t cols, size_t max_bytes)
{
    size_t i = 0;
    for (size_t c = 0; i < n && c < cols; c++) {
        size_t k = step(s + i, n - i);
        if (k > max_bytes - i)
            break;
        i += k;
    }
    return i;
}

size_t text_utf8_tail(const char *s, size_t n, size_t cols)
{
    size_t total = text_utf8_cols(s, n);
    size_t skip = total > cols ? total - cols : 0;
    return text_utf8_head(s, n, skip, SIZE_MAX);
}

void text_json_str(struct gw_buf *b, const char *s)
{
    size_t n = strlen(s);
    buf_putc(b, '"');
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        size_t k = text_utf8_len(s + i, n - i);
        if (c == '"' || c == '\\')
            buf_printf(b, "\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            buf_printf(b, "\\u%04x", c);
        else if (k)
            buf_append(b, s + i, k);
        else
            buf_puts(b, "\\ufffd");
        i += k ? k : 1;
    }
    buf_putc(b, '"');
}
