/* Unit tests of one sample end to end inside the library: the sampler runs
 * the fake nvidia-smi (tests/fake_smi.c, built by make test) on replayed
 * captures and synthetic 8- and 16-GPU machines, with fixture /proc trees.
 * The fake's call log lives in a temporary directory per test group,
 * reached through *state; nothing is shared between tests but that. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gpu_watch/parse.h"
#include "gpu_watch/sampler.h"

struct env {
    char smi[512];      /* the fake nvidia-smi */
    char statedir[64];  /* its call counters and calls.log */
    char roots[4][256]; /* /proc roots of the samplers alive at once */
    int nroots;
};

static struct env *E; /* the group's state, set from *state in each test */

/* Remove every file of dir (the fake writes no subdirectories). */
static int empty_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -errno;
    struct dirent *de;
    char path[512];
    int rc = 0;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (unlink(path) < 0)
            rc = -errno;
    }
    closedir(d);
    return rc;
}

static int group_setup(void **state)
{
    struct env *e = calloc(1, sizeof *e);
    if (!e)
        return -1;
    const char *dir = getenv("GW_FAKE_DIR");
    snprintf(e->smi, sizeof e->smi, "%s/nvidia-smi", dir ? dir : "build/tests/fake-nvidia-smi");
    snprintf(e->statedir, sizeof e->statedir, "/tmp/gw-sampler-XXXXXX");
    if (access(e->smi, X_OK) != 0 || !mkdtemp(e->statedir)) {
        fprintf(stderr, "fake nvidia-smi not built (%s) or no temporary directory\n", e->smi);
        free(e);
        return -1;
    }
    setenv("FAKE_SMI_STATE", e->statedir, 1);
    *state = e;
    return 0;
}

static int group_teardown(void **state)
{
    struct env *e = *state;
    int rc = empty_dir(e->statedir) == 0 && rmdir(e->statedir) == 0 ? 0 : -1;
    free(e);
    return rc;
}

static int test_setup(void **state)
{
    E = *state;
    E->nroots = 0;
    return 0;
}

/* Empty the fake's call log and counters, choose a fixture. */
static void use(const char *replay, const char *fault, const char *fault_on)
{
    char dir[256];
    assert_int_equal(empty_dir(E->statedir), 0);
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
    snprintf(path, sizeof path, "%s/calls.log", E->statedir);
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

/* The query of smp whose key is key, or NULL when it was not made. */
static const struct source_query *query(const struct sample *smp, const char *key)
{
    for (size_t i = 0; i < smp->nq; i++)
        if (strcmp(smp->q[i].key, key) == 0)
            return &smp->q[i];
    return NULL;
}

static bool failed(const struct sample *smp, const char *key)
{
    const struct source_query *q = query(smp, key);
    return q && q->failed;
}

static bool any_failed(const struct sample *smp)
{
    for (size_t i = 0; i < smp->nq; i++)
        if (smp->q[i].failed)
            return true;
    return false;
}

static struct sampler *open_sampler(struct sampler_opts *o, struct sampler_start *st)
{
    o->smi = E->smi;
    struct sampler *s = NULL;
    assert_int_equal(sampler_new(o, &s, st), 0);
    assert_non_null(s);
    assert_string_equal(st->source, "nvidia-smi");
    return s;
}

static struct sampler *make(const char *proc, const long *pids, size_t npids, const char *match)
{
    char *root = E->roots[E->nroots++ % 4];
    snprintf(root, sizeof E->roots[0], "tests/fixtures/proc/%s", proc);
    struct sampler_opts o = {.ps = "tests/fixtures/fake-ps.sh",
                             .proc_root = root,
                             .timeout = 5,
                             .pids = pids,
                             .npids = npids,
                             .match = match};
    struct sampler_start st;
    return open_sampler(&o, &st);
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
    assert_false(any_failed(&smp));
    assert_true(smp.answered);
    assert_int_equal(smp.seen, 3);
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
        assert_false(failed(&smp, "smi:pmon"));
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

static void put_file(const char *root, const char *rel, const char *text);

static void test_pmon_groups_follow_the_map(void **state)
{
    /* Issue 18 item 8: on the 8-GPU machine, GPU 7 is replaced by a GPU
     * with index 9 (the same count of GPUs, so the same number of pmon
     * groups): once the map is read again (an unknown UUID), the second
     * group is "-i 4,5,6,9", and GPU 9's process has its utilization. */
    char tmp[] = "/tmp/gw-map-XXXXXX", cmd[512], dirfile[64];
    assert_non_null(mkdtemp(tmp));
    snprintf(cmd, sizeof cmd,
             "cp -r tests/fixtures/replay/gpu8 %s/a && cp -r tests/fixtures/replay/gpu8 %s/b && "
             "cd %s/b && sed -i 's/^7, GPU-00000007/9, GPU-00000009/' gpus.txt && "
             "sed -i 's/GPU-00000007/GPU-00000009/' apps.txt && "
             "sed -i 's/^    7 /    9 /' pmon.txt",
             tmp, tmp, tmp);
    assert_int_equal(system(cmd), 0);
    use("gpu8", NULL, NULL);
    snprintf(dirfile, sizeof dirfile, "%s/dir", tmp);
    char dir[64];
    snprintf(dir, sizeof dir, "%s/a", tmp);
    put_file(tmp, "dir", dir);
    setenv("FAKE_SMI_DIR_FILE", dirfile, 1);
    struct sampler *s = make("gpu8", NULL, 0, NULL);
    struct sample smp = {0};
    assert_int_equal(sampler_run(s, &smp, NULL), 0);
    assert_int_equal(row(&smp, 7, 5007)->sm_pct, 17);
    snprintf(dir, sizeof dir, "%s/b", tmp);
    put_file(tmp, "dir", dir);
    for (int i = 0; i < 2; i++) /* the map is read again; then the new groups */
        assert_int_equal(sampler_run(s, &smp, NULL), 0);
    assert_non_null(row(&smp, 9, 5007));
    assert_int_equal(row(&smp, 9, 5007)->sm_pct, 17);
    assert_true(calls("pmon", "-i 4,5,6,9") >= 1);
    unsetenv("FAKE_SMI_DIR_FILE");
    sample_free(&smp);
    sampler_free(s);
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    assert_int_equal(system(cmd), 0);
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
    /* The map was asked beside compute-apps in the first sample: the MIG
     * UUIDs it does not know are remembered, not asked for again (one GPU
     * query, not two one after the other: issue 18 item 6). */
    assert_int_equal(calls("gpus", NULL), 1);
    assert_int_equal(sampler_run(s, &smp, NULL), 0);
    assert_int_equal(sampler_run(s, &smp, NULL), 0);
    assert_int_equal(calls("gpus", NULL), 1);
    sample_free(&smp);
    sampler_free(s);
}

static void test_apps_fails_rows_from_pmon(void **state)
{
    use("busy", "fail_nvml", "apps");
    struct sampler *s = make("busy", NULL, 0, NULL);
    struct sample smp = {0};
    assert_int_equal(sampler_run(s, &smp, NULL), 0);
    assert_true(failed(&smp, "smi:apps"));
    assert_string_equal(
        query(&smp, "smi:apps")->why,
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
    assert_true(failed(&smp, "smi:pmon"));
    assert_false(failed(&smp, "smi:apps"));
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
    assert_true(failed(&smp, "smi:apps") && failed(&smp, "smi:pmon") && failed(&smp, "smi:gpus"));
    assert_false(smp.answered);
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
    struct sampler_opts o = {.proc_root = "tests/fixtures/proc/busy",
                             .timeout = 5,
                             .match = "train,v2.py 200 --lr=3e-4 --note=a \"quoted\" arg ("};
    struct sampler_start st;
    s = open_sampler(&o, &st);
    assert_true(st.substring);
    assert_int_equal(sampler_run(s, &smp, NULL), 0);
    assert_int_equal(smp.n, 0);
    sampler_free(s);
    o.match = "train,v2.py 200 [";
    s = open_sampler(&o, &st);
    assert_true(st.substring);
    assert_int_equal(sampler_run(s, &smp, NULL), 0);
    assert_int_equal(smp.n, 0);
    o.match = "--lr=3e-4 --note=a \"quoted\" arg";
    sampler_free(s);
    s = open_sampler(&o, &st);
    assert_false(st.substring);
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
    assert_non_null(query(&smp, "ps"));
    assert_string_equal(row(&smp, 0, 444)->cmd, "python3 /tmp/grow.py 200 --name=grow;job");
    /* Cached: ps is not run again for the same PIDs. */
    assert_int_equal(sampler_run(s, &smp, NULL), 0);
    assert_null(query(&smp, "ps"));
    sampler_free(s);
    /* /proc exists but lacks the PIDs (another PID namespace): pmon's name. */
    s = make("mig", NULL, 0, NULL);
    assert_int_equal(sampler_run(s, &smp, NULL), 0);
    assert_null(query(&smp, "ps"));
    assert_string_equal(row(&smp, 0, 442)->cmd, "python3");
    sample_free(&smp);
    sampler_free(s);
}

/* SM % of PIDs 401 and 402 in the 40 pmon captures of the series
 * (tests/fixtures/replay/series/NN.pmon; -1: pmon printed "-"). */
static const int series_sm[40][2] = {
    {89, 9},  {99, -1}, {82, 16}, {82, 16}, {70, 28}, {70, 28}, {74, 24}, {86, 12},
    {77, 22}, {77, 22}, {99, -1}, {59, 39}, {99, -1}, {66, 33}, {98, -1}, {98, -1},
    {61, 37}, {99, -1}, {77, 22}, {77, 22}, {99, -1}, {79, 19}, {66, 33}, {66, 33},
    {70, 28}, {42, 56}, {49, 49}, {61, 37}, {77, 22}, {77, 22}, {99, -1}, {99, -1},
    {66, 33}, {66, 33}, {84, 14}, {70, 28}, {74, 24}, {62, 37}, {77, 22}, {77, 22},
};

static void test_series_rows_per_sample(void **state)
{
    /* The 40-sample H100 series: two processes of 1,220 MiB each, SM as
     * pmon said in each sample. */
    use("series", NULL, NULL);
    struct sampler *s = make("series", NULL, 0, NULL);
    struct sample smp = {0};
    for (int i = 0; i < 40; i++) {
        assert_int_equal(sampler_run(s, &smp, NULL), 0);
        assert_int_equal(smp.n, 2);
        for (int k = 0; k < 2; k++) {
            const struct sample_row *r = row(&smp, 0, 401 + k);
            assert_non_null(r);
            assert_int_equal(r->mem_mib, 1220);
            assert_int_equal(r->sm_pct, series_sm[i][k]);
            assert_non_null(strstr(r->cmd, k ? "--job=half" : "--job=busy"));
        }
    }
    assert_int_equal(calls("gpus", NULL), 1);
    assert_int_equal(calls("apps", NULL), 40);
    sample_free(&smp);
    sampler_free(s);
}

static void test_processes_come_and_go(void **state)
{
    /* Real captures one after the other: the series' two processes, then
     * the busy capture's three (401 and 402 leave, 442-444 appear), then an
     * idle GPU, then 442-444 again. */
    use("series", NULL, NULL);
    struct sampler *s = make("busy", NULL, 0, NULL);
    struct sample smp = {0};
    assert_int_equal(sampler_run(s, &smp, NULL), 0);
    assert_int_equal(smp.n, 2);
    assert_non_null(row(&smp, 0, 401));
    assert_string_equal(row(&smp, 0, 402)->cmd, "python3"); /* not in this /proc: pmon's name */
    setenv("FAKE_SMI_DIR", "tests/fixtures/replay/busy", 1);
    assert_int_equal(sampler_run(s, &smp, NULL), 0);
    assert_int_equal(smp.n, 3);
    assert_null(row(&smp, 0, 401));
    assert_null(row(&smp, 0, 402));
    assert_int_equal(row(&smp, 0, 442)->mem_mib, 1642);
    assert_int_equal(row(&smp, 0, 443)->mem_mib, 3590);
    assert_int_equal(row(&smp, 0, 444)->mem_mib, 1764);
    assert_string_equal(row(&smp, 0, 444)->cmd, "python3 /tmp/grow.py 200 --name=grow;job");
    setenv("FAKE_SMI_DIR", "tests/fixtures/replay/idle", 1);
    assert_int_equal(sampler_run(s, &smp, NULL), 0);
    assert_int_equal(smp.n, 0);
    assert_int_equal(smp.seen, 0);
    assert_true(smp.answered);
    setenv("FAKE_SMI_DIR", "tests/fixtures/replay/busy", 1);
    assert_int_equal(sampler_run(s, &smp, NULL), 0);
    assert_int_equal(smp.n, 3);
    assert_int_equal(row(&smp, 0, 442)->sm_pct, 39);
    sample_free(&smp);
    sampler_free(s);
}

static void test_filtered_out_still_seen(void **state)
{
    use("busy", NULL, NULL);
    struct sampler *s = make("busy", NULL, 0, "no-such-job");
    struct sample smp = {0};
    assert_int_equal(sampler_run(s, &smp, NULL), 0);
    assert_int_equal(smp.n, 0);
    assert_int_equal(smp.procs, 0);
    assert_int_equal(smp.seen, 3);
    sample_free(&smp);
    sampler_free(s);
}

static void test_proc_miss_remembered(void **state)
{
    /* A PID that /proc does not show (another PID namespace) is not looked
     * up there again while it stays: once its /proc entry appears under
     * the same PID, the sampler still uses the driver's name (it did not
     * ask), which shows that no open was made. */
    use("busy", NULL, NULL);
    char root[] = "/tmp/gw-proc-XXXXXX", dir[64], file[96];
    assert_non_null(mkdtemp(root));
    struct sampler_opts o = {.proc_root = root, .timeout = 5};
    struct sampler_start st;
    struct sampler *s = open_sampler(&o, &st);
    struct sample smp = {0};
    assert_int_equal(sampler_run(s, &smp, NULL), 0);
    assert_int_equal(smp.n, 3);
    assert_string_equal(row(&smp, 0, 442)->cmd, "python3");
    snprintf(dir, sizeof dir, "%s/442", root);
    snprintf(file, sizeof file, "%s/cmdline", dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    static const char cmdline[] = "python3\0train.py"; /* NUL-separated, as the kernel writes */
    assert_int_equal(fwrite(cmdline, 1, sizeof cmdline, f), sizeof cmdline);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(sampler_run(s, &smp, NULL), 0);
    assert_string_equal(row(&smp, 0, 442)->cmd, "python3");
    assert_null(query(&smp, "ps"));
    /* A new sampler (a PID seen for the first time) reads it. */
    sampler_free(s);
    s = open_sampler(&o, &st);
    assert_int_equal(sampler_run(s, &smp, NULL), 0);
    assert_string_equal(row(&smp, 0, 442)->cmd, "python3 train.py");
    sample_free(&smp);
    sampler_free(s);
    assert_int_equal(unlink(file), 0);
    assert_int_equal(rmdir(dir), 0);
    assert_int_equal(rmdir(root), 0);
}

/* Write text to root/rel. */
static void put_file(const char *root, const char *rel, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static void test_who_once_per_process(void **state)
{
    /* --who on a copy of tests/fixtures/proc/who: the owners of the
     * fixture, read once; a changed start time (a reused PID, seen by
     * --host) reads them again. */
    use("busy", NULL, NULL);
    char root[] = "/tmp/gw-who-XXXXXX", cmd[256];
    assert_non_null(mkdtemp(root));
    snprintf(cmd, sizeof cmd, "cp -r tests/fixtures/proc/who/. %s/", root);
    assert_int_equal(system(cmd), 0);
    /* The cgroup tree: root owns the jobs' directories, as Slurm makes them. */
    char cg[64];
    snprintf(cg, sizeof cg, "%s/cg", root);
    snprintf(cmd, sizeof cmd,
             "mkdir -p %s/system.slice/slurmstepd.scope/job_1392969 "
             "%s/system.slice/slurmstepd.scope/job_5",
             cg, cg);
    assert_int_equal(system(cmd), 0);
    struct sampler_opts o = {
        .proc_root = root, .cgroup_root = cg, .timeout = 5, .who = true, .host = true};
    struct sampler_start st;
    struct sampler *s = open_sampler(&o, &st);
    struct sample smp = {0};
    assert_int_equal(sampler_run(s, &smp, NULL), 0);
    assert_true(smp.who);
    const struct owner *w = row(&smp, 0, 442)->who;
    assert_string_equal(w->user, "root");
    assert_string_equal(w->job_id, "1392969");
    w = row(&smp, 0, 443)->who;
    assert_string_equal(w->user, "4242");
    assert_string_equal(w->job_id, "claimed:777"); /* a SLUID path: environ's claim */
    w = row(&smp, 0, 444)->who;
    assert_string_equal(w->container, "pod:6b7e2f0a-1c2d-4e5f-8a9b-0c1d2e3f4a5b");
    assert_int_equal(w->container_pid, 7);
    /* Another owner under the same start time: not read again. */
    put_file(root, "442/cgroup", "0::/system.slice/slurmstepd.scope/job_5/step_0\n");
    assert_int_equal(sampler_run(s, &smp, NULL), 0);
    assert_string_equal(row(&smp, 0, 442)->who->job_id, "1392969");
    /* A new start time (field 22): another process under that PID. */
    put_file(root, "442/stat",
             "442 (python3) R 396 395 395 0 -1 4194560 112368 0 142 0 1796 64 0 0 20 0 18 0 "
             "9999 19029991424 182081\n");
    assert_int_equal(sampler_run(s, &smp, NULL), 0);
    assert_string_equal(row(&smp, 0, 442)->who->job_id, "5");
    sample_free(&smp);
    sampler_free(s);
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    assert_int_equal(system(cmd), 0);
}

/* Write len bytes to root/rel (a command line holds NULs). */
static void put_bytes(const char *root, const char *rel, const char *bytes, size_t len)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void test_reused_pid_is_a_new_process(void **state)
{
    /* Issue 18 item 7: PID 442 exits and a new process takes its PID
     * between two samples (a new start time in /proc/442/stat, another
     * command line and owner). Without --host, the new process gets its
     * own command line, --match verdict and owner, and the row says which
     * process it is (its start time). */
    use("busy", NULL, NULL);
    char root[] = "/tmp/gw-reuse-XXXXXX", cmd[128];
    assert_non_null(mkdtemp(root));
    snprintf(cmd, sizeof cmd, "cp -r tests/fixtures/proc/who/. %s/", root);
    assert_int_equal(system(cmd), 0);
    /* The cgroup tree: root owns the jobs' directories, as Slurm makes them. */
    char cg[64], mk[512];
    snprintf(cg, sizeof cg, "%s/cg", root);
    snprintf(mk, sizeof mk,
             "mkdir -p %s/system.slice/slurmstepd.scope/job_1392969 "
             "%s/system.slice/slurmstepd.scope/job_5 %s/system.slice/slurmstepd.scope/job_1",
             cg, cg, cg);
    assert_int_equal(system(mk), 0);
    struct sampler_opts o = {
        .proc_root = root, .cgroup_root = cg, .timeout = 5, .who = true, .match = "train"};
    struct sampler_start st;
    struct sampler *s = open_sampler(&o, &st);
    struct sample smp = {0};
    assert_int_equal(sampler_run(s, &smp, NULL), 0);
    const struct sample_row *r = row(&smp, 0, 442);
    assert_non_null(r);
    assert_string_equal(r->who->job_id, "1392969");
    const char *old_cmd = r->cmd;
    assert_non_null(strstr(old_cmd, "train"));
    const uint64_t old_start = r->start;
    assert_true(old_start > 0);
    /* The same process: nothing read again, so a changed file is not seen. */
    put_file(root, "442/cgroup", "0::/system.slice/slurmstepd.scope/job_5/step_0\n");
    static const char other[] = "python3\0serve.py";
    put_bytes(root, "442/cmdline", other, sizeof other);
    assert_int_equal(sampler_run(s, &smp, NULL), 0);
    assert_non_null(row(&smp, 0, 442));
    assert_string_equal(row(&smp, 0, 442)->who->job_id, "1392969");
    assert_non_null(strstr(row(&smp, 0, 442)->cmd, "train"));
    /* A new start time: another process, which does not match "train". */
    put_file(root, "442/stat",
             "442 (python3) R 396 395 395 0 -1 4194560 112368 0 142 0 1796 64 0 0 20 0 18 0 "
             "9999 19029991424 182081\n");
    assert_int_equal(sampler_run(s, &smp, NULL), 0);
    assert_null(row(&smp, 0, 442));
    /* Without the filter it is logged with its own command, owner, start. */
    sampler_free(s);
    o.match = NULL;
    put_file(root, "442/stat",
             "442 (python3) R 396 395 395 0 -1 4194560 112368 0 142 0 1796 64 0 0 20 0 18 0 "
             "2241 19029991424 182081\n");
    static const char train[] = "python3\0train.py";
    put_bytes(root, "442/cmdline", train, sizeof train);
    put_file(root, "442/cgroup", "0::/system.slice/slurmstepd.scope/job_1/step_0\n");
    s = open_sampler(&o, &st);
    assert_int_equal(sampler_run(s, &smp, NULL), 0);
    assert_string_equal(row(&smp, 0, 442)->cmd, "python3 train.py");
    assert_string_equal(row(&smp, 0, 442)->who->job_id, "1");
    assert_int_equal(row(&smp, 0, 442)->start, 2241);
    put_file(root, "442/stat",
             "442 (python3) R 396 395 395 0 -1 4194560 112368 0 142 0 1796 64 0 0 20 0 18 0 "
             "9999 19029991424 182081\n");
    put_bytes(root, "442/cmdline", other, sizeof other);
    put_file(root, "442/cgroup", "0::/system.slice/slurmstepd.scope/job_5/step_0\n");
    assert_int_equal(sampler_run(s, &smp, NULL), 0);
    assert_string_equal(row(&smp, 0, 442)->cmd, "python3 serve.py");
    assert_string_equal(row(&smp, 0, 442)->who->job_id, "5");
    assert_int_equal(row(&smp, 0, 442)->start, 9999);
    sample_free(&smp);
    sampler_free(s);
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    assert_int_equal(system(cmd), 0);
}

/* A source of two records of PID 77: on GPU 0 without the driver's name,
 * on GPU 1 with it (a source may know the name on one GPU only). */
static int two_gpus_open(const struct source_config *cfg, void **state, char *why, size_t whylen)
{
    static int dummy;
    *state = &dummy;
    return 0;
}

static int two_gpus_poll(void *state, struct source_poll *out, const volatile sig_atomic_t *cancel)
{
    source_poll_reset(out);
    struct source_proc *a = source_push(out, 0, 77), *b = a ? source_push(out, 1, 77) : NULL;
    if (!b)
        return -ENOMEM;
    out->v[0].mem_mib = 10;
    b->mem_mib = 20;
    b->name = "trainer";
    out->answered = true;
    return 0;
}

static size_t two_gpus_count(const void *state)
{
    return 2;
}

static void two_gpus_close(void *state)
{
}

static const struct source_ops two_gpus = {
    .name = "two",
    .title = "two GPUs",
    .open = two_gpus_open,
    .poll = two_gpus_poll,
    .gpu_count = two_gpus_count,
    .close = two_gpus_close,
};

static void test_driver_name_from_any_gpu(void **state)
{
    /* Issue 18: a process that neither /proc (an empty tree: another PID
     * namespace) nor ps knows takes the driver's name, from whichever of
     * its GPU records has one, on every row. */
    char root[] = "/tmp/gw-name-XXXXXX";
    assert_non_null(mkdtemp(root));
    struct sampler_opts o = {.source_ops = &two_gpus, .proc_root = root, .timeout = 5};
    struct sampler_start st;
    struct sampler *s = NULL;
    assert_int_equal(sampler_new(&o, &s, &st), 0);
    struct sample smp = {0};
    assert_int_equal(sampler_run(s, &smp, NULL), 0);
    assert_int_equal(smp.n, 2);
    assert_string_equal(row(&smp, 0, 77)->cmd, "trainer");
    assert_string_equal(row(&smp, 1, 77)->cmd, "trainer");
    sample_free(&smp);
    sampler_free(s);
    assert_int_equal(rmdir(root), 0);
}

static void test_unknown_source(void **state)
{
    struct sampler_opts o = {.source = "nope", .proc_root = "/proc", .timeout = 1};
    struct sampler_start st;
    struct sampler *s = NULL;
    o.smi = E->smi;
    assert_int_equal(sampler_new(&o, &s, &st), -EINVAL);
    assert_null(s);
    o.source = "smi";
    o.smi = "no-such-nvidia-smi";
    assert_int_equal(sampler_new(&o, &s, &st), -ENOENT);
    assert_string_equal(st.why, "no-such-nvidia-smi not found in PATH");
    assert_null(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_busy, test_setup),
        cmocka_unit_test_setup(test_idle_gpus_skip_pmon, test_setup),
        cmocka_unit_test_setup(test_8_gpus, test_setup),
        cmocka_unit_test_setup(test_16_gpus, test_setup),
        cmocka_unit_test_setup(test_pmon_groups_follow_the_map, test_setup),
        cmocka_unit_test_setup(test_mig_falls_back_to_pmon_gpu, test_setup),
        cmocka_unit_test_setup(test_apps_fails_rows_from_pmon, test_setup),
        cmocka_unit_test_setup(test_pmon_fails_util_empty, test_setup),
        cmocka_unit_test_setup(test_everything_fails, test_setup),
        cmocka_unit_test_setup(test_filters, test_setup),
        cmocka_unit_test_setup(test_cmd_fallbacks, test_setup),
        cmocka_unit_test_setup(test_series_rows_per_sample, test_setup),
        cmocka_unit_test_setup(test_processes_come_and_go, test_setup),
        cmocka_unit_test_setup(test_filtered_out_still_seen, test_setup),
        cmocka_unit_test_setup(test_proc_miss_remembered, test_setup),
        cmocka_unit_test_setup(test_who_once_per_process, test_setup),
        cmocka_unit_test_setup(test_reused_pid_is_a_new_process, test_setup),
        cmocka_unit_test(test_driver_name_from_any_gpu),
        cmocka_unit_test_setup(test_unknown_source, test_setup),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
