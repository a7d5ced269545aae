/* libFuzzer harness: smi_parse_apps (--query-compute-apps csv output). Any
 * input must parse without a memory error, and every parsed entry must hold
 * a PID > 0, a NUL-terminated UUID and a size that is >= 0 or unknown. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_watch/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct smi_app_list l = {0};
    /* Parse twice into the same list: the second call must empty it first. */
    for (int round = 0; round < 2; round++) {
        int rc = smi_parse_apps((const char *)data, size, &l);
        assert(rc == 0 || rc == -12 /* -ENOMEM */);
        assert(l.n <= l.cap || l.cap == 0);
        for (size_t i = 0; i < l.n; i++) {
            assert(l.v[i].pid > 0);
            assert(memchr(l.v[i].uuid, '\0', sizeof l.v[i].uuid) != NULL);
            assert(l.v[i].mem_mib >= 0 || l.v[i].mem_mib == GW_UNKNOWN);
        }
    }
    free(l.v);
    return 0;
}
