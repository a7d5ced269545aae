/* Unit tests of the nvidia-smi and ps parsers on real H100 captures and on
 * hand-made variants of the layouts other drivers print. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_watch/parse.h"

static char *load(const char *rel, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "tests/fixtures/%s", rel);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    b[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return b;
}

static void test_value(void **state)
{
    assert_int_equal(smi_parse_value("1642", 4), 1642);
    assert_int_equal(smi_parse_value(" 3590 MiB ", 10), 3590);
    assert_int_equal(smi_parse_value("0", 1), 0);
    assert_int_equal(smi_parse_value("[N/A]", 5), GW_UNKNOWN);
    assert_int_equal(smi_parse_value("[Not Supported]", 15), GW_UNKNOWN);
    assert_int_equal(smi_parse_value("[Insufficient Permissions]", 26), GW_UNKNOWN);
    assert_int_equal(smi_parse_value("[Not Found]", 11), GW_UNKNOWN);
    assert_int_equal(smi_parse_value("-", 1), GW_UNKNOWN);
    assert_int_equal(smi_parse_value("", 0), GW_UNKNOWN);
    assert_int_equal(smi_parse_value("12x", 3), GW_UNKNOWN);
    assert_int_equal(smi_parse_value("-5", 2), GW_UNKNOWN);
}

static void test_apps_busy(void **state)
{
    size_t len;
    char *b = load("h100-580/busy/apps_noheader_nounits.txt", &len);
    struct smi_app_list l = {0};
    assert_int_equal(smi_parse_apps(b, len, &l), 0);
    assert_int_equal(l.n, 3);
    assert_int_equal(l.bad, 0);
    assert_int_equal(l.v[0].pid, 443);
    assert_string_equal(l.v[0].uuid, "GPU-1a8e51c5-1f64-9d83-5d60-65f0c235c074");
    assert_int_equal(l.v[0].mem_mib, 3590);
    assert_int_equal(l.v[2].pid, 442);
    assert_int_equal(l.v[2].mem_mib, 1642);
    free(l.v);
    free(b);
}

static void test_apps_idle_empty(void **state)
{
    size_t len;
    char *b = load("h100-580/idle/apps_noheader_nounits.txt", &len);
    struct smi_app_list l = {0};
    assert_int_equal(len, 0);
    assert_int_equal(smi_parse_apps(b, len, &l), 0);
    assert_int_equal(l.n, 0);
    assert_int_equal(l.bad, 0);
    free(l.v);
    free(b);
}

static void test_apps_units_and_na(void **state)
{
    /* --format=csv,noheader (with units) and values nvidia-smi cannot give. */
    const char *s = "443, GPU-1a8e51c5-1f64-9d83-5d60-65f0c235c074, 3590 MiB\r\n"
                    "1234567, MIG-5c3a1b2e-0d9f-5e1a-9b7c-2f4e6a8b0c1d, [N/A]\n"
                    "12, GPU-x, [Insufficient Permissions]\n"
                    "No devices were found\n"
                    "pid, gpu_uuid, used_gpu_memory [MiB]\n";
    struct smi_app_list l = {0};
    assert_int_equal(smi_parse_apps(s, strlen(s), &l), 0);
    assert_int_equal(l.n, 3);
    assert_int_equal(l.bad, 2);
    assert_int_equal(l.v[0].mem_mib, 3590);
    assert_int_equal(l.v[1].pid, 1234567);
    assert_string_equal(l.v[1].uuid, "MIG-5c3a1b2e-0d9f-5e1a-9b7c-2f4e6a8b0c1d");
    assert_int_equal(l.v[1].mem_mib, GW_UNKNOWN);
    assert_int_equal(l.v[2].mem_mib, GW_UNKNOWN);
    free(l.v);
}

static void test_apps_many(void **state)
{
    size_t len;
    char *b = load("h100-580/many/apps_noheader_nounits.txt", &len);
    struct smi_app_list l = {0};
    assert_int_equal(smi_parse_apps(b, len, &l), 0);
    assert_int_equal(l.n, 23);
    assert_int_equal(l.bad, 0);
    free(l.v);
    free(b);
}

static void test_pmon_busy(void **state)
{
    size_t len;
    char *b = load("h100-580/busy/pmon_um.txt", &len);
    struct pmon_list l = {0};
    assert_int_equal(smi_parse_pmon(b, len, &l), 0);
    assert_int_equal(l.n, 3);
    assert_int_equal(l.bad, 0);
    assert_int_equal(l.v[0].gpu, 0);
    assert_int_equal(l.v[0].pid, 442);
    assert_int_equal(l.v[0].sm_pct, 39);
    assert_int_equal(l.v[0].mem_pct, 2);
    assert_int_equal(l.v[0].fb_mib, 1642);
    assert_string_equal(l.v[0].type, "C");
    assert_string_equal(l.v[0].name, "python3");
    /* 443 holds memory and runs no kernels: '-' is unknown, not 0. */
    assert_int_equal(l.v[1].pid, 443);
    assert_int_equal(l.v[1].sm_pct, GW_UNKNOWN);
    assert_int_equal(l.v[1].mem_pct, GW_UNKNOWN);
    assert_int_equal(l.v[1].fb_mib, 3590);
    free(l.v);
    free(b);
}

static void test_pmon_variants_from_captures(void **state)
{
    /* -s u (no fb), -s m (no sm/mem), -o DT (date and time columns first),
     * -c 3 (three samples), CR LF on a terminal. */
    struct {
        const char *file;
        size_t n;
        int64_t sm0, fb0;
    } cases[] = {
        {"h100-580/busy/pmon_u.txt", 3, 39, GW_UNKNOWN},
        {"h100-580/busy/pmon_m.txt", 3, GW_UNKNOWN, 1642},
        {"h100-580/busy/pmon_default.txt", 3, 33, GW_UNKNOWN},
        {"h100-580/busy/pmon_um_dt.txt", 3, 28, 1642},
        {"h100-580/busy/pmon_um_c3.txt", 9, 33, 1642},
        {"h100-580/many/pmon_um_pty40cols.txt", 23, GW_UNKNOWN, 646},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len;
        char *b = load(cases[i].file, &len);
        struct pmon_list l = {0};
        assert_int_equal(smi_parse_pmon(b, len, &l), 0);
        assert_int_equal(l.n, cases[i].n);
        assert_int_equal(l.bad, 0);
        assert_int_equal(l.v[0].sm_pct, cases[i].sm0);
        assert_int_equal(l.v[0].fb_mib, cases[i].fb0);
        assert_int_equal(l.v[0].gpu, 0);
        free(l.v);
        free(b);
    }
}

static void test_pmon_idle_placeholder(void **state)
{
    size_t len;
    char *b = load("h100-580/idle/pmon_um.txt", &len);
    struct pmon_list l = {0};
    assert_int_equal(smi_parse_pmon(b, len, &l), 0);
    assert_int_equal(l.n, 0);
    assert_int_equal(l.bad, 0);
    free(l.v);
    free(b);
}

static void test_pmon_fb_first_old_driver_long_pid(void **state)
{
    /* An older driver: no jpg/ofa/ccpm, fb before sm (-s mu), GPUs past the
     * fourth, 7-digit PIDs that leave one space between columns. */
    const char *s = "# gpu        pid  type    fb    sm   mem   enc   dec   command\n"
                    "# Idx          #   C/G    MB     %     %     %     %   name\n"
                    "    5 1234567     C  2048    97    41     -     -   python\n"
                    "   11 9999999 C+G 100 - - - - Xorg server\n"
                    "    7         -     -     -     -     -     -     -   -\n";
    struct pmon_list l = {0};
    assert_int_equal(smi_parse_pmon(s, strlen(s), &l), 0);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.v[0].gpu, 5);
    assert_int_equal(l.v[0].pid, 1234567);
    assert_int_equal(l.v[0].fb_mib, 2048);
    assert_int_equal(l.v[0].sm_pct, 97);
    assert_int_equal(l.v[0].mem_pct, 41);
    assert_int_equal(l.v[1].gpu, 11);
    assert_string_equal(l.v[1].type, "C+G");
    assert_int_equal(l.v[1].sm_pct, GW_UNKNOWN);
    assert_string_equal(l.v[1].name, "Xorg server");
    free(l.v);
}

static void test_pmon_garbage(void **state)
{
    const char *s = "\x01\x02garbage\nmore junk 1 2 3\n";
    struct pmon_list l = {0};
    assert_int_equal(smi_parse_pmon(s, strlen(s), &l), -22);
    assert_int_equal(l.n, 0);
    assert_int_equal(l.bad, 2);
    /* Stopped mid-line: the whole rows before the cut are read. */
    const char *cut = "# gpu pid type sm mem fb command\n"
                      "# Idx # C/G % % MB name\n"
                      "    0  442  C  39  2  1642  python3\n"
                      "    0  44";
    assert_int_equal(smi_parse_pmon(cut, strlen(cut), &l), 0);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.bad, 1);
    free(l.v);
}

static void test_capture_of_a_run(void **state)
{
    /* Captured on the H100 beside one idle CUDA process: pmon with -i 0
     * prints the same layout as without, and 0 (not '-') for its SM use. */
    size_t len;
    char *b = load("h100-580-run/pmon_um_i_all.txt", &len);
    struct pmon_list l = {0};
    assert_int_equal(smi_parse_pmon(b, len, &l), 0);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.v[0].pid, 3711);
    assert_int_equal(l.v[0].sm_pct, 0);
    assert_int_equal(l.v[0].fb_mib, 1542);
    free(l.v);
    free(b);
    b = load("h100-580-run/apps_noheader_nounits.txt", &len);
    struct smi_app_list a = {0};
    assert_int_equal(smi_parse_apps(b, len, &a), 0);
    assert_int_equal(a.n, 1);
    assert_int_equal(a.v[0].mem_mib, 1542);
    free(a.v);
    free(b);
}

static void test_gpus(void **state)
{
    size_t len;
    char *b = load("h100-580/busy/gpus_noheader.txt", &len);
    struct gpu_list l = {0};
    assert_int_equal(smi_parse_gpus(b, len, &l), 0);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.v[0].index, 0);
    assert_int_equal(gpu_list_index(&l, "GPU-1a8e51c5-1f64-9d83-5d60-65f0c235c074"), 0);
    assert_int_equal(gpu_list_index(&l, "GPU-nope"), -1);
    free(b);
    b = load("replay/gpu16/gpus.txt", &len);
    assert_int_equal(smi_parse_gpus(b, len, &l), 0);
    assert_int_equal(l.n, 16);
    assert_int_equal(l.v[0].index, 15); /* listed out of order */
    assert_int_equal(gpu_list_index(&l, l.v[3].uuid), 12);
    free(l.v);
    free(b);
}

/* The H200 capture: columns by name, units, extra columns ignored. */
static void test_accounted_capture(void **state)
{
    size_t len;
    char *b = load("h200-580/accounting/accounted.txt", &len);
    struct acct_list l = {0};
    assert_int_equal(smi_parse_accounted(b, len, &l), 0);
    assert_int_equal(l.n, 4);
    assert_int_equal(l.bad, 0);
    assert_string_equal(l.v[2].uuid, "GPU-772e9f57-c2ec-c54f-ea81-d2df40ae767a");
    assert_int_equal(l.v[2].pid, 462);
    assert_int_equal(l.v[2].max_mib, 9826); /* the spike no sample saw */
    assert_int_equal(l.v[2].time_ms, 151445);
    assert_int_equal(l.v[3].pid, 461);
    assert_int_equal(l.v[3].max_mib, 21222);
    free(b);
    free(l.v);
}

static void test_accounted_variants(void **state)
{
    struct acct_list l = {0};
    /* Our own query, nounits, columns in another order, a running record,
     * [N/A] and garbage lines. */
    const char *t = "pid, gpu_uuid, time [ms], max_memory_usage [MiB]\r\n"
                    "459, GPU-a, 0, 1642\r\n"
                    "460, GPU-b, [N/A], [N/A]\n"
                    "x, GPU-a, 0, 5\n"
                    "\n"
                    "461, , 0, 5\n";
    assert_int_equal(smi_parse_accounted(t, strlen(t), &l), 0);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.bad, 2);
    assert_int_equal(l.v[0].pid, 459);
    assert_string_equal(l.v[0].uuid, "GPU-a");
    assert_int_equal(l.v[0].max_mib, 1642);
    assert_int_equal(l.v[0].time_ms, 0);
    assert_int_equal(l.v[1].max_mib, GW_UNKNOWN);
    assert_int_equal(l.v[1].time_ms, GW_UNKNOWN);
    /* No process accounted: only the header. */
    t = "gpu_uuid, pid, max_memory_usage [MiB], time [ms]\n";
    assert_int_equal(smi_parse_accounted(t, strlen(t), &l), 0);
    assert_int_equal(l.n, 0);
    assert_int_equal(smi_parse_accounted("", 0, &l), 0);
    /* No header (an error text, or noheader output): nothing trusted. */
    t = "GPU-a, 459, 1642, 0\n";
    assert_int_equal(smi_parse_accounted(t, strlen(t), &l), -EINVAL);
    assert_int_equal(l.n, 0);
    assert_int_equal(l.bad, 1);
    free(l.v);
}

static void test_gpus_acct(void **state)
{
    struct gpu_list l = {0};
    const char *t = "0, GPU-a, Enabled\n1, GPU-b, Disabled\n2, GPU-c, [N/A]\n3, GPU-d\n";
    assert_int_equal(smi_parse_gpus_acct(t, strlen(t), &l), 0);
    assert_int_equal(l.n, 3);
    assert_int_equal(l.bad, 1);
    assert_int_equal(l.v[0].acct, 1);
    assert_int_equal(l.v[1].acct, 0);
    assert_int_equal(l.v[2].acct, GW_UNKNOWN);
    assert_string_equal(l.v[2].uuid, "GPU-c");
    /* The plain map knows nothing of accounting and takes two columns only. */
    assert_int_equal(smi_parse_gpus(t, strlen(t), &l), 0);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.v[0].index, 3);
    assert_int_equal(l.v[0].acct, GW_UNKNOWN);
    free(l.v);
}

static void test_ps(void **state)
{
    size_t len;
    char *b = load("h100-580/busy/ps_pids.txt", &len);
    struct ps_list l = {0};
    assert_int_equal(ps_parse_args(b, len, &l), 0);
    assert_int_equal(l.n, 3);
    assert_int_equal(l.v[0].pid, 442);
    const char *want = "python3 /tmp/work dir/train,v2.py 200 --lr=3e-4 --note=a \"quoted\" arg";
    assert_int_equal(l.v[0].args_len, strlen(want));
    assert_memory_equal(l.v[0].args, want, strlen(want));
    free(l.v);
    free(b);
}

/* A UUID with a NUL or a blank inside (garbage output, found by the
 * fuzzer) is an unreadable line, never a record with an empty UUID. */
static void test_uuid_with_nul(void **state)
{
    static const char acct[] = "gpu_uuid, pid, max_memory_usage [MiB], time [ms]\n"
                               "\0PU-7, 460, 10 MiB, 5 ms\n"
                               "GPU-7, 461, 20 MiB, 5 ms\n";
    struct acct_list l = {0};
    assert_int_equal(smi_parse_accounted(acct, sizeof acct - 1, &l), 0);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.v[0].pid, 461);
    assert_int_equal(l.bad, 1);
    free(l.v);
    static const char apps[] = "442, GPU-1a8e\0, 1642\n443, GPU 1a8e, 3590\n444, GPU-1a8e, 1764\n";
    struct smi_app_list a = {0};
    assert_int_equal(smi_parse_apps(apps, sizeof apps - 1, &a), 0);
    assert_int_equal(a.n, 1);
    assert_string_equal(a.v[0].uuid, "GPU-1a8e");
    assert_int_equal(a.bad, 2);
    free(a.v);
}

/* --query-gpu=index,memory.used,memory.reserved (nounits); an old
 * driver's two columns; [N/A] unknown; a line without an index is bad. */
static void test_gpu_mem(void **state)
{
    (void)state;
    struct gpu_mem_list l = {0};
    static const char txt[] = "0, 1234, 512\n1, [N/A], [N/A]\n2, 77\n\nx, 1, 2\n";
    assert_int_equal(smi_parse_gpu_mem(txt, sizeof txt - 1, &l), 0);
    assert_int_equal(l.n, 3);
    assert_int_equal(l.bad, 1);
    assert_int_equal(l.v[0].index, 0);
    assert_int_equal(l.v[0].used_mib, 1234);
    assert_int_equal(l.v[0].reserved_mib, 512);
    assert_int_equal(l.v[1].used_mib, GW_UNKNOWN);
    assert_int_equal(l.v[1].reserved_mib, GW_UNKNOWN);
    assert_int_equal(l.v[2].used_mib, 77);
    assert_int_equal(l.v[2].reserved_mib, GW_UNKNOWN);
    free(l.v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_value),
        cmocka_unit_test(test_apps_busy),
        cmocka_unit_test(test_apps_idle_empty),
        cmocka_unit_test(test_apps_units_and_na),
        cmocka_unit_test(test_apps_many),
        cmocka_unit_test(test_pmon_busy),
        cmocka_unit_test(test_pmon_variants_from_captures),
        cmocka_unit_test(test_pmon_idle_placeholder),
        cmocka_unit_test(test_pmon_fb_first_old_driver_long_pid),
        cmocka_unit_test(test_pmon_garbage),
        cmocka_unit_test(test_capture_of_a_run),
        cmocka_unit_test(test_gpus),
        cmocka_unit_test(test_accounted_capture),
        cmocka_unit_test(test_accounted_variants),
        cmocka_unit_test(test_gpus_acct),
        cmocka_unit_test(test_ps),
        cmocka_unit_test(test_gpu_mem),
        cmocka_unit_test(test_uuid_with_nul),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
