/* Top-level helpers of the plot and summary subcommands. */
#include "gpu_watch/subcmd.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int subcmd_usage_error(const char *cmd, const char *fmt, const char *arg)
{
    fprintf(stderr, "gpu_watch %s: ", cmd);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (see gpu_watch %s --help)\n", cmd);
    return SUBCMD_EXIT_USAGE;
}

int subcmd_term_width(void)
{
    struct winsize ws;
    if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    return 0;
}

int subcmd_write_stdout(const char *cmd, const void *p, size_t n)
{
    if (n)
        fwrite(p, 1, n, stdout);
    if (fflush(stdout) == 0 && !ferror(stdout))
        return SUBCMD_OK;
    if (errno != EPIPE)
        fprintf(stderr, "gpu_watch %s: cannot write to standard output: %s\n", cmd,
                strerror(errno));
    return SUBCMD_EXIT_FILE;
}

/* Write all of p to fd, retrying on EINTR. 0 or -errno. */
static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int subcmd_write_file(const char *path, const void *p, size_t n)
{
    /* Past RLIMIT_FSIZE, write() fails with EFBIG once SIGXFSZ is ignored. */
    signal(SIGXFSZ, SIG_IGN);
    size_t len = strlen(path);
    char *tmp = malloc(len + 16);
    if (!tmp)
        return -ENOMEM;
    /* In the same directory, so that rename() replaces path atomically. */
    snprintf(tmp, len + 16, "%s.tmpXXXXXX", path);
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        int e = -errno;
        free(tmp);
        return e;
    }
    /* mkostemp makes 0600; a chart is as readable as any file we create. */
    mode_t um = umask(0);
    umask(um);
    int rc = fchmod(fd, 0666 & ~um) < 0 ? -errno : 0;
    if (rc == 0)
        rc = write_all(fd, p, n);
    if (rc == 0 && fsync(fd) < 0 && errno != EINVAL && errno != EROFS)
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

void subcmd_show_in_zone(enum log_tz tz, long off_s)
{
    char posix[80];
    if (tz == LOG_TZ_LOCAL)
        return;
    if (tz == LOG_TZ_UTC) {
        snprintf(posix, sizeof posix, "UTC0");
    } else {
        /* POSIX TZ counts west of UTC: UTC+05:30 is "<+0530>-05:30". */
        long a = (off_s < 0 ? -off_s : off_s) % 86400;
        snprintf(posix, sizeof posix, "<%c%02ld%02ld>%c%02ld:%02ld", off_s < 0 ? '-' : '+',
                 a / 3600, a % 3600 / 60, off_s < 0 ? '+' : '-', a / 3600, a % 3600 / 60);
    }
    setenv("TZ", posix, 1);
    tzset();
}
