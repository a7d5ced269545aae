/* Growable arrays: one checked way to make room, for every module. */
#ifndef GPU_WATCH_ARRAY_H
#define GPU_WATCH_ARRAY_H

#include <stddef.h>

/* Make room for at least need elements of elem bytes in *v (capacity *cap,
 * in elements): doubles from 16, and never lets need * elem overflow. The
 * array keeps its contents; on failure it is unchanged. 0, -ENOMEM, or
 * -EOVERFLOW when need * elem would not fit in a size_t. */
int array_reserve(void *v, size_t *cap, size_t need, size_t elem);

#endif
