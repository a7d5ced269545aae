/* Unit tests of the shared text helpers: the one duration style, the
 * interval, the UTF-8 validator and cuts, the sanitiser, the command cap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
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

/* What s becomes through text_clean, NUL-terminated in a static buffer. */
static const char *cleaned(const char *s, size_t n)
{
    static char out[256];
    struct gw_buf b = {0};
    assert_int_equal(text_clean(&b, s, n), 0);
    assert_true(b.len < sizeof out);
    memcpy(out, b.p ? b.p : "", b.len);
    out[b.len] = '\0';
    buf_free(&b);
    return out;
}

#define R TEXT_REPLACEMENT

static void test_clean(void **state)
{
    (void)state;
    /* Valid UTF-8 stays, printable ASCII stays. */
    const char *ok = "ok caf\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80 \xc2\xa0nbsp";
    assert_string_equal(cleaned(ok, strlen(ok)), ok);
    /* C0 (ESC, TAB, LF, CR, NUL inside), DEL. */
    assert_string_equal(cleaned("a\x1b[31mb\tc\nd\re\x7f", 14), "a" R "[31mb" R "c" R "d" R "e" R);
    assert_string_equal(cleaned("x\0y", 3), "x" R "y");
    /* C1 as UTF-8 (U+009B CSI, U+009D OSC, U+0085 NEL): one replacement each. */
    assert_string_equal(cleaned("a\xc2\x9b"
                                "2Jb\xc2\x9d"
                                "c\xc2\x85",
                                11),
                        "a" R "2Jb" R "c" R);
    /* Raw C1 bytes, stray continuation bytes, a cut character, overlong forms. */
    assert_string_equal(cleaned("\x9b"
                                "2J\x9d\x80",
                                5),
                        R "2J" R R);
    assert_string_equal(cleaned("z\xe4\xb8", 3), "z" R R);
    assert_string_equal(cleaned("\xc0\xaf\xff", 3), R R R);
    assert_string_equal(cleaned("", 0), "");
}

static void test_clean_inplace(void **state)
{
    (void)state;
    char a[] = "ok caf\xc3\xa9 \xe4\xb8\xad";
    text_clean_inplace(a);
    assert_string_equal(a, "ok caf\xc3\xa9 \xe4\xb8\xad"); /* valid UTF-8 kept */
    char b[] = "esc\x1b[31m tab\t del\x7f c1\xc2\x9b raw\x9b bad\xff\xc3 over\xc0\xaf";
    text_clean_inplace(b);
    assert_string_equal(b, "esc?[31m tab? del? c1?? raw? bad?? over??");
    char c[] = "\xe4\xb8"; /* cut inside a character */
    text_clean_inplace(c);
    assert_string_equal(c, "??");
}

static void test_cmd_cap(void **state)
{
    (void)state;
    char dst[TEXT_CMD_MAX + 1];
    /* What fits is left alone. */
    memset(dst, 'x', sizeof dst);
    assert_int_equal(text_cmd_cap("python train.py", 15, dst), 15);
    assert_int_equal(dst[0], 'x');
    /* 400 KB: head, marker, tail, at most TEXT_CMD_MAX bytes. */
    size_t n = 400000;
    char *s = malloc(n);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++)
        s[i] = (char)('a' + i % 26);
    memcpy(s, "prog", 4);
    memcpy(s + n - 4, "last", 4);
    size_t len = text_cmd_cap(s, n, dst);
    assert_true(len <= TEXT_CMD_MAX);
    assert_true(len > TEXT_CMD_MAX - 4);
    assert_int_equal(strlen(dst), len);
    assert_memory_equal(dst, s, 3072);
    assert_non_null(strstr(dst, TEXT_CMD_CUT));
    assert_memory_equal(dst + len - 4, "last", 4);
    /* Multi-byte characters are never cut: the result is all valid UTF-8. */
    for (size_t i = 0; i + 3 <= n; i += 3)
        memcpy(s + i, "\xe6\x97\xa5", 3);
    for (size_t off = 0; off < 3; off++) {
        len = text_cmd_cap(s + off, n - off, dst);
        assert_true(len <= TEXT_CMD_MAX);
        for (size_t i = 0; i < len;) {
            bool ok;
            size_t k = text_show_len(dst + i, len - i, &ok);
            /* Only the input's own stray head bytes (off > 0) may be invalid. */
            assert_true(ok || i < (3 - off) % 3);
            i += k;
        }
    }
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duration), cmocka_unit_test(test_interval),
        cmocka_unit_test(test_utf8_len), cmocka_unit_test(test_cuts),
        cmocka_unit_test(test_clean),    cmocka_unit_test(test_clean_inplace),
        cmocka_unit_test(test_cmd_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
