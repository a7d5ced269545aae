/* Shared text helpers: durations, UTF-8 cuts, the sanitiser, the cap on
 * command lines. */
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

size_t text_show_len(const char *s, size_t n, bool *ok)
{
    unsigned char c = (unsigned char)s[0];
    size_t k = text_utf8_len(s, n);
    /* C0, DEL, and C1 (U+0080..U+009F: 0xC2 0x80..0x9F in UTF-8). */
    bool control = c < 0x20 || c == 0x7f || (k == 2 && c == 0xC2 && (unsigned char)s[1] <= 0x9F);
    *ok = k && !control;
    return k ? k : 1;
}

int text_clean(struct gw_buf *b, const char *s, size_t n)
{
    size_t run = 0; /* bytes that may be shown, not yet appended */
    for (size_t i = 0; i < n;) {
        bool ok;
        size_t k = text_show_len(s + i, n - i, &ok);
        if (ok) {
            run += k;
        } else {
            buf_append(b, s + i - run, run);
            buf_puts(b, TEXT_REPLACEMENT);
            run = 0;
        }
        i += k;
    }
    buf_append(b, s + n - run, run);
    return buf_error(b);
}

void text_clean_inplace(char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        bool ok;
        size_t k = text_show_len(s + i, n - i, &ok);
        if (!ok)
            memset(s + i, '?', k);
        i += k;
    }
}

size_t text_cmd_cap(const char *s, size_t n, char *dst)
{
    if (n <= TEXT_CMD_MAX)
        return n;
    const size_t cut = sizeof TEXT_CMD_CUT - 1;
    size_t head = text_utf8_head(s, n, SIZE_MAX, TEXT_CMD_MAX * 3 / 4);
    size_t tail = n - (TEXT_CMD_MAX - head - cut);
    while (tail < n && ((unsigned char)s[tail] & 0xC0) == 0x80)
        tail++; /* not inside a character */
    memcpy(dst, s, head);
    memcpy(dst + head, TEXT_CMD_CUT, cut);
    memcpy(dst + head + cut, s + tail, n - tail);
    size_t len = head + cut + (n - tail);
    dst[len] = '\0';
    return len;
}

void text_json_str(struct gw_buf *b, const char *s)
{
    size_t n = strlen(s);
    buf_putc(b, '"');
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        bool ok;
        size_t k = text_show_len(s + i, n - i, &ok);
        if (c == '"' || c == '\\')
            buf_printf(b, "\\%c", c);
        else if (ok)
            buf_append(b, s + i, k);
        else if (k == 1 && (c < 0x20 || c == 0x7f))
            buf_printf(b, "\\u%04x", c);
        else if (k == 2) /* C1: U+0080..U+009F */
            buf_printf(b, "\\u%04x",
                       (unsigned)((c & 0x1f) << 6 | ((unsigned char)s[i + 1] & 0x3f)));
        else
            buf_puts(b, "\\ufffd");
        i += k;
    }
    buf_putc(b, '"');
}
