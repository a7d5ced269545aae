/* libFuzzer harness: smi_parse_gpus (--query-gpu=index,uuid) and the UUID
 * lookup built on it, plus smi_parse_value on the raw input. */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_watch/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gpu_list l = {0};
    int rc = smi_parse_gpus((const char *)data, size, &l);
    assert(rc == 0 || rc == -ENOMEM);
    for (size_t i = 0; i < l.n; i++) {
        assert(l.v[i].index >= 0);
        assert(memchr(l.v[i].uuid, '\0', sizeof l.v[i].uuid) != NULL);
        /* Every UUID parsed maps back to the index of the first GPU line
         * holding it. */
        size_t first = 0;
        while (strcmp(l.v[first].uuid, l.v[i].uuid) != 0)
            first++;
        assert(gpu_list_index(&l, l.v[i].uuid) == l.v[first].index);
    }
    int64_t v = smi_parse_value((const char *)data, size);
    assert(v >= 0 || v == GW_UNKNOWN);
    free(l.v);
    return 0;
}
