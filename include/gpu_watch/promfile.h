/* --prom-textfile: turns each sample into prom.h's plain structs, keeps the
 * history of every query (its failures since start), and publishes the
 * exposition atomically. */
#ifndef GPU_WATCH_PROMFILE_H
#define GPU_WATCH_PROMFILE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "gpu_watch/prom.h"
#include "gpu_watch/sampler.h"

struct promfile;

/* What goes into the file besides the rows. */
struct promfile_opts {
    const char *path; /* the *.prom file; not copied, must outlive the promfile */
    bool host;        /* --host series */
    bool peaks;       /* --peaks series */
    /* --prom-command, and the version for gpu_watch_build_info (static). */
    enum prom_command command;
    const char *version;
};

/* A new writer; NULL when out of memory. Free with promfile_free. */
struct promfile *promfile_new(const struct promfile_opts *o);

/* How long promfile_open waits for another process's lock (s). */
#define PROMFILE_LOCK_WAIT_S 2.0

/* Check the path as safefile.h says (links, owner in a shared directory)
 * and lock it for the run ("<path>.lock", so a second gpu_watch on the same
 * file is refused); writes to a stalled FIFO give up once *stop is set.
 * Before the first promfile_write. 0, SAFEFILE_EBUSY (locked by another
 * process), -EINTR (*stop set while waiting), or another negative errno
 * (safefile_strerror says it). */
int promfile_open(struct promfile *pf, const volatile sig_atomic_t *stop);

/* Publish smp, taken at wall (seconds since the epoch) in duration
 * seconds, with the GPUs gpus[0..ngpus) known to the source (indexes).
 * 0, -ENOMEM, or the negative errno of writing or renaming the file. */
int promfile_write(struct promfile *pf, const struct sample *smp, double wall, double duration,
                   const int *gpus, size_t ngpus);

/* Remove the file (the processes it describes are no longer watched; only
 * a regular file of ours, after promfile_open succeeded), release the lock
 * and free pf; NULL is ignored. 0 or the negative errno of unlink. */
int promfile_close(struct promfile *pf);

#endif
