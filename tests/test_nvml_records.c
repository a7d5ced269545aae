/* Unit tests of the pure half of the NVML source: records decoded from
 * byte buffers laid out as the driver writes them (nvml.h, x86-64), the
 * record checks on the bad answers drivers gave (PID 0 and 4294967295,
 * duplicates, v3 records at the v1 stride), and the utilization filter on
 * answers shaped like the H200's (buffer-sized counts, garbage entries). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "gpu_watch/nvml_records.h"

#define MIB        (1024ull * 1024)
#define H200_TOTAL (143771ull * MIB) /* nvidia-smi's memory.total of the H200 */
#define PID_MAX    4194304

/* One process record as the driver writes it, at offset i * stride. */
static void put_proc(unsigned char *buf, size_t i, size_t stride, uint32_t pid, uint64_t mem,
                     uint32_t gi, uint32_t ci)
{
    unsigned char *r = buf + i * stride;
    memset(r, 0xAB, stride); /* the padding is not ours to read */
    memcpy(r, &pid, 4);
    memcpy(r + 8, &mem, 8);
    if (stride >= NVML_PROC_V2_SIZE) {
        memcpy(r + 16, &gi, 4);
        memcpy(r + 20, &ci, 4);
    }
}

static void test_decode_v3_and_v1_strides(void **state)
{
    unsigned char buf[3 * 24];
    struct nvml_proc p[3];
    put_proc(buf, 0, 24, 442, 1642 * MIB, NVML_NO_INSTANCE, NVML_NO_INSTANCE);
    put_proc(buf, 1, 24, 7001, 4864 * MIB, 1, 0);
    put_proc(buf, 2, 24, 444, NVML_NOT_AVAILABLE, NVML_NO_INSTANCE, NVML_NO_INSTANCE);
    nvml_decode_procs(buf, 3, NVML_PROC_V2_SIZE, p);
    assert_int_equal(p[0].pid, 442);
    assert_int_equal(nvml_mib(p[0].mem), 1642);
    assert_int_equal(p[0].gi, NVML_NO_INSTANCE);
    assert_int_equal(p[1].pid, 7001);
    assert_int_equal(p[1].gi, 1);
    assert_int_equal(p[1].ci, 0);
    assert_int_equal(nvml_mib(p[2].mem), -1); /* NOT_AVAILABLE: unknown, never 0 */
    assert_int_equal(p[2].sm_pct, -1);

    unsigned char v1[2 * 16];
    put_proc(v1, 0, 16, 5000, 1000 * MIB + 12345, 0, 0);
    put_proc(v1, 1, 16, 5001, 1001 * MIB, 0, 0);
    nvml_decode_procs(v1, 2, NVML_PROC_V1_SIZE, p);
    assert_int_equal(p[1].pid, 5001);
    assert_int_equal(nvml_mib(p[0].mem), 1000);  /* rounded down, as nvidia-smi */
    assert_int_equal(p[1].gi, NVML_NO_INSTANCE); /* v1 has none */
}

static void test_checks_accept_a_good_list(void **state)
{
    char why[128] = "";
    struct nvml_proc p[] = {
        {442, 1642 * MIB, NVML_NO_INSTANCE, NVML_NO_INSTANCE, -1, -1},
        {443, NVML_NOT_AVAILABLE, NVML_NO_INSTANCE, NVML_NO_INSTANCE, -1, -1},
        {PID_MAX, H200_TOTAL, NVML_NO_INSTANCE, NVML_NO_INSTANCE, -1, -1},
    };
    assert_int_equal(nvml_check_procs(p, 3, PID_MAX, H200_TOTAL, why, sizeof why), 0);
    /* MIG: one process in two instances is two records, not a duplicate. */
    struct nvml_proc mig[] = {{7001, MIB, 1, 0, -1, -1}, {7001, MIB, 2, 0, -1, -1}};
    assert_int_equal(nvml_check_procs(mig, 2, PID_MAX, H200_TOTAL, why, sizeof why), 0);
}

static void test_checks_refuse_bad_pids_memory_and_duplicates(void **state)
{
    char why[128];
    struct nvml_proc p[] = {{442, MIB, NVML_NO_INSTANCE, NVML_NO_INSTANCE, -1, -1},
                            {0, MIB, NVML_NO_INSTANCE, NVML_NO_INSTANCE, -1, -1}};
    assert_int_equal(nvml_check_procs(p, 2, PID_MAX, H200_TOTAL, why, sizeof why), -EPROTO);
    assert_string_equal(why, "PID 0 (pid_max 4194304)");
    p[1].pid = 4294967295u;
    assert_int_equal(nvml_check_procs(p, 2, PID_MAX, H200_TOTAL, why, sizeof why), -EPROTO);
    assert_string_equal(why, "PID 4294967295 (pid_max 4194304)");
    p[1].pid = PID_MAX + 1;
    assert_int_equal(nvml_check_procs(p, 2, PID_MAX, H200_TOTAL, why, sizeof why), -EPROTO);
    p[1].pid = 442;
    assert_int_equal(nvml_check_procs(p, 2, PID_MAX, H200_TOTAL, why, sizeof why), -EPROTO);
    assert_string_equal(why, "PID 442 listed twice");
    p[1].pid = 443;
    p[1].mem = H200_TOTAL + 1;
    assert_int_equal(nvml_check_procs(p, 2, PID_MAX, H200_TOTAL, why, sizeof why), -EPROTO);
    assert_non_null(strstr(why, "PID 443 uses"));
}

/* A driver that writes v3 records at the v1 stride, read at the v3 stride:
 * the second record's PID is the low half of the first one's neighbour's
 * memory. The checks must refuse it. */
static void test_checks_catch_v3_records_at_the_v1_stride(void **state)
{
    unsigned char buf[4 * 24] = {0};
    struct nvml_proc p[4];
    put_proc(buf, 0, 16, 442, 1642 * MIB, 0, 0);
    put_proc(buf, 1, 16, 443, 3590 * MIB, 0, 0);
    put_proc(buf, 2, 16, 444, 1764 * MIB, 0, 0);
    put_proc(buf, 3, 16, 445, 1024 * MIB, 0, 0);
    nvml_decode_procs(buf, 4, NVML_PROC_V2_SIZE, p);
    char why[128];
    assert_int_equal(nvml_check_procs(p, 4, PID_MAX, H200_TOTAL, why, sizeof why), -EPROTO);
    /* 3590 MiB = 0xE0600000 bytes: read as a PID, far above pid_max. */
    assert_string_equal(why, "PID 3764387840 (pid_max 4194304)");
}

static void put_old(unsigned char *b, size_t i, uint32_t pid, uint64_t ts, uint32_t sm,
                    uint32_t mem)
{
    unsigned char *r = b + i * NVML_UTIL_SAMPLE_SIZE;
    memset(r, 0, NVML_UTIL_SAMPLE_SIZE);
    memcpy(r, &pid, 4);
    memcpy(r + 8, &ts, 8);
    memcpy(r + 16, &sm, 4);
    memcpy(r + 20, &mem, 4);
}

static void put_new(unsigned char *b, size_t i, uint32_t pid, uint64_t ts, uint32_t sm,
                    uint32_t mem)
{
    unsigned char *r = b + i * NVML_UTIL_INFO_SIZE;
    memset(r, 0, NVML_UTIL_INFO_SIZE);
    memcpy(r, &ts, 8); /* timeStamp first, pid second: swapped against the old sample */
    memcpy(r + 8, &pid, 4);
    memcpy(r + 12, &sm, 4);
    memcpy(r + 16, &mem, 4);
}

static void test_decode_both_utilization_layouts(void **state)
{
    unsigned char old[NVML_UTIL_SAMPLE_SIZE], neu[NVML_UTIL_INFO_SIZE];
    struct nvml_util u;
    put_old(old, 0, 442, 1764000000123456ull, 39, 2);
    nvml_decode_util(old, 1, NVML_UTIL_SAMPLE_SIZE, &u);
    assert_int_equal(u.pid, 442);
    assert_true(u.ts == 1764000000123456ull);
    assert_int_equal(u.sm, 39);
    assert_int_equal(u.mem, 2);
    put_new(neu, 0, 444, 1764000000654321ull, 59, 3);
    nvml_decode_util(neu, 1, NVML_UTIL_INFO_SIZE, &u);
    assert_int_equal(u.pid, 444);
    assert_true(u.ts == 1764000000654321ull);
    assert_int_equal(u.sm, 59);
    assert_int_equal(u.mem, 3);
}

/* An answer shaped like the driver's: count 72 (the buffer's size), the
 * real samples among stale, older, out-of-range and foreign ones, zeros after. */
static void test_filter_keeps_newest_valid_sample_of_listed_pids(void **state)
{
    const uint64_t seen = 1000, now = 5000;
    unsigned char raw[72 * NVML_UTIL_SAMPLE_SIZE] = {0};
    size_t k = 0;
    put_old(raw, k++, 442, now - 100, 99, 99); /* older: the newer one wins */
    put_old(raw, k++, 442, now, 39, 2);
    put_old(raw, k++, 444, seen, 98, 98);    /* not newer than last seen */
    put_old(raw, k++, 444, now + 1, 255, 0); /* SM > 100 */
    put_old(raw, k++, 444, now - 10, 59, 3);
    put_old(raw, k++, 4000000, now + 2, 50, 5); /* not on this GPU */
    struct nvml_util u[72];
    nvml_decode_util(raw, 72, NVML_UTIL_SAMPLE_SIZE, u); /* the rest: PID 0, ts 0 */
    struct nvml_proc p[] = {
        {442, MIB, NVML_NO_INSTANCE, NVML_NO_INSTANCE, -1, -1},
        {443, MIB, NVML_NO_INSTANCE, NVML_NO_INSTANCE, -1, -1},
        {444, MIB, NVML_NO_INSTANCE, NVML_NO_INSTANCE, -1, -1},
    };
    uint64_t last = seen;
    assert_int_equal(nvml_filter_util(u, 72, p, 3, &last), 2);
    assert_int_equal(p[0].sm_pct, 39);
    assert_int_equal(p[0].mem_pct, 2);
    assert_int_equal(p[1].sm_pct, -1); /* no sample: unknown, not 0 */
    assert_int_equal(p[2].sm_pct, 59);
    assert_int_equal(p[2].mem_pct, 3);
    assert_true(last == now); /* the newest kept sample, not the foreign one */

    /* The same answer again: nothing is newer than last seen now. */
    for (size_t i = 0; i < 3; i++)
        p[i].sm_pct = p[i].mem_pct = -1;
    assert_int_equal(nvml_filter_util(u, 72, p, 3, &last), 0);
    assert_int_equal(p[0].sm_pct, -1);
    assert_true(last == now);
}

/* One nvmlAccountingStats_t as the driver writes it (reserved bytes not ours). */
static void put_acct(unsigned char *r, uint64_t max, uint64_t time_ms, uint32_t running)
{
    memset(r, 0xAB, NVML_ACCT_STATS_SIZE);
    const uint32_t util = 99, mem_util = 6;
    const uint64_t start = 1764000000123456ull;
    memcpy(r, &util, 4);
    memcpy(r + 4, &mem_util, 4);
    memcpy(r + 8, &max, 8);
    memcpy(r + 16, &time_ms, 8);
    memcpy(r + 24, &start, 8);
    memcpy(r + 32, &running, 4);
}

/* The H200 capture's records (tests/fixtures/peaks/h200/acct.txt) as
 * nvmlDeviceGetAccountingStats answers them. */
static void test_acct_peak_of_running_records_only(void **state)
{
    unsigned char r[NVML_ACCT_STATS_SIZE];
    put_acct(r, 9826 * MIB + 12345, 0, 1); /* 462 running: rounded down, as memory */
    assert_int_equal(nvml_acct_peak(r), 9826);
    put_acct(r, 1642 * MIB, 0, 1);
    assert_int_equal(nvml_acct_peak(r), 1642);
    put_acct(r, MIB - 1, 0, 1); /* under 1 MiB: 0 MiB, as nvidia-smi shows it */
    assert_int_equal(nvml_acct_peak(r), 0);
    put_acct(r, 30000 * MIB, 4000, 0); /* a finished record of the PID: another process's */
    assert_int_equal(nvml_acct_peak(r), -1);
    put_acct(r, 30000 * MIB, 4000, 2); /* isRunning is a boolean: anything else is not 1 */
    assert_int_equal(nvml_acct_peak(r), -1);
    put_acct(r, 0, 0, 1); /* 460: 0 bytes is no peak (L40S, driver 595) */
    assert_int_equal(nvml_acct_peak(r), -1);
    put_acct(r, NVML_NOT_AVAILABLE, 0, 1);
    assert_int_equal(nvml_acct_peak(r), -1);
    memset(r, 0, sizeof r); /* no answer (NOT_FOUND) */
    assert_int_equal(nvml_acct_peak(r), -1);
}

/* startTime only from a running record: a finished one is another process's. */
static void test_acct_start_of_running_records_only(void **state)
{
    (void)state;
    unsigned char r[NVML_ACCT_STATS_SIZE];
    put_acct(r, 1642 * MIB, 0, 1);
    assert_int_equal(nvml_acct_start(r), 1764000000123456ull);
    put_acct(r, 1642 * MIB, 4000, 0);
    assert_int_equal(nvml_acct_start(r), 0);
    memset(r, 0, sizeof r);
    assert_int_equal(nvml_acct_start(r), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_v3_and_v1_strides),
        cmocka_unit_test(test_checks_accept_a_good_list),
        cmocka_unit_test(test_checks_refuse_bad_pids_memory_and_duplicates),
        cmocka_unit_test(test_checks_catch_v3_records_at_the_v1_stride),
        cmocka_unit_test(test_decode_both_utilization_layouts),
        cmocka_unit_test(test_filter_keeps_newest_valid_sample_of_listed_pids),
        cmocka_unit_test(test_acct_peak_of_running_records_only),
        cmocka_unit_test(test_acct_start_of_running_records_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
