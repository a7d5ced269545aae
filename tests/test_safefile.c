/* Unit tests of safefile (resolving output paths, the lock files) and of
 * atomicio's writes that a stop flag ends, in a private temporary directory.
 * The tests of another user's links need root (lchown); they are skipped
 * otherwise. */
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
#include <sys/stat.h>
#include <unistd.h>

#include "gpu_watch/atomicio.h"
#include "gpu_watch/safefile.h"

struct dir {
    char path[64];
    char buf[256];
};

static int setup(void **state)
{
    struct dir *d = calloc(1, sizeof *d);
    if (!d)
        return -1;
    snprintf(d->path, sizeof d->path, "/tmp/gw-safefile-XXXXXX");
    if (!mkdtemp(d->path))
        return -1;
    *state = d;
    return 0;
}

static int teardown(void **state)
{
    struct dir *d = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d->path);
    int rc = system(cmd);
    free(d);
    return rc == 0 ? 0 : -1;
}

static const char *at(struct dir *d, const char *name)
{
    snprintf(d->buf, sizeof d->buf, "%s/%s", d->path, name);
    return d->buf;
}

static void touch(struct dir *d, const char *name)
{
    int fd = open(at(d, name), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    close(fd);
}

static void test_resolve_follows_own_links(void **state)
{
    struct dir *d = *state;
    struct safefile_path r;
    assert_int_equal(mkdir(at(d, "sub"), 0755), 0);
    touch(d, "sub/file");
    assert_int_equal(symlink("sub", at(d, "rel")), 0);
    char abs[200];
    snprintf(abs, sizeof abs, "%s/sub/file", d->path);
    assert_int_equal(symlink(abs, at(d, "abs")), 0);
    assert_int_equal(symlink("rel/file", at(d, "chain")), 0);

    const char *ok[] = {"sub/file", "rel/file", "abs", "chain", "sub//file", "sub/../sub/file"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        assert_int_equal(safefile_resolve(at(d, ok[i]), &r), 0);
        assert_true(r.exists);
        assert_string_equal(r.name, "file");
        assert_true(S_ISREG(r.st.st_mode));
        assert_int_equal(r.via_link, strcmp(ok[i], "abs") == 0 || strcmp(ok[i], "chain") == 0);
        assert_false(r.magic);
        safefile_path_close(&r);
        assert_int_equal(r.dirfd, -1);
    }
    /* Absent: a new file, unless reached through a link. */
    assert_int_equal(safefile_resolve(at(d, "rel/new"), &r), 0);
    assert_false(r.exists);
    assert_false(r.via_link);
    safefile_path_close(&r);
    assert_int_equal(symlink("sub/nothing", at(d, "dangling")), 0);
    assert_int_equal(safefile_resolve(at(d, "dangling"), &r), 0);
    assert_false(r.exists);
    assert_true(r.via_link);
    assert_string_equal(r.name, "nothing");
    safefile_path_close(&r);
    int fd;
    struct stat st;
    assert_int_equal(safefile_open(at(d, "dangling"), O_RDWR, 0644, &fd, &st, NULL),
                     -SAFEFILE_EDANGLING);
    assert_int_equal(access(at(d, "sub/nothing"), F_OK), -1);
}

static void test_resolve_refuses(void **state)
{
    struct dir *d = *state;
    struct safefile_path r;
    assert_int_equal(symlink("loop2", at(d, "loop1")), 0);
    assert_int_equal(symlink("loop1", at(d, "loop2")), 0);
    assert_int_equal(safefile_resolve(at(d, "loop1"), &r), -ELOOP);
    assert_int_equal(safefile_resolve(at(d, "dir/"), &r), -EISDIR);
    assert_int_equal(safefile_resolve("/", &r), -EISDIR);
    assert_int_equal(safefile_resolve("", &r), -ENOENT);
    touch(d, "plain");
    assert_int_equal(safefile_resolve(at(d, "plain/x"), &r), -ENOTDIR);
    assert_int_equal(safefile_resolve(at(d, "none/x"), &r), -ENOENT);
    assert_int_equal(r.dirfd, -1);
}

static void test_other_users_links_and_files(void **state)
{
    struct dir *d = *state;
    if (geteuid() != 0)
        skip();
    struct safefile_path r;
    touch(d, "target");
    assert_int_equal(symlink("target", at(d, "theirs")), 0);
    assert_int_equal(lchown(at(d, "theirs"), 65534, 65534), 0);
    assert_int_equal(safefile_resolve(at(d, "theirs"), &r), -SAFEFILE_ELINK);
    assert_int_equal(mkdir(at(d, "sub"), 0755), 0);
    assert_int_equal(symlink("sub", at(d, "theirdir")), 0);
    assert_int_equal(lchown(at(d, "theirdir"), 65534, 65534), 0);
    assert_int_equal(safefile_resolve(at(d, "theirdir/x"), &r), -SAFEFILE_ELINK);
    /* Their FIFO is refused; in a world-writable directory, their file too. */
    assert_int_equal(mkfifo(at(d, "fifo"), 0666), 0);
    assert_int_equal(chown(at(d, "fifo"), 65534, 65534), 0);
    assert_int_equal(safefile_resolve(at(d, "fifo"), &r), 0);
    assert_int_equal(safefile_check(&r), -SAFEFILE_EOWNER);
    safefile_path_close(&r);
    assert_int_equal(chown(at(d, "target"), 65534, 65534), 0);
    assert_int_equal(safefile_resolve(at(d, "target"), &r), 0);
    assert_int_equal(safefile_check(&r), 0); /* a directory of ours */
    safefile_path_close(&r);
    assert_int_equal(chmod(d->path, 01777), 0);
    assert_int_equal(safefile_resolve(at(d, "target"), &r), 0);
    assert_true(r.shared_dir);
    assert_int_equal(safefile_check(&r), -SAFEFILE_EOWNER);
    safefile_path_close(&r);
    assert_int_equal(chmod(d->path, 0700), 0);
    /* A second name of a file: root writes to neither. */
    touch(d, "one");
    char one[200];
    snprintf(one, sizeof one, "%s/one", d->path);
    assert_int_equal(link(one, at(d, "two")), 0);
    assert_int_equal(safefile_resolve(one, &r), 0);
    assert_int_equal(safefile_check(&r), -SAFEFILE_EHARDLINK);
    safefile_path_close(&r);
}

static void test_fifo_without_reader_does_not_block(void **state)
{
    struct dir *d = *state;
    int fd;
    struct stat st;
    assert_int_equal(mkfifo(at(d, "fifo"), 0600), 0);
    assert_int_equal(safefile_open(at(d, "fifo"), O_RDWR | O_APPEND, 0644, &fd, &st, NULL), -ENXIO);
    int rd = open(at(d, "fifo"), O_RDONLY | O_NONBLOCK);
    assert_true(rd >= 0);
    assert_int_equal(safefile_open(at(d, "fifo"), O_RDWR | O_APPEND, 0644, &fd, &st, NULL), 0);
    assert_true(S_ISFIFO(st.st_mode));
    assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
    /* Fill the FIFO: the write gives up once the flag is set. */
    static char big[1 << 20];
    volatile sig_atomic_t stop = 1;
    size_t done = 0;
    assert_int_equal(atomicio_write_stop(fd, big, sizeof big, false, &stop, &done), -EINTR);
    assert_true(done > 0 && done < sizeof big);
    close(fd);
    close(rd);
}

static void test_lock(void **state)
{
    struct dir *d = *state;
    struct safefile_path r;
    struct safefile_lock a, b;
    assert_int_equal(safefile_resolve(at(d, "log.csv"), &r), 0);
    assert_int_equal(safefile_lock(&r, 0, NULL, &a), 0);
    struct stat st;
    assert_int_equal(lstat(at(d, "log.csv.lock"), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* A second holder (another open file description) waits, then gives up. */
    assert_int_equal(safefile_lock(&r, 0.1, NULL, &b), -SAFEFILE_EBUSY);
    volatile sig_atomic_t stop = 1;
    assert_int_equal(safefile_lock(&r, 10, &stop, &b), -EINTR);
    safefile_unlock(&a);
    assert_int_equal(access(at(d, "log.csv.lock"), F_OK), -1);
    assert_int_equal(safefile_lock(&r, 0, NULL, &b), 0);
    safefile_unlock(&b);
    safefile_unlock(&b); /* twice: nothing more */
    if (geteuid() == 0) {
        touch(d, "log.csv.lock");
        assert_int_equal(chown(at(d, "log.csv.lock"), 65534, 65534), 0);
        assert_int_equal(safefile_lock(&r, 0, NULL, &b), -SAFEFILE_EOWNER);
    }
    safefile_path_close(&r);
}

static void test_replace_keeps_mode_and_link(void **state)
{
    struct dir *d = *state;
    touch(d, "target");
    assert_int_equal(chmod(at(d, "target"), 0600), 0);
    assert_int_equal(symlink("target", at(d, "link")), 0);
    char link[200];
    snprintf(link, sizeof link, "%s/link", d->path);
    assert_int_equal(atomicio_replace(link, "new\n", 4, (mode_t)-1, true), 0);
    struct stat st;
    assert_int_equal(lstat(link, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    assert_int_equal(stat(at(d, "target"), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, 4);
    assert_int_equal(safefile_strerror(-ENOENT) != NULL, 1);
    assert_string_equal(safefile_strerror(-SAFEFILE_ELINK),
                        "a symbolic link owned by neither root nor this user (not followed)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_resolve_follows_own_links, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resolve_refuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_users_links_and_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fifo_without_reader_does_not_block, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replace_keeps_mode_and_link, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
