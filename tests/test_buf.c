/* Unit tests of the byte buffer: growth, and the sticky first error. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gpu_watch/buf.h"

static void test_appends(void **state)
{
    (void)state;
    struct gw_buf b = {0};
    assert_int_equal(buf_puts(&b, "gpu"), 0);
    assert_int_equal(buf_putc(&b, '_'), 0);
    assert_int_equal(buf_printf(&b, "%s %d", "watch", 42), 0);
    assert_int_equal(buf_append(&b, "xyz", 2), 0);
    assert_string_equal(b.p, "gpu_watch 42xy");
    assert_int_equal(buf_error(&b), 0);
    buf_free(&b);
}

/* A failed append poisons the buffer: later appends do nothing and return
 * the first error, so one check at the end is enough. */
static void test_sticky_error(void **state)
{
    (void)state;
    struct gw_buf b = {0};
    assert_int_equal(buf_puts(&b, "head"), 0);
    assert_int_equal(buf_reserve(&b, SIZE_MAX - 8), -ENOMEM);
    assert_int_equal(buf_puts(&b, "tail"), -ENOMEM);
    assert_int_equal(buf_putc(&b, '!'), -ENOMEM);
    assert_int_equal(buf_printf(&b, "%d", 7), -ENOMEM);
    assert_int_equal(buf_append(&b, "x", 1), -ENOMEM);
    assert_int_equal(buf_error(&b), -ENOMEM);
    assert_int_equal(b.len, 4);
    assert_string_equal(b.p, "head");
    /* buf_clear starts afresh. */
    buf_clear(&b);
    assert_int_equal(buf_error(&b), 0);
    assert_int_equal(buf_puts(&b, "again"), 0);
    assert_string_equal(b.p, "again");
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_appends),
        cmocka_unit_test(test_sticky_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
