/* libFuzzer harness: the accounting parsers (--query-accounted-apps with its
 * header, --query-gpu=index,uuid,accounting.mode) and the record matching
 * on what they return. */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_watch/parse.h"
#include "gpu_watch/peaks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct acct_list l = {0};
    int rc = smi_parse_accounted((const char *)data, size, &l);
    assert(rc == 0 || rc == -ENOMEM || rc == -EINVAL);
    for (size_t i = 0; i < l.n; i++) {
        const struct acct_rec *r = &l.v[i];
        assert(r->pid > 0);
        assert(r->uuid[0] && memchr(r->uuid, '\0', sizeof r->uuid) != NULL);
        assert(r->max_mib >= 0 || r->max_mib == GW_UNKNOWN);
        assert(r->time_ms >= 0 || r->time_ms == GW_UNKNOWN);
        /* A match is a record of that PID and GPU, never a peak of 0. */
        struct peak_query q = {.uuid = r->uuid, .pid = r->pid, .alive = true};
        long m = peaks_match(l.v, l.n, &q);
        assert(m < 0 || (l.v[m].pid == r->pid && strcmp(l.v[m].uuid, r->uuid) == 0));
        q = (struct peak_query){.uuid = r->uuid, .pid = r->pid, .start_ms = 0, .end_ms = 5000};
        int64_t pk = peaks_find(l.v, l.n, &q);
        assert(pk > 0 || pk == GW_UNKNOWN);
    }
    struct gpu_list g = {0};
    rc = smi_parse_gpus_acct((const char *)data, size, &g);
    assert(rc == 0 || rc == -ENOMEM);
    for (size_t i = 0; i < g.n; i++)
        assert(g.v[i].acct == 0 || g.v[i].acct == 1 || g.v[i].acct == GW_UNKNOWN);
    free(l.v);
    free(g.v);
    return 0;
}
