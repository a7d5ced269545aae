/* libFuzzer harness: ps_parse_args (ps -o pid=,args=). Entries point into
 * the input: their args must lie inside it. */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_watch/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ps_list l = {0};
    const char *buf = (const char *)data;
    int rc = ps_parse_args(buf, size, &l);
    assert(rc == 0 || rc == -ENOMEM);
    for (size_t i = 0; i < l.n; i++) {
        assert(l.v[i].pid > 0);
        if (l.v[i].args_len) {
            assert(l.v[i].args >= buf && l.v[i].args + l.v[i].args_len <= buf + size);
            assert(memchr(l.v[i].args, '\n', l.v[i].args_len) == NULL);
        }
    }
    free(l.v);
    return 0;
}
