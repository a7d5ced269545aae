/* Unit tests of one sample end to end inside the library: the sampler runs
 * the fake nvidia-smi (tests/fake_smi.c, built by make test) on replayed
 * captures and synthetic 8- and 16-GPU machines, with fixture /proc trees. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gpu_watch/parse.h"
#include "gpu_watch/sampler.h"

static char smi[512];
static char statedir[64];

static int group_setup(void **state)
{
    const char *dir = getenv("GW_FAKE_DIR");
    snprintf(smi, sizeof smi, "%s/nvidia-smi", dir ? dir : "build/tests/fake-nvidia-smi");
    if (access(smi, X_OK) != 0) {
        fprintf(stderr, "fake nvidia-smi not built: %s\n", smi);
        return -1;
    }
    snprintf(statedir, sizeof statedir, "/tmp/gw-sampler-XXXXXX");
    if (!mkdtemp(statedir))
        return -1;
    setenv("FAKE_SMI_STATE", statedir, 1);
    return 0;
}

static int group_teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", statedir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Empty the fake's call log and counters, choose a fixture. */
static void use(const char *replay, const char *fault, const char *fault_on)
{
    char cmd[160], dir[256];
    snprintf(cmd, sizeof cmd, "rm -f %s/*", statedir);
    assert_int_equal(system(cmd), 0);
    snprintf(dir, sizeof dir, "tests/fixtures/replay/%s", replay);
    setenv("FAKE_SMI_DIR", dir, 1);
    if (fault) {
        setenv("FAKE_SMI_FAULT", fault, 1);
        setenv("FAKE_SMI_FAULT_ON", fault_on, 1);
    } else {
        unsetenv("FAKE_SMI_FAULT");
        unsetenv("FAKE_SMI_FAULT_ON");
    }
}

/* How many calls of kind (and, if not NULL, with this argument) were made. */
static int calls(const char *kind, const char *arg)
{
    char path[128], line[1024];
    snprintf(path, sizeof path, "%s/calls.log", statedir);
    FILE *f = fopen(path, "r");
    int n = 0;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, kind, strlen(kind)) == 0 && line[strlen(kind)] == ' ' &&
            (!arg || strstr(line, arg)))
            n++;
    if (f)
        fclose(f);
    return n;
}

static struct sampler *make(const char *proc, const long *pids, size_t npids, const char *match)
{
    char root[256];
    static char roots[4][256];
    static int k;
    snprintf(root, sizeof root, "tests/fixtures/proc/%s", proc);
    snprintf(roots[k % 4], sizeof roots[0], "%s", root);
    struct sampler_opts o = {.smi = smi,
                             .ps = "tests/fixtures/fake-ps.sh",
                             .proc_root = roots[k++ % 4],
                             .timeout = 5,
                             .pids = pids,
                             .npids = npids,
                             .match = match};
    bool fb;
    int err;
    struct sampler *s = sampler_new(&o, &fb, &err);
    assert_non_null(s);
    return s;
}

static const struct sample_row *row(const struct sample *smp, int gpu, long pid)
{
    for (size_t i = 0; i < smp->n; i++)
        if (smp->rows[i].gpu == gpu && smp->rows[i].pid == pid)
            return &smp->rows[i];
    return NULL;
}

static void test_busy(void **state)
{
    use("busy", NULL, NULL);
    struct sampler *s = make("busy", NULL, 0, NULL);
    struct sample smp = {0};
    assert_int_equal(sampler_run(s, &smp, NULL), 0);
    assert_int_equal(smp.n, 3);
    assert_int_equal(smp.procs, 3);
    const struct sample_row *r = row(&smp, 0, 442);
    assert_non_null(r);
    assert_int_equal(r->mem_mib, 1642);
    assert_int_equal(r->sm_pct, 39);
    assert_int_equal(r->mem_pct, 2);
    assert_string_equal(r->cmd,
                        "python3 /tmp/work dir/train,v2.py 200 --lr=3e-4 --note=a \"quoted\" arg");
    r = row(&smp, 0, 443);
    assert_int_equal(r->sm_pct, GW_UNKNOWN);
    assert_int_equal(r->mem_pct, GW_UNKNOWN);
    for (int q = 0; q < Q_COUNT; q++)
        assert_false(smp.failed[q]);
    /* Steady state: the UUID map is cached, two processes per sample. */
    assert_int_equal(sampler_run(s, &smp, NULL), 0);
    assert_int_equal(sampler_run(s, &smp, NULL), 0);
    assert_int_equal(smp.spawned, 2);
    assert_int_equal(calls("gpus", NULL), 1);
    assert_int_equal(calls("apps", NULL), 3);
    assert_int_equal(calls("pmon", NULL), 3);
    assert_int_equal(calls("pmon", "-i"), 0); /* one GPU: a plain pmon */
    sample_free(&smp);
    sampler_free(s);
}

static void test_idle_gpus_skip_pmon(void **state)
{
    /* No compute process: compute-apps alone, pmon not run at all. */
    use("idle", NULL, NULL);
    struct sampler *s = make("busy", NULL, 0, NULL);
    struct sample smp = {0};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(sampler_run(s, &smp, NULL), 0);
        assert_int_equal(smp.n, 0);
        assert_false(smp.failed[Q_PMON]);
    }
    assert_int_equal(smp.spawned, 1);
    assert_int_equal(calls("apps", NULL), 3);
    assert_int_equal(calls("pmon", NULL), 1); /* the first sample's only */
    /* A process appears: pmon runs in the same sample, after compute-apps,
     * so its rows are whole; then both run at once again. */
    setenv("FAKE_SMI_DIR", "tests/fixtures/replay/busy", 1);
    assert_int_equal(sampler_run(s, &smp, NULL), 0);
    assert_int_equal(smp.n, 3);
    assert_int_equal(smp.spawned, 2);
    assert_int_equal(row(&smp, 0, 442)->sm_pct, 39);
    assert_int_equal(calls("pmon", NULL), 2);
    assert_int_equal(sampler_run(s, &smp, NULL), 0);
    assert_int_equal(smp.spawned, 2);
    assert_int_equal(calls("pmon", NULL), 3);
    sample_free(&smp);
    sampler_free(s);
}

static void check_multi(int g)
{
    char name[16];
    snprintf(name, sizeof name, "gpu%d", g);
    use(name, NULL, NULL);
    struct sampler *s = make(name, NULL, 0, NULL);
    struct sample smp = {0};
    assert_int_equal(sampler_run(s, &smp, NULL), 0);
    assert_int_equal(smp.n, (size_t)g + 2);
    assert_int_equal(smp.procs, (size_t)g + 1);
    for (int i = 0; i < g; i++) {
        const struct sample_row *r = row(&smp, i, 5000 + i);
        assert_non_null(r);
        assert_int_equal(r->mem_mib, 1000 + i);
        assert_int_equal(r->sm_pct, 10 + i); /* GPUs past the fourth too */
        assert_int_equal(r->mem_pct, i);
    }
    /* The two-GPU process: one row per GPU, each with that GPU's figures. */
    const struct sample_row *a = row(&smp, 0, 9000), *b = row(&smp, g - 1, 9000);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(a->mem_mib, 700);
    assert_int_equal(a->sm_pct, 77);
    assert_int_equal(b->mem_mib, 900);
    assert_int_equal(b->sm_pct, 88);
    assert_string_equal(b->cmd, "python3 two_gpus.py");
    /* Sorted by GPU, then PID. */
    for (size_t i = 1; i < smp.n; i++)
        assert_true(
            smp.rows[i - 1].gpu < smp.rows[i].gpu ||
            (smp.rows[i - 1].gpu == smp.rows[i].gpu && smp.rows[i - 1].pid < smp.rows[i].pid));
    /* One pmon per group of four GPUs, named with -i. */
    assert_int_equal(calls("pmon", "-i"), g / 4);
    assert_int_equal(calls("pmon", "-i 0,1,2,3"), 1); /* grouped in index order */
    assert_int_equal(calls("pmon", "-i 4,5,6,7"), 1);
    assert_int_equal(sampler_run(s, &smp, NULL), 0);
    assert_int_equal(smp.spawned, 1 + (size_t)g / 4);
    sample_free(&smp);
    sampler_free(s);
}

static void test_8_gpus(void **state)
{
    check_multi(8);
}

static void test_16_gpus(void **state)
{
    check_multi(16);
}

static void test_mig_falls_back_to_pmon_gpu(void **state)
{
    use("mig", NULL, NULL);
    struct sampler *s = make("mig", NULL, 0, NULL);
    struct sample smp = {0};
    assert_int_equal(sampler_run(s, &smp, NULL), 0);
    assert_int_equal(smp.n, 2);
    assert_int_equal(smp.rows[0].gpu, 0);
    assert_int_equal(smp.rows[0].pid, 7001);
    assert_int_equal(smp.rows[0].mem_mib, 4864);
    assert_int_equal(smp.rows[0].sm_pct, GW_UNKNOWN); /* MIG: no utilization */
    /* The unknown MIG UUIDs asked the map once more, then not again. */
    assert_int_equal(calls("gpus", NULL), 2);
    assert_int_equal(sampler_run(s, &smp, NULL), 0);
    assert_int_equal(sampler_run(s, &smp, NULL), 0);
    assert_int_equal(calls("gpus", NULL), 2);
    sample_free(&smp);
    sampler_free(s);
}

static void test_apps_fails_rows_from_pmon(void **state)
{
    use("busy", "fail_nvml", "apps");
    struct sampler *s = make("busy", NULL, 0, NULL);
    struct sample smp = {0};
    assert_int_equal(sampler_run(s, &smp, NULL), 0);
    assert_true(smp.failed[Q_APPS]);
    assert_string_equal(
        smp.why[Q_APPS],
        "exit status 18: Failed to initialize NVML: Driver/library version mismatch");
    assert_int_equal(smp.n, 3);
    assert_int_equal(row(&smp, 0, 443)->mem_mib, 3590); /* pmon's fb */
    assert_int_equal(row(&smp, 0, 444)->sm_pct, 59);
    sample_free(&smp);
    sampler_free(s);
}

static void test_pmon_fails_util_empty(void **state)
{
    use("busy", "fail_driver", "pmon");
    struct sampler *s = make("busy", NULL, 0, NULL);
    struct sample smp = {0};
    assert_int_equal(sampler_run(s, &smp, NULL), 0);
    assert_true(smp.failed[Q_PMON]);
    assert_false(smp.failed[Q_APPS]);
    assert_int_equal(smp.n, 3);
    for (size_t i = 0; i < smp.n; i++) {
        assert_true(smp.rows[i].mem_mib > 0);
        assert_int_equal(smp.rows[i].sm_pct, GW_UNKNOWN);
    }
    sample_free(&smp);
    sampler_free(s);
}

static void test_everything_fails(void **state)
{
    use("busy", "fail_nodev", "all");
    struct sampler *s = make("busy", NULL, 0, NULL);
    struct sample smp = {0};
    assert_int_equal(sampler_run(s, &smp, NULL), 0);
    assert_int_equal(smp.n, 0);
    assert_true(smp.failed[Q_APPS] && smp.failed[Q_PMON] && smp.failed[Q_GPUS]);
    /* Without a map it asks again next time; once it works, rows are whole. */
    use("busy", NULL, NULL);
    assert_int_equal(sampler_run(s, &smp, NULL), 0);
    assert_int_equal(smp.n, 3);
    assert_int_equal(calls("gpus", NULL), 1);
    assert_int_equal(row(&smp, 0, 442)->sm_pct, 39);
    sample_free(&smp);
    sampler_free(s);
}

static void test_filters(void **state)
{
    use("busy", NULL, NULL);
    long pids[] = {442, 444};
    struct sampler *s = make("busy", pids, 2, NULL);
    struct sample smp = {0};
    assert_int_equal(sampler_run(s, &smp, NULL), 0);
    assert_int_equal(smp.n, 2);
    sampler_free(s);
    s = make("busy", NULL, 0, "grow|idle");
    assert_int_equal(sampler_run(s, &smp, NULL), 0);
    assert_int_equal(smp.n, 2);
    assert_int_equal(smp.rows[0].pid, 443);
    sampler_free(s);
    /* --pid and --match together: both must pass. */
    s = make("busy", pids, 2, "grow");
    assert_int_equal(sampler_run(s, &smp, NULL), 0);
    assert_int_equal(smp.n, 1);
    assert_int_equal(smp.rows[0].pid, 444);
    sampler_free(s);
    /* An invalid regex is a substring. */
    struct sampler_opts o = {.smi = smi,
                             .proc_root = "tests/fixtures/proc/busy",
                             .timeout = 5,
                             .match = "train,v2.py 200 --lr=3e-4 --note=a \"quoted\" arg ("};
    bool fb;
    int err;
    s = sampler_new(&o, &fb, &err);
    assert_true(fb);
    assert_int_equal(sampler_run(s, &smp, NULL), 0);
    assert_int_equal(smp.n, 0);
    sampler_free(s);
    o.match = "train,v2.py 200 [";
    s = sampler_new(&o, &fb, &err);
    assert_true(fb);
    assert_int_equal(sampler_run(s, &smp, NULL), 0);
    assert_int_equal(smp.n, 0);
    o.match = "--lr=3e-4 --note=a \"quoted\" arg";
    sampler_free(s);
    s = sampler_new(&o, &fb, &err);
    assert_false(fb);
    assert_int_equal(sampler_run(s, &smp, NULL), 0);
    assert_int_equal(smp.n, 1);
    sample_free(&smp);
    sampler_free(s);
}

static void test_cmd_fallbacks(void **state)
{
    /* No /proc at all: one ps call names them all. */
    use("busy", NULL, NULL);
    struct sampler *s = make("does-not-exist", NULL, 0, NULL);
    struct sample smp = {0};
    assert_int_equal(sampler_run(s, &smp, NULL), 0);
    assert_true(smp.ran[Q_PS]);
    assert_string_equal(row(&smp, 0, 444)->cmd, "python3 /tmp/grow.py 200 --name=grow;job");
    /* Cached: ps is not run again for the same PIDs. */
    assert_int_equal(sampler_run(s, &smp, NULL), 0);
    assert_false(smp.ran[Q_PS]);
    sampler_free(s);
    /* /proc exists but lacks the PIDs (another PID namespace): pmon's name. */
    s = make("mig", NULL, 0, NULL);
    assert_int_equal(sampler_run(s, &smp, NULL), 0);
    assert_false(smp.ran[Q_PS]);
    assert_string_equal(row(&smp, 0, 442)->cmd, "python3");
    sample_free(&smp);
    sampler_free(s);
}

static void test_processes_come_and_go(void **state)
{
    /* The 40-sample series: two processes, memory and SM change. */
    use("series", NULL, NULL);
    struct sampler *s = make("series", NULL, 0, NULL);
    struct sample smp = {0};
    for (int i = 0; i < 40; i++) {
        assert_int_equal(sampler_run(s, &smp, NULL), 0);
        for (size_t k = 0; k < smp.n; k++) {
            assert_true(smp.rows[k].pid == 401 || smp.rows[k].pid == 402);
            assert_true(smp.rows[k].mem_mib >= 0);
            assert_non_null(strstr(smp.rows[k].cmd, "/tmp/mm.py 420"));
        }
    }
    assert_int_equal(calls("gpus", NULL), 1);
    sample_free(&smp);
    sampler_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_busy),
        cmocka_unit_test(test_idle_gpus_skip_pmon),
        cmocka_unit_test(test_8_gpus),
        cmocka_unit_test(test_16_gpus),
        cmocka_unit_test(test_mig_falls_back_to_pmon_gpu),
        cmocka_unit_test(test_apps_fails_rows_from_pmon),
        cmocka_unit_test(test_pmon_fails_util_empty),
        cmocka_unit_test(test_everything_fails),
        cmocka_unit_test(test_filters),
        cmocka_unit_test(test_cmd_fallbacks),
        cmocka_unit_test(test_processes_come_and_go),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
