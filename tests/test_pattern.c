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
    /* Python escapes with no exact ERE form (issue 18, item 13). */
    refused("train\\u002epy", "\\uXXXX");
    refused("[\\u0030-\\u0039]", "\\uXXXX");
    refused("x\\U0001F600", "\\UXXXXXXXX");
    refused("caf\\N{LATIN SMALL LETTER E WITH ACUTE}", "\\N{...}");
    refused("a\\0b", "octal escape \\0");
    refused("a\\x00b", "\\x00");
    refused("a\\x2", "two hex digits");
    refused("[\\xZZ]", "two hex digits");
}

/* \xHH is that byte and nothing else (issue 18, item 13): it used to be
 * copied as "\x2e", which POSIX reads as "x2e", and [\x30-\x39] as
 * [x30-x39], which matched letters. */
static void test_hex_escapes(void **state)
{
    (void)state;
    same("train\\x2epy", "train[.]py");
    same("[\\x30-\\x39]+", "[0-9]+");
    same("\\x41\\x5e\\x5c\\x24\\x7c", "A\\^[\\][$][|]");
    same("[\\x5d\\x2da]", "[]a-]");
    assert_int_equal(matches("grow\\x2epy"), 4u);
    assert_int_equal(matches("grow\\x2e\\x70y"), 4u);
    assert_int_equal(matches("v2\\x2epy \\x32\\x30\\x30"), 1u);
    assert_int_equal(matches("hold[\\x30-\\x39]"), 0u);           /* no digit after hold */
    assert_int_equal(matches("py [\\x30-\\x39]{3}"), 7u);         /* " 200" in all three */
    assert_int_equal(matches("^python3 /tmp/idle\\x2ehold"), 0u); /* '.' only, not '_' */
    assert_int_equal(matches("idle\\x5fhold"), 2u);
    /* The byte 0x2e in a pattern matches a dot, not any character. */
    char *out = NULL, what[64];
    bool icase;
    regex_t re;
    assert_int_equal(pattern_to_ere("a\\x2eb", &out, &icase, what, sizeof what), 0);
    assert_int_equal(regcomp(&re, out, REG_EXTENDED | REG_NOSUB), 0);
    assert_int_equal(regexec(&re, "a.b", 0, NULL, 0), 0);
    assert_int_equal(regexec(&re, "axb", 0, NULL, 0), REG_NOMATCH);
    regfree(&re);
    free(out);
}

/* A '-' last in a set stays last when the set is written again: [\d.-]
 * would otherwise become [.-0-9], a range from '.' to '0' (it matched '/')
 * that regcomp may even reject. */
static void test_trailing_dash_stays_last(void **state)
{
    (void)state;
    same("[\\d.-]", "[.0-9-]");
    same("[-\\d.]", "[.0-9-]");
    char *out = NULL, what[64];
    bool icase;
    regex_t re;
    assert_int_equal(pattern_to_ere("^[\\d.-]+$", &out, &icase, what, sizeof what), 0);
    assert_int_equal(regcomp(&re, out, REG_EXTENDED | REG_NOSUB), 0);
    assert_int_equal(regexec(&re, "3.5-2", 0, NULL, 0), 0);
    assert_int_equal(regexec(&re, "/", 0, NULL, 0), REG_NOMATCH);
    regfree(&re);
    free(out);
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
        cmocka_unit_test(test_hex_escapes),
        cmocka_unit_test(test_trailing_dash_stays_last),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
