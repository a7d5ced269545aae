/* Parsers for nvidia-smi and ps output. Every function takes a buffer and a
 * length (the buffer need not be NUL-terminated) and fills structs. */
#include "gpu_watch/parse.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_watch/array.h"

/* Grow a GW_LIST by one element; returns the new element or NULL. */
#define LIST_PUSH(list)                                                                            \
    (array_reserve(&(list)->v, &(list)->cap, (list)->n + 1, sizeof *(list)->v) == 0                \
         ? &(list)->v[(list)->n++]                                                                 \
         : NULL)

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* Trim blanks (and CR) from both ends of [*s, *s + *len). */
static void trim(const char **s, size_t *len)
{
    while (*len && is_blank(**s)) {
        (*s)++;
        (*len)--;
    }
    while (*len && is_blank((*s)[*len - 1]))
        (*len)--;
}

/* Next line of [*p, end): sets line/len (without the newline), advances *p.
 * Returns false at the end. */
static bool next_line(const char **p, const char *end, const char **line, size_t *len)
{
    if (*p >= end)
        return false;
    const char *nl = memchr(*p, '\n', (size_t)(end - *p));
    const char *e = nl ? nl : end;
    *line = *p;
    *len = (size_t)(e - *p);
    if (*len && (*line)[*len - 1] == '\r')
        (*len)--;
    *p = nl ? nl + 1 : end;
    return true;
}

/* A strictly decimal, non-negative integer filling all of s[0..len). */
static bool parse_uint(const char *s, size_t len, int64_t *out)
{
    if (len == 0 || len > 18)
        return false;
    int64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

int64_t smi_parse_value(const char *s, size_t len)
{
    trim(&s, &len);
    /* Units that a csv format without nounits appends. */
    static const char *const units[] = {" MiB", " %", " MB"};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        size_t ul = strlen(units[i]);
        if (len > ul && memcmp(s + len - ul, units[i], ul) == 0) {
            len -= ul;
            break;
        }
    }
    int64_t v;
    return parse_uint(s, len, &v) ? v : GW_UNKNOWN;
}

static bool parse_pid(const char *s, size_t len, long *pid)
{
    int64_t v;
    trim(&s, &len);
    if (!parse_uint(s, len, &v) || v <= 0 || v > 0x7fffffff)
        return false;
    *pid = (long)v;
    return true;
}

/* Split a line at commas into at most max fields (trimmed). Returns the count. */
static size_t split_commas(const char *s, size_t len, const char **f, size_t *fl, size_t max)
{
    size_t n = 0;
    const char *end = s + len;
    while (n < max) {
        const char *c = memchr(s, ',', (size_t)(end - s));
        const char *e = c ? c : end;
        f[n] = s;
        fl[n] = (size_t)(e - s);
        trim(&f[n], &fl[n]);
        n++;
        if (!c)
            break;
        s = c + 1;
    }
    return n;
}

/* A UUID field ("GPU-1a8e51c5-...", "MIG-..."): not empty, fits, and only
 * printable characters (a NUL in garbage output would make it empty). */
static bool uuid_ok(const char *s, size_t len)
{
    if (len == 0 || len >= GW_UUID_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
            return false;
    return true;
}

static void copy_field(char *dst, size_t cap, const char *s, size_t len)
{
    if (len >= cap)
        len = cap - 1;
    memcpy(dst, s, len);
    dst[len] = '\0';
}

/* Sample line (csv,noheader,nounits):
 *   442, GPU-1a8e51c5-1f64-9d83-5d60-65f0c235c074, 1642 */
int smi_parse_apps(const char *buf, size_t len, struct smi_app_list *out)
{
    out->n = 0;
    out->bad = 0;
    const char *p = buf, *end = buf + len, *line;
    size_t ll;
    while (next_line(&p, end, &line, &ll)) {
        const char *f[4];
        size_t fl[4];
        trim(&line, &ll);
        if (ll == 0)
            continue;
        size_t nf = split_commas(line, ll, f, fl, 4);
        long pid;
        if (nf != 3 || !parse_pid(f[0], fl[0], &pid) || !uuid_ok(f[1], fl[1])) {
            out->bad++;
            continue;
        }
        struct smi_app *a = LIST_PUSH(out);
        if (!a)
            return -ENOMEM;
        a->pid = pid;
        copy_field(a->uuid, sizeof a->uuid, f[1], fl[1]);
        a->mem_mib = smi_parse_value(f[2], fl[2]);
    }
    return 0;
}

/* Whitespace-separated tokens of one line; returns the count (at most max). */
static size_t tokenize(const char *s, size_t len, const char **t, size_t *tl, size_t max)
{
    size_t n = 0, i = 0;
    while (i < len && n < max) {
        while (i < len && is_blank(s[i]))
            i++;
        if (i >= len)
            break;
        size_t st = i;
        while (i < len && !is_blank(s[i]))
            i++;
        t[n] = s + st;
        tl[n] = i - st;
        n++;
    }
    return n;
}

static bool tok_is(const char *t, size_t tl, const char *word)
{
    return strlen(word) == tl && memcmp(t, word, tl) == 0;
}

enum { COL_GPU, COL_PID, COL_TYPE, COL_SM, COL_MEM, COL_FB, COL_CMD, NCOLS };
#define PMON_MAX_TOKENS 40

/* A "#" line of pmon, tokenized (t[i], tl[i]; n tokens): when it names the
 * columns (it has "pid"), col[c] gets the token index of each column
 * (-1 absent) and true is returned; false for the units line. */
static bool pmon_header(const char *const *t, const size_t *tl, size_t n, int col[NCOLS])
{
    bool is_names = false;
    for (size_t i = 0; i < n; i++)
        if (tok_is(t[i], tl[i], "pid"))
            is_names = true;
    if (!is_names)
        return false;
    for (int c = 0; c < NCOLS; c++)
        col[c] = -1;
    for (size_t i = 0; i < n; i++) {
        static const char *const names[NCOLS] = {"gpu", "pid", "type",   "sm",
                                                 "mem", "fb",  "command"};
        for (int c = 0; c < NCOLS; c++)
            if (col[c] < 0 && tok_is(t[i], tl[i], names[c]))
                col[c] = (int)i;
    }
    return true;
}

/* The fields of a pmon row past GPU and PID (n tokens; line_end: the end of
 * the line, for a command name with blanks): unknown when absent or "-". */
static void pmon_fields(struct pmon_row *r, const int col[NCOLS], const char *const *t,
                        const size_t *tl, size_t n, const char *line_end)
{
    r->sm_pct = col[COL_SM] >= 0 ? smi_parse_value(t[col[COL_SM]], tl[col[COL_SM]]) : GW_UNKNOWN;
    r->mem_pct =
        col[COL_MEM] >= 0 ? smi_parse_value(t[col[COL_MEM]], tl[col[COL_MEM]]) : GW_UNKNOWN;
    r->fb_mib = col[COL_FB] >= 0 ? smi_parse_value(t[col[COL_FB]], tl[col[COL_FB]]) : GW_UNKNOWN;
    r->type[0] = '\0';
    if (col[COL_TYPE] >= 0 && !tok_is(t[col[COL_TYPE]], tl[col[COL_TYPE]], "-"))
        copy_field(r->type, sizeof r->type, t[col[COL_TYPE]], tl[col[COL_TYPE]]);
    r->name[0] = '\0';
    if (col[COL_CMD] >= 0 && (size_t)col[COL_CMD] < n) {
        const char *s = t[col[COL_CMD]];
        size_t sl = (size_t)(line_end - s);
        trim(&s, &sl);
        if (!(sl == 1 && s[0] == '-'))
            copy_field(r->name, sizeof r->name, s, sl);
    }
}

/* Sample (pmon -c 1 -s um, driver 580):
 *   # gpu         pid   type     sm    mem    enc    dec    jpg    ofa     fb   ccpm    command
 *   # Idx           #    C/G      %      %      %      %      %      %     MB     MB    name
 *       0        442     C     39      2      -      -      -      -   1642      0    python3
 * With -o DT the header starts "#Date Time gpu ...". Columns move between
 * drivers and with the order of the -s letters, so they are found by name. */
int smi_parse_pmon(const char *buf, size_t len, struct pmon_list *out)
{
    out->n = 0;
    out->bad = 0;
    int col[NCOLS];
    size_t ncols = 0;
    bool have_header = false;
    const char *p = buf, *end = buf + len, *line;
    size_t ll;
    while (next_line(&p, end, &line, &ll)) {
        const char *t[PMON_MAX_TOKENS];
        size_t tl[PMON_MAX_TOKENS];
        trim(&line, &ll);
        if (ll == 0)
            continue;
        if (line[0] == '#') {
            /* "# gpu pid ..." or "#Date Time gpu ...": drop the '#'. */
            size_t n = tokenize(line + 1, ll - 1, t, tl, PMON_MAX_TOKENS);
            if (!pmon_header(t, tl, n, col))
                continue; /* the units line "# Idx # C/G % ..." */
            ncols = n;
            have_header = col[COL_GPU] >= 0 && col[COL_PID] >= 0;
            continue;
        }
        if (!have_header) {
            out->bad++;
            continue;
        }
        size_t n = tokenize(line, ll, t, tl, PMON_MAX_TOKENS);
        /* The command name may be missing ("-") but every other column is
         * printed; names with blanks are rejoined below. */
        size_t need = col[COL_CMD] >= 0 ? (size_t)col[COL_CMD] : ncols;
        if (n < need) {
            out->bad++;
            continue;
        }
        int64_t gpu;
        const char *gt = t[col[COL_GPU]];
        size_t gl = tl[col[COL_GPU]];
        if (!parse_uint(gt, gl, &gpu) || gpu > 0xffff) {
            out->bad++;
            continue;
        }
        const char *pt = t[col[COL_PID]];
        size_t pl = tl[col[COL_PID]];
        long pid;
        if (tok_is(pt, pl, "-"))
            continue; /* placeholder row of a GPU with no process */
        if (!parse_pid(pt, pl, &pid)) {
            out->bad++;
            continue;
        }
        struct pmon_row *r = LIST_PUSH(out);
        if (!r)
            return -ENOMEM;
        r->gpu = (int)gpu;
        r->pid = pid;
        pmon_fields(r, col, t, tl, n, line + ll);
    }
    return have_header || out->bad == 0 ? 0 : -EINVAL;
}

/* "Enabled" 1, "Disabled" 0, anything else ([N/A], an old driver's
 * placeholder) GW_UNKNOWN. */
static int parse_mode(const char *s, size_t len)
{
    if (tok_is(s, len, "Enabled"))
        return 1;
    if (tok_is(s, len, "Disabled"))
        return 0;
    return GW_UNKNOWN;
}

/* Sample lines (csv,noheader):
 *   0, GPU-1a8e51c5-1f64-9d83-5d60-65f0c235c074
 *   0, GPU-772e9f57-c2ec-c54f-ea81-d2df40ae767a, Enabled   (with acct) */
static int parse_gpus(const char *buf, size_t len, struct gpu_list *out, bool acct)
{
    out->n = 0;
    out->bad = 0;
    const size_t want = acct ? 3 : 2;
    const char *p = buf, *end = buf + len, *line;
    size_t ll;
    while (next_line(&p, end, &line, &ll)) {
        const char *f[4];
        size_t fl[4];
        trim(&line, &ll);
        if (ll == 0)
            continue;
        size_t nf = split_commas(line, ll, f, fl, 4);
        int64_t idx;
        if (nf != want || !parse_uint(f[0], fl[0], &idx) || idx > 0xffff || !uuid_ok(f[1], fl[1])) {
            out->bad++;
            continue;
        }
        struct gpu_entry *g = LIST_PUSH(out);
        if (!g)
            return -ENOMEM;
        g->index = (int)idx;
        copy_field(g->uuid, sizeof g->uuid, f[1], fl[1]);
        g->acct = acct ? parse_mode(f[2], fl[2]) : GW_UNKNOWN;
    }
    return 0;
}

int smi_parse_gpus(const char *buf, size_t len, struct gpu_list *out)
{
    return parse_gpus(buf, len, out, false);
}

int smi_parse_gpus_acct(const char *buf, size_t len, struct gpu_list *out)
{
    return parse_gpus(buf, len, out, true);
}

/* Sample lines (csv,noheader,nounits):
 *   0, 1234, 512
 *   1, [N/A], [N/A] */
int smi_parse_gpu_mem(const char *buf, size_t len, struct gpu_mem_list *out)
{
    out->n = 0;
    out->bad = 0;
    const char *p = buf, *end = buf + len, *line;
    size_t ll;
    while (next_line(&p, end, &line, &ll)) {
        const char *f[4];
        size_t fl[4];
        trim(&line, &ll);
        if (ll == 0)
            continue;
        size_t nf = split_commas(line, ll, f, fl, 4);
        int64_t idx;
        if ((nf != 2 && nf != 3) || !parse_uint(f[0], fl[0], &idx) || idx > 0xffff) {
            out->bad++;
            continue;
        }
        struct smi_gpu_mem *g = LIST_PUSH(out);
        if (!g)
            return -ENOMEM;
        g->index = (int)idx;
        g->used_mib = smi_parse_value(f[1], fl[1]);
        g->reserved_mib = nf == 3 ? smi_parse_value(f[2], fl[2]) : GW_UNKNOWN;
    }
    return 0;
}

/* A duration field: "150929 ms", "150929" (nounits); else GW_UNKNOWN. */
static int64_t parse_ms(const char *s, size_t len)
{
    trim(&s, &len);
    if (len > 3 && memcmp(s + len - 3, " ms", 3) == 0)
        len -= 3;
    int64_t v;
    return parse_uint(s, len, &v) ? v : GW_UNKNOWN;
}

enum { ACOL_UUID, ACOL_PID, ACOL_MAX, ACOL_TIME, NACOLS };
#define ACCT_MAX_FIELDS 16

/* Sample (--query-accounted-apps=gpu_uuid,pid,gpu_util,mem_util,max_memory_usage,time
 * --format=csv, driver 580):
 *   gpu_uuid, pid, gpu_utilization [%], mem_utilization [%], max_memory_usage [MiB], time [ms]
 *   GPU-772e9f57-c2ec-c54f-ea81-d2df40ae767a, 462, 0 %, 0 %, 9826 MiB, 151445 ms
 * A header name may carry its unit in brackets; the columns are found by name. */
int smi_parse_accounted(const char *buf, size_t len, struct acct_list *out)
{
    out->n = 0;
    out->bad = 0;
    int col[NACOLS] = {-1, -1, -1, -1};
    bool have_header = false;
    const char *p = buf, *end = buf + len, *line;
    size_t ll;
    while (next_line(&p, end, &line, &ll)) {
        const char *f[ACCT_MAX_FIELDS];
        size_t fl[ACCT_MAX_FIELDS];
        trim(&line, &ll);
        if (ll == 0)
            continue;
        size_t nf = split_commas(line, ll, f, fl, ACCT_MAX_FIELDS);
        if (!have_header) {
            static const char *const names[NACOLS] = {"gpu_uuid", "pid", "max_memory_usage",
                                                      "time"};
            for (size_t i = 0; i < nf; i++) {
                const char *b = memchr(f[i], '[', fl[i]);
                size_t nl = b ? (size_t)(b - f[i]) : fl[i];
                const char *nm = f[i];
                trim(&nm, &nl);
                for (int c = 0; c < NACOLS; c++)
                    if (col[c] < 0 && tok_is(nm, nl, names[c]))
                        col[c] = (int)i;
            }
            have_header = col[ACOL_UUID] >= 0 && col[ACOL_PID] >= 0;
            if (!have_header) {
                for (int c = 0; c < NACOLS; c++)
                    col[c] = -1;
                out->bad++;
            }
            continue;
        }
        long pid;
        size_t cu = (size_t)col[ACOL_UUID], cp = (size_t)col[ACOL_PID];
        if (nf <= cu || nf <= cp || !parse_pid(f[cp], fl[cp], &pid) || !uuid_ok(f[cu], fl[cu])) {
            out->bad++;
            continue;
        }
        struct acct_rec *r = LIST_PUSH(out);
        if (!r)
            return -ENOMEM;
        copy_field(r->uuid, sizeof r->uuid, f[cu], fl[cu]);
        r->pid = pid;
        int cm = col[ACOL_MAX], ct = col[ACOL_TIME];
        r->max_mib = cm >= 0 && (size_t)cm < nf ? smi_parse_value(f[cm], fl[cm]) : GW_UNKNOWN;
        r->time_ms = ct >= 0 && (size_t)ct < nf ? parse_ms(f[ct], fl[ct]) : GW_UNKNOWN;
    }
    return have_header || out->bad == 0 ? 0 : -EINVAL;
}

/* Sample line:   442 python3 /tmp/work dir/train,v2.py 200 */
int ps_parse_args(const char *buf, size_t len, struct ps_list *out)
{
    out->n = 0;
    out->bad = 0;
    const char *p = buf, *end = buf + len, *line;
    size_t ll;
    while (next_line(&p, end, &line, &ll)) {
        trim(&line, &ll);
        if (ll == 0)
            continue;
        size_t i = 0;
        while (i < ll && !is_blank(line[i]))
            i++;
        long pid;
        if (!parse_pid(line, i, &pid)) {
            out->bad++;
            continue;
        }
        while (i < ll && is_blank(line[i]))
            i++;
        struct ps_entry *e = LIST_PUSH(out);
        if (!e)
            return -ENOMEM;
        e->pid = pid;
        e->args = line + i;
        e->args_len = ll - i;
    }
    return 0;
}

int gpu_list_index(const struct gpu_list *gpus, const char *uuid)
{
    for (size_t i = 0; i < gpus->n; i++)
        if (strcmp(gpus->v[i].uuid, uuid) == 0)
            return gpus->v[i].index;
    return -1;
}
