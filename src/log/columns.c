/* The CSV columns (columns.h): the table and the writers of its rows. */
#include "gpu_watch/columns.h"

#include <errno.h>
#include <string.h>

#include "gpu_watch/csv.h"
#include "gpu_watch/owner.h"
#include "gpu_watch/text.h"
#include "gpu_watch/valid.h"

/* The largest PID (PID_MAX_LIMIT), and what logread takes for a host PID
 * (PID_MAX_LIMIT * 1024: a PID of another namespace's numbering). */
#define MAX_PID_NS   4194304.0
#define MAX_PID_HOST (4194304.0 * 1024)

/* ---- the writers: one value each, nothing for an unknown one ---- */

static void w_ts(struct gw_buf *b, const char *ts, const struct sample *smp,
                 const struct sample_row *r)
{
    (void)smp, (void)r;
    buf_puts(b, ts);
}

static void w_gpu(struct gw_buf *b, const char *ts, const struct sample *smp,
                  const struct sample_row *r)
{
    (void)ts, (void)smp;
    csv_int(b, r->gpu); /* -1: not mapped, empty */
}

static void w_pid(struct gw_buf *b, const char *ts, const struct sample *smp,
                  const struct sample_row *r)
{
    (void)ts, (void)smp;
    csv_int(b, r->pid);
}

/* The cmd field, capped to TEXT_CMD_MAX bytes (text.h) whatever the caller
 * kept: a row stays far below what logread takes (LOG_MAX_RECORD). */
static void w_cmd(struct gw_buf *b, const char *ts, const struct sample *smp,
                  const struct sample_row *r)
{
    (void)ts, (void)smp;
    char tmp[TEXT_CMD_MAX + 1];
    size_t n = strlen(r->cmd), k = text_cmd_cap(r->cmd, n, tmp);
    csv_field(b, k == n ? r->cmd : tmp, k);
}

static void w_mem(struct gw_buf *b, const char *ts, const struct sample *smp,
                  const struct sample_row *r)
{
    (void)ts, (void)smp;
    csv_int(b, r->mem_mib);
}

static void w_sm(struct gw_buf *b, const char *ts, const struct sample *smp,
                 const struct sample_row *r)
{
    (void)ts, (void)smp;
    csv_int(b, r->sm_pct);
}

static void w_mem_pct(struct gw_buf *b, const char *ts, const struct sample *smp,
                      const struct sample_row *r)
{
    (void)ts, (void)smp;
    csv_int(b, r->mem_pct);
}

/* CPU % of one core with one decimal; cores as "8/9/11". */
static void put_cpu(struct gw_buf *b, const struct host_fields *h)
{
    if (h->cpu_pct >= 0)
        buf_printf(b, "%.1f", h->cpu_pct);
}

static void put_cores(struct gw_buf *b, const struct host_fields *h)
{
    if (h->cores)
        buf_puts(b, h->cores);
}

static void w_cpu(struct gw_buf *b, const char *ts, const struct sample *smp,
                  const struct sample_row *r)
{
    (void)ts, (void)smp;
    put_cpu(b, &r->host);
}

static void w_cores(struct gw_buf *b, const char *ts, const struct sample *smp,
                    const struct sample_row *r)
{
    (void)ts, (void)smp;
    put_cores(b, &r->host);
}

static void w_rss(struct gw_buf *b, const char *ts, const struct sample *smp,
                  const struct sample_row *r)
{
    (void)ts, (void)smp;
    csv_int(b, r->host.rss_mib);
}

static void w_sys(struct gw_buf *b, const char *ts, const struct sample *smp,
                  const struct sample_row *r)
{
    (void)ts, (void)r;
    csv_int(b, smp->sys_used_mib); /* the same on every row of a sample */
}

static void w_peak(struct gw_buf *b, const char *ts, const struct sample *smp,
                   const struct sample_row *r)
{
    (void)ts, (void)smp;
    csv_int(b, r->peak_mib);
}

/* Empty when the peak is the driver's (peak_hz 0) or unknown. */
static void w_peak_hz(struct gw_buf *b, const char *ts, const struct sample *smp,
                      const struct sample_row *r)
{
    (void)ts, (void)smp;
    csv_int(b, r->peak_mib >= 0 && r->peak_hz > 0 ? r->peak_hz : GW_UNKNOWN);
}

static void w_mig(struct gw_buf *b, const char *ts, const struct sample *smp,
                  const struct sample_row *r)
{
    (void)ts, (void)smp;
    csv_field(b, r->mig ? r->mig : "", r->mig ? strlen(r->mig) : 0);
}

/* The --who text fields; empty when not known. */
static void put_text(struct gw_buf *b, const char *s)
{
    csv_field(b, s, strlen(s));
}

static void w_user(struct gw_buf *b, const char *ts, const struct sample *smp,
                   const struct sample_row *r)
{
    (void)ts, (void)smp;
    put_text(b, r->who ? r->who->user : "");
}

static void w_job(struct gw_buf *b, const char *ts, const struct sample *smp,
                  const struct sample_row *r)
{
    (void)ts, (void)smp;
    put_text(b, r->who ? r->who->job_id : "");
}

static void w_container(struct gw_buf *b, const char *ts, const struct sample *smp,
                        const struct sample_row *r)
{
    (void)ts, (void)smp;
    put_text(b, r->who ? r->who->container : "");
}

static void w_container_pid(struct gw_buf *b, const char *ts, const struct sample *smp,
                            const struct sample_row *r)
{
    (void)ts, (void)smp;
    csv_int(b, r->who ? r->who->container_pid : -1);
}

/* --compact: the watched process, whether or not it is on a GPU. */
static void wc_used(struct gw_buf *b, const char *ts, const struct sample *smp,
                    const struct sample_row *r)
{
    (void)ts, (void)r;
    csv_int(b, smp->watched_mem_mib);
}

static void wc_cores(struct gw_buf *b, const char *ts, const struct sample *smp,
                     const struct sample_row *r)
{
    (void)ts, (void)r;
    if (smp->watched_alive)
        put_cores(b, &smp->watched);
}

static void wc_cpu(struct gw_buf *b, const char *ts, const struct sample *smp,
                   const struct sample_row *r)
{
    (void)ts, (void)r;
    if (smp->watched_alive)
        put_cpu(b, &smp->watched);
}

/* ---- the table ---- */

#define AT(f)          offsetof(struct log_row, f)
#define NUM(f, m)      COL_READ_DOUBLE, AT(f), 0, (m)
#define WHOLE(k, f, m) (k), AT(f), 0, (m)
#define TEXT(f, l)     COL_READ_TEXT, AT(f), (l), 0

const struct column columns[] = {
    /* The sampler's schema, in the order of the header. */
    {"timestamp", COL_BASE, LOG_COL_TIMESTAMP, w_ts, COL_READ_TIME, 0, 0, 0, false,
     "plot/summary: the time axis; prom: gpu_watch_last_sample_timestamp_seconds"},
    {"gpu_index", COL_BASE, LOG_COL_GPU_INDEX, w_gpu, WHOLE(COL_READ_INT, gpu, 1e6), false,
     "summary: per-GPU figures; prom: label gpu"},
    {"pid", COL_BASE, LOG_COL_PID, w_pid, WHOLE(COL_READ_LONG, pid, MAX_PID_HOST), false,
     "summary/plot: the process; prom: label pid"},
    {"cmd", COL_BASE, LOG_COL_CMD, w_cmd, TEXT(cmd, AT(cmd_len)), false,
     "summary/plot: the process's name; prom: gpu_watch_process_info{command}"},
    {"gpu_mem_mib", COL_BASE, LOG_COL_GPU_MEM_MIB, w_mem, NUM(gpu_mem_mib, GW_VALID_MAX_MIB), false,
     "summary: peak and mean memory; plot; prom: gpu_watch_process_gpu_memory_bytes"},
    {"sm_util_pct", COL_BASE, LOG_COL_SM_UTIL_PCT, w_sm, NUM(sm_util_pct, GW_VALID_MAX_PCT), false,
     "summary: mean SM; plot; prom: gpu_watch_process_sm_utilization_ratio"},
    {"mem_util_pct", COL_BASE, LOG_COL_MEM_UTIL_PCT, w_mem_pct, NUM(mem_util_pct, GW_VALID_MAX_PCT),
     false, "prom: gpu_watch_process_memory_utilization_ratio"},
    {"cpu_pct", COL_HOST, LOG_COL_CPU_PCT, w_cpu, NUM(cpu_pct, 409600), false,
     "summary: mean CPU; plot; prom: gpu_watch_process_cpu_usage_ratio"},
    {"cpu_cores", COL_HOST, LOG_COL_CPU_CORES, w_cores, TEXT(cpu_cores, AT(cpu_cores_len)), false,
     "read back as text only"},
    {"rss_mib", COL_HOST, LOG_COL_RSS_MIB, w_rss, NUM(rss_mib, GW_VALID_MAX_MIB), false,
     "summary: peak RSS; prom: gpu_watch_process_resident_memory_bytes"},
    {"sys_used_mib", COL_HOST, LOG_COL_SYS_USED_MIB, w_sys, NUM(sys_used_mib, GW_VALID_MAX_MIB),
     false, "plot: the host memory line"},
    {"peak_mem_mib", COL_PEAKS, LOG_COL_PEAK_MEM_MIB, w_peak, NUM(peak_mem_mib, GW_VALID_MAX_MIB),
     false, "summary: the true peak; prom: gpu_watch_process_gpu_memory_peak_bytes"},
    {"peak_rate_hz", COL_DENSE, LOG_COL_PEAK_RATE_HZ, w_peak_hz, NUM(peak_rate_hz, 1000), false,
     "summary: \"sampled at N Hz\""},
    {"mig_instance", COL_DENSE, LOG_COL_MIG_INSTANCE, w_mig, TEXT(mig_instance, 0), false,
     "read back as text only"},
    {"user", COL_WHO, LOG_COL_USER, w_user, TEXT(user, 0), false,
     "summary --by user; job; prom: gpu_watch_process_info{user}"},
    {"job_id", COL_WHO, LOG_COL_JOB_ID, w_job, TEXT(job_id, 0), false,
     "summary --by job; job (job_id_matches); prom: gpu_watch_process_info{job_id}"},
    {"container", COL_WHO, LOG_COL_CONTAINER, w_container, TEXT(container, 0), false,
     "prom: gpu_watch_process_info{container}"},
    {"container_pid", COL_WHO, LOG_COL_CONTAINER_PID, w_container_pid,
     WHOLE(COL_READ_LONG, container_pid, MAX_PID_NS), true,
     "prom: gpu_watch_process_info{container_pid}"},
    /* --compact's schema (read as the sampler's columns of the same id;
     * all but the first two optional, in any order). */
    {"timestamp", COL_COMPACT, LOG_COL_TIMESTAMP, w_ts, COL_READ_TIME, 0, 0, 0, false,
     "as the sampler's"},
    {"used_mib", COL_COMPACT, LOG_COL_GPU_MEM_MIB, wc_used, NUM(gpu_mem_mib, GW_VALID_MAX_MIB),
     false, "as gpu_mem_mib"},
    {"sys_used_mib", COL_COMPACT, LOG_COL_SYS_USED_MIB, w_sys, NUM(sys_used_mib, GW_VALID_MAX_MIB),
     true, "as the sampler's"},
    {"cpu_cores", COL_COMPACT, LOG_COL_CPU_CORES, wc_cores, TEXT(cpu_cores, AT(cpu_cores_len)),
     true, "as the sampler's"},
    {"cpu_pct", COL_COMPACT, LOG_COL_CPU_PCT, wc_cpu, NUM(cpu_pct, 409600), true,
     "as the sampler's"},
};

const size_t columns_n = sizeof columns / sizeof columns[0];

unsigned columns_set(bool host, bool peaks, bool dense, bool who)
{
    return COL_SET(COL_BASE) | (host ? COL_SET(COL_HOST) : 0) | (peaks ? COL_SET(COL_PEAKS) : 0) |
           (dense ? COL_SET(COL_DENSE) : 0) | (who ? COL_SET(COL_WHO) : 0);
}

void columns_names(struct gw_buf *b, unsigned set, bool lead)
{
    for (size_t i = 0; i < columns_n; i++) {
        if (!(set & COL_SET(columns[i].group)))
            continue;
        if (lead)
            buf_putc(b, ',');
        buf_puts(b, columns[i].name);
        lead = true;
    }
}

int columns_header(char *dst, size_t len, unsigned set)
{
    size_t n = 0;
    for (size_t i = 0; i < columns_n; i++) {
        if (!(set & COL_SET(columns[i].group)))
            continue;
        size_t l = strlen(columns[i].name);
        if (n + (n > 0) + l >= len)
            return -ENAMETOOLONG;
        if (n > 0)
            dst[n++] = ',';
        memcpy(dst + n, columns[i].name, l);
        n += l;
    }
    if (len == 0)
        return -ENAMETOOLONG;
    dst[n] = '\0';
    return 0;
}

const struct column *columns_find(const char *name, size_t len, unsigned set)
{
    for (size_t i = 0; i < columns_n; i++)
        if ((set & COL_SET(columns[i].group)) && strlen(columns[i].name) == len &&
            memcmp(columns[i].name, name, len) == 0)
            return &columns[i];
    return NULL;
}
