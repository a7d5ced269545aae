/* libFuzzer harness: the --who parsers (owner_parse_cgroup_job,
 * owner_parse_cgroup_container, owner_parse_environ_job,
 * owner_parse_status_uid) and the Prometheus label escaper on the same
 * input. No read past the buffer (no NUL terminator is given); what they
 * return is what their headers promise. */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_watch/buf.h"
#include "gpu_watch/owner.h"
#include "gpu_watch/owner_parse.h"
#include "gpu_watch/prom.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void all_digits(const char *s)
{
    assert(*s);
    for (; *s; s++)
        assert(isdigit((unsigned char)*s));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    char job[OWNER_JOB_MAX], cont[OWNER_CONTAINER_MAX], dir[OWNER_CGDIR_MAX];
    int rc = owner_parse_cgroup_job(buf, size, job, sizeof job, dir, sizeof dir);
    assert(rc == 0 || rc == -ENOENT);
    if (rc == 0) {
        all_digits(job);
        /* The directory checked ends in the job's own component. */
        assert(!dir[0] || strstr(dir, job));
    } else {
        assert(job[0] == '\0');
    }
    rc = owner_parse_cgroup_container(buf, size, cont, sizeof cont);
    assert(rc == 0 || rc == -ENOENT);
    if (rc == 0)
        assert(strlen(cont) == 12 || (strncmp(cont, "pod:", 4) == 0 && strlen(cont) == 40) ||
               (strncmp(cont, "lxc:", 4) == 0 && strlen(cont) > 4));
    rc = owner_parse_environ_container(buf, size, cont, sizeof cont);
    assert(rc == 0 || rc == -ENOENT);
    if (rc == 0)
        assert(strncmp(cont, "apptainer:", 10) == 0 && strlen(cont) > 10 &&
               !strchr(cont + 10, '/'));
    rc = owner_parse_mountinfo_root(buf, size, cont, sizeof cont);
    assert(rc == 0 || rc == -ENOENT);
    if (rc == 0)
        assert(strncmp(cont, "enroot:", 7) == 0 && strlen(cont) > 7 && !strchr(cont + 7, '/'));
    long inner = 0;
    int levels = 0;
    rc = owner_parse_status_nspid(buf, size, &inner, &levels);
    assert(rc == 0 || rc == -ENOENT || rc == -EINVAL);
    if (rc == 0)
        assert(levels >= 1 && inner >= 0);
    rc = owner_parse_environ_job(buf, size, job, sizeof job);
    assert(rc == 0 || rc == -ENOENT);
    if (rc == 0)
        all_digits(job);
    unsigned long uid = 0;
    rc = owner_parse_status_uid(buf, size, &uid);
    assert(rc == 0 || rc == -EINVAL);
    if (rc == 0)
        assert(uid <= 0xffffffffUL);

    /* The escaper takes a string: the input up to its first NUL. */
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    struct gw_buf b = {0};
    if (prom_escape(&b, s, PROM_COMMAND_MAX) == 0 && b.len) {
        /* No raw newline or unescaped quote survives. */
        assert(!memchr(b.p, '\n', b.len));
        for (size_t i = 0; i < b.len; i++) {
            if (b.p[i] == '\\') {
                assert(i + 1 < b.len && strchr("\\\"n", b.p[i + 1]));
                i++;
            } else {
                assert(b.p[i] != '"');
            }
        }
    }
    buf_free(&b);
    free(s);
    return 0;
}
