/* Whole writes: every byte of a buffer to a descriptor, and a file
 * replaced atomically (a temporary file in its directory renamed over it). */
#ifndef GPU_WATCH_ATOMICIO_H
#define GPU_WATCH_ATOMICIO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Write all n bytes of p to fd, retrying on EINTR and short writes. 0 or
 * -errno (-EFBIG past a file-size limit when SIGXFSZ is ignored). */
int atomicio_write_all(int fd, const void *p, size_t n);

/* Replace path by p[0..n): written to "<path>.tmpXXXXXX" in the same
 * directory (a name that ends in neither .prom nor the path's own ending),
 * with mode (or 0666 less the umask when mode is (mode_t)-1), fsync'd when
 * durable, then renamed over path. On any failure path is untouched and no
 * temporary file remains. 0 or -errno. */
int atomicio_replace(const char *path, const void *p, size_t n, mode_t mode, bool durable);

#endif
