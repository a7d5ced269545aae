/* Unit tests of the CSV writer: quoting, control characters, the header
 * rules of new, forced and appended files, and whole-line writes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gpu_watch/csv.h"

static const char *field(const char *s)
{
    static struct gw_buf b;
    buf_clear(&b);
    assert_int_equal(csv_field(&b, s, strlen(s)), 0);
    return b.p ? b.p : "";
}

static void test_quoting(void **state)
{
    assert_string_equal(field("python3 train.py"), "python3 train.py");
    assert_string_equal(field("a,b"), "\"a,b\"");
    assert_string_equal(field("say \"hi\""), "\"say \"\"hi\"\"\"");
    assert_string_equal(field(" lead"), "\" lead\"");
    assert_string_equal(field("trail "), "\"trail \"");
    assert_string_equal(field(""), "");
    /* Control characters become spaces, as ps prints them; one at an end
     * is then a leading/trailing space and is quoted. */
    assert_string_equal(field("line1\nline2\tx\ry"), "line1 line2 x y");
    assert_string_equal(field("end\n"), "\"end \"");
    assert_string_equal(field("--csv=a,b,\"c\" =cmd|calc"), "\"--csv=a,b,\"\"c\"\" =cmd|calc\"");
}

static void test_numbers(void **state)
{
    struct gw_buf b = {0};
    assert_int_equal(csv_int(&b, 0), 0);
    assert_int_equal(csv_int(&b, -1), 0); /* unknown: nothing */
    assert_int_equal(csv_int(&b, 81559), 0);
    assert_string_equal(b.p, "081559");
    buf_free(&b);
}

static void test_sample_rows(void **state)
{
    struct sample_row rows[2] = {
        {0, 442, "python3 a,b.py", 1642, 39, 2, {95.64, "8/9/11", 712}, "", 9826, NULL, 0, 0, ""},
        {-1, 443, "", 3590, -1, -1, {-1, NULL, -1}, "", -1, NULL, 0, 0, ""},
    };
    struct sample smp = {.rows = rows, .n = 2, .sys_used_mib = 1979};
    struct gw_buf b = {0};
    assert_int_equal(csv_sample_rows(&b, "2026-11-24T23:45:11", &smp, false, false), 0);
    assert_string_equal(b.p, "2026-11-24T23:45:11,0,442,\"python3 a,b.py\",1642,39,2\n"
                             "2026-11-24T23:45:11,,443,,3590,,\n");
    buf_clear(&b);
    assert_int_equal(csv_sample_rows(&b, "T", &smp, true, false), 0);
    assert_string_equal(b.p, "T,0,442,\"python3 a,b.py\",1642,39,2,95.6,8/9/11,712,1979\n"
                             "T,,443,,3590,,,,,,1979\n");
    /* --who: three columns last; a user name with a comma is quoted, an
     * owner not known (NULL) gives empty fields. */
    const struct owner ana = {"ana,b", "1392969", "pod:6b7e2f0a-1c2d-4e5f-8a9b-0c1d2e3f4a5b", 12};
    rows[0].who = &ana;
    smp.who = true;
    buf_clear(&b);
    assert_int_equal(csv_sample_rows(&b, "T", &smp, true, false), 0);
    assert_string_equal(b.p, "T,0,442,\"python3 a,b.py\",1642,39,2,95.6,8/9/11,712,1979,\"ana,b\","
                             "1392969,pod:6b7e2f0a-1c2d-4e5f-8a9b-0c1d2e3f4a5b,12\n"
                             "T,,443,,3590,,,,,,1979,,,,\n");
    smp.who = false;
    /* --peaks: peak_mem_mib last, after the --host columns; unknown empty. */
    buf_clear(&b);
    assert_int_equal(csv_sample_rows(&b, "T", &smp, false, true), 0);
    assert_string_equal(b.p, "T,0,442,\"python3 a,b.py\",1642,39,2,9826\n"
                             "T,,443,,3590,,,\n");
    buf_clear(&b);
    assert_int_equal(csv_sample_rows(&b, "T", &smp, true, true), 0);
    assert_string_equal(b.p, "T,0,442,\"python3 a,b.py\",1642,39,2,95.6,8/9/11,712,1979,9826\n"
                             "T,,443,,3590,,,,,,1979,\n");
    /* --peak-rate: the rate where peak_mem_mib is sampled (empty when it
     * is the driver's or unknown), then the MIG instance (quoted as text). */
    rows[0].peak_hz = 50;
    rows[0].mig = "1/0";
    rows[1].peak_hz = 50; /* no peak: no rate */
    smp.dense = true;
    buf_clear(&b);
    assert_int_equal(csv_sample_rows(&b, "T", &smp, false, true), 0);
    assert_string_equal(b.p, "T,0,442,\"python3 a,b.py\",1642,39,2,9826,50,1/0\n"
                             "T,,443,,3590,,,,,\n");
    rows[0].peak_hz = 0;
    buf_clear(&b);
    assert_int_equal(csv_sample_rows(&b, "T", &smp, false, true), 0);
    assert_string_equal(b.p, "T,0,442,\"python3 a,b.py\",1642,39,2,9826,,1/0\n"
                             "T,,443,,3590,,,,,\n");
    smp.dense = false;
    assert_string_equal(csv_header(true, true), CSV_HEADER_HOST ",peak_mem_mib");
    assert_string_equal(csv_header(false, true), CSV_HEADER ",peak_mem_mib");
    assert_string_equal(csv_header(true, false), CSV_HEADER_HOST);
    assert_string_equal(csv_header(false, false), CSV_HEADER);
    /* Both: peak_mem_mib, then the --who columns. */
    smp.who = true;
    buf_clear(&b);
    assert_int_equal(csv_sample_rows(&b, "T", &smp, false, true), 0);
    assert_string_equal(b.p, "T,0,442,\"python3 a,b.py\",1642,39,2,9826,\"ana,b\",1392969,"
                             "pod:6b7e2f0a-1c2d-4e5f-8a9b-0c1d2e3f4a5b,12\n"
                             "T,,443,,3590,,,,,,,\n");
    smp.who = false;
    /* --compact: the watched process, alive or not. */
    smp.watched_alive = true;
    smp.watched = rows[0].host;
    smp.watched_mem_mib = 1642;
    buf_clear(&b);
    assert_int_equal(csv_compact_row(&b, "T", &smp), 0);
    assert_string_equal(b.p, "T,1642,1979,8/9/11,95.6\n");
    smp.watched_alive = false;
    smp.watched_mem_mib = -1;
    buf_clear(&b);
    assert_int_equal(csv_compact_row(&b, "T", &smp), 0);
    assert_string_equal(b.p, "T,,1979,,\n");
    buf_free(&b);
}

struct files {
    char dir[64];
    char path[128];
};

static int setup(void **state)
{
    struct files *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/gw-csv-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof f->path, "%s/log.csv", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct files *f = *state;
    unlink(f->path);
    rmdir(f->dir);
    free(f);
    return 0;
}

static void put(const char *path, const char *s)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(s, fp);
    assert_int_equal(fclose(fp), 0);
}

static char *get(const char *path)
{
    static char buf[4096];
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

static void test_new_file(void **state)
{
    struct files *f = *state;
    struct csv_out o;
    assert_int_equal(csv_open(&o, f->path, CSV_HEADER, CSV_NEW, NULL), 0);
    assert_int_equal(csv_write(&o, "r1\n", 3), 0);
    assert_int_equal(csv_close(&o), 0);
    assert_string_equal(get(f->path), CSV_HEADER "\nr1\n");
    /* Now it exists: refused, untouched. */
    assert_int_equal(csv_open(&o, f->path, CSV_HEADER, CSV_NEW, NULL), -EEXIST);
    assert_string_equal(get(f->path), CSV_HEADER "\nr1\n");
    /* --force truncates and writes the header again. */
    assert_int_equal(csv_open(&o, f->path, CSV_HEADER, CSV_FORCE, NULL), 0);
    assert_int_equal(csv_close(&o), 0);
    assert_string_equal(get(f->path), CSV_HEADER "\n");
}

static void test_empty_existing_file_is_new(void **state)
{
    struct files *f = *state;
    put(f->path, "");
    struct csv_out o;
    assert_int_equal(csv_open(&o, f->path, CSV_HEADER, CSV_NEW, NULL), 0);
    assert_int_equal(csv_close(&o), 0);
    assert_string_equal(get(f->path), CSV_HEADER "\n");
}

static void test_append(void **state)
{
    struct files *f = *state;
    struct csv_out o;
    /* Appending to a missing file creates it with a header. */
    assert_int_equal(csv_open(&o, f->path, CSV_HEADER, CSV_APPEND, NULL), 0);
    assert_int_equal(csv_write(&o, "a\n", 2), 0);
    assert_int_equal(csv_close(&o), 0);
    assert_int_equal(csv_open(&o, f->path, CSV_HEADER, CSV_APPEND, NULL), 0);
    assert_int_equal(csv_write(&o, "b\n", 2), 0);
    assert_int_equal(csv_close(&o), 0);
    assert_string_equal(get(f->path), CSV_HEADER "\na\nb\n");
    /* A crash elsewhere left half a line: we start on a new line. */
    put(f->path, CSV_HEADER "\nhalf,a,li");
    assert_int_equal(csv_open(&o, f->path, CSV_HEADER, CSV_APPEND, NULL), 0);
    assert_int_equal(csv_write(&o, "c\n", 2), 0);
    assert_int_equal(csv_close(&o), 0);
    assert_string_equal(get(f->path), CSV_HEADER "\nhalf,a,li\nc\n");
    /* CRLF header written by another tool is still ours. */
    put(f->path, CSV_HEADER "\r\nx\r\n");
    assert_int_equal(csv_open(&o, f->path, CSV_HEADER, CSV_APPEND, NULL), 0);
    assert_int_equal(csv_close(&o), 0);
}

static void test_append_other_schema_refused(void **state)
{
    struct files *f = *state;
    const char *other = "timestamp,used_mib,sys_used_mib,cpu_cores,cpu_pct\n1,2,3,4,5\n";
    put(f->path, other);
    struct csv_out o;
    assert_int_equal(csv_open(&o, f->path, CSV_HEADER, CSV_APPEND, NULL), -EPROTO);
    assert_string_equal(get(f->path), other);
    /* A prefix of our header, or ours plus more columns, is not ours. */
    put(f->path, "timestamp,gpu_index\n");
    assert_int_equal(csv_open(&o, f->path, CSV_HEADER, CSV_APPEND, NULL), -EPROTO);
    put(f->path, CSV_HEADER ",cpu_pct,cpu_cores,rss_mib,sys_used_mib\n");
    assert_int_equal(csv_open(&o, f->path, CSV_HEADER, CSV_APPEND, NULL), -EPROTO);
}

static void test_unwritable(void **state)
{
    struct csv_out o;
    assert_int_equal(csv_open(&o, "/nonexistent-dir/x.csv", CSV_HEADER, CSV_NEW, NULL), -ENOENT);
    assert_int_equal(csv_open(&o, "/dev/full", CSV_HEADER, CSV_NEW, NULL), -ENOSPC);
}

static void test_reopen_after_rotation(void **state)
{
    struct files *f = *state;
    struct csv_out o;
    char moved[160];
    snprintf(moved, sizeof moved, "%s.1", f->path);
    assert_int_equal(csv_open(&o, f->path, CSV_HEADER, CSV_NEW, NULL), 0);
    assert_int_equal(csv_write(&o, "a\n", 2), 0);
    assert_int_equal(rename(f->path, moved), 0);
    assert_int_equal(csv_reopen(&o), 0);
    assert_int_equal(csv_write(&o, "b\n", 2), 0);
    assert_int_equal(csv_close(&o), 0);
    assert_string_equal(get(moved), CSV_HEADER "\na\n");
    assert_string_equal(get(f->path), CSV_HEADER "\nb\n");
    unlink(moved);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quoting),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_sample_rows),
        cmocka_unit_test_setup_teardown(test_new_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_existing_file_is_new, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append_other_schema_refused, setup, teardown),
        cmocka_unit_test(test_unwritable),
        cmocka_unit_test_setup_teardown(test_reopen_after_rotation, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
