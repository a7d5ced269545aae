/* Small text helpers shared by summary and plot: one duration style, one
 * UTF-8 validator and one UTF-8-safe cut. Pure: no I/O. */
#ifndef GPU_WATCH_TEXT_H
#define GPU_WATCH_TEXT_H

#include <stddef.h>

#include "gpu_watch/buf.h"

/* A duration in seconds, rounded to the second, in the one style of the
 * project: "12s", "47m32s", "2h05m", "3d04h"; "-" when NAN or negative.
 * Always NUL-terminated (len > 0). */
void text_duration(double seconds, char *dst, size_t len);

/* A sampling interval: "0.2 s", "10 s", "59.5 s" under a minute, else as
 * text_duration ("5m00s"); "-" when NAN or not positive. */
void text_interval(double seconds, char *dst, size_t len);

/* An offset from UTC, seconds east: "UTC+05:30", "UTC-03:00", "UTC+00:00". */
void text_utc_offset(long off_s, char *dst, size_t len);

/* Length of the valid UTF-8 sequence at s[0..n) (1..4), or 0 when it is
 * not one: truncated, overlong, a UTF-16 surrogate or past U+10FFFF. */
size_t text_utf8_len(const char *s, size_t n);

/* Display columns of s[0..n): one per character (a valid UTF-8 sequence),
 * one per byte that is not part of one. Wide (CJK) characters count one:
 * libc alone cannot tell their width without a locale. */
size_t text_utf8_cols(const char *s, size_t n);

/* The one UTF-8 cut: bytes of the longest head of s[0..n) that takes at
 * most cols columns and max_bytes bytes (SIZE_MAX: no limit) and does not
 * end inside a UTF-8 sequence. */
size_t text_utf8_head(const char *s, size_t n, size_t cols, size_t max_bytes);

/* Byte offset where the longest tail of s[0..n) that takes at most cols
 * columns begins, never inside a UTF-8 sequence. */
size_t text_utf8_tail(const char *s, size_t n, size_t cols);

/* s as a JSON string, quoted, into b; bytes that are not UTF-8 become
 * U+FFFD, control characters \u escapes. Errors stay in b (buf_error). */
void text_json_str(struct gw_buf *b, const char *s);

#endif
