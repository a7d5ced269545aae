/* Opening the files gpu_watch writes (the log, the --prom-textfile, charts)
 * on a node whose directories other users share: a symbolic link is
 * followed only when root or we own it, nothing is created through a
 * dangling link, a FIFO or device is opened only when root or we own it
 * (without blocking, and never a block device), an existing file in a
 * world-writable directory only when it is ours; and the exclusive lock
 * that keeps a second gpu_watch off a file, on a lock file others cannot
 * open. */
#ifndef GPU_WATCH_SAFEFILE_H
#define GPU_WATCH_SAFEFILE_H

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/stat.h>

/* The refusals, as negative errnos (safefile_strerror says them in words). */
#define SAFEFILE_ELINK     ELOOP   /* a symbolic link owned by neither root nor us */
#define SAFEFILE_EDANGLING ENOLINK /* a symbolic link to nothing: no file created there */
#define SAFEFILE_EOWNER    EPERM   /* another user's file in a shared directory, FIFO or device */
#define SAFEFILE_ETYPE     ENODEV  /* a block device, socket or other file we do not write */
#define SAFEFILE_EHARDLINK EMLINK  /* as root: a file with several hard links */
#define SAFEFILE_EBUSY     EAGAIN  /* locked by another process */

/* A path resolved to its directory and last name. */
struct safefile_path {
    int dirfd;               /* the directory holding name (O_PATH); -1 when closed */
    char name[NAME_MAX + 1]; /* the last component: not a symbolic link, or absent */
    bool exists;             /* name exists; st is its lstat */
    bool via_link;           /* name was reached by following a symbolic link */
    bool magic;              /* a /proc link (/dev/stdout): opened by the kernel's lookup */
    bool shared_dir;         /* the directory is world-writable (/tmp, a shared spool) */
    struct stat st;
};

/* Resolve path: every symbolic link on the way (directories and the last
 * name) is followed only when it belongs to root or to our effective user,
 * else SAFEFILE_ELINK; a last name that is a link in /proc (/dev/stdout ->
 * /proc/self/fd/1) is left for the kernel to open (r->magic). 0 or -errno;
 * on success close r with safefile_path_close. */
int safefile_resolve(const char *path, struct safefile_path *r);

/* Close r's directory; safe on a closed or failed r. */
void safefile_path_close(struct safefile_path *r);

/* Check that an existing r (not magic) may be written: a regular file in a
 * world-writable directory must be ours, and as root have one hard link; a
 * FIFO or character device must belong to root or us; nothing else. 0 or a
 * negative SAFEFILE_E* code. */
int safefile_check(const struct safefile_path *r);

/* Open path for writing, after safefile_resolve and safefile_check: a
 * regular file with flags (O_RDWR or O_WRONLY, O_APPEND; O_RDWR falls back
 * to O_WRONLY when not readable), created with mode when absent (O_EXCL,
 * never through a link); a FIFO or character device O_WRONLY|O_NONBLOCK (a
 * FIFO nobody reads: -ENXIO at once, no hang). *fd gets the descriptor,
 * *st its fstat; when r is not NULL it keeps the resolved path (close it
 * with safefile_path_close). 0 or -errno. */
int safefile_open(const char *path, int flags, mode_t mode, int *fd, struct stat *st,
                  struct safefile_path *r);

/* An exclusive lock on "<name>.lock" in the directory of a resolved path. */
struct safefile_lock {
    int fd;    /* -1 when not held */
    int dirfd; /* the directory of the lock file */
    char name[NAME_MAX + 1];
};

/* Take the lock for r: "<r->name>.lock" beside it, created 0600 and owned
 * by us (so no other user can open it, let alone lock it), locked with
 * flock(LOCK_EX|LOCK_NB) and tried again every 50 ms for wait_s seconds;
 * *stop set (a signal) ends the wait with -EINTR. SAFEFILE_EBUSY when
 * another process holds it; -EACCES, -EROFS when the directory takes no
 * new file. 0 or -errno; release with safefile_unlock. */
int safefile_lock(const struct safefile_path *r, double wait_s, const volatile sig_atomic_t *stop,
                  struct safefile_lock *l);

/* Lock the open file fd itself the same way (where no lock file can be
 * made: a directory we cannot write to). The lock goes with fd. */
int safefile_lock_fd(int fd, double wait_s, const volatile sig_atomic_t *stop);

/* Remove the lock file (if it is still ours) and release the lock. */
void safefile_unlock(struct safefile_lock *l);

/* Words for the negative errno rc: the SAFEFILE_E* refusals say why, the
 * rest strerror. */
const char *safefile_strerror(int rc);

#endif
