/* Unit tests of pidns.c: the ns/pid link, the namespace of a /proc tree,
 * and which driver versions translate PIDs. */
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

#include "gpu_watch/pidns.h"

static void test_parse_link(void **state)
{
    (void)state;
    unsigned long long ino = 0;
    static const char init[] = "pid:[4026531836]", child[] = "pid:[4026532245]";
    assert_int_equal(pidns_parse_link(init, sizeof init - 1, &ino), 0);
    assert_true(ino == PIDNS_INIT_INO);
    assert_int_equal(pidns_parse_link(child, sizeof child - 1, &ino), 0);
    assert_true(ino == 4026532245ULL);
    static const char *const bad[] = {
        "pid:[]", "net:[4026531836]", "pid:[12a]", "pid:[1", "pid:[99999999999999999999999]", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(pidns_parse_link(bad[i], strlen(bad[i]), &ino), -EINVAL);
}

/* A /proc tree whose self/ns/pid names target. */
static void tree(char *root, const char *target)
{
    char path[256];
    snprintf(path, sizeof path, "%s/self/ns", root);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", path);
    assert_int_equal(system(cmd), 0);
    snprintf(path, sizeof path, "%s/self/ns/pid", root);
    unlink(path);
    assert_int_equal(symlink(target, path), 0);
}

static void test_self(void **state)
{
    (void)state;
    char root[] = "/tmp/gw-pidns-XXXXXX", cmd[128];
    assert_non_null(mkdtemp(root));
    bool child = true;
    /* No link (a fixture tree): an error, the caller takes the host. */
    assert_true(pidns_self(root, &child) < 0);
    tree(root, "pid:[4026531836]");
    assert_int_equal(pidns_self(root, &child), 0);
    assert_false(child);
    tree(root, "pid:[4026532245]");
    assert_int_equal(pidns_self(root, &child), 0);
    assert_true(child);
    tree(root, "garbage");
    assert_int_equal(pidns_self(root, &child), -EINVAL);
    /* This process, on the real /proc: whatever it is, it is read. */
    assert_int_equal(pidns_self("/proc", &child), 0);
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    assert_int_equal(system(cmd), 0);
}

static void expect(const char *v, bool known, bool list, bool mem, bool util)
{
    struct pidns_driver d;
    pidns_driver_caps(v, &d);
    assert_int_equal(d.known, known);
    assert_int_equal(d.list_host, list);
    assert_int_equal(d.mem_host, mem);
    assert_int_equal(d.util_host, util);
}

static void test_driver_caps(void **state)
{
    (void)state;
    expect("470.82.01", true, true, true, true);
    expect("535.104.05", true, true, true, true);
    expect("535.113.01", true, false, true, true);
    expect("550.54.15", true, false, true, true);
    expect("565.57.01", true, false, false, true);
    expect("570.86.10", true, false, false, false);
    expect("580.95.05", true, false, false, false);
    expect("1000.1", true, false, false, false);
    expect("unknown", false, true, true, true);
    expect("", false, true, true, true);
    expect(NULL, false, true, true, true);
}

/* A process 100 s old (boot 1000 s ago, started at tick 90000 at 100 Hz)
 * against records of several ages: older than it by more than the slack
 * is another process. */
static void test_started_after(void **state)
{
    (void)state;
    const double boot = 1000, real = 1764000000;
    const uint64_t ticks = 90000;
    const uint64_t age_100 = (uint64_t)(real - 100) * 1000000;
    assert_false(pidns_started_after(ticks, 100, age_100, boot, real));
    /* Its own record: stamped when it first opened the GPU, after it began. */
    assert_false(pidns_started_after(ticks, 100, age_100 + 30000000, boot, real));
    /* Within the slack (clocks). */
    assert_false(pidns_started_after(ticks, 100, age_100 - 1500000, boot, real));
    /* An hour older: another process. */
    assert_true(pidns_started_after(ticks, 100, age_100 - 3600000000ull, boot, real));
    assert_true(pidns_started_after(ticks, 100, age_100 - 2500000, boot, real));
    /* Unknown start, clock rate or record: no verdict. */
    assert_false(pidns_started_after(0, 100, 1, boot, real));
    assert_false(pidns_started_after(ticks, 0, 1, boot, real));
    assert_false(pidns_started_after(ticks, 100, 0, boot, real));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_link),
        cmocka_unit_test(test_self),
        cmocka_unit_test(test_driver_caps),
        cmocka_unit_test(test_started_after),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
