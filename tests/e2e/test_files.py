"""End-to-end: the files gpu_watch writes, as root on a node shared with
hostile users (issue 18 items 1 and 4, issue 24 items 1, 2, 3, 8 and 9).
What another user plants (links, FIFOs, files, locks) is made by root and
given to `nobody` (lchown/chown), or made by a process running as `nobody`
(setpriv); every process a test starts is bounded in time and killed at the
end."""
import ctypes
import fcntl
import os
import re
import select
import signal
import socket
import stat
import struct
import subprocess
import threading
import time
import unittest

from tests.e2e.gw import BIN, GwTest, HEADER, ROOT, read_csv, wait_for

NOBODY = 65534
HEADER_LINE = ",".join(HEADER)
BUILD = os.path.dirname(os.path.dirname(os.environ.get(
    "GW_FAKE_DIR", os.path.join(ROOT, "build", "tests", "fake-nvidia-smi"))))
LOG = os.path.join(ROOT, "tests", "fixtures", "logs", "sampler.csv")
NOBODY_CMD = ["setpriv", "--reuid", str(NOBODY), "--regid", str(NOBODY), "--clear-groups"]


def _reap(p):
    if p.poll() is None:
        p.kill()
    p.communicate(timeout=30)


@unittest.skipUnless(os.geteuid() == 0, "needs root: the attacks are against root")

def shrink_pipe(fd):
    """The pipe (or FIFO) of fd made one page: a stopped reader stalls the
    writer after a few samples, not after 64 KiB (minutes in the sanitizer
    build). F_SETPIPE_SZ; a pipe already fuller keeps its size."""
    try:
        fcntl.fcntl(fd, 1031, 4096)  # F_SETPIPE_SZ
    except OSError:
        pass

class Files(GwTest):
    def setUp(self):
        super().setUp()
        os.chmod(self.tmp, 0o755)  # nobody may look in (its own files live in shared/)
        self.shared = self.path("shared")
        os.mkdir(self.shared)
        os.chmod(self.shared, 0o1777)  # /tmp-like: sticky, world-writable

    def start(self, *args, **kw):
        p = self.start_gw(*args, **kw)
        self.addCleanup(_reap, p)
        return p

    def secret(self, name="secret"):
        """A root-only 0600 file outside the shared directory."""
        p = self.path(name)
        with open(p, "w") as f:
            f.write("root only\n")
        os.chmod(p, 0o600)
        return p

    def plant_link(self, target, name, owner=NOBODY):
        p = os.path.join(self.shared, name)
        os.symlink(target, p)
        os.lchown(p, owner, owner)
        return p

    def assert_refused(self, r, pattern):
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertRegex(r.stderr.decode(), pattern)

    # --- issue 24 item 1: links and FIFOs at the log path ----------------------

    def test_another_users_link_is_not_followed(self):
        secret = self.secret()
        link = self.plant_link(secret, "log.csv")
        for mode in ("--force", "--append", None):
            args = ["--count", "1", "-q", "-o", link] + ([mode] if mode else [])
            r = self.run_gw(*args)
            self.assert_refused(r, r"cannot open .*log\.csv for writing: a symbolic link owned "
                                   r"by neither root nor this user \(not followed\)")
        with open(secret) as f:
            self.assertEqual(f.read(), "root only\n")
        self.assertTrue(os.path.islink(link))

    def test_another_users_link_in_the_directory_part(self):
        real = self.path("real")
        os.mkdir(real)
        self.plant_link(real, "dir")
        r = self.run_gw("--count", "1", "-q", "-o", os.path.join(self.shared, "dir", "log.csv"))
        self.assert_refused(r, r"a symbolic link owned by neither root nor this user")
        self.assertEqual(os.listdir(real), [])

    def test_roots_own_link_is_followed(self):
        target = self.path("target.csv")
        open(target, "w").close()
        link = self.path("log.csv")
        os.symlink("target.csv", link)
        r = self.run_gw("--count", "1", "-q", "-o", link)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(os.path.islink(link))
        self.assertEqual(read_csv(target)[0], HEADER)
        self.assertFalse(os.path.exists(target + ".lock"))

    def test_no_file_created_through_a_dangling_link(self):
        for owner in (0, NOBODY):
            where = self.path(f"made-by-{owner}")
            link = self.plant_link(where, f"log{owner}.csv", owner)
            r = self.run_gw("--count", "1", "-q", "-o", link)
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertFalse(os.path.exists(where))
        self.assertIn("a symbolic link to a file that does not exist", r.stderr.decode() +
                      self.run_gw("--count", "1", "-q", "-o",
                                  os.path.join(self.shared, "log0.csv")).stderr.decode())

    def test_fifo_planted_by_another_user_is_refused_at_once(self):
        fifo = os.path.join(self.shared, "log.csv")
        os.mkfifo(fifo)
        os.chown(fifo, NOBODY, NOBODY)
        t = time.monotonic()
        r = self.run_gw("--count", "1", "-q", "-o", fifo, timeout=10)
        self.assertLess(time.monotonic() - t, 3)
        self.assert_refused(r, r"cannot open .*log\.csv for writing: owned by another user")

    def test_own_fifo_without_reader_fails_fast_with_reader_works(self):
        fifo = self.path("log.fifo")
        os.mkfifo(fifo)
        t = time.monotonic()
        r = self.run_gw("--count", "1", "-q", "-o", fifo, timeout=10)
        self.assertLess(time.monotonic() - t, 3)
        self.assert_refused(r, r"cannot open .*log\.fifo for writing: a FIFO that no process "
                               r"reads")
        fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        try:
            r = self.run_gw("--count", "1", "-q", "-o", fifo, timeout=10)
            self.assertEqual(r.returncode, 0, r.stderr)
            data = os.read(fd, 65536).decode()
        finally:
            os.close(fd)
        self.assertEqual(read_csv(data)[0], HEADER)
        self.assertEqual(len(read_csv(data)[1]), 3)
        self.assertTrue(stat.S_ISFIFO(os.lstat(fifo).st_mode))

    def test_another_users_file_in_a_shared_directory(self):
        f = os.path.join(self.shared, "log.csv")
        with open(f, "w") as fh:
            fh.write(HEADER_LINE + "\n")
        os.chown(f, NOBODY, NOBODY)
        r = self.run_gw("--count", "1", "-q", "--append", "-o", f)
        self.assert_refused(r, r"owned by another user")
        with open(f) as fh:
            self.assertEqual(fh.read(), HEADER_LINE + "\n")

    def test_hard_link_to_a_root_file(self):
        secret = self.secret()
        link = self.path("log.csv")
        os.link(secret, link)
        r = self.run_gw("--count", "1", "-q", "--force", "-o", link)
        self.assert_refused(r, r"several hard links")
        with open(secret) as f:
            self.assertEqual(f.read(), "root only\n")

    def test_prom_textfile_directory_and_name(self):
        secret = self.secret("node.prom")
        self.plant_link(secret, "gpu.prom")
        r = self.run_gw("--count", "1", "-q", "-o", "/dev/null", "--prom-textfile",
                        os.path.join(self.shared, "gpu.prom"))
        self.assert_refused(r, r"cannot use .*gpu\.prom for --prom-textfile: a symbolic link "
                               r"owned by neither")
        real = self.path("textdir")
        os.mkdir(real)
        self.plant_link(real, "textdir")
        r = self.run_gw("--count", "1", "-q", "-o", "/dev/null", "--prom-textfile",
                        os.path.join(self.shared, "textdir", "gpu.prom"))
        self.assert_refused(r, r"a symbolic link owned by neither")
        self.assertEqual(os.listdir(real), [])
        with open(secret) as f:
            self.assertEqual(f.read(), "root only\n")
        # No log was created by a run refused for its text file.
        self.assertFalse(os.path.exists(self.path("gpu_log.csv")))

    # --- issue 24 item 9: squatted names in a sticky textfile directory ------

    def test_squatted_textfile_is_not_replaced(self):
        prom = os.path.join(self.shared, "gpu.prom")
        with open(prom, "w") as f:
            f.write("# squatter\n")
        os.chown(prom, NOBODY, NOBODY)
        r = self.run_gw("--count", "1", "-q", "-o", "/dev/null", "--prom-textfile", prom)
        self.assert_refused(r, r"cannot use .*gpu\.prom for --prom-textfile: owned by another "
                               r"user")
        with open(prom) as f:
            self.assertEqual(f.read(), "# squatter\n")
        # A squatted lock file is refused too (its owner could hold it forever).
        os.unlink(prom)
        lock = prom + ".lock"
        with open(lock, "w"):
            pass
        os.chown(lock, NOBODY, NOBODY)
        r = self.run_gw("--count", "1", "-q", "-o", "/dev/null", "--prom-textfile", prom)
        self.assert_refused(r, r"owned by another user")
        self.assertFalse(os.path.exists(prom))

    def test_temporary_names_are_unpredictable(self):
        """Watch the shared directory with inotify while gpu_watch rewrites
        its text file: every temporary name is new, with 12 random letters
        and digits (a squatter cannot make them first)."""
        libc = ctypes.CDLL(None, use_errno=True)
        ino = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        self.assertGreaterEqual(ino, 0)
        self.addCleanup(os.close, ino)
        IN_CREATE = 0x100
        self.assertGreaterEqual(libc.inotify_add_watch(ino, self.shared.encode(), IN_CREATE), 0)
        prom = os.path.join(self.shared, "gpu.prom")
        p = self.start("--interval", "0.01", "--count", "40", "-q", "-o", "/dev/null",
                       "--prom-textfile", prom)
        names, end = [], time.monotonic() + 20
        while time.monotonic() < end and (p.poll() is None or not names):
            select.select([ino], [], [], 0.2)
            try:
                buf = os.read(ino, 65536)
            except BlockingIOError:
                continue
            i = 0
            while i < len(buf):
                _, _, _, n = struct.unpack_from("iIII", buf, i)
                names.append(buf[i + 16:i + 16 + n].rstrip(b"\0").decode())
                i += 16 + n
        p.communicate(timeout=20)
        self.assertEqual(p.returncode, 0)
        tmps = [n for n in names if n.startswith("gpu.prom.tmp")]
        self.assertEqual(len(tmps), 40, names)
        self.assertEqual(len(set(tmps)), 40)
        for n in tmps:
            self.assertRegex(n, r"^gpu\.prom\.tmp[A-Za-z0-9]{12}$")
        self.assertFalse(os.path.exists(prom))

    # --- issue 24 items 2 and 8: locks ----------------------------------------

    def test_reader_holding_a_lock_on_the_log_does_not_stop_the_run(self):
        """The log is 0644: anyone may open it and flock it. gpu_watch's
        lock is on a 0600 lock file instead, which nobody else can open."""
        d = self.path("logs")
        os.mkdir(d)
        os.chmod(d, 0o755)
        log = os.path.join(d, "log.csv")
        r = self.run_gw("--count", "1", "-q", "-o", log)
        self.assertEqual(r.returncode, 0, r.stderr)
        holder = subprocess.Popen(
            NOBODY_CMD + ["python3", "-c",
                          "import fcntl,sys,time\nf=open(sys.argv[1])\nfcntl.flock(f,"
                          "fcntl.LOCK_EX)\nprint('held',flush=True)\ntime.sleep(30)", log],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(_reap, holder)
        self.assertEqual(holder.stdout.readline(), b"held\n")
        t = time.monotonic()
        r = self.run_gw("--count", "1", "-q", "--append", "-o", log, timeout=20)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertLess(time.monotonic() - t, 5)
        self.assertEqual(len(read_csv(log)[1]), 6)
        # While it runs, the lock file is root's and unreadable to others.
        p = self.start("--interval", "0.05", "-q", "--append", "-o", log)
        lock = log + ".lock"
        self.assertTrue(wait_for(lambda: os.path.exists(lock)))
        st = os.lstat(lock)
        self.assertEqual((st.st_uid, stat.S_IMODE(st.st_mode)), (0, 0o600))
        r2 = subprocess.run(NOBODY_CMD + ["python3", "-c", "open(__import__('sys').argv[1])",
                                          lock], capture_output=True, timeout=20)
        self.assertNotEqual(r2.returncode, 0)
        self.assertIn(b"Permission denied", r2.stderr)
        p.send_signal(signal.SIGTERM)
        p.communicate(timeout=10)
        self.assertEqual(p.returncode, 0)
        self.assertFalse(os.path.exists(lock))

    def test_held_lock_is_a_bounded_wait_then_a_clear_error(self):
        """Another process holding the lock (here the test, as another
        gpu_watch would) costs a bounded wait, then one clear line and exit
        1; SIGTERM during the wait ends the run at once."""
        log = self.path("log.csv")
        lock = log + ".lock"
        with open(lock, "w"):
            pass
        os.chmod(lock, 0o600)
        fd = os.open(lock, os.O_RDONLY)
        self.addCleanup(os.close, fd)
        fcntl.flock(fd, fcntl.LOCK_EX)
        t = time.monotonic()
        r = self.run_gw("--count", "1", "-q", "--append", "-o", log, timeout=20)
        took = time.monotonic() - t
        self.assert_refused(r, r"^gpu_watch: cannot open .*log\.csv for writing: locked by "
                               r"another process \(is another gpu_watch writing it\?\)\n$")
        self.assertGreater(took, 1.5)
        self.assertLess(took, 6)
        p = self.start("--count", "1", "-q", "--append", "-o", log)
        time.sleep(0.5)
        t = time.monotonic()
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=10)
        self.assertLess(time.monotonic() - t, 1)
        self.assertEqual((p.returncode, err), (0, b""))
        self.assertTrue(os.path.exists(lock), "the holder's lock file stays")

    def test_log_in_a_directory_without_room_for_a_lock_file(self):
        """Where no lock file can be made (here: a directory root may not
        write to, as nobody), the log itself is locked: a second run is still
        refused."""
        d = self.path("ro")
        os.mkdir(d)
        log = os.path.join(d, "log.csv")
        with open(log, "w"):
            pass
        os.chown(log, NOBODY, NOBODY)
        os.chmod(d, 0o755)  # nobody may write the file but not the directory
        env = self.env()
        first = subprocess.Popen(NOBODY_CMD + [BIN, "--interval", "0.05", "-q", "--append",
                                               "-o", log], env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, cwd=self.tmp)
        self.addCleanup(_reap, first)
        self.assertTrue(wait_for(lambda: os.path.getsize(log) > len(HEADER_LINE) + 1))
        r = subprocess.run(NOBODY_CMD + [BIN, "--count", "1", "-q", "--append", "-o", log],
                           env=env, capture_output=True, timeout=20, cwd=self.tmp)
        self.assert_refused(r, r"locked by another process")
        # Rotated (by root, as logrotate would), reopened on SIGHUP: the lock
        # moves to the new file.
        os.rename(log, log + ".1")
        with open(log, "w"):
            pass
        os.chown(log, NOBODY, NOBODY)
        first.send_signal(signal.SIGHUP)
        self.assertTrue(wait_for(lambda: os.path.getsize(log) > len(HEADER_LINE) + 1))
        r = subprocess.run(NOBODY_CMD + [BIN, "--count", "1", "-q", "--append", "-o", log],
                           env=env, capture_output=True, timeout=20, cwd=self.tmp)
        self.assert_refused(r, r"locked by another process")
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=10)
        self.assertEqual(first.returncode, 0)
        self.assertEqual(sorted(os.listdir(d)), ["log.csv", "log.csv.1"])

    def test_two_watchers_on_one_textfile(self):
        prom = self.path("gpu.prom")
        p = self.start("--interval", "0.05", "-q", "-o", "/dev/null", "--prom-textfile", prom)
        self.assertTrue(wait_for(lambda: os.path.exists(prom)))
        r = self.run_gw("--count", "1", "-q", "-o", "/dev/null", "--prom-textfile", prom)
        self.assert_refused(r, r"cannot use .*gpu\.prom for --prom-textfile: locked by another "
                               r"process")
        self.assertTrue(os.path.exists(prom), "the second run removed the first's file")
        p.send_signal(signal.SIGTERM)
        p.communicate(timeout=10)
        self.assertEqual(p.returncode, 0)
        self.assertEqual(sorted(os.listdir(self.tmp)), ["bin", "shared", "state"])

    def test_two_watchers_on_one_log(self):
        p = self.start("--interval", "0.05", "-q", "-o", "log.csv")
        self.assertTrue(wait_for(lambda: len(self.lines("log.csv")) > 3))
        r = self.run_gw("--count", "1", "-q", "--append", "-o", "log.csv")
        self.assert_refused(r, r"locked by another process")
        p.send_signal(signal.SIGTERM)
        p.communicate(timeout=10)
        self.assertEqual(p.returncode, 0)

    # --- issue 24 item 3: writes to a reader that stopped -----------------------

    def stalled(self, out_args, stdout=subprocess.PIPE):
        prom = self.path("gpu.prom")
        p = subprocess.Popen([BIN, "--interval", "0.001", "-q", "--prom-textfile", prom,
                              *out_args], env=self.env(), stdout=stdout,
                             stderr=subprocess.PIPE, cwd=self.tmp)
        self.addCleanup(_reap, p)
        if stdout == subprocess.PIPE and p.stdout is not None:
            shrink_pipe(p.stdout.fileno())
        self.assertTrue(wait_for(lambda: os.path.exists(prom)))

        def stuck():
            # The pipe is full: no sample for half a second at --interval 0.001.
            m = os.stat(prom).st_mtime_ns
            time.sleep(0.5)
            return os.stat(prom).st_mtime_ns == m
        self.assertTrue(wait_for(stuck, timeout=60))
        return p, prom

    def assert_ends_at_once(self, p, prom, sig=signal.SIGTERM):
        t = time.monotonic()
        p.send_signal(sig)
        while p.poll() is None and time.monotonic() - t < 5:
            time.sleep(0.01)
        took = time.monotonic() - t
        self.assertIsNotNone(p.poll(), "still running 5 s after the signal")
        self.assertLess(took, 1.0)
        self.assertEqual(p.returncode, 0, p.stderr.read())
        self.assertFalse(os.path.exists(prom), "the text file was left behind")

    def test_stopped_reader_on_stdout_pipe(self):
        for sig in (signal.SIGTERM, signal.SIGINT):
            p, prom = self.stalled(["-o", "-"])
            self.assert_ends_at_once(p, prom, sig)

    def test_stopped_reader_on_a_fifo(self):
        fifo = self.path("log.fifo")
        os.mkfifo(fifo)
        rd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        self.addCleanup(os.close, rd)
        shrink_pipe(rd)
        p, prom = self.stalled(["-o", fifo])
        self.assert_ends_at_once(p, prom)

    def test_stopped_reader_on_a_socket(self):
        a, b = socket.socketpair()
        self.addCleanup(a.close)
        self.addCleanup(b.close)
        p, prom = self.stalled(["-o", "-"], stdout=a.fileno())
        self.assert_ends_at_once(p, prom)

    def test_dev_stdout_as_the_log(self):
        """/dev/stdout is a link of root's to /proc/self/fd/1: the run's own
        descriptor, whatever it is (a pipe here, then a regular file)."""
        r = self.run_gw("--count", "1", "-q", "-o", "/dev/stdout")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(read_csv(r.stdout.decode())[1]), 3)
        out = self.path("out.csv")
        with open(out, "w") as f:
            r = subprocess.run([BIN, "--count", "1", "-q", "-o", "/dev/stdout"], stdout=f,
                               stderr=subprocess.PIPE, env=self.env(), timeout=30, cwd=self.tmp)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(read_csv(out)[0], HEADER)
        self.assertEqual(len(read_csv(out)[1]), 3)

    # --- issue 18 item 1: plot -o on what is not a regular file -----------------

    def plot(self, *args):
        return subprocess.run([BIN, "plot", LOG, *args], capture_output=True, timeout=60,
                              cwd=self.tmp, env=self.env())

    def test_plot_to_a_character_device_writes_it(self):
        dev = self.path("null")
        try:
            os.mknod(dev, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        except PermissionError:
            self.skipTest("no mknod here (a container without CAP_MKNOD)")
        r = self.plot("-o", dev, "--format", "png")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(stat.S_ISCHR(os.lstat(dev).st_mode), "the device was replaced")

    def test_plot_to_dev_null_as_a_normal_user(self):
        """As a normal user plot -o /dev/null used to fail ("Permission
        denied": a temporary file in /dev); now it writes to the device."""
        log = self.path("log.csv")
        with open(LOG, "rb") as f, open(log, "wb") as out:
            out.write(f.read())
        os.chmod(log, 0o644)
        r = subprocess.run(NOBODY_CMD + [BIN, "plot", log, "-o", "/dev/null", "--format", "png"],
                           capture_output=True, timeout=60, cwd=self.tmp, env=self.env())
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(stat.S_ISCHR(os.lstat("/dev/null").st_mode))

    def test_plot_to_a_fifo_and_dev_stdout(self):
        fifo = self.path("chart.fifo")
        os.mkfifo(fifo)
        got = []
        reader = threading.Thread(target=lambda: got.append(open(fifo, "rb").read()))
        reader.start()
        r = self.plot("-o", fifo, "--format", "svg")
        reader.join(timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(got and got[0].startswith(b"<?xml") or b"<svg" in got[0][:200])
        self.assertTrue(stat.S_ISFIFO(os.lstat(fifo).st_mode))
        # /dev/stdout's way (a root link to /proc/self/fd/1), in our own
        # directory: a regression must not replace the machine's /dev/stdout.
        out = self.path("stdout")
        os.symlink("/proc/self/fd/1", out)
        r = self.plot("-o", out, "--format", "svg")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"<svg", r.stdout[:300])
        self.assertTrue(os.path.islink(out))

    def test_plot_through_a_link_replaces_the_target(self):
        target = self.path("target.svg")
        with open(target, "w") as f:
            f.write("old")
        os.chmod(target, 0o600)
        os.chown(target, NOBODY, NOBODY)
        link = self.path("link.svg")
        os.symlink("target.svg", link)
        r = self.plot("-o", link)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(os.path.islink(link))
        st = os.stat(target)
        self.assertEqual((stat.S_IMODE(st.st_mode), st.st_uid), (0o600, NOBODY))
        with open(target, "rb") as f:
            self.assertIn(b"<svg", f.read(300))

    def test_plot_refuses_another_users_link(self):
        secret = self.secret("secret.svg")
        link = self.plant_link(secret, "chart.svg")
        r = self.plot("-o", link)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("a symbolic link owned by neither root nor this user", r.stderr.decode())
        with open(secret) as f:
            self.assertEqual(f.read(), "root only\n")
        self.assertEqual(sorted(os.listdir(self.shared)), ["chart.svg"])

    # --- issue 18 item 4: a header-only log left by a failed run ----------------

    def test_failed_first_run_does_not_block_the_rerun(self):
        r = self.run_gw("--count", "1", "-o", "df.csv", FAKE_SMI_FAULT="fail_driver")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(self.lines("df.csv"), [HEADER_LINE])
        r = self.run_gw("--count", "1", "-o", "df.csv", FAKE_SMI_FAULT="fail_driver")
        self.assertEqual(r.returncode, 1)
        self.assertNotIn("already exists", r.stderr.decode())
        r = self.run_gw("--count", "1", "-q", "-o", "df.csv")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = self.lines("df.csv")
        self.assertEqual(lines.count(HEADER_LINE), 1)
        self.assertEqual(len(lines), 4)
        # Another run's header (here --host) is not this run's: still refused.
        with open(self.path("host.csv"), "w") as f:
            f.write(HEADER_LINE + ",cpu_pct,cpu_cores,rss_mib,sys_used_mib\n")
        r = self.run_gw("--count", "1", "-q", "-o", "host.csv")
        self.assert_refused(r, r"already exists and is not empty")

    def test_failed_first_nvml_run_does_not_block_the_rerun(self):
        lib = os.path.join(BUILD, "tests", "fake-nvml")
        scen = self.path("scen.txt")
        with open(os.path.join(ROOT, "tests", "fixtures", "nvml", "busy.txt")) as f, \
                open(scen, "w") as out:
            out.write(f.read() + "fault procs_error 1\n")
        env = self.env("busy", "busy", LD_LIBRARY_PATH=lib, FAKE_NVML_SCENARIO=scen)
        for _ in range(2):
            r = self.run_gw("--source", "nvml", "--count", "1", "-o", "df.csv", env=env)
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertNotIn("already exists", r.stderr.decode())
            self.assertEqual(self.lines("df.csv"), [HEADER_LINE])


if __name__ == "__main__":
    unittest.main()
