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
#include <unistd.h>

#include "gpu_watch/buf.h"
#include "gpu_watch/owner.h"
#include "gpu_watch/owner_parse.h"
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
    int rj = owner_parse_cgroup_job(b->p, b->len, j, sizeof j, NULL, 0);
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
    /* Slurm's names inside a user's own delegated subtree: no job. */
    expect(state, "slurm-delegated.cgroup", "", "");
    expect(state, "slurm-delegated-v1form.cgroup", "", "");
}

/* Where the job's directory is, for the check that root owns it. */
static void test_job_dir(void **state)
{
    char j[OWNER_JOB_MAX], d[OWNER_CGDIR_MAX];
    const struct gw_buf *b = load(state, "slurm-v2.cgroup");
    assert_int_equal(owner_parse_cgroup_job(b->p, b->len, j, sizeof j, d, sizeof d), 0);
    assert_string_equal(d, "system.slice/slurmstepd.scope/job_1392969");
    static const char v1[] = "10:devices:/slurm/uid_2101171/job_280678/step_0/task_0\n";
    assert_int_equal(owner_parse_cgroup_job(v1, sizeof v1 - 1, j, sizeof j, d, sizeof d), 0);
    assert_string_equal(d, "devices/slurm/uid_2101171/job_280678");
    static const char named[] = "1:name=systemd:/slurm/uid_5/job_6/step_0\n";
    assert_int_equal(owner_parse_cgroup_job(named, sizeof named - 1, j, sizeof j, d, sizeof d), 0);
    assert_string_equal(d, "systemd/slurm/uid_5/job_6");
    /* Too deep: not where Slurm puts it. */
    static const char deep[] = "0::/x.slice/system.slice/slurmstepd.scope/job_1/step_0\n";
    assert_int_equal(owner_parse_cgroup_job(deep, sizeof deep - 1, j, sizeof j, d, sizeof d),
                     -ENOENT);
    assert_string_equal(j, "");
    /* A NUL inside the path (no cgroup name holds one; the fuzzer's input):
     * no job, or the directory checked would stop short of the job's. */
    static const char nul[] = "10:devices:/slurm_node\0007/uid_1000/job_42/step_batch\n";
    assert_int_equal(owner_parse_cgroup_job(nul, sizeof nul - 1, j, sizeof j, d, sizeof d),
                     -ENOENT);
    assert_string_equal(d, "");
    /* An LXC name with a NUL or a control character is no LXC name. */
    char c[OWNER_CONTAINER_MAX];
    static const char lxc[] = "0::/lxc.payload.\000\001x/init.scope\n";
    assert_int_equal(owner_parse_cgroup_container(lxc, sizeof lxc - 1, c, sizeof c), -ENOENT);
    /* In the controllers too: the directory is "<controllers>/<path>". */
    static const char nulc[] = "10:devi\000ces:/slurm/uid_3000/job_77/step_0\n";
    assert_int_equal(owner_parse_cgroup_job(nulc, sizeof nulc - 1, j, sizeof j, d, sizeof d),
                     -ENOENT);
    assert_string_equal(d, "");
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
    expect(state, "lxc.cgroup", "", "lxc:c1");
    expect(state, "lxc-monitor.cgroup", "", "");
}

/* Apptainer/Singularity (environ), enroot/pyxis (mountinfo), NSpid. */
static void test_no_cgroup_forms(void **state)
{
    char c[OWNER_CONTAINER_MAX];
    const struct gw_buf *b = load(state, "apptainer.environ");
    assert_int_equal(owner_parse_environ_container(b->p, b->len, c, sizeof c), 0);
    assert_string_equal(c, "apptainer:pytorch_24.01.sif");
    b = load(state, "singularity-sandbox.environ");
    assert_int_equal(owner_parse_environ_container(b->p, b->len, c, sizeof c), 0);
    assert_string_equal(c, "apptainer:tf-sandbox");
    b = load(state, "slurm.environ");
    assert_int_equal(owner_parse_environ_container(b->p, b->len, c, sizeof c), -ENOENT);
    assert_string_equal(c, "");
    b = load(state, "enroot.mountinfo");
    assert_int_equal(owner_parse_mountinfo_root(b->p, b->len, c, sizeof c), 0);
    assert_string_equal(c, "enroot:pyxis_4242_0");
    b = load(state, "host.mountinfo");
    assert_int_equal(owner_parse_mountinfo_root(b->p, b->len, c, sizeof c), -ENOENT);
    assert_string_equal(c, "");

    long inner = 0;
    int levels = 0;
    b = load(state, "nspid-child.status");
    assert_int_equal(owner_parse_status_nspid(b->p, b->len, &inner, &levels), 0);
    assert_int_equal(inner, 1);
    assert_int_equal(levels, 2);
    b = load(state, "nspid-nested.status");
    assert_int_equal(owner_parse_status_nspid(b->p, b->len, &inner, &levels), 0);
    assert_int_equal(inner, 7);
    assert_int_equal(levels, 3);
    b = load(state, "nspid-host.status");
    assert_int_equal(owner_parse_status_nspid(b->p, b->len, &inner, &levels), 0);
    assert_int_equal(inner, 396);
    assert_int_equal(levels, 1);
    static const char old[] = "Name:\tx\nPid:\t5\n", bad[] = "NSpid:\t5x\n";
    assert_int_equal(owner_parse_status_nspid(old, sizeof old - 1, &inner, &levels), -ENOENT);
    assert_int_equal(owner_parse_status_nspid(bad, sizeof bad - 1, &inner, &levels), -EINVAL);
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
        assert_int_equal(owner_parse_cgroup_job(cases[i], n, j, sizeof j, NULL, 0), -ENOENT);
        assert_string_equal(j, "");
        assert_int_equal(owner_parse_cgroup_container(cases[i], n, c, sizeof c), -ENOENT);
        assert_string_equal(c, "");
    }
    /* The buffer ends without a newline, in the middle of an id: only the
     * bytes given are looked at. */
    const char *v2 = "0::/system.slice/slurmstepd.scope/job_1392969/step_0";
    char j[OWNER_JOB_MAX];
    assert_int_equal(owner_parse_cgroup_job(v2, strlen(v2), j, sizeof j, NULL, 0), 0);
    assert_string_equal(j, "1392969");
    assert_int_equal(owner_parse_cgroup_job(v2, strlen(v2) - 10, j, sizeof j, NULL, 0), 0);
    assert_string_equal(j, "1392");
    /* Too small an output: nothing, not a cut id. */
    char tiny[4];
    assert_int_equal(owner_parse_cgroup_job(v2, strlen(v2), tiny, sizeof tiny, NULL, 0), -ENOENT);
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

#define CGFS "tests/fixtures/cgroupfs"

static void test_resolve(void **state)
{
    struct gw_buf *b = *state;
    struct owner o;
    const char *root = "tests/fixtures/proc/who";
    /* uid 0, a Slurm v2 path whose directory root owns. */
    assert_int_equal(owner_resolve(root, CGFS, 442, &o, b), 0);
    assert_string_equal(o.user, "root");
    assert_string_equal(o.job_id, "1392969");
    assert_string_equal(o.container, "");
    assert_int_equal(o.container_pid, -1);
    /* A uid with no name gives the number; a SLUID path: the job only as
     * environ claims it. */
    assert_int_equal(owner_resolve(root, CGFS, 443, &o, b), 0);
    assert_string_equal(o.user, "4242");
    assert_string_equal(o.job_id, OWNER_CLAIMED "777");
    /* A pod, in a child PID namespace; no environ file: no job, no error. */
    assert_int_equal(owner_resolve(root, CGFS, 444, &o, b), 0);
    assert_string_equal(o.user, "nobody");
    assert_string_equal(o.job_id, "");
    assert_string_equal(o.container, "pod:6b7e2f0a-1c2d-4e5f-8a9b-0c1d2e3f4a5b");
    assert_int_equal(o.container_pid, 7);
    /* nobody's delegated subtree with Slurm's names and SLURM_JOB_ID in its
     * environment: a claim, never the job itself. */
    assert_int_equal(owner_resolve(root, CGFS, 445, &o, b), 0);
    assert_string_equal(o.job_id, OWNER_CLAIMED "1392969");
    /* Apptainer: no cgroup of its own, the image from environ. */
    assert_int_equal(owner_resolve(root, CGFS, 446, &o, b), 0);
    assert_string_equal(o.container, "apptainer:pytorch_24.01.sif");
    assert_string_equal(o.job_id, "");
    /* enroot under pyxis: its lock file and root directory; the job from
     * the cgroup, not the environment. */
    assert_int_equal(owner_resolve(root, CGFS, 447, &o, b), 0);
    assert_string_equal(o.container, "enroot:pyxis_4242_0");
    assert_string_equal(o.job_id, "1392969");
    /* LXC, PID 1 of its namespace. */
    assert_int_equal(owner_resolve(root, CGFS, 448, &o, b), 0);
    assert_string_equal(o.container, "lxc:c1");
    assert_int_equal(o.container_pid, 1);
    /* Gone. */
    assert_int_equal(owner_resolve(root, CGFS, 31337, &o, b), -ENOENT);
    /* A tree without cgroup files: the user only. */
    assert_int_equal(owner_resolve("tests/fixtures/proc/busy", CGFS, 442, &o, b), 0);
    assert_string_equal(o.user, "root");
    assert_string_equal(o.job_id, "");
    /* No cgroup file system to check against: the path proves nothing. */
    assert_int_equal(owner_resolve(root, "/nonexistent", 442, &o, b), 0);
    assert_string_equal(o.job_id, "");
}

/* A job directory at Slurm's place that an unprivileged user owns (a
 * delegated hierarchy, a cgroup made by hand) is not Slurm's. */
static void test_resolve_user_owned_dir(void **state)
{
    if (geteuid() != 0)
        skip();
    struct gw_buf *b = *state;
    char tmp[] = "/tmp/gw-owner-XXXXXX", dir[256], cmd[600];
    assert_non_null(mkdtemp(tmp));
    snprintf(dir, sizeof dir, "%s/system.slice/slurmstepd.scope/job_1392969", tmp);
    snprintf(cmd, sizeof cmd, "mkdir -p %s", dir);
    assert_int_equal(system(cmd), 0);
    struct owner o;
    assert_int_equal(owner_resolve("tests/fixtures/proc/who", tmp, 442, &o, b), 0);
    assert_string_equal(o.job_id, "1392969");
    assert_int_equal(chown(dir, 65534, 65534), 0);
    assert_int_equal(owner_resolve("tests/fixtures/proc/who", tmp, 442, &o, b), 0);
    assert_string_equal(o.job_id, "");
    assert_int_equal(owner_resolve("tests/fixtures/proc/who", tmp, 447, &o, b), 0);
    assert_string_equal(o.job_id, OWNER_CLAIMED "1392969");
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slurm),
        cmocka_unit_test(test_host),
        cmocka_unit_test(test_containers),
        cmocka_unit_test(test_kubernetes),
        cmocka_unit_test(test_not_ids),
        cmocka_unit_test(test_environ),
        cmocka_unit_test(test_status_uid),
        cmocka_unit_test(test_resolve),
        cmocka_unit_test(test_job_dir),
        cmocka_unit_test(test_no_cgroup_forms),
        cmocka_unit_test(test_resolve_user_owned_dir),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
