/* The --pid / --match filter. */
#include "gpu_watch/filter.h"

#include <errno.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_watch/text.h"

struct filter {
    long *pids; /* --pid list; npids == 0: every PID */
    size_t npids;
    char *match; /* NULL: every command line */
    bool icase;
    bool use_re; /* re compiled; else match is a substring */
    regex_t re;
};

int filter_new(const long *pids, size_t npids, const char *match, bool icase, struct filter **out,
               bool *substring)
{
    *out = NULL;
    *substring = false;
    struct filter *f = calloc(1, sizeof *f);
    if (!f)
        return -ENOMEM;
    f->icase = icase;
    if (npids) {
        f->pids = malloc(npids * sizeof *pids);
        if (!f->pids) {
            filter_free(f);
            return -ENOMEM;
        }
        memcpy(f->pids, pids, npids * sizeof *pids);
        f->npids = npids;
    }
    if (match) {
        if (!(f->match = strdup(match))) {
            filter_free(f);
            return -ENOMEM;
        }
        int flags = REG_EXTENDED | REG_NOSUB | (icase ? REG_ICASE : 0);
        f->use_re = regcomp(&f->re, match, flags) == 0;
        *substring = !f->use_re;
    }
    *out = f;
    return 0;
}

void filter_free(struct filter *f)
{
    if (!f)
        return;
    if (f->use_re)
        regfree(&f->re);
    free(f->pids);
    free(f->match);
    free(f);
}

bool filter_all(const struct filter *f)
{
    return f->npids == 0 && !f->match;
}

static bool pid_listed(const struct filter *f, long pid)
{
    if (f->npids == 0)
        return true;
    for (size_t i = 0; i < f->npids; i++)
        if (f->pids[i] == pid)
            return true;
    return false;
}

static bool cmd_matches(const struct filter *f, const char *cmd)
{
    if (!f->match)
        return true;
    /* A match sees at most TEXT_CMD_MAX bytes (the command lines the
     * sampler keeps are capped there already): regexec is quadratic in
     * the text for patterns such as 'A.*B', and a user chooses their argv
     * (400 KB took 41 s). */
    char capped[TEXT_CMD_MAX + 1];
    size_t n = strlen(cmd);
    if (text_cmd_cap(cmd, n, capped) != n)
        cmd = capped;
    if (f->use_re)
        return regexec(&f->re, cmd, 0, NULL, 0) == 0;
    return (f->icase ? strcasestr(cmd, f->match) : strstr(cmd, f->match)) != NULL;
}

bool filter_pass(const struct filter *f, long pid, const char *cmd)
{
    return pid_listed(f, pid) && cmd_matches(f, cmd ? cmd : "");
}
