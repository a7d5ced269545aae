/* Small text helpers shared by summary, plot, the metrics and the log: one
 * duration style, one UTF-8 validator, one UTF-8-safe cut, the one
 * sanitiser for text shown to a person or published, and the one cap on
 * command lines. Pure: no I/O. */
#ifndef GPU_WATCH_TEXT_H
#define GPU_WATCH_TEXT_H

#include <stdbool.h>
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

/* The sanitiser. Text that a local user chooses (command lines, process
 * and user names, log file names) must not reach a terminal or a scraper
 * as control sequences. A unit of s[0..n) may be shown when it is a valid
 * UTF-8 character that is neither a C0 control (ESC, CR, LF, TAB, ...), DEL
 * nor a C1 control (U+0080..U+009F: CSI, OSC, ... act on terminals as ESC
 * does). text_show_len gives the bytes of the unit at s: > 0, *ok true: a
 * character that may be shown; > 0, *ok false: a control character to
 * replace whole; 1, *ok false: a byte that is not UTF-8 (raw 0x80..0x9F
 * included). n must be > 0. */
size_t text_show_len(const char *s, size_t n, bool *ok);

/* U+FFFD REPLACEMENT CHARACTER in UTF-8: what text_clean shows instead. */
#define TEXT_REPLACEMENT "\xef\xbf\xbd"

/* Append s[0..n) to b as it may be shown: each control character and each
 * byte that is not UTF-8 becomes U+FFFD. 0 or -ENOMEM. */
int text_clean(struct gw_buf *b, const char *s, size_t n);

/* The same rule in place, for fixed buffers (plot titles and legends,
 * whose text may have been cut inside a character): each byte of a unit
 * that may not be shown becomes '?'. */
void text_clean_inplace(char *s);

/* The cap on a command line, bytes, marker included: what the log, the
 * metrics, --match and the summaries see of a longer one. A user chooses
 * their argv (up to a few MiB): uncapped, one process makes rows no
 * reader takes, grows the log by GB a day and makes --match quadratic. */
#define TEXT_CMD_MAX 4096
/* Between the head and the tail of a capped command line. */
#define TEXT_CMD_CUT " [...] "

/* Cap s[0..n) to TEXT_CMD_MAX bytes: when n is larger, dst (at least
 * TEXT_CMD_MAX + 1 bytes) receives its first 3072 bytes or less, then
 * TEXT_CMD_CUT, then its last bytes (the program and the last arguments
 * say the most), cut between UTF-8 characters, NUL-terminated, and the
 * length is returned; when n fits, dst is untouched and n is returned. */
size_t text_cmd_cap(const char *s, size_t n, char *dst);

/* s as a JSON string, quoted, into b; bytes that are not UTF-8 become
 * U+FFFD, the controls of the sanitiser
 * (C0, DEL, C1) \u escapes, so that JSON shown on a terminal runs nothing. Errors stay in b
 * (buf_error). */
void text_json_str(struct gw_buf *b, const char *s);

#endif
