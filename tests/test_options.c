/* Unit tests of command-line parsing: defaults, every flag, every error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "gpu_watch/options.h"

static enum options_result parse(struct gw_config *cfg, char *err, const char *first, ...)
{
    char *argv[32];
    int argc = 0;
    argv[argc++] = (char *)"gpu_watch";
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a; a = va_arg(ap, const char *))
        argv[argc++] = (char *)a;
    va_end(ap);
    argv[argc] = NULL;
    return options_parse(argc, argv, "/home/u", cfg, err, 256);
}

static void test_defaults(void **state)
{
    struct gw_config c;
    char err[256];
    assert_int_equal(parse(&c, err, NULL), OPTIONS_OK);
    assert_true(c.interval == 30.0);
    assert_true(c.timeout == 10.0);
    assert_string_equal(c.output, "./gpu_log.csv");
    assert_int_equal(c.count, 0);
    assert_int_equal(c.npids, 0);
    assert_null(c.match);
    assert_false(c.append || c.force || c.utc || c.quiet);
    options_free(&c);
}

static void test_all_flags(void **state)
{
    struct gw_config c;
    char err[256];
    assert_int_equal(parse(&c, err, "--pid", "1,2,3", "--pid=44", "--match", "py(thon)?",
                           "--interval", "0.5", "-o", "~/gpu.csv", "--append", "--count", "7",
                           "--timeout", "2.5", "--utc", "-q", NULL),
                     OPTIONS_OK);
    assert_int_equal(c.npids, 4);
    assert_int_equal(c.pids[0], 1);
    assert_int_equal(c.pids[3], 44);
    assert_string_equal(c.match, "py(thon)?");
    assert_true(c.interval == 0.5);
    assert_string_equal(c.output, "/home/u/gpu.csv");
    assert_true(c.append);
    assert_int_equal(c.count, 7);
    assert_true(c.timeout == 2.5);
    assert_true(c.utc && c.quiet);
    options_free(&c);
    assert_int_equal(parse(&c, err, "--force", "--output", "-", NULL), OPTIONS_OK);
    assert_true(c.force);
    assert_string_equal(c.output, "-");
    options_free(&c);
    assert_false(c.who);
    assert_null(c.prom_textfile);
    options_free(&c);
    assert_int_equal(parse(&c, err, "--who", "--prom-textfile", "/tmp/t/gpu_watch.prom", "-o",
                           "/dev/null", NULL),
                     OPTIONS_OK);
    assert_true(c.who);
    assert_string_equal(c.prom_textfile, "/tmp/t/gpu_watch.prom");
    assert_string_equal(c.output, "/dev/null");
    assert_null(c.prom_command);
    options_free(&c);
    assert_int_equal(
        parse(&c, err, "--prom-textfile", "/tmp/t/gpu_watch.prom", "--prom-command", "name", NULL),
        OPTIONS_OK);
    assert_string_equal(c.prom_command, "name");
    options_free(&c);
    assert_int_equal(parse(&c, err, "-h", NULL), OPTIONS_HELP);
    options_free(&c);
    assert_int_equal(parse(&c, err, "--version", NULL), OPTIONS_VERSION);
    options_free(&c);
}

static void test_bad_input(void **state)
{
    static const struct {
        const char *a, *b, *c;
        const char *needle; /* the message names the problem */
    } bad[] = {
        {"--bogus", NULL, NULL, "--bogus"},
        {"-x", NULL, NULL, "-x"},
        {"--interval", NULL, NULL, "needs a value"},
        {"--interval", "0", NULL, "--interval '0'"},
        {"--interval", "-5", NULL, "--interval '-5'"},
        {"--interval", "abc", NULL, "--interval 'abc'"},
        {"--interval", "inf", NULL, "--interval 'inf'"},
        {"--interval", "1e3", NULL, "--interval"},
        /* Issue 18 item 9: a floor, so that the loop cannot busy-wait a core. */
        {"--interval", "0.000001", NULL, "shortest interval is 0.001 s"},
        {"--interval", "0.00099", NULL, "shortest interval is 0.001 s"},
        {"--pid", "12x", NULL, "'12x'"},
        {"--pid", "1,,2", NULL, "--pid"},
        {"--pid", "0", NULL, "--pid"},
        {"--pid", "99999999999", NULL, "--pid"},
        {"--count", "-1", NULL, "--count '-1'"},
        {"--count", "0", NULL, "--count"},
        {"--count", "3.5", NULL, "--count"},
        {"--timeout", "0", NULL, "--timeout"},
        {"--append", "--force", NULL, "--append and --force"},
        {"-o", "", NULL, "--output"},
        {"stray", NULL, NULL, "'stray'"},
        {"--compact", NULL, NULL, "--compact"},
        {"--until-exit", NULL, NULL, "--until-exit"},
        /* node_exporter reads only *.prom files. */
        {"--prom-textfile", "/var/lib/x/gw.txt", NULL, "--prom-textfile"},
        {"--prom-textfile", "/var/lib/x/.prom", NULL, "--prom-textfile"},
        {"--prom-textfile", NULL, NULL, "needs a value"},
        {"--prom-command", "none", NULL, "--prom-command needs --prom-textfile"},
        {"--prom-textfile=/x/g.prom", "--prom-command", "user", "--prom-command 'user'"},
        {"--pid=1", "--compact", "--who", "--who"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct gw_config c;
        char err[256] = "";
        enum options_result r = parse(&c, err, bad[i].a, bad[i].b, bad[i].c, NULL);
        if (r != OPTIONS_USAGE || !strstr(err, bad[i].needle))
            fail_msg("case %zu (%s %s): result %d, message '%s'", i, bad[i].a,
                     bad[i].b ? bad[i].b : "", r, err);
        options_free(&c);
    }
}

/* Issue 18 item 9: 0.001 s, the floor itself, is accepted. */
static void test_interval_floor(void **state)
{
    (void)state;
    struct gw_config c;
    char err[256] = "";
    assert_int_equal(parse(&c, err, "--interval", "0.001", NULL), OPTIONS_OK);
    assert_true(c.interval == 0.001);
    options_free(&c);
}

static void test_command_after_dashes(void **state)
{
    struct gw_config c;
    char err[256];
    assert_int_equal(parse(&c, err, "-o", "run.csv", "--", "python3", "-u", "train.py", NULL),
                     OPTIONS_OK);
    assert_non_null(c.command);
    assert_string_equal(c.command[0], "python3");
    assert_string_equal(c.command[1], "-u");
    assert_true(c.interval == 1.0); /* the wrapping default */
    options_free(&c);
}

/* Issue 14: flags added, and what is refused. */
static void test_issue14_flags(void **state)
{
    struct gw_config c;
    char err[256];
    assert_int_equal(
        parse(&c, err, "--ms", "--tz-offset", "--summary", "-i", "--match", "(?:py|sh)\\d", NULL),
        OPTIONS_OK);
    assert_true(c.ms && c.tz_offset && c.summary && c.icase && c.match_icase);
    assert_string_equal(c.match, "(?:py|sh)\\d");
    assert_string_equal(c.match_ere, "(py|sh)[0-9]");
    options_free(&c);
    assert_int_equal(parse(&c, err, "--match", "(?i)x*?", NULL), OPTIONS_OK);
    assert_true(c.match_icase && !c.icase);
    assert_string_equal(c.match_ere, "x*");
    options_free(&c);
    assert_int_equal(parse(&c, err, "-V", NULL), OPTIONS_VERSION);
    options_free(&c);
    /* "--" as an option's value is not the end of the options. */
    assert_int_equal(parse(&c, err, "--match", "--", NULL), OPTIONS_OK);
    assert_string_equal(c.match, "--");
    assert_null(c.command);
    options_free(&c);
}

static void refused(const char *want, const char *first, ...)
{
    char *argv[32];
    int argc = 0;
    argv[argc++] = (char *)"gpu_watch";
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a; a = va_arg(ap, const char *))
        argv[argc++] = (char *)a;
    va_end(ap);
    argv[argc] = NULL;
    struct gw_config c;
    char err[256];
    assert_int_equal(options_parse(argc, argv, "/home/u", &c, err, sizeof err), OPTIONS_USAGE);
    if (!strstr(err, want))
        fail_msg("'%s' not in '%s'", want, err);
    options_free(&c);
}

static void test_issue14_refused(void **state)
{
    refused("--output given twice ('b' after 'a')", "-o", "a", "--output", "b", NULL);
    refused("--interval given twice ('2' after '1')", "--interval", "1", "--interval", "2", NULL);
    refused("'--' must be followed by a command", "--count", "1", "--", NULL);
    /* Issue 19 item 17: one rule for every option that takes one value. */
    refused("--count given twice ('2' after '1')", "--count", "1", "--count", "2", NULL);
    refused("--match given twice ('b' after 'a')", "--match", "a", "--match", "b", NULL);
    refused("--timeout given twice", "--timeout", "1", "--timeout", "2", NULL);
    refused("--source given twice", "--source", "smi", "--source", "nvml", NULL);
    refused("--prom-textfile given twice", "--prom-textfile", "a.prom", "--prom-textfile", "b.prom",
            NULL);
    refused("--output given twice ('b' after 'a')", "-o", "a", "-o", "b", NULL);
    refused("--ignore-case needs --match", "-i", NULL);
    refused("--utc and --tz-offset", "--utc", "--tz-offset", NULL);
    refused("--match 'a(?=b)': the look-ahead (?= cannot be translated", "--match", "a(?=b)", NULL);
    refused("back-reference \\2", "--match", "(a)(b)\\2", NULL);
}

/* --peak-rate: HZ after '=' or as the next argument, 50 alone; NVML only. */
static void test_peak_rate(void **state)
{
    (void)state;
    struct gw_config cfg;
    char err[256];
    assert_int_equal(parse(&cfg, err, "--source", "nvml", "--peak-rate", "100", NULL), OPTIONS_OK);
    assert_int_equal(cfg.peak_rate, 100);
    options_free(&cfg);
    assert_int_equal(parse(&cfg, err, "--source", "auto", "--peak-rate=7", NULL), OPTIONS_OK);
    assert_int_equal(cfg.peak_rate, 7);
    options_free(&cfg);
    assert_int_equal(parse(&cfg, err, "--source", "nvml", "--peak-rate", "--host", NULL),
                     OPTIONS_OK);
    assert_int_equal(cfg.peak_rate, GW_DEFAULT_PEAK_RATE);
    assert_true(cfg.host);
    options_free(&cfg);
    assert_int_equal(parse(&cfg, err, "--source", "nvml", NULL), OPTIONS_OK);
    assert_int_equal(cfg.peak_rate, 0);
    options_free(&cfg);
    refused("--peak-rate needs --source nvml or auto", "--peak-rate", "50", NULL);
    refused("--peak-rate needs --source nvml or auto", "--source", "smi", "--peak-rate", NULL);
    refused("invalid --peak-rate '0'", "--source", "nvml", "--peak-rate=0", NULL);
    refused("invalid --peak-rate '1001'", "--source", "nvml", "--peak-rate=1001", NULL);
    refused("--compact cannot be combined with --peak-rate", "--source", "nvml", "--compact",
            "--pid", "1", "--peak-rate", NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_issue14_flags),  cmocka_unit_test(test_issue14_refused),
        cmocka_unit_test(test_peak_rate),      cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_all_flags),      cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_interval_floor), cmocka_unit_test(test_command_after_dashes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
