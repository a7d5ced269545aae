/* Rate-limited warnings on stderr. */
#include "gpu_watch/report.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MAX_KINDS 32

static struct kind {
    char key[48];
    char what[96];
    unsigned long failures;   /* all time */
    unsigned long unreported; /* since the last message about it */
    bool failing;
    bool warned; /* its warning was printed and no recovery was said since */
} kinds[MAX_KINDS];
static size_t n_kinds;
static double last_summary = -1;
static bool status_shown;
static unsigned long total;

void report_reset(void)
{
    memset(kinds, 0, sizeof kinds);
    n_kinds = 0;
    last_summary = -1;
    status_shown = false;
    total = 0;
}

void report_status_line(bool shown)
{
    status_shown = shown;
}

static void clear_status(void)
{
    if (status_shown) {
        fputs("\r\033[K", stderr);
        status_shown = false;
    }
}

static struct kind *find(const char *key)
{
    for (size_t i = 0; i < n_kinds; i++)
        if (strcmp(kinds[i].key, key) == 0)
            return &kinds[i];
    if (n_kinds == MAX_KINDS)
        return &kinds[MAX_KINDS - 1];
    struct kind *k = &kinds[n_kinds++];
    snprintf(k->key, sizeof k->key, "%s", key);
    return k;
}

void report_fault(const char *key, const char *what, const char *first, double now)
{
    struct kind *k = find(key);
    snprintf(k->what, sizeof k->what, "%s", what);
    k->failures++;
    total++;
    if (last_summary < 0)
        last_summary = now;
    /* Once per run of failures; a quiet recovery (say == false) does not
     * re-arm it, or a kind that flaps (a sample now and then longer than
     * --interval) would print a line each time. */
    if (!k->failing && k->unreported == 0 && !k->warned) {
        clear_status();
        fprintf(stderr, "gpu_watch: warning: %s (repeats are counted)\n", first);
        k->warned = true;
    } else {
        k->unreported++;
    }
    k->failing = true;
}

void report_ok(const char *key, bool say)
{
    for (size_t i = 0; i < n_kinds; i++) {
        struct kind *k = &kinds[i];
        if (strcmp(k->key, key) != 0 || !k->failing)
            continue;
        k->failing = false;
        if (say) {
            k->warned = false;
            clear_status();
            fprintf(stderr, "gpu_watch: %s: recovered after %lu time%s\n", k->what, k->failures,
                    k->failures == 1 ? "" : "s");
            k->unreported = 0;
        }
    }
}

void report_summary(double now, bool force)
{
    if (!force && (last_summary < 0 || now - last_summary < REPORT_SUMMARY_S))
        return;
    last_summary = now;
    for (size_t i = 0; i < n_kinds; i++) {
        struct kind *k = &kinds[i];
        if (k->unreported == 0 && !(force && k->failures > 1))
            continue;
        clear_status();
        fprintf(stderr, "gpu_watch: %s: %lu time%s in all%s\n", k->what, k->failures,
                k->failures == 1 ? "" : "s", k->failing ? " (still failing)" : "");
        k->unreported = 0;
    }
}

void report_warn(const char *fmt, ...)
{
    va_list ap;
    clear_status();
    fputs("gpu_watch: warning: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

unsigned long report_total(void)
{
    return total;
}
