/* libFuzzer harness: smi_parse_pmon (pmon output, any -s selection, CRLF,
 * moved columns). Parsed rows must be sane: PID > 0, numbers >= 0 or
 * unknown, type and name NUL-terminated. */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_watch/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pmon_list l = {0};
    for (int round = 0; round < 2; round++) {
        int rc = smi_parse_pmon((const char *)data, size, &l);
        assert(rc == 0 || rc == -ENOMEM || rc == -EINVAL);
        for (size_t i = 0; i < l.n; i++) {
            const struct pmon_row *r = &l.v[i];
            assert(r->pid > 0);
            assert(r->sm_pct >= 0 || r->sm_pct == GW_UNKNOWN);
            assert(r->mem_pct >= 0 || r->mem_pct == GW_UNKNOWN);
            assert(r->fb_mib >= 0 || r->fb_mib == GW_UNKNOWN);
            assert(memchr(r->type, '\0', sizeof r->type) != NULL);
            assert(memchr(r->name, '\0', sizeof r->name) != NULL);
        }
    }
    free(l.v);
    return 0;
}
