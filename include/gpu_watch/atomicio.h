/* Whole writes: every byte of a buffer to a descriptor, and a file
 * replaced atomically (a temporary file in its directory renamed over it). */
#ifndef GPU_WATCH_ATOMICIO_H
#define GPU_WATCH_ATOMICIO_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Write all n bytes of p to fd, retrying on EINTR and short writes. 0 or
 * -errno (-EFBIG past a file-size limit when SIGXFSZ is ignored). */
int atomicio_write_all(int fd, const void *p, size_t n);

/* The same on a descriptor another process reads and may stall (a pipe,
 * FIFO, terminal or socket): fd non-blocking (or, with sock, a socket
 * written with MSG_DONTWAIT), the wait for room in poll() in steps of at
 * most 100 ms, ended with -EINTR once *stop is set (NULL: never). *done
 * (when not NULL) gets the bytes written, also on failure. 0 or -errno. */
int atomicio_write_stop(int fd, const void *p, size_t n, bool sock,
                        const volatile sig_atomic_t *stop, size_t *done);

/* Replace path by p[0..n), the path resolved as safefile.h says (links of
 * root or ours followed: the target is replaced and the link stays; none
 * created through a dangling link; another user's file in a world-writable
 * directory refused). A regular file, or a new one: written to
 * "<name>.tmp" and 12 unpredictable characters in the same directory (a
 * name that ends in neither .prom nor the path's own ending), fsync'd when
 * durable, renamed over the name; it keeps an existing file's permission
 * bits (as root its owner too), else gets mode (or 0666 less the umask when
 * mode is (mode_t)-1). On any failure the file is untouched and no
 * temporary file remains. A FIFO, character device or /dev/stdout is
 * written in place (never replaced), giving up when *stop is set. 0 or
 * -errno (safefile.h's refusals among them). */
int atomicio_replace_stop(const char *path, const void *p, size_t n, mode_t mode, bool durable,
                          const volatile sig_atomic_t *stop);

/* atomicio_replace_stop without a stop flag. */
int atomicio_replace(const char *path, const void *p, size_t n, mode_t mode, bool durable);

#endif
