/* Growable arrays: array_reserve, the one checked growth of the project. */
#include "gpu_watch/array.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int array_reserve(void *v, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    if (elem == 0 || need > SIZE_MAX / elem)
        return -EOVERFLOW;
    size_t nc = *cap ? *cap : 16;
    while (nc < need)
        nc = nc > SIZE_MAX / 2 ? need : nc * 2;
    if (nc > SIZE_MAX / elem)
        nc = need;
    void *old;
    memcpy(&old, v, sizeof old); /* v is the address of a T * */
    void *p = realloc(old, nc * elem);
    if (!p)
        return -ENOMEM;
    memcpy(v, &p, sizeof p);
    *cap = nc;
    return 0;
}
