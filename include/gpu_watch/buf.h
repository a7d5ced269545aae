/* Growable byte buffer shared by the modules that build text. */
#ifndef GPU_WATCH_BUF_H
#define GPU_WATCH_BUF_H

#include <stddef.h>

/* A heap buffer; p is NUL-terminated whenever len > 0 or after buf_reserve.
 * The owner frees it with buf_free. A zeroed struct is an empty buffer.
 * The buffer remembers its first error: every append after it does nothing
 * and returns that error again, so a writer appends freely and checks once,
 * at the end, with buf_error. */
struct gw_buf {
    char *p;
    size_t len;
    size_t cap;
    int err; /* 0, or the first error (-ENOMEM, -EINVAL) */
};

/* Make room for at least extra more bytes plus a NUL. 0 or -ENOMEM (or the
 * buffer's earlier error). Every function below returns the same. */
int buf_reserve(struct gw_buf *b, size_t extra);
/* Append n bytes. 0 or -ENOMEM. */
int buf_append(struct gw_buf *b, const void *data, size_t n);
/* Append a NUL-terminated string. 0 or -ENOMEM. */
int buf_puts(struct gw_buf *b, const char *s);
/* Append one byte. 0 or -ENOMEM. */
int buf_putc(struct gw_buf *b, char c);
/* Append printf-style text. 0, -ENOMEM or -EINVAL. */
int buf_printf(struct gw_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The first error met by an append since the last buf_clear or buf_free:
 * 0, -ENOMEM or -EINVAL. */
int buf_error(const struct gw_buf *b);
/* Forget the contents and any error, keep the memory. */
void buf_clear(struct gw_buf *b);
/* Release the memory; the buffer is empty and reusable afterwards. */
void buf_free(struct gw_buf *b);

#endif
