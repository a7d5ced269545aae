/* libFuzzer harness: the text `gpu_watch job` reads (nvidia-smi -q, the
 * prolog's snapshot, the NVML reader's report, SLURM_JOB_GPUS), and the
 * window matching on the records they return. */
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_watch/job.h"
#include "gpu_watch/job_nvml.h"
#include "gpu_watch/job_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_recs(const struct job_rec *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        assert(r[i].pid > 0);
        assert(memchr(r[i].uuid, '\0', sizeof r[i].uuid) != NULL);
        assert(r[i].max_mib > 0 || r[i].max_mib == GW_UNKNOWN || r[i].max_mib == 0);
        long m = job_match_record(r, n, r[i].uuid, r[i].pid, NAN, NAN, 0, 1e12, r, n, true);
        assert(m < 0 || (r[m].pid == r[i].pid && strcmp(r[m].uuid, r[i].uuid) == 0));
        int in = job_rec_in_window(&r[i], 0, 1e12, NULL, 0, false);
        assert(in >= -1 && in <= 1);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    struct job_gpu_info g[2] = {{.index = 0, .uuid = "GPU-aaaaaaaa-1111-2222-3333-444444444444"},
                                {.index = 1, .uuid = "GPU-bbbbbbbb-1111-2222-3333-444444444444"}};
    int rc = job_parse_smi_q(buf, size, g, 2);
    assert(rc == 0 || rc == -EINVAL);
    for (int i = 0; i < 2; i++)
        assert(g[i].minor >= -1 && g[i].minor <= JOB_MAX_MINOR);

    double taken;
    struct job_rec *recs = NULL;
    size_t n = 0;
    rc = job_parse_snapshot(buf, size, &taken, &recs, &n);
    assert(rc == 0 || rc == -EINVAL || rc == -ENOMEM);
    check_recs(recs, n);
    free(recs);

    struct job_gpu_info *gpus = NULL;
    size_t ng = 0;
    char why[128];
    rc = job_nvml_parse(buf, size, &gpus, &ng, &recs, &n, why, sizeof why);
    assert(rc == 0 || rc == -EINVAL || rc == -EIO || rc == -ENOMEM);
    if (rc == 0) {
        check_recs(recs, n);
        free(recs);
        free(gpus);
    }

    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    int list[64];
    rc = job_parse_gpu_list(s, list, 64, &n);
    assert(rc == 0 || rc == -EINVAL);
    for (size_t i = 0; rc == 0 && i < n; i++)
        assert(list[i] >= 0 && list[i] <= JOB_MAX_MINOR);
    bool claimed;
    (void)job_id_matches(s, "42", &claimed);
    free(s);
    return 0;
}
