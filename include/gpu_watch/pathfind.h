/* The one PATH lookup of the project, done as execvp(3) will do it. */
#ifndef GPU_WATCH_PATHFIND_H
#define GPU_WATCH_PATHFIND_H

/* Look cmd up as execvp will (in PATH, or as a path when it holds a '/'),
 * before anything else is done, so that a wrong name costs nothing: 0 when
 * an executable regular file was found, -ENOENT when none (and for the
 * empty name), -EACCES when only files that cannot be run (or directories)
 * were. path is $PATH (NULL: execvp's default, "/bin:/usr/bin"); an empty
 * element of it is the current directory. */
int path_find(const char *cmd, const char *path);

#endif
