/* NVML answers decoded from raw bytes, checked and filtered: the pure half
 * of the NVML source (see nvml_records.h for the layouts). */
#include "gpu_watch/nvml_records.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void nvml_decode_procs(const unsigned char *raw, size_t n, size_t stride, struct nvml_proc *out)
{
    for (size_t i = 0; i < n; i++) {
        const unsigned char *r = raw + i * stride;
        struct nvml_proc *p = &out[i];
        p->gi = p->ci = NVML_NO_INSTANCE;
        if (stride >= NVML_PROC_V2_SIZE) {
            struct nvml_proc_info_v2 v2;
            memcpy(&v2, r, sizeof v2);
            p->pid = v2.pid;
            p->mem = v2.used_gpu_memory;
            p->gi = v2.gpu_instance_id;
            p->ci = v2.compute_instance_id;
        } else {
            struct nvml_proc_info_v1 v1;
            memcpy(&v1, r, sizeof v1);
            p->pid = v1.pid;
            p->mem = v1.used_gpu_memory;
        }
        p->sm_pct = p->mem_pct = -1;
    }
}

uint32_t nvml_raw_pid(const unsigned char *rec)
{
    /* pid leads every process record version (the static checks). */
    uint32_t pid;
    memcpy(&pid, rec + offsetof(struct nvml_proc_info_v1, pid), sizeof pid);
    return pid;
}

void nvml_decode_util(const unsigned char *raw, size_t n, size_t size, struct nvml_util *out)
{
    for (size_t i = 0; i < n; i++) {
        const unsigned char *r = raw + i * size;
        struct nvml_util *u = &out[i];
        if (size == NVML_UTIL_INFO_SIZE) {
            struct nvml_util_info_entry e;
            memcpy(&e, r, sizeof e);
            u->ts = e.time_stamp;
            u->pid = e.pid;
            u->sm = e.sm_util;
            u->mem = e.mem_util;
        } else {
            struct nvml_util_sample e;
            memcpy(&e, r, sizeof e);
            u->pid = e.pid;
            u->ts = e.time_stamp;
            u->sm = e.sm_util;
            u->mem = e.mem_util;
        }
    }
}

int nvml_check_procs(const struct nvml_proc *p, size_t n, long pid_max, uint64_t total, char *why,
                     size_t whylen)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i].pid == 0 || (long)p[i].pid > pid_max) {
            snprintf(why, whylen, "PID %lu (pid_max %ld)", (unsigned long)p[i].pid, pid_max);
            return -EPROTO;
        }
        if (p[i].mem != NVML_NOT_AVAILABLE && p[i].mem > total) {
            snprintf(why, whylen, "PID %lu uses %llu bytes of a %llu-byte GPU",
                     (unsigned long)p[i].pid, (unsigned long long)p[i].mem,
                     (unsigned long long)total);
            return -EPROTO;
        }
        /* Lists are short (the processes of one GPU): a quadratic scan. */
        for (size_t j = 0; j < i; j++)
            if (p[j].pid == p[i].pid && p[j].gi == p[i].gi && p[j].ci == p[i].ci) {
                snprintf(why, whylen, "PID %lu listed twice", (unsigned long)p[i].pid);
                return -EPROTO;
            }
    }
    return 0;
}

size_t nvml_filter_util(const struct nvml_util *u, size_t nu, struct nvml_proc *procs, size_t np,
                        uint64_t *last_seen)
{
    uint64_t since = *last_seen, newest = since;
    size_t set = 0;
    for (size_t i = 0; i < np; i++) {
        /* The newest sample of this PID, if any counts. */
        const struct nvml_util *best = NULL;
        for (size_t k = 0; k < nu; k++)
            if (u[k].pid == procs[i].pid && u[k].ts > since && u[k].sm <= 100 && u[k].mem <= 100 &&
                (!best || u[k].ts > best->ts))
                best = &u[k];
        if (!best)
            continue;
        procs[i].sm_pct = (int)best->sm;
        procs[i].mem_pct = (int)best->mem;
        if (best->ts > newest)
            newest = best->ts;
        set++;
    }
    *last_seen = newest;
    return set;
}

int64_t nvml_mib(uint64_t bytes)
{
    if (bytes == NVML_NOT_AVAILABLE)
        return -1;
    return (int64_t)(bytes / (1024 * 1024));
}

int64_t nvml_acct_peak(const unsigned char *raw)
{
    struct nvml_acct_stats st;
    memcpy(&st, raw, sizeof st);
    if (st.is_running != 1 || st.max_memory_usage == 0)
        return -1;
    return nvml_mib(st.max_memory_usage);
}

uint64_t nvml_acct_start(const unsigned char *raw)
{
    struct nvml_acct_stats st;
    memcpy(&st, raw, sizeof st);
    return st.is_running == 1 ? st.start_time : 0;
}
