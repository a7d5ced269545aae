/* Reading /proc. Every function takes the /proc root as a parameter
 * ("/proc" in production, a fixture directory in tests). A vanished process
 * is normal: it gives -ENOENT or -ESRCH, not a crash. */
#ifndef GPU_WATCH_PROCFS_H
#define GPU_WATCH_PROCFS_H

#include <stdbool.h>
#include <stddef.h>

#include "gpu_watch/buf.h"

/* Read root/rel whole into b (emptied first, NUL-terminated), at most max
 * bytes. 0 or a negative errno. */
int procfs_read_file(const char *root, const char *rel, struct gw_buf *b, size_t max);

/* The command line of pid as ps prints it: arguments joined by single
 * spaces, control characters (newline, tab, CR...) turned into spaces.
 * Returns a malloc'd string the caller frees, or NULL with *err set to a
 * negative errno (-ENOENT gone, -ENODATA empty: a zombie or kernel thread). */
char *procfs_cmdline(const char *root, long pid, int *err);

/* Turn raw /proc/<pid>/cmdline bytes into a printable command line in
 * place (NULs and control characters to spaces, trailing separators
 * dropped); returns the new length. Pure; exposed for tests. */
size_t procfs_clean_cmdline(char *s, size_t len);

/* True when root is a directory (a mounted /proc, or a fixture tree). */
bool procfs_available(const char *root);

#endif
