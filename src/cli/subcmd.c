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

#include "gpu_watch/atomicio.h"

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

int subcmd_text_width(int fd)
{
    struct winsize ws;
    if (isatty(fd) && ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    const char *c = getenv("COLUMNS");
    char *end;
    errno = 0;
    long n = c ? strtol(c, &end, 10) : 0;
    return c && !errno && end != c && !*end && n >= 40 && n <= 1000 ? (int)n : 0;
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

int subcmd_write_file(const char *path, const void *p, size_t n)
{
    /* Past RLIMIT_FSIZE, write() fails with EFBIG once SIGXFSZ is ignored. */
    signal(SIGXFSZ, SIG_IGN);
    return atomicio_replace(path, p, n, (mode_t)-1, true);
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
