/* Unit tests of the column table (columns.h): its order is logread's
 * enum log_col, the headers made from it, and README's column tables list
 * exactly its columns, in order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_watch/columns.h"

/* The sampler's columns first, each at the index of its enum log_col, then
 * --compact's; the groups in the order of the header. */
static void test_table_order(void **state)
{
    assert_true(columns_n <= COLUMNS_MAX);
    assert_true(columns_n > LOG_NCOLS);
    for (size_t i = 0; i < columns_n; i++) {
        if (i < LOG_NCOLS) {
            assert_int_equal(columns[i].log, i);
            assert_int_not_equal(columns[i].group, COL_COMPACT);
        } else {
            assert_int_equal(columns[i].group, COL_COMPACT);
            /* Read back as the sampler's column of the same id. */
            assert_int_equal(columns[i].read, columns[columns[i].log].read);
            assert_int_equal(columns[i].off, columns[columns[i].log].off);
        }
        if (i > 0)
            assert_true(columns[i].group >= columns[i - 1].group);
        assert_non_null(columns[i].write);
        assert_non_null(columns[i].used_by);
    }
}

static const char *header(unsigned set)
{
    static char h[512];
    assert_int_equal(columns_header(h, sizeof h, set), 0);
    return h;
}

static void test_headers(void **state)
{
    const char *base = "timestamp,gpu_index,pid,cmd,gpu_mem_mib,sm_util_pct,mem_util_pct";
    char want[512];
    assert_string_equal(header(columns_set(false, false, false, false)), base);
    snprintf(want, sizeof want,
             "%s,cpu_pct,cpu_cores,rss_mib,sys_used_mib,peak_mem_mib,"
             "peak_rate_hz,mig_instance,user,job_id,container,container_pid",
             base);
    assert_string_equal(header(columns_set(true, true, true, true)), want);
    snprintf(want, sizeof want, "%s,peak_mem_mib,user,job_id,container,container_pid", base);
    assert_string_equal(header(columns_set(false, true, false, true)), want);
    assert_string_equal(header(COL_SET(COL_COMPACT)),
                        "timestamp,used_mib,sys_used_mib,cpu_cores,cpu_pct");
    char small[8];
    assert_int_equal(columns_header(small, sizeof small, COL_SET(COL_BASE)), -ENAMETOOLONG);
    assert_null(columns_find("used_mib", 8, COL_SET(COL_BASE)));
    assert_ptr_equal(columns_find("pid", 3, ~0u), &columns[LOG_COL_PID]);
}

/* README.md's tables headed "| column |": the `name` of each row, in the
 * order of the file, must be the sampler's columns of the table. */
static void test_readme_lists_every_column(void **state)
{
    FILE *f = fopen("README.md", "r");
    assert_non_null(f);
    char line[8192];
    bool in_table = false;
    size_t k = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "| column |", 10) == 0) {
            in_table = true;
            continue;
        }
        if (line[0] != '|') {
            in_table = false;
            continue;
        }
        if (!in_table || strncmp(line, "| `", 3) != 0)
            continue;
        const char *name = line + 3, *end = strchr(name, '`');
        assert_non_null(end);
        if (k >= LOG_NCOLS)
            fail_msg("README lists a column the table lacks: %.*s", (int)(end - name), name);
        if (strlen(columns[k].name) != (size_t)(end - name) ||
            memcmp(columns[k].name, name, (size_t)(end - name)) != 0)
            fail_msg("README lists %.*s where the table has %s", (int)(end - name), name,
                     columns[k].name);
        k++;
    }
    fclose(f);
    if (k != LOG_NCOLS)
        fail_msg("README lists %zu columns, the table %d (the first missing: %s)", k, LOG_NCOLS,
                 columns[k].name);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_order),
        cmocka_unit_test(test_headers),
        cmocka_unit_test(test_readme_lists_every_column),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
