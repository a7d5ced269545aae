/* Messages about unreadable logs, shared by plot and summary. */
#include "gpu_watch/logcheck.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gpu_watch/buf.h"
#include "gpu_watch/columns.h"
#include "gpu_watch/subcmd.h"
#include "gpu_watch/text.h"

/* "not a gpu_watch log": the schemas, from the column table (columns.h), so
 * a new column is named here too: the base, then each optional group as a
 * suffix of it, in the table's order; --compact's. */
static void not_a_log(const char *prog, const char *name)
{
    struct gw_buf m = {0};
    buf_printf(&m, "gpu_watch %s: %s is not a gpu_watch log: its header is none of '", prog, name);
    columns_names(&m, COL_SET(COL_BASE), false);
    buf_puts(&m, "' (optionally with '");
    for (int g = COL_BASE + 1; g < COL_COMPACT; g++) {
        if (g > COL_BASE + 1)
            buf_puts(&m, "', then '");
        columns_names(&m, COL_SET(g), true);
    }
    /* --compact: the first two columns, then the optional ones. */
    buf_puts(&m, "') or '");
    for (size_t i = 0, k = 0; i < columns_n; i++) {
        if (columns[i].group != COL_COMPACT)
            continue;
        buf_puts(&m, k == 2 ? "' (optionally with the columns of '," : k ? "," : "");
        buf_puts(&m, columns[i].name);
        k++;
    }
    buf_puts(&m, "', in that order)\n");
    fputs(buf_error(&m) ? "gpu_watch: out of memory\n" : m.p, stderr);
    buf_free(&m);
}

static int report(const char *prog, const char *name, int rc, int cb_err,
                  const struct log_stats *st, const char *doing)
{
    if (rc == -ENODATA) {
        fprintf(stderr, "gpu_watch %s: %s is empty: no header, no rows\n", prog, name);
        return SUBCMD_EXIT_FILE;
    }
    if (rc == -EPROTO) {
        not_a_log(prog, name);
        return SUBCMD_EXIT_FILE;
    }
    if (rc == -EMSGSIZE) {
        fprintf(stderr, "gpu_watch %s: %s is not a gpu_watch log: line %lu is longer than 1 MiB\n",
                prog, name, st->long_line);
        return SUBCMD_EXIT_FILE;
    }
    if (rc == -ENOMEM || cb_err == -ENOMEM) {
        fprintf(stderr, "gpu_watch %s: out of memory reading %s\n", prog, name);
        return SUBCMD_EXIT_FILE;
    }
    if (rc < 0) {
        fprintf(stderr, "gpu_watch %s: cannot read %s: %s\n", prog, name, strerror(-rc));
        return SUBCMD_EXIT_FILE;
    }
    if (st->rows == 0 && st->bad == 0) {
        fprintf(stderr, "gpu_watch %s: %s has a header but no data rows: nothing to do\n", prog,
                name);
        return SUBCMD_EXIT_FILE;
    }
    if (st->rows == 0) {
        fprintf(stderr,
                "gpu_watch %s: %s has no readable rows: all %lu are malformed (the first at "
                "line %lu)\n",
                prog, name, st->bad, st->first_bad_line);
        return SUBCMD_EXIT_FILE;
    }
    if (st->bad)
        fprintf(stderr,
                "gpu_watch %s: warning: skipped %lu malformed row%s of %s (the first at line "
                "%lu); %s the other %lu\n",
                prog, st->bad, st->bad == 1 ? "" : "s", name, st->first_bad_line, doing, st->rows);
    return 0;
}

int logcheck_report(const char *prog, const char *name, int rc, int cb_err,
                    const struct log_stats *st, const char *doing)
{
    /* A file name may hold anything but '/' and NUL: shown sanitised. */
    struct gw_buf clean = {0};
    text_clean(&clean, name, strlen(name));
    int status = report(prog, clean.p && !clean.err ? clean.p : "the log", rc, cb_err, st, doing);
    buf_free(&clean);
    return status;
}
