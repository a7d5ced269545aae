/* Whole writes and atomic file replacement, shared by the CSV log, the
 * charts (plot -o) and the Prometheus text file. */
#include "gpu_watch/atomicio.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gpu_watch/safefile.h"

/* A writer waiting for room checks its stop flag at least this often (ms):
 * a signal that lands just before poll() is seen within this time. */
#define WAIT_STEP_MS 100

int atomicio_write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

int atomicio_write_stop(int fd, const void *p, size_t n, bool sock,
                        const volatile sig_atomic_t *stop, size_t *done)
{
    const char *c = p;
    size_t d = 0;
    int rc = 0;
    while (d < n) {
        ssize_t w =
            sock ? send(fd, c + d, n - d, MSG_DONTWAIT | MSG_NOSIGNAL) : write(fd, c + d, n - d);
        if (w > 0) {
            d += (size_t)w;
            continue;
        }
        if (w == 0) {
            rc = -ENOSPC;
            break;
        }
        if (errno != EINTR && errno != EAGAIN) {
            rc = -errno;
            break;
        }
        if (stop && *stop) {
            rc = -EINTR;
            break;
        }
        if (errno == EAGAIN) {
            /* A reader that stopped reading: wait for room, a signal, or
             * the next look at the flag. */
            struct pollfd pfd = {.fd = fd, .events = POLLOUT};
            poll(&pfd, 1, WAIT_STEP_MS);
        }
    }
    if (done)
        *done = d;
    return rc;
}

/* "<name>.tmp" and 12 random letters and digits: a name another user in a
 * shared directory cannot guess in advance (getrandom, 71 bits). */
static int temp_name(char *dst, size_t len, const char *name)
{
    static const char az[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    unsigned char rnd[12];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
        return -EIO;
    int n = snprintf(dst, len, "%s.tmp", name);
    if (n < 0 || (size_t)n + sizeof rnd >= len)
        return -ENAMETOOLONG;
    for (size_t i = 0; i < sizeof rnd; i++)
        dst[n + (int)i] = az[rnd[i] % (sizeof az - 1)];
    dst[(size_t)n + sizeof rnd] = '\0';
    return 0;
}

/* Write p into a new temporary file beside r's name and rename it over the
 * name; an existing file's permission bits (and, as root, owner) carry over. */
static int replace_regular(const struct safefile_path *r, const void *p, size_t n, mode_t mode,
                           bool durable)
{
    char tmp[NAME_MAX + 1];
    int fd = -1, rc = 0;
    for (int tries = 0; fd < 0 && tries < 8; tries++) {
        if ((rc = temp_name(tmp, sizeof tmp, r->name)) < 0)
            return rc;
        fd = openat(r->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0 && errno != EEXIST)
            return -errno;
    }
    if (fd < 0)
        return -EEXIST;
    if (r->exists) {
        mode = r->st.st_mode & 07777;
        if (geteuid() == 0 && fchown(fd, r->st.st_uid, r->st.st_gid) < 0)
            rc = -errno;
    } else if (mode == (mode_t)-1) {
        /* The file is as readable as any we create. */
        mode_t um = umask(0);
        umask(um);
        mode = 0666 & ~um;
    }
    if (rc == 0 && fchmod(fd, mode) < 0)
        rc = -errno;
    if (rc == 0)
        rc = atomicio_write_all(fd, p, n);
    if (rc == 0 && durable && fsync(fd) < 0 && errno != EINVAL && errno != EROFS)
        rc = -errno;
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && renameat(r->dirfd, tmp, r->dirfd, r->name) < 0)
        rc = -errno;
    if (rc)
        unlinkat(r->dirfd, tmp, 0);
    return rc;
}

int atomicio_replace_stop(const char *path, const void *p, size_t n, mode_t mode, bool durable,
                          const volatile sig_atomic_t *stop)
{
    struct safefile_path r;
    int rc = safefile_resolve(path, &r);
    if (rc == 0)
        rc = safefile_check(&r);
    if (rc == 0 && !r.magic && (!r.exists || S_ISREG(r.st.st_mode))) {
        rc = r.via_link && !r.exists ? -SAFEFILE_EDANGLING
                                     : replace_regular(&r, p, n, mode, durable);
    } else if (rc == 0) {
        /* A device, FIFO or /dev/stdout: written in place, never replaced
         * (root renaming a file over /dev/null breaks the machine). */
        int fd;
        struct stat st;
        safefile_path_close(&r);
        rc = safefile_open(path, O_WRONLY, 0, &fd, &st, NULL);
        if (rc == 0) {
            rc = atomicio_write_stop(fd, p, n, false, stop, NULL);
            if (close(fd) < 0 && rc == 0)
                rc = -errno;
        }
    }
    safefile_path_close(&r);
    return rc;
}

int atomicio_replace(const char *path, const void *p, size_t n, mode_t mode, bool durable)
{
    return atomicio_replace_stop(path, p, n, mode, durable, NULL);
}
