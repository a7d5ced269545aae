/* Whole writes and atomic file replacement, shared by the CSV log, the
 * charts (plot -o) and the Prometheus text file. */
#include "gpu_watch/atomicio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

int atomicio_replace(const char *path, const void *p, size_t n, mode_t mode, bool durable)
{
    static const char suffix[] = ".tmpXXXXXX";
    size_t len = strlen(path);
    char *tmp = malloc(len + sizeof suffix);
    if (!tmp)
        return -ENOMEM;
    /* In the same directory: rename() is atomic only within a file system. */
    memcpy(tmp, path, len);
    memcpy(tmp + len, suffix, sizeof suffix);
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        int e = -errno;
        free(tmp);
        return e;
    }
    if (mode == (mode_t)-1) {
        /* mkostemp makes 0600; the file is as readable as any we create. */
        mode_t um = umask(0);
        umask(um);
        mode = 0666 & ~um;
    }
    int rc = fchmod(fd, mode) < 0 ? -errno : 0;
    if (rc == 0)
        rc = atomicio_write_all(fd, p, n);
    if (rc == 0 && durable && fsync(fd) < 0 && errno != EINVAL && errno != EROFS)
        rc = -errno;
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(tmp, path) < 0)
        rc = -errno;
    if (rc)
        unlink(tmp);
    free(tmp);
    return rc;
}
