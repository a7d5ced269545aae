/* Unit tests of --who: the cgroup, environ and status parsers on the
 * fixture files of tests/fixtures/cgroup, and owner_resolve on the fixture
 * tree tests/fixtures/proc/who. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_watch/buf.h"
#include "gpu_watch/owner.h"
#include "gpu_watch/procfs.h"

#define CG "tests/fixtures/cgroup"

/* state: the reusable buffer the fixture files are read into. */
static int setup(void **state)
{
    struct gw_buf *b = calloc(1, sizeof *b);
    *state = b;
    return b ? 0 : -1;
}

static int teardown(void **state)
{
    buf_free(*state);
    free(*state);
    return 0;
}

static const struct gw_buf *load(void **state, const char *name)
{
    struct gw_buf *b = *state;
    assert_int_equal(procfs_read_file(CG, name, b, 1u << 20), 0);
    assert_true(b->len > 0);
    return b;
}

/* The job and the container a cgroup fixture gives ("" for none). */
static void expect(void **state, const char *name, const char *job, const char *container)
{
    const struct gw_buf *b = load(state, name);
    char j[OWNER_JOB_MAX], c[OWNER_CONTAINER_MAX];
    int rj = owner_parse_cgroup_job(b->p, b->len, j, sizeof j);
    int rc = owner_parse_cgroup_container(b->p, b->len, c, sizeof c);
    assert_int_equal(rj, job[0] ? 0 : -ENOENT);
    assert_string_equal(j, job);
    assert_int_equal(rc, container[0] ? 0 : -ENOENT);
    assert_string_equal(c, container);
}

static void test_slurm(void **state)
{
    expect(state, "slurm-v1.cgroup", "280678", "");
    expect(state, "slurm-v1-host.cgroup", "42", "");
    expect(state, "slurm-v1-devices-only.cgroup", "77", "");
    expect(state, "slurm-v2.cgroup", "1392969", "");
    expect(state, "slurm-v2-batch.cgroup", "555", "");
    /* Slurm 26.05: a SLUID in the path is no job id. */
    expect(state, "slurm-v2-sluid.cgroup", "", "");
}

static void test_host(void **state)
{
    expect(state, "host-v1.cgroup", "", "");
    expect(state, "host-v2.cgroup", "", "");
}

static void test_containers(void **state)
{
    expect(state, "docker-v1.cgroup", "", "3f4e5d6c7b8a");
    expect(state, "docker-v2.cgroup", "", "a1b2c3d4e5f6");
    expect(state, "containerd.cgroup", "", "0123456789ab");
    expect(state, "crio.cgroup", "", "fedcba987654");
    expect(state, "podman.cgroup", "", "9a8b7c6d5e4f");
}

static void test_kubernetes(void **state)
{
    /* The pod wins over the runtime's container id; '_' back to '-'. */
    expect(state, "kube-systemd.cgroup", "", "pod:6b7e2f0a-1c2d-4e5f-8a9b-0c1d2e3f4a5b");
    expect(state, "kube-systemd-guaranteed.cgroup", "", "pod:11111111-2222-3333-4444-555555555555");
    expect(state, "kube-cgroupfs.cgroup", "", "pod:d1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e5f6");
}

/* Near misses that must not be taken for a job or a container. */
static void test_not_ids(void **state)
{
    static const char *const cases[] = {
        "0::/user.slice/job_12/x\n",                          /* job_ outside Slurm */
        "0::/system.slice/slurmstepd.scope/job_12a/step_0\n", /* not a number */
        "0::/system.slice/slurmstepd.scope/job_/step_0\n",
        "0::/system.slice/docker-1234.scope\n",                  /* too short an id */
        "0::/system.slice/docker-zz3456789abcdef.scope\n",       /* not hex */
        "0::/system.slice/crio-conmon-0123456789abcdef.scope\n", /* CRI-O's monitor */
        "0::/kubepods.slice/kubepods-burstable.slice\n",         /* no pod yet */
        "0::/pod6b7e2f0a-1c2d-4e5f-8a9b-0c1d2e3f4a5b/x\n",       /* pod outside kubepods */
        "garbage without colons\n",
        "",
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char j[OWNER_JOB_MAX] = "x", c[OWNER_CONTAINER_MAX] = "x";
        size_t n = strlen(cases[i]);
        assert_int_equal(owner_parse_cgroup_job(cases[i], n, j, sizeof j), -ENOENT);
        assert_string_equal(j, "");
        assert_int_equal(owner_parse_cgroup_container(cases[i], n, c, sizeof c), -ENOENT);
        assert_string_equal(c, "");
    }
    /* The buffer ends without a newline, in the middle of an id: only the
     * bytes given are looked at. */
    const char *v2 = "0::/system.slice/slurmstepd.scope/job_1392969/step_0";
    char j[OWNER_JOB_MAX];
    assert_int_equal(owner_parse_cgroup_job(v2, strlen(v2), j, sizeof j), 0);
    assert_string_equal(j, "1392969");
    assert_int_equal(owner_parse_cgroup_job(v2, strlen(v2) - 10, j, sizeof j), 0);
    assert_string_equal(j, "1392");
    /* Too small an output: nothing, not a cut id. */
    char tiny[4];
    assert_int_equal(owner_parse_cgroup_job(v2, strlen(v2), tiny, sizeof tiny), -ENOENT);
    assert_string_equal(tiny, "");
}

static void test_environ(void **state)
{
    char j[OWNER_JOB_MAX];
    const struct gw_buf *b = load(state, "slurm.environ");
    assert_int_equal(owner_parse_environ_job(b->p, b->len, j, sizeof j), 0);
    assert_string_equal(j, "1392969");
    /* SLURM_JOBID (old name) and SLURM_JOB_ID_X are not SLURM_JOB_ID. */
    b = load(state, "none.environ");
    assert_int_equal(owner_parse_environ_job(b->p, b->len, j, sizeof j), -ENOENT);
    assert_string_equal(j, "");
    b = load(state, "bad.environ");
    assert_int_equal(owner_parse_environ_job(b->p, b->len, j, sizeof j), -ENOENT);
    /* The last entry without its NUL still counts. */
    static const char last[] = "A=1\0SLURM_JOB_ID=31";
    assert_int_equal(owner_parse_environ_job(last, sizeof last - 1, j, sizeof j), 0);
    assert_string_equal(j, "31");
}

static void test_status_uid(void **state)
{
    (void)state;
    unsigned long uid = 0;
    static const char st[] =
        "Name:\tpython3\nUmask:\t0022\nUid:\t2101171\t0\t0\t0\nGid:\t0\t0\t0\t0\n";
    assert_int_equal(owner_parse_status_uid(st, sizeof st - 1, &uid), 0);
    assert_int_equal(uid, 2101171);
    static const char none[] = "Name:\tx\nGid:\t0\t0\t0\t0\n";
    assert_int_equal(owner_parse_status_uid(none, sizeof none - 1, &uid), -EINVAL);
    static const char bad[] = "Uid:\tabc\n";
    assert_int_equal(owner_parse_status_uid(bad, sizeof bad - 1, &uid), -EINVAL);
    static const char huge[] = "Uid:\t99999999999\n";
    assert_int_equal(owner_parse_status_uid(huge, sizeof huge - 1, &uid), -EINVAL);
}

static void test_resolve(void **state)
{
    struct gw_buf *b = *state;
    struct owner o;
    const char *root = "tests/fixtures/proc/who";
    /* uid 0, a Slurm v2 path. */
    assert_int_equal(owner_resolve(root, 442, &o, b), 0);
    assert_string_equal(o.user, "root");
    assert_string_equal(o.job_id, "1392969");
    assert_string_equal(o.container, "");
    /* A uid with no name gives the number; a SLUID path: the job from environ. */
    assert_int_equal(owner_resolve(root, 443, &o, b), 0);
    assert_string_equal(o.user, "4242");
    assert_string_equal(o.job_id, "777");
    /* A pod; no environ file: no job, no error. */
    assert_int_equal(owner_resolve(root, 444, &o, b), 0);
    assert_string_equal(o.user, "nobody");
    assert_string_equal(o.job_id, "");
    assert_string_equal(o.container, "pod:6b7e2f0a-1c2d-4e5f-8a9b-0c1d2e3f4a5b");
    /* Gone. */
    assert_int_equal(owner_resolve(root, 31337, &o, b), -ENOENT);
    /* A tree without cgroup files: the user only. */
    assert_int_equal(owner_resolve("tests/fixtures/proc/busy", 442, &o, b), 0);
    assert_string_equal(o.user, "root");
    assert_string_equal(o.job_id, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slurm),      cmocka_unit_test(test_host),
        cmocka_unit_test(test_containers), cmocka_unit_test(test_kubernetes),
        cmocka_unit_test(test_not_ids),    cmocka_unit_test(test_environ),
        cmocka_unit_test(test_status_uid), cmocka_unit_test(test_resolve),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
