/* libFuzzer harness: the /proc text parsers (procparse_stat,
 * procparse_status_rss_kb, procparse_meminfo_used_kb, procparse_uptime) on
 * the same input. Each returns 0 or -EINVAL and, on success, plausible
 * values; none reads past the buffer (no NUL terminator is given). */
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_watch/procparse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    struct proc_stat st = {0};
    int rc = procparse_stat(buf, size, &st);
    assert(rc == 0 || rc == -EINVAL);
    if (rc == 0)
        assert(memchr(buf, ')', size) != NULL);
    int64_t kb = -1;
    rc = procparse_status_rss_kb(buf, size, &kb);
    assert(rc == 0 || rc == -EINVAL);
    if (rc == 0)
        assert(kb >= 0);
    rc = procparse_meminfo_used_kb(buf, size, &kb);
    assert(rc == 0 || rc == -EINVAL);
    double up = -1;
    rc = procparse_uptime(buf, size, &up);
    assert(rc == 0 || rc == -EINVAL);
    if (rc == 0) {
        assert(isfinite(up) && up >= 0);
        double pcpu = procparse_pcpu_since_start(st.utime, st.starttime, up, 100);
        assert(pcpu == -1 || (isfinite(pcpu) && pcpu >= 0));
    }
    return 0;
}
