"""End-to-end: the log is never lost or mangled. kill -9 at random moments,
concurrent appenders on one file (one runs, the others are refused), a full disk and a file-size limit, the
output's directory removed or made read-only, SIGHUP storms and logrotate,
and --match patterns holding shell syntax."""
import os
import random
import re
import resource
import shutil
import signal
import subprocess
import time

from tests.e2e.gw import BIN, GwTest, HEADER, PROC, read_csv, wait_for

# The sanitizer build starts and samples several times slower (its fake
# nvidia-smi too): the kill window grows with it, so runs still die writing.
SLOW = 5 if "build-san" in BIN else 1

HEADER_LINE = ",".join(HEADER)
# With milliseconds: these runs sample more often than once a second (issue 14).
TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}$")
CMD = {
    "442": 'python3 /tmp/work dir/train,v2.py 200 --lr=3e-4 --note=a "quoted" arg',
    "443": "python3 /tmp/idle_hold.py 200",
    "444": "python3 /tmp/grow.py 200 --name=grow;job",
}
ROW = {  # pid -> the rest of its row in replay/busy
    "442": ["0", "442", CMD["442"], "1642", "39", "2"],
    "443": ["0", "443", CMD["443"], "3590", "", ""],
    "444": ["0", "444", CMD["444"], "1764", "59", "3"],
}


def as_nobody():
    """preexec_fn: drop root, so that permissions apply (root ignores a
    read-only directory)."""
    os.setgroups([])
    os.setgid(65534)
    os.setuid(65534)


def errors(err):
    """The error lines of stderr: not the rate-limited warnings (an
    overloaded machine may miss a 10 ms slot) nor their follow-ups."""
    return [l for l in err.strip().splitlines()
            if l and "warning:" not in l and "works again" not in l and " in all" not in l]


def _reap(p):
    """Cleanup: a run a failed test left behind is killed, never leaked."""
    if p.poll() is None:
        p.kill()
        p.communicate(timeout=30)


class Durability(GwTest):
    def start_gw(self, *args, **kw):
        p = super().start_gw(*args, **kw)
        self.addCleanup(_reap, p)
        return p

    def assert_whole(self, path, rows_of=None):
        """The file is CSV with our header once, first; every line ends in a
        newline and is one whole row (rows_of(row) says whether a row is
        one a run could have written; default: a row of replay/busy)."""
        with open(path, "rb") as f:
            data = f.read()
        self.assertTrue(data.endswith(b"\n"), data[-200:])
        text = data.decode()
        self.assertEqual(text.split("\n", 1)[0], HEADER_LINE)
        header, rows = read_csv(path)
        self.assertEqual(header, HEADER)
        self.assertEqual(text.count(HEADER_LINE), 1, "header once")
        self.assertEqual(len(rows), text.count("\n") - 1, "one record per line")
        for r in rows:
            self.assertEqual(len(r), 7, r)
            self.assertRegex(r[0], TS)
            if rows_of:
                self.assertTrue(rows_of(r), r)
            else:
                self.assertEqual(r[1:], ROW.get(r[2]), r)
        return rows

    # --- kill -9 -------------------------------------------------------------

    def test_kill9_at_200_random_moments(self):
        """200 runs appending to one log at --interval 0.01, each killed
        with SIGKILL after a random 0-150 ms: after each, the log is whole."""
        rnd = random.Random(5)
        log = self.path("log.csv")
        killed_writing = 0
        for i in range(200):
            p = self.start_gw("--interval", "0.01", "--append", "-q", "-o", "log.csv")
            time.sleep(rnd.uniform(0, 0.15) * SLOW)
            p.kill()
            p.communicate(timeout=10)
            self.assertEqual(p.returncode, -signal.SIGKILL)
            if os.path.exists(log):
                rows = self.assert_whole(log)
                killed_writing += 1
        self.assertGreater(len(rows), 1000)
        self.assertGreater(killed_writing, 190)

    # --- concurrent appenders ------------------------------------------------

    def appenders(self, n, samples=2000):
        """n runs started at once on one file with --append: one writes, the
        others are refused (issue 24 item 8: two runs on one log doubled the
        summary's counts) with one clear line and exit 1, within the lock's
        bounded wait; the one that ran wrote whole rows of its own."""
        procs, cmds = [], {}
        for i in range(n):
            root = self.path(f"proc{i}")
            shutil.copytree(os.path.join(PROC, "busy"), root)
            for pid in ROW:
                # Long command lines: rows of ~700 bytes, a sample > 2 KiB.
                cmd = f"{CMD[pid]} --run={i} " + "x" * 600
                with open(os.path.join(root, pid, "cmdline"), "wb") as f:
                    f.write(cmd.replace(" ", "\0").encode() + b"\0")
                cmds[cmd] = (i, pid)
            procs.append(self.start_gw("--interval", "0.001", "--count", str(samples),
                                       "--append", "-q", "-o", "log.csv", proc=root))
        ran, refused = [], 0
        for i, p in enumerate(procs):
            out, err = p.communicate(timeout=600)
            if p.returncode == 0:
                ran.append(i)
                continue
            self.assertEqual(p.returncode, 1, err)
            self.assertEqual(err.decode(), "gpu_watch: cannot open log.csv for writing: locked "
                             "by another process (is another gpu_watch writing it?)\n")
            refused += 1
        self.assertEqual((len(ran), refused), (1, n - 1))
        per_run = {}

        def known(r):
            who = cmds.get(r[3])
            if not who or r[1:3] != ROW[who[1]][:2] or r[4:] != ROW[who[1]][3:]:
                return False
            per_run[who[0]] = per_run.get(who[0], 0) + 1
            return True

        self.assert_whole(self.path("log.csv"), known)
        self.assertEqual(per_run, {ran[0]: 3 * samples})
        self.assertFalse(os.path.exists(self.path("log.csv.lock")), "lock file left behind")

    def test_two_appenders(self):
        self.appenders(2)

    def test_eight_appenders(self):
        self.appenders(8)

    # --- full disk, file-size limit -----------------------------------------

    def test_dev_full(self):
        """Writing to /dev/full: one clear error naming it, exit 1."""
        for args in (["-o", "/dev/full"], ["--append", "-o", "/dev/full"]):
            r = self.run_gw("--interval", "0.01", "--count", "5", "-q", *args)
            err = r.stderr.decode()
            self.assertEqual(r.returncode, 1, err)
            lines = errors(err)
            self.assertEqual(len(lines), 1, err)
            self.assertIn("/dev/full", lines[0])
            self.assertIn("No space left on device", lines[0])

    def test_file_size_limit(self):
        """Under ulimit -f (RLIMIT_FSIZE) writes fail with EFBIG: the run must
        not be killed by SIGXFSZ; it says so once, exits 1, and the file ends
        with the last whole row, nothing partial."""
        limit = 2000  # bytes: the header and a few samples of ~250 bytes
        def lim():
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        e = self.env()
        p = subprocess.run([BIN, "--interval", "0.01", "--count", "100", "-q", "-o", "log.csv"],
                           env=e, cwd=self.tmp, capture_output=True, timeout=30, preexec_fn=lim)
        err = p.stderr.decode()
        self.assertEqual(p.returncode, 1, f"status {p.returncode}: {err}")
        # A coverage build's gcov cannot write its data under the limit either.
        lines = [l for l in errors(err) if not l.startswith("libgcov profiling error")]
        self.assertEqual(len(lines), 1, err)
        self.assertIn(self.path("log.csv").split("/")[-1], lines[0])
        self.assertIn("File too large", lines[0])
        rows = self.assert_whole(self.path("log.csv"))
        self.assertGreater(len(rows), 3)
        self.assertLessEqual(os.path.getsize(self.path("log.csv")), limit)

    def test_children_do_not_inherit_ignored_sigxfsz(self):
        """gpu_watch ignores SIGXFSZ and SIGPIPE for itself; nvidia-smi and a
        wrapped command start with both at their defaults."""
        bits = (1 << (signal.SIGXFSZ - 1)) | (1 << (signal.SIGPIPE - 1))
        r = self.run_gw("--count", "3", "--interval", "0.01", "-q", "-o", "out.csv")
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(os.path.join(self.state, "sigign.log")) as f:
            masks = [int(l.split()[1], 16) for l in f]
        self.assertGreaterEqual(len(masks), 6)
        self.assertEqual([m & bits for m in masks], [0] * len(masks))
        r = self.run_gw("--interval", "0.05", "-q", "--force", "-o", "out.csv", "--",
                        "grep", "SigIgn", "/proc/self/status")
        self.assertEqual(r.returncode, 0, r.stderr)
        mask = int(r.stdout.decode().split()[1], 16)
        self.assertEqual(mask & bits, 0, hex(mask))

    # --- the output's directory removed or read-only -------------------------

    def test_directory_removed_mid_run(self):
        """The log's directory is deleted under a running sampler: the rows
        would go nowhere, so it stops with an error naming the file (exit 1)
        instead of writing into a deleted file for days."""
        d = self.path("logs")
        os.mkdir(d)
        p = self.start_gw("--interval", "0.02", "-q", "-o", "logs/log.csv")
        self.assertTrue(wait_for(lambda: os.path.exists(os.path.join(d, "log.csv")) and
                                 os.path.getsize(os.path.join(d, "log.csv")) > 500))
        shutil.rmtree(d)
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
            self.fail("still running 5 s after its log's directory was removed")
        err = p.stderr.read().decode()
        self.assertEqual(p.returncode, 1, err)
        self.assertIn("logs/log.csv", err)
        self.assertEqual(len(errors(err)), 1, err)

    def test_file_removed_mid_run_is_recreated(self):
        """rm of the log itself (directory still there): a new log with the
        header is started, as after logrotate, and rows go on."""
        log = self.path("log.csv")
        p = self.start_gw("--interval", "0.02", "-q", "-o", "log.csv")
        self.assertTrue(wait_for(lambda: os.path.exists(log) and os.path.getsize(log) > 500))
        os.unlink(log)
        self.assertTrue(wait_for(lambda: os.path.exists(log) and os.path.getsize(log) > 500,
                                 timeout=5), "log not recreated")
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=10)
        self.assertEqual(p.returncode, 0, err)
        self.assert_whole(log)
        self.assertIn("log.csv", err.decode())

    def test_directory_read_only_mid_run(self):
        """The directory made read-only: the open log keeps taking rows; a
        logrotate then (move + SIGHUP) cannot create the new file, which is
        said once, and rows keep going to the moved file. Never a crash."""
        d = self.path("logs")
        os.mkdir(d)
        os.chmod(self.tmp, 0o755)
        os.chmod(d, 0o777)
        e = self.env()
        p = subprocess.Popen([BIN, "--interval", "0.02", "-q", "-o", "logs/log.csv"], env=e,
                             cwd=self.tmp, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             preexec_fn=as_nobody if os.geteuid() == 0 else None)
        self.addCleanup(_reap, p)
        log = os.path.join(d, "log.csv")
        self.assertTrue(wait_for(lambda: os.path.exists(log) and os.path.getsize(log) > 300))
        os.chmod(d, 0o555)
        size = os.path.getsize(log)
        self.assertTrue(wait_for(lambda: os.path.getsize(log) > size + 300), "rows stopped")
        os.rename(log, log + ".1")  # as root: logrotate's move
        p.send_signal(signal.SIGHUP)
        size = os.path.getsize(log + ".1")
        self.assertTrue(wait_for(lambda: os.path.getsize(log + ".1") > size + 300),
                        "rows stopped after a failed reopen")
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=10)
        err = err.decode()
        self.assertEqual(p.returncode, 0, err)
        self.assertIn("logs/log.csv", err)
        self.assertIn("old file", err)
        self.assertFalse(os.path.exists(log))
        self.assert_whole(log + ".1")
        os.chmod(d, 0o755)

    # --- SIGHUP --------------------------------------------------------------

    def test_sighup_storm_mid_write(self):
        """SIGHUP every millisecond or so for 2 s at --interval 0.001: every
        signal reopens the log; the process never dies and the log is whole,
        header once."""
        p = self.start_gw("--interval", "0.001", "-q", "-o", "log.csv")
        log = self.path("log.csv")
        self.assertTrue(wait_for(lambda: os.path.exists(log)))
        end = time.monotonic() + 2
        n = 0
        while time.monotonic() < end:
            p.send_signal(signal.SIGHUP)
            n += 1
            time.sleep(0.001)
        self.assertIsNone(p.poll(), "died under SIGHUP")
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=10)
        self.assertEqual(p.returncode, 0, err)
        self.assertGreater(n, 500)
        rows = self.assert_whole(log)
        self.assertGreater(len(rows), 30)

    def test_logrotate_reopen(self):
        """logrotate: move the log, SIGHUP; the next rows go to a new file
        with the header, and no sample is lost or split between the two."""
        log = self.path("log.csv")
        p = self.start_gw("--interval", "0.01", "-q", "-o", "log.csv")
        for k in range(1, 4):
            self.assertTrue(wait_for(lambda: os.path.exists(log) and os.path.getsize(log) > 600))
            os.rename(log, f"{log}.{k}")
            p.send_signal(signal.SIGHUP)
        self.assertTrue(wait_for(lambda: os.path.exists(log) and os.path.getsize(log) > 600))
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=10)
        self.assertEqual(p.returncode, 0, err)
        self.assertEqual(errors(err.decode()), [])
        for f in (log + ".1", log + ".2", log + ".3", log):
            rows = self.assert_whole(f)
            # Whole samples only: each file holds 442, 443, 444 in turn.
            self.assertEqual([r[2] for r in rows], ["442", "443", "444"] * (len(rows) // 3), f)

    # --- shell syntax --------------------------------------------------------

    def test_match_with_shell_syntax_runs_nothing(self):
        """A --match holding shell syntax is a pattern, never a command: no
        file appears, wherever a shell would have run it."""
        marks = [self.path(m) for m in ("m1", "m2", "m3", "m4")]
        for pattern in (f"$(touch {marks[0]})", f"x; touch {marks[1]}",
                        f"`touch {marks[2]}`", f"python3 | touch {marks[3]} &&"):
            r = self.run_gw("--count", "2", "--interval", "0.01", "-q", "--force",
                            "--match", pattern, "-o", "out.csv")
            self.assertEqual(r.returncode, 0, r.stderr)
            header, rows = read_csv(self.path("out.csv"))
            self.assertEqual(header, HEADER)
            if "|" not in pattern:  # an ERE alternation may match "python3"
                self.assertEqual(rows, [])
        # ; and $( ) in the pattern and in the command lines, matched as text.
        r = self.run_gw("--count", "1", "-q", "--force", "--match", "grow;job", "-o", "out.csv")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual([row[2] for row in read_csv(self.path("out.csv"))[1]], ["444"])
        for m in marks:
            self.assertFalse(os.path.exists(m), m)
        self.assertEqual([f for f in os.listdir(self.tmp) if f.startswith("m")], [])
