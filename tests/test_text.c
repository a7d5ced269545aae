/* Unit tests of the shared text helpers: the one duration style, the
 * interval, the UTF-8 validator and cuts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "gpu_watch/text.h"

static void test_duration(void **state)
{
    (void)state;
    char b[32];
    text_duration(8280, b, sizeof b);
    assert_string_equal(b, "2h18m");
    text_duration(45, b, sizeof b);
    assert_string_equal(b, "45s");
    text_duration(2852, b, sizeof b);
    assert_string_equal(b, "47m32s");
    text_duration(3 * 86400 + 4 * 3600 + 5, b, sizeof b);
    assert_string_equal(b, "3d04h");
    text_duration(NAN, b, sizeof b);
    assert_string_equal(b, "-");
    text_duration(-1, b, sizeof b);
    assert_string_equal(b, "-");
}

static void test_interval(void **state)
{
    (void)state;
    char b[32];
    text_interval(0.2, b, sizeof b);
    assert_string_equal(b, "0.2 s");
    text_interval(10, b, sizeof b);
    assert_string_equal(b, "10 s");
    text_interval(300, b, sizeof b);
    assert_string_equal(b, "5m00s");
    text_interval(NAN, b, sizeof b);
    assert_string_equal(b, "-");
}

static void test_utf8_len(void **state)
{
    (void)state;
    assert_int_equal(text_utf8_len("a", 1), 1);
    assert_int_equal(text_utf8_len("\xc3\xa9", 2), 2);
    assert_int_equal(text_utf8_len("\xe6\x97\xa5", 3), 3);
    assert_int_equal(text_utf8_len("\xf0\x9f\x98\x80", 4), 4);
    assert_int_equal(text_utf8_len("\xe6\x97", 2), 0);     /* cut short */
    assert_int_equal(text_utf8_len("\xc0\xaf", 2), 0);     /* overlong */
    assert_int_equal(text_utf8_len("\xed\xa0\x80", 3), 0); /* surrogate */
    assert_int_equal(text_utf8_len("\xf4\x90\x80\x80", 4), 0);
    assert_int_equal(text_utf8_len("\xff", 1), 0);
}

static void test_cuts(void **state)
{
    (void)state;
    const char *s = "ab\xc3\xa9\xe6\x97\xa5z"; /* a b é 日 z: 5 columns, 8 bytes */
    size_t n = strlen(s);
    assert_int_equal(text_utf8_cols(s, n), 5);
    assert_int_equal(text_utf8_head(s, n, 3, SIZE_MAX), 4);
    assert_int_equal(text_utf8_head(s, n, 4, SIZE_MAX), 7);
    assert_int_equal(text_utf8_head(s, n, 9, SIZE_MAX), 8);
    /* A byte limit inside a character drops the whole character. */
    assert_int_equal(text_utf8_head(s, n, 9, 3), 2);
    assert_int_equal(text_utf8_head(s, n, 9, 6), 4);
    assert_int_equal(text_utf8_tail(s, n, 2), 4);
    assert_int_equal(text_utf8_tail(s, n, 1), 7);
    assert_int_equal(text_utf8_tail(s, n, 9), 0);
    /* A stray byte is one column of its own. */
    assert_int_equal(text_utf8_cols("a\xff"
                                    "b",
                                    3),
                     3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duration),
        cmocka_unit_test(test_interval),
        cmocka_unit_test(test_utf8_len),
        cmocka_unit_test(test_cuts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
