/* The process tree under a watched command, from /proc: who descends from
 * whom (parent PIDs in /proc/<pid>/stat), kept across samples so that a
 * child whose parent exited (re-parented to init) stays followed, and told
 * apart from a new process that reuses its PID by its start time. Every
 * function that reads /proc takes the root ("/proc", or a fixture tree). */
#ifndef GPU_WATCH_PROCTREE_H
#define GPU_WATCH_PROCTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gpu_watch/procparse.h" /* struct proc_stat: pid, ppid, state, starttime */

/* A list of /proc entries; zeroed is empty; free v with free(). */
struct proc_list {
    struct proc_stat *v;
    size_t n;
    size_t cap;
};

/* One process of the tree. */
struct proc_member {
    long pid;
    uint64_t start;    /* start time (ticks), tells a reused PID apart */
    unsigned dead_for; /* updates since it was last seen in /proc; 0 = alive */
};

/* The members of the tree, sorted by PID; zeroed is empty; free with
 * proctree_free. */
struct proctree {
    struct proc_member *v;
    size_t n;
    size_t cap;
    long *pids;   /* the member PIDs, sorted, for the sampler's filter */
    size_t npids; /* entries in pids (n, unless the last update ran out of memory) */
};

/* Members that have not been seen for this many updates are forgotten: a
 * process that exited can still be listed by nvidia-smi for a moment. */
#define PROCTREE_KEEP_DEAD 5

/* Read root/<pid>/stat. 0, -ENOENT/-ESRCH when the process is gone, or
 * another negative errno. */
int proctree_read_stat(const char *root, long pid, struct proc_stat *out);

/* Read the stat of every process under root into out (emptied first),
 * sorted by PID. Processes that vanish during the scan are skipped. 0 or a
 * negative errno (-ENOMEM, or the error of opening root). */
int proctree_scan(const char *root, struct proc_list *out);

/* Add a root process (the watched command) to the tree. 0 or -ENOMEM. */
int proctree_add(struct proctree *t, long pid, uint64_t start);

/* Update the tree from a scan: members whose PID now belongs to a process
 * with another start time are dropped, every process whose parent is a live
 * member joins (to any depth), and members gone for PROCTREE_KEEP_DEAD
 * updates are forgotten. Pure. 0 or -ENOMEM. */
int proctree_update(struct proctree *t, const struct proc_list *all);

/* Is pid a member (alive, or gone recently)? */
bool proctree_has(const struct proctree *t, long pid);

/* How many members are alive (seen in the last update). */
size_t proctree_alive(const struct proctree *t);

/* Does a live member hold a GPU device open (a link in root/<pid>/fd to
 * /dev/nvidia<N>)? That happens when CUDA starts, before nvidia-smi lists
 * the process. Unreadable fd directories count as no. */
bool proctree_uses_gpu(const struct proctree *t, const char *root);

/* Is a /proc/<pid>/fd link target a GPU device node ("/dev/nvidia0", not
 * "/dev/nvidiactl" or "/dev/nvidia-uvm")? Pure. */
bool proctree_is_gpu_node(const char *target);

void proctree_free(struct proctree *t);

#endif
