/* Unit tests of the log reader: the three schemas, RFC 4180 quoting, bad
 * records, timestamps with and without a zone, chunked feeding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gpu_watch/csv.h"
#include "gpu_watch/logread.h"
#include "gpu_watch/logtime.h"
#include "gpu_watch/owner.h"
#include "gpu_watch/text.h"

#define MAXROWS 16

/* What the callback saw; cmd copied since it lives only during the call. */
struct seen {
    int n;
    struct log_row r[MAXROWS];
    char cmd[MAXROWS][160];
    char cores[MAXROWS][64];
    enum log_schema schema; /* from the rows' hdr, read during the callback */
};

static int collect(const struct log_row *row, void *ctx)
{
    struct seen *s = ctx;
    s->schema = row->hdr->schema;
    if (s->n < MAXROWS) {
        s->r[s->n] = *row;
        snprintf(s->cmd[s->n], sizeof s->cmd[0], "%s", row->cmd);
        s->r[s->n].cmd = s->cmd[s->n];
        snprintf(s->cores[s->n], sizeof s->cores[0], "%s", row->cpu_cores);
        s->r[s->n].cpu_cores = s->cores[s->n];
    }
    s->n++;
    return 0;
}

static int setup(void **state)
{
    setenv("TZ", "UTC", 1);
    tzset();
    struct seen *s = calloc(1, sizeof *s);
    assert_non_null(s);
    *state = s;
    return 0;
}

static int teardown(void **state)
{
    free(*state);
    return 0;
}

/* 2025-01-10T14:22:30Z in epoch seconds (date -u -d ... +%s). */
#define T0 1736518950.0

static void test_sampler_schema(void **state)
{
    struct seen *s = *state;
    struct log_header h;
    struct log_stats st;
    assert_int_equal(logread_file("tests/fixtures/logs/sampler.csv", collect, s, &h, &st), 0);
    assert_int_equal(h.schema, LOG_SAMPLER);
    assert_int_equal(h.nfields, 7);
    assert_int_equal(st.rows, 4);
    assert_int_equal(st.bad, 0);
    assert_int_equal(s->n, 4);
    assert_true(s->r[0].ts == T0);
    assert_int_equal(s->r[0].tz, LOG_TZ_LOCAL);
    assert_int_equal(s->r[0].gpu, 0);
    assert_int_equal(s->r[0].pid, 442);
    assert_int_equal(s->schema, LOG_SAMPLER);
    assert_string_equal(s->r[0].cmd,
                        "python3 /tmp/work dir/train,v2.py 200 --lr=3e-4 --note=a \"quoted\" arg");
    assert_true(s->r[0].gpu_mem_mib == 1642);
    assert_true(s->r[0].sm_util_pct == 39);
    assert_true(s->r[0].mem_util_pct == 2);
    assert_false(log_known(s->r[0].cpu_pct));
    assert_false(log_known(s->r[0].sys_used_mib));
    /* Empty fields are unknown, not 0. */
    assert_int_equal(s->r[1].pid, 443);
    assert_true(s->r[1].gpu_mem_mib == 3590);
    assert_false(log_known(s->r[1].sm_util_pct));
    assert_false(log_known(s->r[1].mem_util_pct));
    assert_string_equal(s->r[2].cmd, "python3 /tmp/grow.py 200 --name=grow;job");
    assert_int_equal(s->r[3].gpu, 1);
    assert_true(s->r[3].ts == T0 + 30);
    assert_int_equal(s->r[3].line, 5);
}

static void test_host_schema_crlf(void **state)
{
    struct seen *s = *state;
    struct log_header h;
    struct log_stats st;
    assert_int_equal(logread_file("tests/fixtures/logs/host.csv", collect, s, &h, &st), 0);
    assert_int_equal(h.schema, LOG_HOST);
    assert_int_equal(st.rows, 2);
    assert_int_equal(s->schema, LOG_HOST);
    assert_int_equal(st.bad, 0);
    assert_int_equal(s->r[0].tz, LOG_TZ_UTC);
    assert_true(s->r[0].ts == T0);
    assert_true(s->r[0].cpu_pct == 250.5);
    assert_string_equal(s->r[0].cpu_cores, "8/9/11");
    assert_true(s->r[0].rss_mib == 812);
    assert_true(s->r[0].sys_used_mib == 30211);
    assert_string_equal(s->r[0].cmd, "python3 train.py");
    /* A row of unknowns: the CR is not part of the last field. */
    assert_int_equal(s->r[1].gpu, -1);
    assert_int_equal(s->r[1].pid, 443);
    assert_string_equal(s->r[1].cmd, "");
    assert_false(log_known(s->r[1].sys_used_mib));
    assert_false(log_known(s->r[1].gpu_mem_mib));
}

static void test_compact_schema_offsets(void **state)
{
    struct seen *s = *state;
    struct log_header h;
    struct log_stats st;
    assert_int_equal(logread_file("tests/fixtures/logs/compact.csv", collect, s, &h, &st), 0);
    assert_int_equal(h.schema, LOG_COMPACT);
    assert_int_equal(st.rows, 3);
    /* +00:00, +01:00 and -04:30 all name the same minute. */
    assert_true(s->r[0].ts == T0);
    assert_true(s->r[1].ts == T0 + 1);
    assert_true(s->r[2].ts == T0 + 2);
    assert_int_equal(s->r[0].tz, LOG_TZ_OFFSET);
    assert_true(s->r[0].gpu_mem_mib == 1642);
    assert_true(s->r[0].sys_used_mib == 30211);
    assert_string_equal(s->r[1].cpu_cores, "3");
    assert_string_equal(s->r[2].cpu_cores, "");
    assert_true(s->r[1].cpu_pct == 240);
    assert_int_equal(s->r[0].pid, -1);
    assert_int_equal(s->r[0].gpu, -1);
    assert_false(log_known(s->r[2].gpu_mem_mib));

    memset(s, 0, sizeof *s);
    assert_int_equal(logread_file("tests/fixtures/logs/compact_min.csv", collect, s, &h, &st), 0);
    assert_int_equal(h.schema, LOG_COMPACT);
    assert_int_equal(h.have, (1u << LOG_COL_TIMESTAMP) | (1u << LOG_COL_GPU_MEM_MIB));
    /* The last line has no newline and is still read. */
    assert_int_equal(s->n, 2);
    assert_true(s->r[1].gpu_mem_mib == 101);
    assert_true(s->r[1].ts == T0 + 1);
}

static void test_headers(void **state)
{
    struct log_header h;
    assert_int_equal(logread_parse_header("\xef\xbb\xbftimestamp,used_mib,cpu_pct\r", 30, &h), 0);
    assert_int_equal(h.schema, LOG_COMPACT);
    assert_int_equal(h.col[2], LOG_COL_CPU_PCT);
    /* --peaks: peak_mem_mib after either sampler schema, never in compact. */
    const char *pk = "timestamp,gpu_index,pid,cmd,gpu_mem_mib,sm_util_pct,mem_util_pct,"
                     "cpu_pct,cpu_cores,rss_mib,sys_used_mib,peak_mem_mib";
    assert_int_equal(logread_parse_header(pk, strlen(pk), &h), 0);
    assert_int_equal(h.schema, LOG_HOST);
    assert_int_equal(h.col[11], LOG_COL_PEAK_MEM_MIB);
    pk = "timestamp,gpu_index,pid,cmd,gpu_mem_mib,sm_util_pct,mem_util_pct,peak_mem_mib";
    assert_int_equal(logread_parse_header(pk, strlen(pk), &h), 0);
    assert_int_equal(h.schema, LOG_SAMPLER);
    assert_true(h.have & (1u << LOG_COL_PEAK_MEM_MIB));
    char row[] = "2026-12-03T07:43:59Z,0,462,python3 spike,1634,,,9826";
    struct log_row r;
    assert_int_equal(logread_parse_row(&h, row, strlen(row), &r), 0);
    assert_true(r.gpu_mem_mib == 1634);
    assert_true(r.peak_mem_mib == 9826);
    char empty[] = "2026-12-03T07:43:59Z,0,460,idle,3590,,,";
    assert_int_equal(logread_parse_row(&h, empty, strlen(empty), &r), 0);
    assert_false(log_known(r.peak_mem_mib));
    /* --peak-rate: peak_rate_hz and mig_instance after peak_mem_mib. */
    pk = "timestamp,gpu_index,pid,cmd,gpu_mem_mib,sm_util_pct,mem_util_pct,peak_mem_mib,"
         "peak_rate_hz,mig_instance,user,job_id,container";
    assert_int_equal(logread_parse_header(pk, strlen(pk), &h), 0);
    assert_int_equal(h.schema, LOG_SAMPLER);
    char dense[] = "2026-12-03T07:43:59Z,0,7002,x,2432,,,6528,50,2/0,ana,,";
    assert_int_equal(logread_parse_row(&h, dense, strlen(dense), &r), 0);
    assert_true(r.peak_mem_mib == 6528 && r.peak_rate_hz == 50);
    assert_string_equal(r.mig_instance, "2/0");
    char driver[] = "2026-12-03T07:43:59Z,0,7002,x,2432,,,6528,,,ana,,";
    assert_int_equal(logread_parse_row(&h, driver, strlen(driver), &r), 0);
    assert_false(log_known(r.peak_rate_hz));
    assert_string_equal(r.mig_instance, "");
    char fast[] = "2026-12-03T07:43:59Z,0,7002,x,2432,,,6528,5000,,ana,,";
    assert_int_equal(logread_parse_row(&h, fast, strlen(fast), &r), -EINVAL);
    const char *bad[] = {
        /* --peak-rate: both columns, with peak_mem_mib. */
        "timestamp,gpu_index,pid,cmd,gpu_mem_mib,sm_util_pct,mem_util_pct,peak_rate_hz,"
        "mig_instance",
        "timestamp,gpu_index,pid,cmd,gpu_mem_mib,sm_util_pct,mem_util_pct,peak_mem_mib,"
        "peak_rate_hz",
        "timestamp,used_mib,peak_mem_mib",
        "timestamp,gpu_index,pid,cmd,gpu_mem_mib,sm_util_pct,mem_util_pct,peak_mem_mib,peak_mem_"
        "mib",
        "time,used_mib",
        "timestamp",
        "used_mib,timestamp",
        "timestamp,used_mib,used_mib",
        "timestamp,used_mib,gpu_index",
        "timestamp,gpu_index,pid,cmd,gpu_mem_mib,sm_util_pct",
        "timestamp,gpu_index,pid,cmd,gpu_mem_mib,sm_util_pct,mem_util_pct,cpu_pct",
        "timestamp,gpu_index,pid,cmd,used_mib,sm_util_pct,mem_util_pct",
        /* --who: all three columns or none, never in a compact log. */
        "timestamp,gpu_index,pid,cmd,gpu_mem_mib,sm_util_pct,mem_util_pct,user,job_id",
        "timestamp,used_mib,user,job_id,container",
        "a,b,c",
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(logread_parse_header(bad[i], strlen(bad[i]), &h), -EPROTO);
}

static void test_bad_rows(void **state)
{
    struct seen *s = *state;
    struct log_stats st;
    assert_int_equal(logread_file("tests/fixtures/logs/bad.csv", collect, s, NULL, &st), 0);
    assert_int_equal(st.rows, 2);
    /* A record ends at the newline: the quote open at the end of line 7
     * makes line 7 malformed, and line 8 ("line",...) too few fields. */
    assert_int_equal(st.bad, 6);
    assert_int_equal(st.first_bad_line, 3);
    assert_int_equal(st.lines, 11);
    assert_string_equal(s->r[0].cmd, "ok");
    /* A quote inside an unquoted cell is taken literally. */
    assert_string_equal(s->r[1].cmd, "stray\"quote");
    assert_int_equal(s->r[1].line, 10);
}

static void test_file_errors(void **state)
{
    struct seen *s = *state;
    struct log_stats st;
    assert_int_equal(logread_file("tests/fixtures/logs/no-such.csv", collect, s, NULL, &st),
                     -ENOENT);
    assert_int_equal(logread_file("tests/fixtures/logs", collect, s, NULL, &st), -EISDIR);
    struct log_parser p;
    log_parser_init(&p, collect, s);
    assert_int_equal(logread_finish(&p), -ENODATA);
    log_parser_free(&p);
    /* Header only: fine for the reader, no rows. */
    log_parser_init(&p, collect, s);
    const char *hdr = "timestamp,used_mib\n";
    assert_int_equal(logread_feed(&p, hdr, strlen(hdr)), 0);
    assert_int_equal(logread_finish(&p), 0);
    assert_int_equal(p.st.rows, 0);
    log_parser_free(&p);
    log_parser_init(&p, collect, s);
    const char *junk = "hello,world\n1,2\n";
    assert_int_equal(logread_feed(&p, junk, strlen(junk)), -EPROTO);
    log_parser_free(&p);
}

/* Feeding one byte at a time gives the same rows as one buffer. */
static void test_chunked_feed(void **state)
{
    struct seen *s = *state;
    FILE *f = fopen("tests/fixtures/logs/bad.csv", "rb");
    assert_non_null(f);
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    struct log_parser p;
    log_parser_init(&p, collect, s);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(logread_feed(&p, buf + i, 1), 0);
    assert_int_equal(logread_finish(&p), 0);
    assert_int_equal(p.st.rows, 2);
    assert_int_equal(p.st.bad, 6);
    assert_string_equal(s->cmd[1], "stray\"quote");
    log_parser_free(&p);
}

static void test_unterminated_and_overlong(void **state)
{
    struct seen *s = *state;
    struct log_parser p;
    log_parser_init(&p, collect, s);
    const char *t = "timestamp,used_mib\n2025-01-10T14:22:30Z,1\n2025-01-10T14:22:31Z,\"2\n";
    assert_int_equal(logread_feed(&p, t, strlen(t)), 0);
    assert_int_equal(logread_finish(&p), 0);
    assert_int_equal(p.st.rows, 1);
    assert_int_equal(p.st.bad, 1);
    log_parser_free(&p);

    /* A 1 MiB line without a newline is skipped, not buffered; the next
     * line is read. */
    memset(s, 0, sizeof *s);
    log_parser_init(&p, collect, s);
    const char *h = "timestamp,used_mib\n";
    assert_int_equal(logread_feed(&p, h, strlen(h)), 0);
    char *big = malloc(1 << 20);
    assert_non_null(big);
    memset(big, 'x', 1 << 20);
    assert_int_equal(logread_feed(&p, big, 1 << 20), 0);
    assert_true(p.rec.cap < 256 * 1024);
    free(big);
    const char *after = "\n2025-01-10T14:22:31Z,7\n";
    assert_int_equal(logread_feed(&p, after, strlen(after)), 0);
    assert_int_equal(logread_finish(&p), 0);
    assert_int_equal(p.st.bad, 1);
    assert_int_equal(p.st.rows, 1);
    assert_true(s->r[0].gpu_mem_mib == 7);
    log_parser_free(&p);

    /* Past 1 MiB a line is no log line (plot /dev/zero never returned):
     * -EMSGSIZE, with the line's number. */
    memset(s, 0, sizeof *s);
    log_parser_init(&p, collect, s);
    assert_int_equal(logread_feed(&p, h, strlen(h)), 0);
    big = calloc(1, (1 << 20) + 1);
    assert_non_null(big);
    assert_int_equal(logread_feed(&p, big, 1 << 20), 0);
    assert_int_equal(logread_feed(&p, big, 1), -EMSGSIZE);
    assert_int_equal(p.st.long_line, 2);
    free(big);
    log_parser_free(&p);
}

static void test_time(void **state)
{
    double t;
    enum log_tz tz;
    assert_int_equal(logread_parse_time("1970-01-01T00:00:00Z", 20, &t, &tz), 0);
    assert_true(t == 0);
    assert_int_equal(tz, LOG_TZ_UTC);
    assert_int_equal(logread_parse_time("2024-02-29 23:59:59.5+0000", 26, &t, &tz), 0);
    assert_true(t == 1709251199.5);
    assert_int_equal(logread_parse_time("2025-01-10T14:22:30+05", 22, &t, &tz), 0);
    assert_true(t == T0 - 5 * 3600);
    assert_int_equal(logread_parse_time("2025-01-10T14:22:30", 19, &t, &tz), 0);
    assert_true(t == T0);
    assert_int_equal(tz, LOG_TZ_LOCAL);
    const char *bad[] = {
        "2025-01-10",
        "2025-02-29T00:00:00",
        "2025-01-10T24:00:00",
        "2025-01-10T14:22",
        "2025-01-10T14:22:30Q",
        "2025-01-10T14:22:30+5",
        "2025-01-10T14:22:30.",
        "x025-01-10T14:22:30",
        "2025-01-10T14:22:30+01:00x",
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(logread_parse_time(bad[i], strlen(bad[i]), &t, &tz), -EINVAL);

    /* Local time follows TZ, across a DST change (Berlin: CET then CEST). */
    setenv("TZ", "Europe/Berlin", 1);
    tzset();
    assert_int_equal(logread_parse_time("2025-01-10T15:22:30", 19, &t, &tz), 0);
    assert_true(t == T0);
    assert_int_equal(logread_parse_time("2025-07-10T16:22:30", 19, &t, &tz), 0);
    assert_true(t == T0 + 181 * 86400.0);
    setenv("TZ", "UTC", 1);
    tzset();
    assert_int_equal(logread_parse_time("2025-07-10T16:22:30", 19, &t, &tz), 0);
    assert_true(t == T0 + 181 * 86400.0 + 7200);
}

static void test_parse_row_direct(void **state)
{
    struct log_header h;
    const char *hl = "timestamp,gpu_index,pid,cmd,gpu_mem_mib,sm_util_pct,mem_util_pct";
    assert_int_equal(logread_parse_header(hl, strlen(hl), &h), 0);
    struct log_row r;
    char ok[] = "2025-01-10T14:22:30Z,3,99,\"a,\"\"b\"\"\",12.5, 7 ,";
    assert_int_equal(logread_parse_row(&h, ok, strlen(ok), &r), 0);
    assert_string_equal(r.cmd, "a,\"b\"");
    assert_int_equal(r.cmd_len, 5);
    assert_int_equal(r.gpu, 3);
    assert_true(r.gpu_mem_mib == 12.5);
    assert_true(r.sm_util_pct == 7);
    assert_false(log_known(r.mem_util_pct));
    char neg[] = "2025-01-10T14:22:30Z,0,99,a,-5,7,1";
    assert_int_equal(logread_parse_row(&h, neg, strlen(neg), &r), -EINVAL);
    char frac_gpu[] = "2025-01-10T14:22:30Z,0.5,99,a,5,7,1";
    assert_int_equal(logread_parse_row(&h, frac_gpu, strlen(frac_gpu), &r), -EINVAL);
    char many[] = "2025-01-10T14:22:30Z,0,99,a,5,7,1,8";
    assert_int_equal(logread_parse_row(&h, many, strlen(many), &r), -EINVAL);
    char after_quote[] = "2025-01-10T14:22:30Z,0,99,\"a\"b,5,7,1";
    assert_int_equal(logread_parse_row(&h, after_quote, strlen(after_quote), &r), -EINVAL);
    /* A --who log, with and without --host: the schema stays, the three
     * text columns come through. */
    const char *hw = "timestamp,gpu_index,pid,cmd,gpu_mem_mib,sm_util_pct,mem_util_pct,user,job_"
                     "id,container";
    assert_int_equal(logread_parse_header(hw, strlen(hw), &h), 0);
    assert_int_equal(h.schema, LOG_SAMPLER);
    char who[] = "2025-01-10T14:22:30Z,0,442,python3,1642,39,2,\"ana,b\",1392969,";
    assert_int_equal(logread_parse_row(&h, who, strlen(who), &r), 0);
    assert_string_equal(r.user, "ana,b");
    assert_string_equal(r.job_id, "1392969");
    assert_string_equal(r.container, "");
    assert_true(r.gpu_mem_mib == 1642);
    const char *hhw = "timestamp,gpu_index,pid,cmd,gpu_mem_mib,sm_util_pct,mem_util_pct,cpu_pct,"
                      "cpu_cores,rss_mib,sys_used_mib,user,job_id,container";
    assert_int_equal(logread_parse_header(hhw, strlen(hhw), &h), 0);
    assert_int_equal(h.schema, LOG_HOST);
    assert_int_equal(h.nfields, 14);
    /* Since the containers work: container_pid after them; the widest
     * header (--host --peaks --who) fits. */
    const char *wide = "timestamp,gpu_index,pid,cmd,gpu_mem_mib,sm_util_pct,mem_util_pct,cpu_pct,"
                       "cpu_cores,rss_mib,sys_used_mib,peak_mem_mib,user,job_id,container,"
                       "container_pid";
    assert_int_equal(logread_parse_header(wide, strlen(wide), &h), 0);
    assert_int_equal(h.schema, LOG_HOST);
    assert_int_equal(h.nfields, 16);
    const char *wc = "timestamp,gpu_index,pid,cmd,gpu_mem_mib,sm_util_pct,mem_util_pct,user,job_"
                     "id,container,container_pid";
    assert_int_equal(logread_parse_header(wc, strlen(wc), &h), 0);
    char in_ns[] = "2025-01-10T14:22:30Z,0,8120,python3,1642,39,2,ana,claimed:5,lxc:c1,1";
    assert_int_equal(logread_parse_row(&h, in_ns, strlen(in_ns), &r), 0);
    assert_int_equal(r.container_pid, 1);
    assert_string_equal(r.job_id, "claimed:5");
    char on_host[] = "2025-01-10T14:22:30Z,0,8120,python3,1642,39,2,ana,5,,";
    assert_int_equal(logread_parse_row(&h, on_host, strlen(on_host), &r), 0);
    assert_int_equal(r.container_pid, -1);
    /* container_pid alone, without the --who columns: no log of ours. */
    const char *lone = "timestamp,gpu_index,pid,cmd,gpu_mem_mib,sm_util_pct,mem_util_pct,"
                       "container_pid";
    assert_int_equal(logread_parse_header(lone, strlen(lone), &h), -EPROTO);
}

/* One rule for impossible values: out of its column's range, a value
 * makes the row malformed, however it is written. */
static void test_impossible_values(void **state)
{
    struct log_header h;
    const char *hl = "timestamp,gpu_index,pid,cmd,gpu_mem_mib,sm_util_pct,mem_util_pct";
    assert_int_equal(logread_parse_header(hl, strlen(hl), &h), 0);
    struct log_row r;
    static const char *const bad[] = {
        "2025-01-10T14:22:30Z,0,99,a,99999999999999999999,7,1", /* 21 digits of MiB */
        "2025-01-10T14:22:30Z,0,99,a,1e20,7,1",
        "2025-01-10T14:22:30Z,0,99,a,5,150,1", /* SM % over 100 */
        "2025-01-10T14:22:30Z,0,99,a,5,-3,1",
        "2025-01-10T14:22:30Z,0,99,a,5,7,100.5",
        "2025-01-10T14:22:30Z,2000000,99,a,5,7,1",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char line[128];
        snprintf(line, sizeof line, "%s", bad[i]);
        assert_int_equal(logread_parse_row(&h, line, strlen(line), &r), -EINVAL);
    }
    char edge[] = "2025-01-10T14:22:30Z,0,99,a,1048576,100,0";
    assert_int_equal(logread_parse_row(&h, edge, strlen(edge), &r), 0);
    assert_true(r.gpu_mem_mib == 1048576 && r.sm_util_pct == 100);
}

static int stop_at_two(const struct log_row *row, void *ctx)
{
    int *n = ctx;
    return ++*n == 2 ? 42 : 0;
}

static void test_callback_stops(void **state)
{
    int n = 0;
    assert_int_equal(logread_file("tests/fixtures/logs/sampler.csv", stop_at_two, &n, NULL, NULL),
                     42);
    assert_int_equal(n, 2);
}

/* Issue 18, item 3: a log of 2,000 one-second rows whose row 100 was cut
 * inside a quoted cmd (a crash, then --append) and a 10,000 MiB spike at
 * row 700. A record ends at the newline: the cut row alone is malformed,
 * every other row is read, the spike included. */
struct spike {
    unsigned long rows;
    double peak, peak_ts;
};

static int on_spike(const struct log_row *row, void *ctx)
{
    struct spike *k = ctx;
    k->rows++;
    if (row->gpu_mem_mib > k->peak) {
        k->peak = row->gpu_mem_mib;
        k->peak_ts = row->ts;
    }
    return 0;
}

static void test_cut_quote_costs_one_row(void **state)
{
    (void)state;
    struct gw_buf b = {0};
    buf_puts(&b, CSV_HEADER "\n");
    const double t0 = 1736467200; /* 2025-01-10T00:00:00Z */
    for (int i = 1; i <= 2000; i++) {
        int s = i - 1;
        char ts[32];
        snprintf(ts, sizeof ts, "2025-01-10T%02d:%02d:%02dZ", s / 3600, s / 60 % 60, s % 60);
        if (i == 100)
            buf_printf(&b, "%s,0,442,\"python3 train.py --data \"\"a, b", ts);
        else
            buf_printf(&b, "%s,0,442,\"python3 train.py --data \"\"a, b\"\"\",%d,50,2", ts,
                       i == 700 ? 10000 : 1000);
        buf_putc(&b, '\n');
    }
    assert_int_equal(buf_error(&b), 0);
    struct spike k = {0, 0, 0};
    struct log_parser p;
    log_parser_init(&p, on_spike, &k);
    assert_int_equal(logread_feed(&p, b.p, b.len), 0);
    assert_int_equal(logread_finish(&p), 0);
    assert_int_equal(k.rows, 1999);
    assert_int_equal(p.st.bad, 1);
    assert_int_equal(p.st.first_bad_line, 101); /* the header is line 1 */
    assert_true(k.peak == 10000);
    assert_true(k.peak_ts == t0 + 699);
    log_parser_free(&p);
    buf_free(&b);
}

/* Issue 18, item 2, a property: whatever the sampler's writer (csv.c) is
 * given (long, quoted, invalid UTF-8, controls, newlines), logread reads
 * every row back, with the cmd the writer promises: capped to TEXT_CMD_MAX
 * (text_cmd_cap), each control character a space. A seeded PRNG: a failure
 * names its iteration and repeats. */
static uint64_t prng = 0x9e3779b97f4a7c15u;

static uint32_t rnd(uint32_t n)
{
    prng ^= prng << 13;
    prng ^= prng >> 7;
    prng ^= prng << 17;
    return (uint32_t)((prng >> 11) % n);
}

/* Random text of up to max - 1 bytes, never a NUL. */
static size_t random_text(char *dst, size_t max)
{
    static const char *const pieces[] = {
        "\"",       ",",       "\n",   "\r",       "\t",           " ",
        "\"\"",     "\x1b[2J", "\x7f", "\xc3\xa9", "\xe6\x97\xa5", "\xf0\x9f\x98\x80",
        "\xc2\x9b", "\x9b",    "\xff", "\xe6\x97", "\xc0\xaf",     "timestamp,",
    };
    uint32_t k = rnd(20);
    size_t len = k < 14 ? rnd(40) : k < 18 ? rnd(400) : 3000 + rnd(200000);
    if (len > max - 1)
        len = max - 1;
    size_t n = 0;
    while (n < len) {
        const char *piece;
        char c[2] = {0, 0};
        if (rnd(3)) {
            c[0] = (char)(0x20 + rnd(95));
            piece = c;
        } else {
            piece = pieces[rnd(sizeof pieces / sizeof pieces[0])];
        }
        size_t m = strlen(piece);
        if (n + m > len)
            break;
        memcpy(dst + n, piece, m);
        n += m;
    }
    dst[n] = '\0';
    return n;
}

/* What the writer promises to write of s: capped, controls as spaces. */
static void written(const char *s, size_t n, bool cap, char *dst)
{
    if (cap && (n = text_cmd_cap(s, n, dst)) != strlen(s))
        s = dst;
    memmove(dst, s, n);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)dst[i] < 0x20 || dst[i] == 0x7f)
            dst[i] = ' ';
    dst[n] = '\0';
}

#define PROP_ROWS 4
struct expect {
    size_t n, seen, wrong;
    char cmd[PROP_ROWS][TEXT_CMD_MAX + 1];
    struct owner who[PROP_ROWS];
    long pid[PROP_ROWS];
    bool has_who;
};

static int check_row(const struct log_row *row, void *ctx)
{
    struct expect *e = ctx;
    size_t i = e->seen++;
    if (i >= e->n || row->pid != e->pid[i] || strcmp(row->cmd, e->cmd[i]) != 0 ||
        (e->has_who &&
         (strcmp(row->user, e->who[i].user) != 0 || strcmp(row->job_id, e->who[i].job_id) != 0 ||
          strcmp(row->container, e->who[i].container) != 0 ||
          row->container_pid != e->who[i].container_pid)))
        e->wrong++;
    return 0;
}

static void test_writer_rows_read_back(void **state)
{
    (void)state;
    static char cmds[PROP_ROWS][210000];
    static struct expect e;
    struct owner who[PROP_ROWS];
    struct sample_row rows[PROP_ROWS];
    struct gw_buf b = {0};
    for (int it = 0; it < 400; it++) {
        bool host = rnd(2), peaks = rnd(2), with_who = rnd(2);
        struct sample smp = {.rows = rows, .n = 1 + rnd(PROP_ROWS), .who = with_who};
        smp.sys_used_mib = rnd(3) ? (int64_t)rnd(1 << 20) : -1;
        memset(&e, 0, sizeof e);
        e.n = smp.n;
        e.has_who = with_who;
        for (size_t i = 0; i < smp.n; i++) {
            size_t n = random_text(cmds[i], sizeof cmds[i]);
            written(cmds[i], n, true, e.cmd[i]);
            random_text(who[i].user, sizeof who[i].user);
            random_text(who[i].job_id, sizeof who[i].job_id);
            random_text(who[i].container, sizeof who[i].container);
            written(who[i].user, strlen(who[i].user), false, e.who[i].user);
            written(who[i].job_id, strlen(who[i].job_id), false, e.who[i].job_id);
            written(who[i].container, strlen(who[i].container), false, e.who[i].container);
            who[i].container_pid = rnd(2) ? 1 + (long)rnd(4000000) : -1;
            e.who[i].container_pid = who[i].container_pid;
            e.pid[i] = 1 + (long)rnd(4000000);
            rows[i] = (struct sample_row){
                .gpu = (int)rnd(9) - 1,
                .pid = e.pid[i],
                .cmd = cmds[i],
                .mem_mib = rnd(4) ? (int64_t)rnd(200000) : -1,
                .sm_pct = rnd(4) ? (int64_t)rnd(101) : -1,
                .mem_pct = rnd(4) ? (int64_t)rnd(101) : -1,
                .host = {rnd(3) ? rnd(10000) / 10.0 : -1.0, rnd(2) ? "0/1/17" : NULL,
                         rnd(3) ? (int64_t)rnd(1 << 20) : -1},
                .uuid = "",
                .peak_mib = rnd(3) ? (int64_t)rnd(200000) : -1,
                .who = &who[i],
            };
        }
        buf_clear(&b);
        buf_printf(&b, "%s%s\n", csv_header(host, peaks), with_who ? CSV_WHO_COLUMNS : "");
        assert_int_equal(csv_sample_rows(&b, "2025-01-10T14:22:30.250Z", &smp, host, peaks), 0);
        /* Fed in random pieces, as reads of a file come. */
        struct log_parser p;
        log_parser_init(&p, check_row, &e);
        for (size_t off = 0; off < b.len;) {
            size_t k = 1 + rnd(70000);
            k = k < b.len - off ? k : b.len - off;
            assert_int_equal(logread_feed(&p, b.p + off, k), 0);
            off += k;
        }
        assert_int_equal(logread_finish(&p), 0);
        if (p.st.bad || e.seen != e.n || e.wrong)
            fail_msg("iteration %d: %lu bad, %zu of %zu rows read, %zu differ", it, p.st.bad,
                     e.seen, e.n, e.wrong);
        log_parser_free(&p);
    }
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sampler_schema, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cut_quote_costs_one_row, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writer_rows_read_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_host_schema_crlf, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compact_schema_offsets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chunked_feed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unterminated_and_overlong, setup, teardown),
        cmocka_unit_test_setup_teardown(test_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_row_direct, setup, teardown),
        cmocka_unit_test_setup_teardown(test_impossible_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_callback_stops, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
