/* Opening the files gpu_watch writes where other users share directories.
 * The path is walked one name at a time with O_PATH|O_NOFOLLOW descriptors,
 * so each symbolic link's owner is checked on the very link that is then
 * read (no window between the check and the use), and what is finally
 * opened is checked again with fstat. The kernel's protected_symlinks covers
 * only sticky directories and may be off: this does not rely on it. */
#include "gpu_watch/safefile.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

/* statfs f_type of /proc (linux/magic.h PROC_SUPER_MAGIC). */
#define PROC_FS_MAGIC 0x9fa0
/* Links followed in one path at most, as the kernel (MAXSYMLINKS). */
#define MAX_LINKS 40
/* Lock attempts are this far apart (s). */
#define LOCK_STEP_S 0.05

/* Root's and our own links, FIFOs and devices are trusted; another user's
 * are theirs to point anywhere. */
static bool trusted(uid_t uid)
{
    return uid == 0 || uid == geteuid();
}

void safefile_path_close(struct safefile_path *r)
{
    if (r->dirfd >= 0)
        close(r->dirfd);
    r->dirfd = -1;
}

/* Replace the walk's remaining text: target, then "/" and rest when rest is
 * not empty. buf holds PATH_MAX * 2 bytes; rest may point into it. */
static int splice_target(char *buf, const char *target, size_t tlen, const char *rest)
{
    size_t rlen = strlen(rest);
    if (tlen + 1 + rlen + 1 > (size_t)PATH_MAX * 2)
        return -ENAMETOOLONG;
    memmove(buf + tlen + 1, rest, rlen + 1);
    memcpy(buf, target, tlen);
    buf[tlen] = rlen ? '/' : '\0';
    return 0;
}

/* The path component at p (after any slashes) into name, NUL-terminated;
 * *next: what follows it, past its slashes. 0, -EISDIR ("/", or a name
 * ending in '/': a directory) or -ENAMETOOLONG. */
static int next_name(char *p, char name[NAME_MAX + 1], char **next)
{
    while (*p == '/')
        p++;
    char *end = p + strcspn(p, "/");
    *next = end;
    while (**next == '/')
        (*next)++;
    size_t clen = (size_t)(end - p);
    if (clen == 0 || (**next == '\0' && *end == '/'))
        return -EISDIR;
    if (clen > NAME_MAX)
        return -ENAMETOOLONG;
    memcpy(name, p, clen);
    name[clen] = '\0';
    return 0;
}

/* A symbolic link met as component name (fd: the link, opened O_PATH, and
 * closed here; st: its stat; *cur: the directory holding it; next: the
 * rest of the path, in buf). Its target is spliced in front of next into
 * buf, and *cur goes back to "/" for an absolute one. Returns 0 to walk on
 * from buf, 1 for the magic link of a /proc file descriptor (r filled), or
 * a negative errno: -SAFEFILE_ELINK for a link no trusted user owns. */
static int follow_link(int fd, const struct stat *st, const char *name, bool last, const char *next,
                       char *buf, int *cur, int *links, struct safefile_path *r)
{
    struct statfs fs;
    int rc = 0;
    if (!trusted(st->st_uid))
        rc = -SAFEFILE_ELINK;
    else if (++*links > MAX_LINKS)
        rc = -ELOOP;
    else if (last && fstatfs(*cur, &fs) == 0 && fs.f_type == PROC_FS_MAGIC) {
        close(fd); /* /proc/self/fd/1: "pipe:[123]" is no path to walk */
        memcpy(r->name, name, strlen(name) + 1);
        r->magic = true;
        r->exists = true;
        r->st = *st;
        return 1;
    }
    char target[PATH_MAX];
    ssize_t n = rc ? 0 : readlinkat(fd, "", target, sizeof target);
    close(fd);
    if (!rc && (n <= 0 || (size_t)n >= sizeof target))
        rc = n < 0 ? -errno : -ENAMETOOLONG;
    if (!rc)
        rc = splice_target(buf, target, (size_t)n, next);
    if (rc)
        return rc;
    r->via_link |= last;
    if (*buf == '/') {
        close(*cur);
        if ((*cur = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
            return -errno;
    }
    return 0;
}

int safefile_resolve(const char *path, struct safefile_path *r)
{
    memset(r, 0, sizeof *r);
    r->dirfd = -1;
    size_t plen = strlen(path);
    if (plen == 0)
        return -ENOENT;
    if (plen >= PATH_MAX)
        return -ENAMETOOLONG;
    char *buf = malloc((size_t)PATH_MAX * 2);
    if (!buf)
        return -ENOMEM;
    memcpy(buf, path, plen + 1);
    int rc = 0, links = 0, cur = open(path[0] == '/' ? "/" : ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (cur < 0) {
        rc = -errno;
        goto out;
    }
    char *p = buf;
    for (;;) {
        char name[NAME_MAX + 1], *next;
        if ((rc = next_name(p, name, &next)) < 0)
            goto out;
        size_t clen = strlen(name);
        bool last = *next == '\0';
        int fd = openat(cur, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT && last) {
            memcpy(r->name, name, clen + 1); /* absent: a new file */
            break;
        }
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0) {
            rc = -errno;
            if (fd >= 0)
                close(fd);
            goto out;
        }
        if (S_ISLNK(st.st_mode)) {
            rc = follow_link(fd, &st, name, last, next, buf, &cur, &links, r);
            if (rc < 0)
                goto out;
            if (rc > 0) {
                rc = 0;
                break;
            }
            p = buf;
            continue;
        }
        if (last) {
            close(fd);
            memcpy(r->name, name, clen + 1);
            r->exists = true;
            r->st = st;
            break;
        }
        if (!S_ISDIR(st.st_mode)) {
            close(fd);
            rc = -ENOTDIR;
            goto out;
        }
        close(cur);
        cur = fd;
        p = next;
    }
    struct stat dst;
    if (fstat(cur, &dst) < 0) {
        rc = -errno;
        goto out;
    }
    r->shared_dir = (dst.st_mode & S_IWOTH) != 0;
    r->dirfd = cur;
    cur = -1;
out:
    if (cur >= 0)
        close(cur);
    free(buf);
    return rc;
}

int safefile_check(const struct safefile_path *r)
{
    const struct stat *st = &r->st;
    if (!r->exists || r->magic)
        return 0;
    if (S_ISREG(st->st_mode)) {
        /* In /tmp or a shared spool another user may have put the name
         * there first (the kernel's protected_regular, which may be off). */
        if (r->shared_dir && st->st_uid != geteuid())
            return -SAFEFILE_EOWNER;
        /* A hard link to /etc/shadow in a user's directory (protected_hardlinks
         * may be off): root writes only to a file with one name. */
        if (geteuid() == 0 && st->st_nlink > 1)
            return -SAFEFILE_EHARDLINK;
        return 0;
    }
    if (S_ISFIFO(st->st_mode) || S_ISCHR(st->st_mode))
        return trusted(st->st_uid) ? 0 : -SAFEFILE_EOWNER;
    return S_ISDIR(st->st_mode) ? -EISDIR : -SAFEFILE_ETYPE;
}

/* Open r's name: a regular file with flags, a new one with mode, a FIFO or
 * device write-only and non-blocking; then check it is what was resolved. */
static int open_resolved(const struct safefile_path *r, int flags, mode_t mode, int *fdp,
                         struct stat *st)
{
    int base = O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
    int fd;
    if (r->magic) {
        fd = openat(r->dirfd, r->name, O_WRONLY | (flags & O_APPEND) | base);
    } else if (!r->exists) {
        if (r->via_link)
            return -SAFEFILE_EDANGLING;
        fd = openat(r->dirfd, r->name, flags | base | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
    } else if (S_ISREG(r->st.st_mode)) {
        fd = openat(r->dirfd, r->name, flags | base | O_NOFOLLOW);
        if (fd < 0 && errno == EACCES && (flags & O_ACCMODE) == O_RDWR)
            fd = openat(r->dirfd, r->name, (flags & ~O_ACCMODE) | O_WRONLY | base | O_NOFOLLOW);
    } else {
        fd = openat(r->dirfd, r->name, O_WRONLY | (flags & O_APPEND) | base | O_NOFOLLOW);
    }
    if (fd < 0)
        return -errno;
    int rc = fstat(fd, st) < 0 ? -errno : 0;
    /* The name changed between the look and the open (EEXIST above, or a
     * different file now): the caller resolves again. */
    if (!rc && r->exists && !r->magic && (st->st_ino != r->st.st_ino || st->st_dev != r->st.st_dev))
        rc = -EAGAIN;
    /* /dev/stdout and the like name one of our own descriptors: what it
     * is was chosen by whoever started us, but never a disk or directory. */
    if (!rc && r->magic && (S_ISBLK(st->st_mode) || S_ISDIR(st->st_mode)))
        rc = -SAFEFILE_ETYPE;
    /* A regular file blocks on nothing; O_NONBLOCK stays for FIFOs and
     * devices, whose writers wait in poll() where a signal ends the wait. */
    if (!rc && S_ISREG(st->st_mode) && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0)
        rc = -errno;
    if (rc) {
        close(fd);
        return rc;
    }
    *fdp = fd;
    return 0;
}

int safefile_open(const char *path, int flags, mode_t mode, int *fd, struct stat *st,
                  struct safefile_path *keep)
{
    struct safefile_path r = {.dirfd = -1};
    int rc = -EAGAIN;
    /* Resolved again when the name changed under us (a race with another
     * process creating or replacing it); a few times, then its error. */
    for (int tries = 0; tries < 4 && (rc == -EAGAIN || rc == -EEXIST); tries++) {
        safefile_path_close(&r);
        rc = safefile_resolve(path, &r);
        if (!rc)
            rc = safefile_check(&r);
        if (!rc)
            rc = open_resolved(&r, flags, mode, fd, st);
    }
    if (rc == 0 && keep)
        *keep = r;
    else
        safefile_path_close(&r);
    return rc;
}

/* Sleep s seconds, or less when a signal sets *stop. */
static void nap(double s, const volatile sig_atomic_t *stop)
{
    struct timespec ts = {0, (long)(s * 1e9)};
    while (!(stop && *stop) && nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

/* flock(LOCK_EX|LOCK_NB) on fd, tried for wait_s seconds. */
static int lock_wait(int fd, double wait_s, const volatile sig_atomic_t *stop)
{
    for (double waited = 0;; waited += LOCK_STEP_S) {
        if (stop && *stop)
            return -EINTR;
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
            return 0;
        if (errno != EWOULDBLOCK && errno != EINTR)
            return -errno;
        if (waited >= wait_s)
            return -SAFEFILE_EBUSY;
        nap(LOCK_STEP_S, stop);
    }
}

int safefile_lock_fd(int fd, double wait_s, const volatile sig_atomic_t *stop)
{
    return lock_wait(fd, wait_s, stop);
}

int safefile_lock(const struct safefile_path *r, double wait_s, const volatile sig_atomic_t *stop,
                  struct safefile_lock *l)
{
    l->fd = -1;
    l->dirfd = -1;
    size_t n = strlen(r->name);
    if (n + sizeof ".lock" > sizeof l->name)
        return -ENAMETOOLONG;
    memcpy(l->name, r->name, n);
    memcpy(l->name + n, ".lock", sizeof ".lock");
    int dirfd = fcntl(r->dirfd, F_DUPFD_CLOEXEC, 0);
    if (dirfd < 0)
        return -errno;
    int rc = 0;
    for (int tries = 0; tries < 8; tries++) {
        int fd =
            openat(dirfd, l->name, O_RDONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
        struct stat st, now;
        if (fd < 0) {
            rc = errno == ELOOP ? -SAFEFILE_ELINK : -errno;
            break;
        }
        /* Ours alone: another user's lock file (made first in a shared
         * directory) could be held by them forever. */
        if (fstat(fd, &st) < 0)
            rc = -errno;
        else if (!S_ISREG(st.st_mode))
            rc = -SAFEFILE_ETYPE;
        else if (st.st_uid != geteuid())
            rc = -SAFEFILE_EOWNER;
        if (rc) {
            close(fd);
            break;
        }
        rc = lock_wait(fd, wait_s, stop);
        /* The holder removes the file when it ends: a lock won on a name
         * since removed or replaced protects nothing, try the new one. */
        if (rc == 0 && (fstatat(dirfd, l->name, &now, AT_SYMLINK_NOFOLLOW) < 0 ||
                        now.st_ino != st.st_ino || now.st_dev != st.st_dev)) {
            close(fd);
            rc = -EAGAIN;
            continue;
        }
        if (rc == 0) {
            l->fd = fd;
            l->dirfd = dirfd;
            return 0;
        }
        close(fd);
        break;
    }
    close(dirfd);
    return rc == -EAGAIN ? -SAFEFILE_EBUSY : rc;
}

void safefile_unlock(struct safefile_lock *l)
{
    struct stat st, now;
    if (l->fd >= 0 && fstat(l->fd, &st) == 0 &&
        fstatat(l->dirfd, l->name, &now, AT_SYMLINK_NOFOLLOW) == 0 && now.st_ino == st.st_ino &&
        now.st_dev == st.st_dev)
        unlinkat(l->dirfd, l->name, 0); /* still locked: no one can have it yet */
    if (l->fd >= 0)
        close(l->fd);
    if (l->dirfd >= 0)
        close(l->dirfd);
    l->fd = l->dirfd = -1;
}

const char *safefile_strerror(int rc)
{
    switch (-rc) {
    case SAFEFILE_ELINK:
        return "a symbolic link owned by neither root nor this user (not followed)";
    case SAFEFILE_EDANGLING:
        return "a symbolic link to a file that does not exist (no file is created through it)";
    case SAFEFILE_EOWNER:
        return "owned by another user (in a world-writable directory, or a FIFO or device)";
    case SAFEFILE_ETYPE:
        return "not a regular file, FIFO or character device";
    case SAFEFILE_EHARDLINK:
        return "a file with several hard links (root writes only to a file with one name)";
    case SAFEFILE_EBUSY:
        return "locked by another process (is another gpu_watch writing it?)";
    case ENXIO:
        return "a FIFO that no process reads";
    default:
        return strerror(-rc);
    }
}
