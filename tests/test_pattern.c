/* Unit tests of the Python-to-POSIX translation of --match patterns: the
 * text of each translation, and what it matches among the command lines of
 * the busy H100 capture (tests/fixtures/proc/busy). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_watch/pattern.h"

/* The command lines of tests/fixtures/proc/busy (442, 443, 444). */
static const char *const cmds[] = {
    "python3 /tmp/work dir/train,v2.py 200 --lr=3e-4 --note=a \"quoted\" arg",
    "python3 /tmp/idle_hold.py 200",
    "python3 /tmp/grow.py 200 --name=grow;job",
};

/* The translation of pat, checked to be ere. */
static void same(const char *pat, const char *ere)
{
    char *out = NULL, what[128];
    bool icase = true;
    assert_int_equal(pattern_to_ere(pat, &out, &icase, what, sizeof what), 0);
    assert_string_equal(out, ere);
    free(out);
}

/* Which of cmds pat matches, as a bit mask (bit i: cmds[i]). */
static unsigned matches(const char *pat)
{
    char *out = NULL, what[128];
    bool icase = false;
    regex_t re;
    assert_int_equal(pattern_to_ere(pat, &out, &icase, what, sizeof what), 0);
    assert_int_equal(regcomp(&re, out, REG_EXTENDED | REG_NOSUB | (icase ? REG_ICASE : 0)), 0);
    unsigned m = 0;
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (regexec(&re, cmds[i], 0, NULL, 0) == 0)
            m |= 1u << i;
    regfree(&re);
    free(out);
    return m;
}

static void refused(const char *pat, const char *named)
{
    char *out = NULL, what[128];
    bool icase = false;
    assert_int_equal(pattern_to_ere(pat, &out, &icase, what, sizeof what), -EINVAL);
    assert_null(out);
    assert_non_null(strstr(what, named));
}

static void test_plain_ere_unchanged(void **state)
{
    same("py(thon)?3? .*train", "py(thon)?3? .*train");
    same("a|b^$.\\.\\(", "a|b^$.\\.\\(");
    same("", "");
    same("x{2,3}y{4}z{1,}", "x{2,3}y{4}z{1,}");
}

static void test_escapes_outside_brackets(void **state)
{
    same("\\d+", "[0-9]+");
    same("\\D\\s\\S\\w\\W", "[^0-9][[:space:]][^[:space:]][[:alnum:]_][^[:alnum:]_]");
    same("\\Apython\\Z", "^python$");
    assert_int_equal(matches("\\d{3} --lr"), 1u);       /* "200 --lr" */
    assert_int_equal(matches("/tmp/\\w+\\.py"), 6u);    /* idle_hold.py, grow.py */
    assert_int_equal(matches("--name=\\S+;\\w+$"), 4u); /* grow;job */
    assert_int_equal(matches("work\\sdir"), 1u);
    assert_int_equal(matches("py\\d200"), 0u);
    assert_int_equal(matches("hold\\.py\\D200"), 2u);
}

static void test_escapes_inside_brackets(void **state)
{
    same("[\\d.]+", "[.0-9]+");
    same("[\\w-]", "[[:alnum:]_-]");
    same("[-a]", "[a-]");
    same("[\\]x]", "[]x]");
    same("[\\^]", "\\^");
    same("[^\\d]", "[^0-9]");
    same("[\\Dx]", "([^0-9]|[x])");
    same("[\\S]", "([^[:space:]])");
    same("[[:alpha:]_]", "[_[:alpha:]]");
    assert_int_equal(matches("=[\\d\\-e]+ "), 1u); /* --lr=3e-4 */
    assert_int_equal(matches("v[\\d]\\.py"), 1u);
    assert_int_equal(matches("hold[\\W]py"), 2u); /* hold.py */
    assert_int_equal(matches("[\\s,]v2"), 1u);
}

static void test_icase_and_groups(void **state)
{
    char *out = NULL, what[64];
    bool icase = false;
    assert_int_equal(pattern_to_ere("(?i)PYTHON3 /TMP/GROW", &out, &icase, what, sizeof what), 0);
    assert_true(icase);
    assert_string_equal(out, "PYTHON3 /TMP/GROW");
    free(out);
    assert_int_equal(matches("(?i)GROW\\.PY"), 4u);
    assert_int_equal(matches("GROW\\.PY"), 0u);
    same("(?:idle|grow)_?", "(idle|grow)_?");
    assert_int_equal(matches("/tmp/(?:idle|grow)"), 6u);
}

static void test_lazy_quantifiers(void **state)
{
    same("a*?b+?c??d{1,2}?", "a*b+c?d{1,2}");
    same("x{,3}?", "x{0,3}");
    same("a{b", "a\\{b");
    assert_int_equal(matches("train.*?200"), 1u);
    assert_int_equal(matches("^python3 .+?hold"), 2u);
}

static void test_untranslatable_refused(void **state)
{
    refused("train(?=,v2)", "look-ahead (?=");
    refused("python(?!3)", "negative look-ahead (?!");
    refused("(?<=/tmp/)grow", "look-behind (?<=");
    refused("(?<!x)grow", "negative look-behind (?<!");
    refused("(\\w)\\1", "back-reference \\1");
    refused("(?P<job>grow)", "named group");
    refused("(?P=job)", "named back-reference");
    refused("a(?i)b", "inline flag");
    refused("a++", "possessive");
    refused("[^\\Dx]", "\\D inside a negated set");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_ere_unchanged),
        cmocka_unit_test(test_escapes_outside_brackets),
        cmocka_unit_test(test_escapes_inside_brackets),
        cmocka_unit_test(test_icase_and_groups),
        cmocka_unit_test(test_lazy_quantifiers),
        cmocka_unit_test(test_untranslatable_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
