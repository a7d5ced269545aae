/* Reading /proc: small files whole, EINTR retried, always NUL-terminated. */
#include "gpu_watch/procfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int procfs_read_file(const char *root, const char *rel, struct gw_buf *b, size_t max)
{
    char path[512];
    buf_clear(b);
    if ((size_t)snprintf(path, sizeof path, "%s/%s", root, rel) >= sizeof path)
        return -ENAMETOOLONG;
    int fd;
    do
        fd = open(path, O_RDONLY | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return -errno;
    int rc = 0;
    for (;;) {
        if (b->len >= max)
            break;
        if ((rc = buf_reserve(b, 4096)) < 0)
            break;
        size_t room = b->cap - b->len - 1;
        if (room > max - b->len)
            room = max - b->len;
        ssize_t r = read(fd, b->p + b->len, room);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = -errno;
            break;
        }
        if (r == 0)
            break;
        b->len += (size_t)r;
        b->p[b->len] = '\0';
    }
    close(fd);
    return rc;
}

size_t procfs_clean_cmdline(char *s, size_t len)
{
    /* Any control character at the end, not only the NUL separators: an
     * argument ending in "\n" or "\t" would otherwise leave a trailing blank. */
    while (len && ((unsigned char)s[len - 1] <= 0x20 || s[len - 1] == 0x7f))
        len--;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            s[i] = ' ';
    }
    s[len] = '\0';
    return len;
}

char *procfs_cmdline(const char *root, long pid, int *err)
{
    char rel[64];
    struct gw_buf b = {0};
    snprintf(rel, sizeof rel, "%ld/cmdline", pid);
    /* No limit but memory: command lines of any length are written whole
     * (Linux caps them at a few MiB anyway). */
    int rc = procfs_read_file(root, rel, &b, 16u * 1024u * 1024u);
    if (rc == 0 && b.len == 0)
        rc = -ENODATA;
    if (rc < 0) {
        buf_free(&b);
        *err = rc;
        return NULL;
    }
    size_t n = procfs_clean_cmdline(b.p, b.len);
    if (n == 0) {
        buf_free(&b);
        *err = -ENODATA;
        return NULL;
    }
    char *s = realloc(b.p, n + 1);
    return s ? s : b.p;
}

bool procfs_available(const char *root)
{
    struct stat st;
    return stat(root, &st) == 0 && S_ISDIR(st.st_mode);
}
