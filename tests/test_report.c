/* Unit tests of report.c: what reaches stderr when a failure repeats, flaps
 * or recovers. stderr is redirected to a temporary file and read back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gpu_watch/report.h"

/* Run fn with stderr going to a file; return what it printed (malloc'd). */
static char *capture(void (*fn)(void))
{
    fflush(stderr);
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    int saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(fileno(tmp), STDERR_FILENO) >= 0);
    fn();
    fflush(stderr);
    assert_true(dup2(saved, STDERR_FILENO) >= 0);
    close(saved);
    long n = ftell(tmp);
    char *s = calloc(1, (size_t)n + 1);
    assert_non_null(s);
    rewind(tmp);
    assert_int_equal(fread(s, 1, (size_t)n, tmp), (size_t)n);
    fclose(tmp);
    return s;
}

static size_t count(const char *s, const char *needle)
{
    size_t n = 0;
    for (const char *p = s; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

/* A sample now and then longer than --interval: fault, quiet ok, fault... */
static void flap(void)
{
    for (int i = 0; i < 100; i++) {
        report_fault("schedule", "samples longer than --interval", "a sample took 0.06 s",
                     (double)i);
        report_ok("schedule", false);
    }
    report_summary(100.0, true);
}

static void test_flapping_quiet_kind_warns_once(void **state)
{
    (void)state;
    char *out = capture(flap);
    assert_int_equal(count(out, "warning: a sample took"), 1);
    assert_int_equal(count(out, "samples longer than --interval: 100 times in all"), 1);
    assert_int_equal(count(out, "\n"), 2);
    free(out);
}

/* A query that fails, says it recovered, and fails again: warned twice. */
static void relapse(void)
{
    report_fault("pmon", "nvidia-smi pmon failed", "nvidia-smi pmon failed: exit status 9", 1.0);
    report_fault("pmon", "nvidia-smi pmon failed", "nvidia-smi pmon failed: exit status 9", 2.0);
    report_ok("pmon", true);
    report_fault("pmon", "nvidia-smi pmon failed", "nvidia-smi pmon failed: exit status 9", 3.0);
}

static void test_said_recovery_rearms_the_warning(void **state)
{
    (void)state;
    char *out = capture(relapse);
    assert_int_equal(count(out, "warning: nvidia-smi pmon failed: exit status 9"), 2);
    assert_int_equal(count(out, "recovered after 2 times"), 1);
    free(out);
}

static int fresh(void **state)
{
    (void)state;
    report_reset();
    return 0;
}

static void test_reset_forgets(void **state)
{
    (void)state;
    report_fault("pmon", "nvidia-smi pmon failed", "nvidia-smi pmon failed: exit status 9", 1.0);
    assert_int_equal(report_total(), 1);
    report_reset();
    assert_int_equal(report_total(), 0);
    /* The same kind warns again after a reset: nothing was remembered. */
    char *out = capture(relapse);
    assert_int_equal(count(out, "warning: nvidia-smi pmon failed: exit status 9"), 2);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_flapping_quiet_kind_warns_once, fresh),
        cmocka_unit_test_setup(test_said_recovery_rearms_the_warning, fresh),
        cmocka_unit_test_setup(test_reset_forgets, fresh),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
