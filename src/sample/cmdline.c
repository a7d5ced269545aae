/* Command-line resolution: /proc, then one ps for the rest, then the
 * driver's name. */
#include "gpu_watch/cmdline.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_watch/buf.h"
#include "gpu_watch/parse.h"
#include "gpu_watch/procfs.h"
#include "gpu_watch/run_cmd.h"
#include "gpu_watch/text.h"

struct cmdline {
    const char *root;
    const char *ps;
    double timeout;
    struct cmd_call ps_call;
    struct ps_list parsed;
    struct gw_buf pids; /* "12,34": ps's -p argument */
    bool foreign;       /* cmdline_set_foreign: the driver's names only */
};

struct cmdline *cmdline_new(const char *root, const char *ps, double timeout)
{
    struct cmdline *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->root = root;
    c->ps = ps;
    c->timeout = timeout;
    c->ps_call.key = "ps";
    return c;
}

void cmdline_free(struct cmdline *c)
{
    if (!c)
        return;
    buf_free(&c->ps_call.out);
    buf_free(&c->pids);
    free(c->parsed.v);
    free(c);
}

/* Cap a command line (malloc'd) to TEXT_CMD_MAX bytes (text.h): what the
 * log, --match and the metrics see of it. Returns it, shrunk when it was
 * cut (a MiB-long argv is not kept for the life of the process). */
static char *cap_cmd(char *s)
{
    char tmp[TEXT_CMD_MAX + 1];
    size_t n = strlen(s), k = text_cmd_cap(s, n, tmp);
    if (k == n)
        return s;
    char *t = malloc(k + 1);
    if (!t) { /* the larger block, cut, is as good */
        memcpy(s, tmp, k + 1);
        return s;
    }
    memcpy(t, tmp, k + 1);
    free(s);
    return t;
}

static int set_cmd(struct pid_entry *e, const char *s, size_t len, bool final)
{
    char *p = malloc(len + 1);
    if (!p)
        return -ENOMEM;
    memcpy(p, s, len);
    p[len] = '\0';
    p = cap_cmd(p);
    free(e->cmd);
    e->cmd = p;
    e->cmd_final = final;
    e->match = -1;
    return 0;
}

static int cmp_entry_pid(const void *key, const void *elem)
{
    const long *pid = key;
    const struct pid_entry *const *e = elem;
    return (*pid > (*e)->pid) - (*pid < (*e)->pid);
}

/* One ps for every PID in ents that still has no final command line. */
static int ask_ps(struct cmdline *c, struct pid_entry *const *ents, size_t n, struct source_poll *q,
                  const volatile sig_atomic_t *cancel)
{
    int rc = 0;
    buf_clear(&c->pids);
    for (size_t i = 0; i < n; i++)
        if (!ents[i]->cmd_final)
            buf_printf(&c->pids, "%s%ld", c->pids.len ? "," : "", ents[i]->pid);
    if (c->pids.len == 0)
        return 0;
    if (!c->pids.p)
        return -ENOMEM;
    const char *argv[] = {c->ps, "-o", "pid=,args=", "-p", c->pids.p, NULL};
    c->ps_call.argv = argv;
    rc = run_cmd(&c->ps_call, 1, source_time_left(q, c->timeout), cancel);
    c->ps_call.argv = NULL;
    if (rc < 0)
        return rc;
    if (c->ps_call.state == CMD_CANCELLED)
        return -ECANCELED;
    q->spawned++;
    struct source_query *sq =
        source_query_add(q, "ps", "ps", "command lines fall back to pmon's names");
    /* ps exits 1 when some PIDs are gone; its output is still good. */
    if (c->ps_call.state != CMD_OK &&
        !(c->ps_call.state == CMD_EXIT_NONZERO && c->ps_call.status == 1)) {
        sq->failed = true;
        run_cmd_describe(&c->ps_call, c->timeout, sq->why, sizeof sq->why);
        return 0;
    }
    if ((rc = ps_parse_args(c->ps_call.out.p, c->ps_call.out.len, &c->parsed)) < 0)
        return rc;
    for (size_t i = 0; i < c->parsed.n; i++) {
        const struct ps_entry *p = &c->parsed.v[i];
        struct pid_entry *const *hit =
            bsearch(&p->pid, ents, n, sizeof(struct pid_entry *), cmp_entry_pid);
        if (hit && !(*hit)->cmd_final && p->args_len &&
            (rc = set_cmd(*hit, p->args, p->args_len, true)) < 0)
            return rc;
    }
    return 0;
}

void cmdline_set_foreign(struct cmdline *c, bool foreign)
{
    c->foreign = foreign;
}

int cmdline_resolve(struct cmdline *c, struct pid_entry *const *ents, const char *const *names,
                    size_t n, struct source_poll *q, const volatile sig_atomic_t *cancel)
{
    int rc;
    bool have_proc = !c->foreign && procfs_available(c->root);
    for (size_t i = 0; have_proc && i < n; i++) {
        struct pid_entry *e = ents[i];
        if (e->cmd_final || e->proc_missing)
            continue;
        int err = 0;
        char *s = procfs_cmdline(c->root, e->pid, &err);
        if (!s) {
            if (err == -ENOMEM)
                return err;
            e->proc_missing = true; /* not in our PID namespace, or gone */
            continue;
        }
        s = cap_cmd(s);
        free(e->cmd);
        e->cmd = s;
        e->cmd_final = true;
        e->match = -1;
    }
    if (!have_proc && !c->foreign && c->ps && (rc = ask_ps(c, ents, n, q, cancel)) < 0)
        return rc;
    /* Last resort: the driver's short name, kept only until a better source answers. */
    for (size_t i = 0; i < n; i++) {
        struct pid_entry *e = ents[i];
        if (e->cmd_final || !names[i][0] || (e->cmd && strcmp(e->cmd, names[i]) == 0))
            continue;
        if ((rc = set_cmd(e, names[i], strlen(names[i]), false)) < 0)
            return rc;
    }
    return 0;
}
