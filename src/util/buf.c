/* Growable byte buffer. */
#include "gpu_watch/buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Remember the first error; return it. */
static int fail(struct gw_buf *b, int err)
{
    if (!b->err)
        b->err = err;
    return b->err;
}

int buf_reserve(struct gw_buf *b, size_t extra)
{
    if (b->err)
        return b->err;
    if (extra > (size_t)-1 / 2 - b->len)
        return fail(b, -ENOMEM);
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p)
        return fail(b, -ENOMEM);
    b->p = p;
    b->cap = cap;
    b->p[b->len] = '\0';
    return 0;
}

int buf_append(struct gw_buf *b, const void *data, size_t n)
{
    int rc = buf_reserve(b, n);
    if (rc)
        return rc;
    if (n)
        memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

int buf_puts(struct gw_buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

int buf_putc(struct gw_buf *b, char c)
{
    return buf_append(b, &c, 1);
}

int buf_printf(struct gw_buf *b, const char *fmt, ...)
{
    if (b->err)
        return b->err;
    va_list ap;
    char small[128];
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return fail(b, -EINVAL);
    if ((size_t)n < sizeof small)
        return buf_append(b, small, (size_t)n);
    int rc = buf_reserve(b, (size_t)n);
    if (rc)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

int buf_error(const struct gw_buf *b)
{
    return b->err;
}

void buf_clear(struct gw_buf *b)
{
    b->err = 0;
    b->len = 0;
    if (b->p)
        b->p[0] = '\0';
}

void buf_free(struct gw_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
    b->err = 0;
}
