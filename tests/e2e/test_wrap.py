"""End-to-end: `gpu_watch -- COMMAND` and `--until-exit` against the real
/proc, with the fake nvidia-smi listing the real PIDs of a process tree (the
fixture is written while the run goes; the fake reads it on every call)."""
import os
import signal
import subprocess
import sys
import time

from tests.e2e.gw import GwTest, HEADER, read_csv, wait_for

UUID = "GPU-1a8e51c5-1f64-9d83-5d60-65f0c235c074"

# A job that starts two children and a grandchild, says who they are, waits
# for "go", stops them and ends as $2 says (a number, or "kill": SIGKILL).
SCRIPT = r"""
d=$1; how=$2
trap 'echo int > "$d/got-int"; kill $(cat "$d/c1.pid") $(cat "$d/g.pid") 2>/dev/null; exit 130' INT
echo "job stdout"
read -r line && echo "stdin:$line"
sleep 60 & echo $! > "$d/c1.pid.tmp"; mv "$d/c1.pid.tmp" "$d/c1.pid"
sh -c 'sleep 60 & echo $! > "$1/g.pid.tmp"; mv "$1/g.pid.tmp" "$1/g.pid"; wait' sh "$d" &
echo $! > "$d/c2.pid.tmp"; mv "$d/c2.pid.tmp" "$d/c2.pid"
echo $$ > "$d/top.pid.tmp"; mv "$d/top.pid.tmp" "$d/top.pid"
while [ ! -e "$d/go" ]; do sleep 0.05; done
kill $(cat "$d/c1.pid") $(cat "$d/g.pid") 2>/dev/null
wait
case $how in kill) kill -KILL $$ ;; *) exit "$how" ;; esac
"""


class WrapBase(GwTest):
    def setUp(self):
        super().setUp()
        self.fx = self.path("fx")
        os.mkdir(self.fx)
        with open(os.path.join(self.fx, "gpus.txt"), "w") as f:
            f.write(f"0, {UUID}\n")
        self.list_pids([])
        self.script = self.path("job.sh")
        with open(self.script, "w") as f:
            f.write(SCRIPT)

    def list_pids(self, pids):
        """Make the fake list these PIDs as compute processes on GPU 0
        (memory 100 * (i + 1) MiB, SM 10 * (i + 1) %)."""
        apps = "".join(f"{p}, {UUID}, {100 * (i + 1)}\n" for i, p in enumerate(pids))
        pmon = ("# gpu         pid   type     sm    mem    enc    dec    jpg    ofa     fb   ccpm    command \n"
                "# Idx           #    C/G      %      %      %      %      %      %     MB     MB    name \n")
        for i, p in enumerate(pids):
            pmon += f"    0 {p:10d}     C {10 * (i + 1):6d}      1      -      -      -      -   {100 * (i + 1)}      0    sh \n"
        if not pids:
            pmon += "    0          -     -      -      -      -      -      -      -      -      -    -              \n"
        for name, text in (("apps.txt", apps), ("pmon.txt", pmon)):
            tmp = os.path.join(self.fx, name + ".tmp")
            with open(tmp, "w") as f:
                f.write(text)
            os.replace(tmp, os.path.join(self.fx, name))

    def pidfile(self, name):
        p = os.path.join(self.tmp, name)
        self.assertTrue(wait_for(lambda: os.path.exists(p), timeout=10), name)
        with open(p) as f:
            return int(f.read())

    def start_job(self, how, *opts):
        # --interval 0.2 unless the test gives its own (a second one is refused).
        iv = [] if "--interval" in opts else ["--interval", "0.2"]
        args = ["-o", "out.csv", *iv, *opts, "--", "sh", self.script, self.tmp, str(how)]
        e = self.env(self.fx, None)
        # Its own process group, so that a failed test can kill the job too.
        p = subprocess.Popen([self.bin(), *args], env=e, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=self.tmp,
                             start_new_session=True)
        p.stdin.write(b"hello\n")
        p.stdin.close()
        p.stdin = None
        self.addCleanup(self.reap, p)
        return p

    def bin(self):
        from tests.e2e import gw
        return gw.BIN

    def reap(self, p):
        """Kill what a test left running: gpu_watch and, when it has a group
        of its own, the wrapped job with it."""
        try:
            if os.getpgid(p.pid) == p.pid:
                os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        if p.poll() is None:
            p.kill()
        p.wait()
        p.stdout.close()
        p.stderr.close()

    def tree(self):
        return [self.pidfile(n) for n in ("c1.pid", "c2.pid", "g.pid")]

    def csv_pids(self):
        if not os.path.exists(self.path("out.csv")):
            return set()
        _, rows = read_csv(self.path("out.csv"))
        return {int(r[2]) for r in rows if len(r) > 2}


class Wrap(WrapBase):
    def run_tree(self, how, *opts):
        """Start the job, list its tree (and two strangers) on the GPU, wait
        until the log holds the tree, let it end; returns (proc, out, err)."""
        p = self.start_job(how, *opts)
        pids = self.tree()
        top = self.pidfile("top.pid")
        stranger = os.getpid()  # on the GPU, but not part of the job
        self.list_pids([pids[0], stranger, pids[1], pids[2], 1])
        self.assertTrue(wait_for(lambda: set(pids) <= self.csv_pids(), timeout=10),
                        f"tree {pids} not all in the log: {self.csv_pids()}")
        open(self.path("go"), "w").close()
        out, err = p.communicate(timeout=20)
        return p, pids, top, stranger, out.decode(), err.decode()

    def test_tree_followed_status_0(self):
        p, pids, top, stranger, out, err = self.run_tree(0)
        self.assertEqual(p.returncode, 0, err)
        header, rows = read_csv(self.path("out.csv"))
        self.assertEqual(header, HEADER)
        got = {int(r[2]) for r in rows}
        self.assertTrue(set(pids) <= got)
        self.assertNotIn(stranger, got)
        self.assertNotIn(1, got)
        # The job's stdin, stdout are its own.
        self.assertIn("job stdout", out)
        self.assertIn("stdin:hello", out)
        # Command lines come from the real /proc.
        cmds = {int(r[2]): r[3] for r in rows}
        self.assertEqual(cmds[pids[0]], "sleep 60")
        self.assertTrue(cmds[pids[1]].startswith("sh -c sleep 60 &"), cmds[pids[1]])
        mem = {int(r[2]): r[4] for r in rows}
        self.assertEqual(mem[pids[0]], "100")
        self.assertEqual(mem[pids[2]], "400")

    def test_host_columns_and_summary(self):
        p, pids, top, stranger, out, err = self.run_tree(0, "--host")
        self.assertEqual(p.returncode, 0, err)
        header, rows = read_csv(self.path("out.csv"))
        self.assertEqual(header[-4:], ["cpu_pct", "cpu_cores", "rss_mib", "sys_used_mib"])
        self.assertTrue(set(pids) <= {int(r[2]) for r in rows})
        # The summary on stderr, after the job: with the host columns, and
        # the peak of the grandchild's 400 MiB.
        self.assertIn("PEAK RSS", err)
        self.assertIn("CPU MEAN", err)
        line = next(l for l in err.splitlines() if l.strip().startswith(str(pids[2]) + " "))
        self.assertIn(" 400 MiB ", line)
        self.assertEqual(err.count("Peaks between samples are not seen"), 1)

    def test_exit_status_3(self):
        p, *_ , err = self.run_tree(3)
        self.assertEqual(p.returncode, 3, err)

    def test_sigkill_gives_137(self):
        p, *_ , err = self.run_tree("kill")
        self.assertEqual(p.returncode, 137, err)

    def test_sigint_reaches_the_command(self):
        p = self.start_job(0)
        pids = self.tree()
        self.list_pids(pids)
        self.assertTrue(wait_for(lambda: set(pids) <= self.csv_pids(), timeout=10))
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=20)
        self.assertTrue(os.path.exists(self.path("got-int")), err)
        self.assertEqual(p.returncode, 130, err)
        # Still a whole log: every row has the seven fields.
        _, rows = read_csv(self.path("out.csv"))
        self.assertTrue(rows and all(len(r) == 7 for r in rows))

    def test_sigterm_is_forwarded(self):
        p = self.start_job(0)
        self.pidfile("top.pid")
        pids = self.tree()
        p.send_signal(signal.SIGTERM)
        # The job's children outlive it (SIGTERM kills only the shell) and
        # hold stdout open: wait for gpu_watch itself, not for EOF.
        self.assertEqual(p.wait(timeout=20), 128 + signal.SIGTERM)
        for pid in pids[::2]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def test_last_sample_when_it_exits(self):
        # A 30 s interval: the only sample is the one taken at the end, once
        # the job was waited for (the fake still lists its PIDs then).
        p = self.start_job(0, "--interval", "30")
        pids = self.tree()
        self.list_pids(pids)
        time.sleep(0.8)  # a GPU job lives longer than the tree's first look (0.25 s)
        t = time.monotonic()
        open(self.path("go"), "w").close()
        out, err = p.communicate(timeout=20)
        self.assertLess(time.monotonic() - t, 10)
        self.assertEqual(p.returncode, 0, err)
        _, rows = read_csv(self.path("out.csv"))
        self.assertEqual(len({r[0] for r in rows}), 1, rows)
        self.assertTrue(set(pids) <= {int(r[2]) for r in rows}, (pids, rows))
        calls = [c for c in self.calls() if c[0] == "apps"]
        self.assertEqual(len(calls), 1)

    def test_first_sample_when_a_gpu_is_opened(self):
        # A /proc tree of our own (GPU_WATCH_PROC_ROOT) where the command's
        # PID holds /dev/nvidia0 open: with a 30 s interval, the first
        # sample must still come at once, not after 30 s or at the exit.
        proc = self.path("proc")
        os.mkdir(proc)
        e = self.env(self.fx, proc)
        p = subprocess.Popen([self.bin(), "-o", "out.csv", "--interval", "30", "--", "sh", "-c",
                              'echo $$ > pid.tmp; mv pid.tmp pid; while [ ! -e go ]; do sleep 0.05; done'],
                             env=e, cwd=self.tmp, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             start_new_session=True)
        self.addCleanup(self.reap, p)
        pid = self.pidfile("pid")
        self.list_pids([pid])
        d = os.path.join(proc, str(pid))
        os.makedirs(os.path.join(d, "fd"))
        with open(os.path.join(d, "stat"), "w") as f:
            f.write(f"{pid} (sh) S 1 {pid} {pid} 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 777 0 0\n")
        self.assertEqual(self.calls(), [])
        os.symlink("/dev/nvidia0", os.path.join(d, "fd", "3"))
        self.assertTrue(wait_for(lambda: pid in self.csv_pids(), timeout=5),
                        "no sample after the command opened a GPU")
        self.assertIsNone(p.poll())
        open(self.path("go"), "w").close()
        out, err = p.communicate(timeout=20)
        self.assertEqual(p.returncode, 0, err)
        # The early sample and the last one.
        self.assertEqual(len([c for c in self.calls() if c[0] == "apps"]), 2, self.calls())

    def test_default_interval_is_one_second(self):
        r = subprocess.run([self.bin(), "--help"], capture_output=True, text=True)
        self.assertIn("1 when wrapping", r.stdout.replace("\n                     ", " "))
        p = subprocess.Popen([self.bin(), "-o", "out.csv", "--", "sleep", "2.5"],
                             env=self.env(self.fx, None), cwd=self.tmp,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = p.communicate(timeout=20)
        self.assertEqual(p.returncode, 0, err)
        # Samples at about 1 s and 2 s, and the last one at the exit.
        n = len([c for c in self.calls() if c[0] == "apps"])
        self.assertIn(n, (2, 3, 4), self.calls())


# Counts the SIGINTs it gets: after the first, waits 0.5 s for a second
# one, writes the count and exits 130.
COUNT_INT = r"""
import os, signal, sys, time
n = [0]
def on_int(sig, frame):
    n[0] += 1
signal.signal(signal.SIGINT, on_int)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(os.getpid()))
os.replace(sys.argv[1] + ".tmp", sys.argv[1])
while not n[0]:
    time.sleep(0.02)
time.sleep(0.5)
with open(sys.argv[2], "w") as f:
    f.write(str(n[0]))
sys.exit(130)
"""


class Interrupt(WrapBase):
    def start_counter(self, **popen):
        args = [self.bin(), "-o", "out.csv", "--interval", "0.2", "--", "python3", "-c",
                COUNT_INT, self.path("ready"), self.path("count")]
        p = subprocess.Popen(args, env=self.env(self.fx, None), cwd=self.tmp, **popen)
        self.addCleanup(lambda: p.poll() is None and p.kill())
        self.pidfile("ready")
        return p

    def count(self):
        self.assertTrue(wait_for(lambda: os.path.exists(self.path("count")), timeout=10))
        with open(self.path("count")) as f:
            return int(f.read())

    def test_kill_int_is_forwarded_once(self):
        p = self.start_counter(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        p.send_signal(signal.SIGINT)
        self.assertEqual(p.wait(timeout=20), 130)
        self.assertEqual(self.count(), 1)

    def test_ctrl_c_at_the_terminal_arrives_once(self):
        """Ctrl+C typed at a terminal goes to the whole foreground process
        group, the command included: gpu_watch must not send it again."""
        import fcntl
        import pty
        import termios
        master, slave = pty.openpty()
        self.addCleanup(os.close, master)

        def controlling_tty():
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        try:
            p = self.start_counter(stdin=slave, stdout=slave, stderr=slave,
                                   preexec_fn=controlling_tty)
        finally:
            os.close(slave)
        os.write(master, b"\x03")  # the terminal's VINTR
        self.assertEqual(p.wait(timeout=20), 130)
        self.assertEqual(self.count(), 1)


class Inherit(WrapBase):
    def test_only_stdio_is_inherited(self):
        # The log, pipes and /proc handles are close-on-exec: the command
        # sees the same descriptors as when started directly.
        prog = "import os; print(sorted(os.listdir('/proc/self/fd')))"
        direct = subprocess.run(["python3", "-c", prog], capture_output=True, text=True)
        r = subprocess.run([self.bin(), "-o", "out.csv", "--", "python3", "-c", prog],
                           env=self.env(self.fx, None), cwd=self.tmp, capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, direct.stdout)

    def test_environment_and_arguments_as_given(self):
        r = subprocess.run([self.bin(), "-o", "out.csv", "--", "sh", "-c",
                            'printf "%s|" "$@" "$GW_E2E_VAR"', "sh", "a b", "", "*", "-o"],
                           env=dict(self.env(self.fx, None), GW_E2E_VAR="v"), cwd=self.tmp,
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "a b||*|-o|v|")


class StatusShared(WrapBase):
    def test_status_lines_do_not_run_into_the_commands_output(self):
        """With --status, the command writes to the terminal of the status
        line: each status line is a whole line, and the command's output
        starts a line of its own."""
        import pty
        master, slave = pty.openpty()
        p = subprocess.Popen([self.bin(), "--status", "--interval", "0.2", "-o", "out.csv", "--",
                              "sh", "-c", "sleep 0.7; echo job-output; sleep 0.5"],
                             env=self.env(self.fx, None), cwd=self.tmp, stdin=subprocess.DEVNULL,
                             stdout=slave, stderr=slave)
        self._procs = [p]
        os.close(slave)
        out = b""
        while True:
            try:
                b = os.read(master, 4096)
            except OSError:
                break
            if not b:
                break
            out += b
        os.close(master)
        self.assertEqual(p.wait(timeout=20), 0)
        text = out.decode()
        self.assertNotIn("\x1b[K", text)
        self.assertIn("\r\njob-output\r\n", text)
        lines = [l for l in text.split("\r\n") if "  sample " in l]
        self.assertGreaterEqual(len(lines), 3, text)
        for l in lines:
            self.assertRegex(l, r"^\d\d:\d\d:\d\d  sample \d+: 0 processes, 0 rows \(0 written\), from nvidia-smi$")
        self.assertIn("gpu_watch summary", text)


class WrapErrors(WrapBase):
    def test_not_found_127(self):
        for cmd in ("no-such-command-gw", "/nonexistent/dir/cmd"):
            r = self.run_gw("-o", "out.csv", "--", cmd, "x", fixture=self.fx, proc=None)
            self.assertEqual(r.returncode, 127, r.stderr)
            self.assertIn(b"command not found", r.stderr)
            self.assertFalse(os.path.exists(self.path("out.csv")), "no log for a failed start")
            self.assertEqual(self.calls(), [])

    def test_not_executable_126(self):
        p = self.path("noexec.sh")
        with open(p, "w") as f:
            f.write("#!/bin/sh\nexit 0\n")
        os.chmod(p, 0o644)
        r = self.run_gw("-o", "out.csv", "--", p, fixture=self.fx, proc=None)
        self.assertEqual(r.returncode, 126, r.stderr)
        self.assertIn(b"not executable", r.stderr)
        r = self.run_gw("-o", "out.csv", "--", self.tmp, fixture=self.fx, proc=None)
        self.assertEqual(r.returncode, 126, r.stderr)

    def test_exec_errno_reported(self):
        """Issue 18 item 10 (posix_spawn instead of fork and execvp): exec's
        own error still comes back: an interpreter that does not exist is
        ENOENT (127)."""
        p = self.path("badinterp.sh")
        with open(p, "w") as f:
            f.write("#!/nonexistent/interpreter\nexit 0\n")
        os.chmod(p, 0o755)
        r = self.run_gw("-o", "out.csv", "--", p, fixture=self.fx, proc=None)
        self.assertEqual(r.returncode, 127, r.stderr)
        self.assertIn(b"No such file or directory", r.stderr)

    def test_script_without_shebang_runs_in_sh(self):
        """A script without "#!" runs in the shell, as execvp and the shells
        run it; its arguments and exit status come through."""
        p = self.path("plain.sh")
        with open(p, "w") as f:
            f.write('echo "args:$1,$2"\nexit 3\n')
        os.chmod(p, 0o755)
        r = self.run_gw("-q", "-o", "out.csv", "--", p, "a b", "c", fixture=self.fx, proc=None)
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn(b"args:a b,c", r.stdout)

    def test_usage(self):
        r = self.run_gw("--pid", "1", "--", "true", fixture=self.fx, proc=None)
        self.assertEqual(r.returncode, 2)
        r = self.run_gw("-o", "out.csv", "--", fixture=self.fx, proc=None)
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"'--' must be followed by a command", r.stderr)
        self.assertFalse(os.path.exists(self.path("out.csv")))
        r = self.run_gw("--until-exit", fixture=self.fx, proc=None)
        self.assertEqual(r.returncode, 2)


class UntilExit(WrapBase):
    def test_stops_when_all_pids_exit(self):
        a = subprocess.Popen(["sleep", "1"])
        b = subprocess.Popen(["sleep", "2"])
        self.addCleanup(a.wait)
        self.addCleanup(b.wait)
        self.list_pids([a.pid, b.pid])
        t = time.monotonic()
        g = self.start_gw("--pid", f"{a.pid},{b.pid}", "--until-exit", "--interval", "0.3",
                          "-o", "out.csv", fixture=self.fx, proc=None)
        # Reap the sleeps as they end, as their parent must, so that they go.
        a.wait()
        b.wait()
        out, err = g.communicate(timeout=15)
        self.assertEqual(g.returncode, 0, err)
        self.assertLess(time.monotonic() - t, 6)
        self.assertGreater(time.monotonic() - t, 1.9)
        self.assertEqual(self.csv_pids(), {a.pid, b.pid})

    def test_none_running(self):
        dead = subprocess.Popen(["true"])
        dead.wait()
        r = self.run_gw("--pid", str(dead.pid), "--until-exit", "-o", "out.csv",
                        fixture=self.fx, proc=None)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"none of the --pid processes is running", r.stderr)
