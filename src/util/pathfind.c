/* PATH lookup for nvidia-smi and for the command of `gpu_watch -- COMMAND`. */
#include "gpu_watch/pathfind.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int check_file(const char *file)
{
    struct stat st;
    if (stat(file, &st) < 0)
        return errno == ENOENT || errno == ENOTDIR ? -ENOENT : -EACCES;
    if (!S_ISREG(st.st_mode) || access(file, X_OK) < 0)
        return -EACCES;
    return 0;
}

int path_find(const char *cmd, const char *path)
{
    if (!*cmd)
        return -ENOENT;
    if (strchr(cmd, '/'))
        return check_file(cmd);
    if (!path)
        path = "/bin:/usr/bin"; /* glibc's default when PATH is unset */
    int rc = -ENOENT;
    for (const char *p = path;;) {
        const char *c = strchr(p, ':');
        size_t len = c ? (size_t)(c - p) : strlen(p);
        char full[4096]; /* PATH_MAX: a longer name could not be run either */
        if ((size_t)snprintf(full, sizeof full, "%.*s%s%s", (int)len, p, len ? "/" : "", cmd) <
            sizeof full) {
            int r = check_file(full);
            if (r == 0)
                return 0;
            if (r == -EACCES)
                rc = -EACCES;
        }
        if (!c)
            return rc;
        p = c + 1;
    }
}
