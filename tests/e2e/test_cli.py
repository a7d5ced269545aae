"""End-to-end: every flag and error path of the sampler's command line."""
import fcntl
import os
import pty
import random
import re
import shutil
import signal
import struct
import subprocess
import termios
import time

from tests.e2e.gw import (GwTest, HEADER, read_csv, strip_seam, wait_for, without_overrun, BIN,
                         REPLAY, ROOT)

HDR = ",".join(HEADER)


class Output(GwTest):
    def test_existing_file_refused_untouched(self):
        p = self.path("gpu_log.csv")
        with open(p, "w") as f:
            f.write("precious\n")
        r = self.run_gw("--count", "1")  # default ./gpu_log.csv
        self.assertEqual(r.returncode, 1)
        err = r.stderr.decode()
        self.assertIn("gpu_log.csv", err)
        self.assertIn("--append", err)
        self.assertIn("--force", err)
        with open(p) as f:
            self.assertEqual(f.read(), "precious\n")

    def test_force_overwrites(self):
        p = self.path("gpu_log.csv")
        with open(p, "w") as f:
            f.write("old\n")
        r = self.run_gw("--count", "1", "--force")
        self.assertEqual(r.returncode, 0, r.stderr)
        header, rows = read_csv(p)
        self.assertEqual(header, HEADER)
        self.assertEqual(len(rows), 3)

    def test_append_header_once_and_newline_repair(self):
        p = self.path("log.csv")
        self.assertEqual(self.run_gw("--count", "1", "-o", p).returncode, 0)
        with open(p, "a") as f:
            f.write("2026-01-01T00:00:00,0,1,half")  # a crash mid-line elsewhere
        r = self.run_gw("--count", "2", "--interval", "0.05", "--append", "-o", p)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(p) as f:
            lines = f.read().splitlines()
        self.assertEqual(lines.count(HDR), 1)
        self.assertEqual(lines[0], HDR)
        self.assertEqual(lines[4], "2026-01-01T00:00:00,0,1,half")
        self.assertEqual(len(lines), 1 + 3 + 1 + 6)

    def test_append_other_schema_refused(self):
        p = self.path("old.csv")
        text = "timestamp,used_mib,sys_used_mib,cpu_cores,cpu_pct\n2025-01-10T14:22:30+00:00,1,2,3,4\n"
        with open(p, "w") as f:
            f.write(text)
        r = self.run_gw("--count", "1", "--append", "-o", p)
        self.assertEqual(r.returncode, 1)
        self.assertIn("old.csv", r.stderr.decode())
        self.assertIn("header", r.stderr.decode())
        with open(p) as f:
            self.assertEqual(f.read(), text)

    def test_append_to_missing_file_creates_it(self):
        p = self.path("new.csv")
        r = self.run_gw("--count", "1", "--append", "-o", p)
        self.assertEqual(r.returncode, 0)
        header, rows = read_csv(p)
        self.assertEqual(header, HEADER)

    def test_tilde_expansion(self):
        os.mkdir(self.path("home"))
        r = self.run_gw("--count", "1", "-o", "~/g.csv", HOME=self.path("home"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(os.path.exists(self.path("home/g.csv")))

    def test_stdout(self):
        r = self.run_gw("--count", "2", "--interval", "0.05", "-o", "-")
        self.assertEqual(r.returncode, 0)
        header, rows = read_csv(r.stdout.decode())
        self.assertEqual(header, HEADER)
        self.assertEqual(len(rows), 6)
        self.assertFalse(os.path.exists(self.path("gpu_log.csv")))

    def test_closed_pipe_ends_quietly(self):
        env = self.env()
        p = subprocess.Popen(f"'{BIN}' --interval 0.01 -o - | head -n 2", shell=True, env=env,
                             cwd=self.tmp, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             executable="/bin/bash")
        out, err = p.communicate(timeout=20)
        self.assertEqual(out.decode().splitlines()[0], HDR)
        self.assertNotIn("cannot write", err.decode())
        self.assertNotIn("Broken pipe", err.decode())
        r = subprocess.run(["bash", "-c", f"set -o pipefail; '{BIN}' --interval 0.01 -o - | head -c 10 >/dev/null"],
                           env=env, cwd=self.tmp, capture_output=True, timeout=20)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_unwritable_output(self):
        r = self.run_gw("--count", "1", "-o", "/nonexistent-dir/x.csv")
        self.assertEqual(r.returncode, 1)
        self.assertIn("/nonexistent-dir/x.csv", r.stderr.decode())
        os.mkdir(self.path("ro"))
        os.chmod(self.path("ro"), 0o500)
        if os.geteuid() != 0:  # root writes anywhere
            r = self.run_gw("--count", "1", "-o", self.path("ro/x.csv"))
            self.assertEqual(r.returncode, 1)
        r = self.run_gw("--count", "1", "-o", "/dev/full", "--force")
        self.assertEqual(r.returncode, 1)
        self.assertIn("/dev/full", r.stderr.decode())


class BadInput(GwTest):
    CASES = [
        ["--bogus"], ["--interval"], ["--interval", "0"], ["--interval", "-5"],
        ["--interval", "abc"], ["--interval", "0.0005"], ["--pid", "12x"], ["--count", "-1"], ["--append", "--force"],
        ["--timeout", "x"], ["-o"], ["extra-arg"], ["--compact"], ["--until-exit"],
        # Issue 14: a repeated -o or --interval is refused, not silently the last.
        ["-o", "a.csv", "-o", "b.csv"], ["--interval", "1", "--interval", "2"],
        ["--count", "1", "--"],  # a trailing "--" with no command
        ["--match", "train(?=,v2)"], ["--match", "(\\w)\\1"], ["-i"], ["--utc", "--tz-offset"],
    ]

    def test_usage_errors(self):
        for args in self.CASES:
            r = self.run_gw(*args)
            err = r.stderr.decode()
            self.assertEqual(r.returncode, 2, (args, err))
            self.assertEqual(len(err.strip().splitlines()), 1, (args, err))
            self.assertTrue(err.startswith("gpu_watch: "), err)
            self.assertEqual(os.listdir(self.tmp), ["state", "bin"] if os.listdir(self.tmp)[0] == "state" else ["bin", "state"], args)
            self.assertEqual(self.calls(), [], args)

    def test_proc_root_left_set_warns_once(self):
        """GPU_WATCH_PROC_ROOT is a test aid: left set in a user's
        environment it changes what is watched, so it never acts unseen."""
        e = self.env()
        r = subprocess.run([BIN, "--count", "2", "--interval", "0.05", "-o", "a.csv"], env=e,
                           capture_output=True, timeout=30, cwd=self.tmp)
        self.assertEqual(r.returncode, 0, r.stderr)
        err = r.stderr.decode()
        self.assertEqual(err.count("GPU_WATCH_PROC_ROOT"), 1, err)
        self.assertEqual(err.splitlines()[0],
                         "gpu_watch: warning: GPU_WATCH_PROC_ROOT is set (a test aid): processes "
                         f"are read from {e['GPU_WATCH_PROC_ROOT']}, not /proc")
        del e["GPU_WATCH_PROC_ROOT"]
        r = subprocess.run([BIN, "--count", "1", "-o", "b.csv"], env=e, capture_output=True,
                           timeout=30, cwd=self.tmp)
        self.assertNotIn(b"GPU_WATCH_PROC_ROOT", r.stderr)

    def test_nvidia_smi_missing(self):
        env = self.env()
        env["PATH"] = "/usr/bin:/bin"
        r = self.run_gw("--count", "1", env=env)
        self.assertEqual(r.returncode, 1)
        # Prefixed like every other message (issue 11).
        self.assertEqual(r.stderr.decode(), "gpu_watch: nvidia-smi not found in PATH\n")
        self.assertFalse(os.path.exists(self.path("gpu_log.csv")))

    def test_help_and_version(self):
        r = self.run_gw("--help")
        self.assertEqual(r.returncode, 0)
        out = r.stdout.decode()
        for flag in ("--pid", "--match", "--interval", "--output", "--append", "--force",
                     "--count", "--timeout", "--utc", "--quiet", "--help", "--version"):
            self.assertIn(flag, out)
        self.assertIn("gpu_watch --match python --interval 30", out)
        r = self.run_gw("--version")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout.decode(),
                         r"^gpu_watch \d+\.\d+\.\d+\nsources \(--source\): smi[|\w]*; default smi\n$")
        # Issue 19 item 17: every value --source takes, auto included.
        self.assertIn("smi|nvml|auto;", r.stdout.decode())
        self.assertEqual(self.run_gw("-V").stdout, r.stdout)

    def test_messages_name_the_problem(self):
        r = self.run_gw("-o", "a.csv", "--output", "b.csv")
        self.assertIn("--output given twice ('b.csv' after 'a.csv')", r.stderr.decode())
        r = self.run_gw("--count", "1", "--")
        self.assertIn("'--' must be followed by a command", r.stderr.decode())
        # Issue 19 item 17: one rule for every single-valued option.
        r = self.run_gw("--count", "1", "--count", "2", "-o", "-")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--count given twice ('2' after '1')", r.stderr.decode())
        self.assertEqual(r.stdout, b"")
        r = self.run_gw("--match", "train(?=,v2)")
        self.assertEqual(r.stderr.decode(), "gpu_watch: --match 'train(?=,v2)': the look-ahead "
                         "(?= cannot be translated to a POSIX regular expression\n")
        r = self.run_gw("--match", "(?<!x)grow")
        self.assertIn("negative look-behind (?<!", r.stderr.decode())
        r = self.run_gw("--match", "(\\w)\\1")
        self.assertIn("back-reference \\1", r.stderr.decode())
        # "--" as the value of an option is no trailing "--".
        r = self.run_gw("--count", "1", "-o", "-", "--match", "--")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(read_csv(r.stdout.decode())[1][0][2], "442")  # --lr=3e-4 holds "--"

    def test_empty_command_name(self):
        r = self.run_gw("--", "")
        self.assertEqual(r.returncode, 127)
        self.assertEqual(r.stderr.decode(), "gpu_watch: '': empty command name\n")
        self.assertEqual(os.listdir(self.tmp).count("gpu_log.csv"), 0)


class Filters(GwTest):
    def pids(self, *args):
        r = self.run_gw("--count", "1", "-o", "-", *args)
        self.assertEqual(r.returncode, 0, r.stderr)
        return [int(row[2]) for row in read_csv(r.stdout.decode())[1]], r.stderr.decode()

    def test_pid_and_match(self):
        self.assertEqual(self.pids("--pid", "443")[0], [443])
        self.assertEqual(self.pids("--pid", "442,444", "--pid", "1")[0], [442, 444])
        self.assertEqual(self.pids("--match", "grow|idle")[0], [443, 444])
        self.assertEqual(self.pids("--match", "^python3 /tmp/(grow|idle)")[0], [443, 444])
        self.assertEqual(self.pids("--pid", "442,444", "--match", "grow")[0], [444])

    def test_python_habits_translated(self):
        """Issue 14: \\d \\s \\w, (?i), -i, (?:...) and lazy quantifiers
        work as they do in Python, against the busy capture's command lines."""
        self.assertEqual(self.pids("--match", "\\d{3} --lr")[0], [442])
        self.assertEqual(self.pids("--match", "/tmp/\\w+\\.py")[0], [443, 444])
        self.assertEqual(self.pids("--match", "work\\sdir")[0], [442])
        self.assertEqual(self.pids("--match", "[\\d.]+ --name")[0], [444])
        self.assertEqual(self.pids("--match", "(?:idle|grow).*?200$")[0], [443])
        self.assertEqual(self.pids("--match", "GROW\\.PY")[0], [])
        self.assertEqual(self.pids("--match", "(?i)GROW\\.PY")[0], [444])
        self.assertEqual(self.pids("-i", "--match", "GROW\\.PY")[0], [444])
        self.assertEqual(self.pids("--ignore-case", "--match", "IDLE|GROW")[0], [443, 444])
        # An invalid regex is the user's text as a substring, case folded with -i.
        pids, err = self.pids("-i", "--match", "\"QUOTED\" ARG[")
        self.assertEqual(pids, [])
        pids, err = self.pids("-i", "--match", "=3E-4 --NOTE=A \"QUOTED\" ARG")
        self.assertEqual(pids, [442])
        self.assertEqual(err, "")

    def test_pid_that_does_not_exist_warns_once(self):
        pids, err = self.pids("--pid", "443,999999", "--pid", "999998")
        self.assertEqual(pids, [443])
        self.assertEqual(err, "gpu_watch: warning: --pid 999999,999998: no such processes (yet); "
                              "its rows start if it appears\n")
        self.assertEqual(self.pids("--pid", "443")[1], "")

    def test_none_matched_is_said(self):
        r = self.run_gw("--count", "2", "--interval", "0.05", "-o", "-", "--match", "nomatch",
                        "--summary")
        self.assertEqual(r.returncode, 0)
        self.assertEqual(read_csv(r.stdout.decode())[1], [])
        self.assertIn("gpu_watch: 3 processes on the GPUs, none matched --match 'nomatch'\n",
                      r.stderr.decode())
        r = self.run_gw("--count", "1", "-o", "-", "--pid", "442", "--match", "idle",
                        "--summary")
        self.assertIn("3 processes on the GPUs, none matched --match 'idle' and --pid 442",
                      r.stderr.decode())

    def test_none_matched_warns_from_cron(self):
        # Issue 19 item 7: no terminal, no summary (cron), even --quiet: one
        # warning on stderr, which cron mails; exit 0, as an unknown --pid.
        for quiet in ([], ["-q"]):
            r = self.run_gw("--match", "trian", "--count", "1", "-o", "/dev/null", *quiet)
            self.assertEqual(r.returncode, 0)
            self.assertEqual(r.stderr.decode(),
                             "gpu_watch: warning: 3 processes on the GPUs, none matched --match "
                             "'trian': no rows were written\n")
        # A match, or no process on the GPUs: silent as before.
        r = self.run_gw("--match", "train", "--count", "1", "-o", "/dev/null")
        self.assertEqual(r.stderr, b"")
        r = self.run_gw("--match", "trian", "--count", "1", "-o", "/dev/null", fixture="idle",
                        proc="busy")
        self.assertEqual(r.stderr, b"", r.stderr)

    def test_invalid_regex_is_substring_with_one_warning(self):
        pids, err = self.pids("--match", "train,v2.py 200 [")
        self.assertEqual(pids, [])
        pids, err = self.pids("--match", "(quoted")
        self.assertEqual(pids, [])
        self.assertEqual(err.count("not a valid extended regex"), 1)
        pids, err = self.pids("--match", '"quoted')
        self.assertEqual(pids, [442])

    def test_shell_syntax_runs_nothing(self):
        for pat in ("$(touch pwned1)", "; touch pwned2", "`touch pwned3`", "| touch pwned4"):
            self.pids("--match", pat)
        time.sleep(0.1)
        for i in range(1, 5):
            self.assertFalse(os.path.exists(self.path(f"pwned{i}")))


class Signals(GwTest):
    def test_sigterm_and_sigint_exit_0(self):
        for sig in (signal.SIGTERM, signal.SIGINT):
            p = self.start_gw("--interval", "0.05", "-o", self.path(f"s{sig}.csv"))
            self.assertTrue(wait_for(lambda: len(self.lines(f"s{sig}.csv")) >= 4))
            p.send_signal(sig)
            self.assertEqual(p.wait(timeout=10), 0)
            header, rows = read_csv(self.path(f"s{sig}.csv"))
            self.assertEqual(len(rows) % 3, 0)

    def test_sigterm_during_hung_call_is_prompt(self):
        p = self.start_gw("--interval", "1", "-o", self.path("h.csv"), FAKE_SMI_FAULT="hang",
                          FAKE_SMI_FAULT_ON="pmon")
        self.assertTrue(wait_for(lambda: len(self.calls()) >= 3))
        t0 = time.monotonic()
        p.send_signal(signal.SIGTERM)
        self.assertEqual(p.wait(timeout=5), 0)
        self.assertLess(time.monotonic() - t0, 2.0)
        header, rows = read_csv(self.path("h.csv"))
        self.assertEqual(rows, [])  # the cut-short sample is not written half-empty

    def test_sighup_reopens_for_logrotate(self):
        p = self.start_gw("--interval", "0.05", "-o", self.path("r.csv"))
        self.assertTrue(wait_for(lambda: len(self.lines("r.csv")) >= 4))
        os.rename(self.path("r.csv"), self.path("r.csv.1"))
        p.send_signal(signal.SIGHUP)
        self.assertTrue(wait_for(lambda: len(self.lines("r.csv")) >= 4))
        p.send_signal(signal.SIGTERM)
        self.assertEqual(p.wait(timeout=10), 0)
        for name in ("r.csv", "r.csv.1"):
            header, rows = read_csv(self.path(name))
            self.assertEqual(header, HEADER)
            self.assertGreaterEqual(len(rows), 3)
            self.assertTrue(all(len(r) == 7 for r in rows))

    def test_terminal_hangup_ends_the_run(self):
        """The terminal closing (the kernel's SIGHUP, SI_KERNEL) ends the run
        cleanly, as SIGTERM does; kill -HUP only reopens (test above)."""
        pid, master = pty.fork()
        if pid == 0:  # the child: a session of its own on the pty
            try:
                os.chdir(self.tmp)
                os.execve(BIN, [BIN, "--interval", "0.05", "-o", "hup.csv"], self.env())
            finally:
                os._exit(127)
        try:
            self.assertTrue(wait_for(lambda: len(self.lines("hup.csv")) >= 7))
            os.close(master)  # hang up: the kernel sends SIGHUP to the session
            end = time.monotonic() + 10
            while time.monotonic() < end:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    break
                time.sleep(0.02)
            self.assertEqual(done, pid, "still running after the hangup")
            self.assertTrue(os.WIFEXITED(status), status)
            self.assertEqual(os.WEXITSTATUS(status), 0)
        finally:
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
        header, rows = read_csv(self.path("hup.csv"))
        self.assertEqual(len(rows) % 3, 0)
        self.assertEqual(self.lines("hup.csv")[0], HDR)


class Faults(GwTest):
    def test_hung_pmon_costs_only_its_columns(self):
        t0 = time.monotonic()
        r = self.run_gw("--count", "3", "--interval", "0.1", "--timeout", "0.3", "-o", "-",
                        FAKE_SMI_FAULT="hang", FAKE_SMI_FAULT_ON="pmon", FAKE_SMI_FAULT_UNTIL="2")
        self.assertEqual(r.returncode, 0)
        self.assertLess(time.monotonic() - t0, 5)
        header, rows = read_csv(r.stdout.decode())
        self.assertEqual(len(rows), 9)
        self.assertEqual([row[5] for row in rows[:6]], [""] * 6)  # no SM while pmon hangs
        self.assertEqual([row[5] for row in rows[6:]], ["39", "", "59"])  # back when it answers
        self.assertTrue(all(row[4] for row in rows))  # memory from compute-apps throughout
        err = r.stderr.decode()
        self.assertEqual(err.count("warning: nvidia-smi pmon failed: timed out"), 1, err)
        self.assertIn("nvidia-smi pmon failed: recovered after 2 times", err)

    def test_timeout_bounds_one_sample(self):
        """Issue 18 item 6: --timeout bounds one sample, whatever hangs: the
        GPU query hung (it ran before compute-apps and again for the UUIDs
        it did not know: 2x --timeout), or the GPU query and pmon (3x), or
        everything. compute-apps still names the processes when it answers."""
        for on, rows_expected in (("gpus", 3), ("gpus,pmon", 3), ("pmon", 3), ("all", 0)):
            with self.subTest(on=on):
                t0 = time.monotonic()
                r = self.run_gw("--count", "1", "--timeout", "1", "-q", "-o", "-",
                                FAKE_SMI_FAULT="hang", FAKE_SMI_FAULT_ON=on)
                took = time.monotonic() - t0
                self.assertLess(took, 1.6, (on, r.stderr.decode()))
                header, rows = read_csv(r.stdout.decode())
                self.assertEqual(len(rows), rows_expected, r.stderr.decode())
                self.assertTrue(all(row[4] for row in rows))  # memory from compute-apps

    def test_error_exit_is_not_data(self):
        r = self.run_gw("--count", "4", "--interval", "0.02", "-o", "-", FAKE_SMI_FAULT="fail_driver")
        # No sample got any data: that is a failed run (issue 14), said at the end.
        self.assertEqual(r.returncode, 1)
        header, rows = read_csv(r.stdout.decode())
        self.assertEqual(rows, [])
        err = r.stderr.decode()
        self.assertIn("couldn't communicate with the NVIDIA driver", err)
        # One warning per query kind, then a count at the end: not one per sample.
        self.assertEqual(err.count("warning: nvidia-smi compute-apps query failed"), 1, err)
        self.assertIn("compute-apps query failed: 4 times in all (still failing)", err)
        self.assertTrue(err.endswith("gpu_watch: no sample got any data from nvidia-smi "
                                     "(4 tried)\n"), err)

    def test_one_answered_sample_is_success(self):
        # nvidia-smi fails from the second call on: one sample had data.
        r = self.run_gw("--count", "3", "--interval", "0.02", "-o", "-", FAKE_SMI_FAULT="fail_driver",
                        FAKE_SMI_FAULT_FROM=3)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("no sample got any data", r.stderr.decode())
        # An idle GPU answers with an empty list: no rows, and still a success.
        r = self.run_gw("--count", "2", "--interval", "0.02", "-o", "-", fixture="idle")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(read_csv(r.stdout.decode())[1], [])

    def test_overrun_skips_slots(self):
        t0 = time.monotonic()
        r = self.run_gw("--count", "3", "--interval", "0.1", "-o", "-", FAKE_SMI_FAULT="slow",
                        FAKE_SMI_SLOW_MS="250", FAKE_SMI_FAULT_ON="apps")
        took = time.monotonic() - t0
        self.assertEqual(r.returncode, 0)
        self.assertIn("longer than --interval", r.stderr.decode())
        # Samples at slots 0, 3, 6 (each 0.25 s long): about 0.85 s, not a burst.
        self.assertGreater(took, 0.8)
        self.assertEqual(len(read_csv(r.stdout.decode())[1]), 9)


class Schedule(GwTest):
    def test_count_interval_utc(self):
        t0 = time.monotonic()
        r = self.run_gw("--count", "5", "--interval", "0.1", "--utc", "-o", "-")
        took = time.monotonic() - t0
        self.assertEqual(r.returncode, 0)
        header, rows = read_csv(r.stdout.decode())
        self.assertEqual(len(rows), 15)
        self.assertTrue(all(row[0].endswith("Z") for row in rows))
        self.assertGreater(took, 0.38)
        self.assertLess(took, 2.0)

    def test_milliseconds_under_one_second(self):
        r = self.run_gw("--count", "2", "--interval", "0.25", "-o", "-")
        stamps = [row[0] for row in read_csv(r.stdout.decode())[1]]
        self.assertEqual(len(stamps), 6)
        for ts in stamps:
            self.assertRegex(ts, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}$")
        self.assertNotEqual(stamps[0], stamps[3])  # two samples 0.25 s apart: two stamps
        r = self.run_gw("--count", "1", "--ms", "--utc", "-o", "-")
        self.assertRegex(read_csv(r.stdout.decode())[1][0][0], r"T\d\d:\d\d:\d\d\.\d{3}Z$")
        r = self.run_gw("--count", "1", "--interval", "1", "-o", "-")  # 1 s: as before
        self.assertRegex(read_csv(r.stdout.decode())[1][0][0], r"T\d\d:\d\d:\d\d$")

    def test_tz_offset(self):
        r = self.run_gw("--count", "1", "--tz-offset", "-o", "-", TZ="Asia/Kolkata")
        ts = read_csv(r.stdout.decode())[1][0][0]
        self.assertRegex(ts, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+05:30$")
        utc = time.strftime("%Y-%m-%dT%H", time.gmtime(time.time() + 5.5 * 3600))
        self.assertEqual(ts[:13], utc)
        r = self.run_gw("--count", "1", "--tz-offset", "--ms", "-o", "-", TZ="America/St_Johns")
        self.assertRegex(read_csv(r.stdout.decode())[1][0][0],
                         r"T\d\d:\d\d:\d\d\.\d{3}-0[23]:30$")

    def test_local_time(self):
        r = self.run_gw("--count", "1", "-o", "-", TZ="Asia/Kolkata")
        ts = read_csv(r.stdout.decode())[1][0][0]
        utc = time.strftime("%Y-%m-%dT%H:%M", time.gmtime(time.time() + 5.5 * 3600))
        self.assertRegex(ts, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$")
        self.assertEqual(ts[:13], utc[:13])


class Terminal(GwTest):
    def status_output(self, *args):
        master, slave = pty.openpty()
        p = subprocess.Popen([BIN, "--count", "2", "--interval", "0.3", "-o", "out.csv", *args],
                             env=self.env(), cwd=self.tmp, stderr=slave, stdout=subprocess.DEVNULL)
        os.close(slave)
        chunks = []
        while True:
            try:
                b = os.read(master, 4096)
            except OSError:
                break
            if not b:
                break
            chunks.append(b)
        p.wait(timeout=10)
        os.close(master)
        os.remove(self.path("out.csv"))
        return strip_seam(b"".join(chunks)).decode()

    def test_status_line_on_tty_only(self):
        out = self.status_output()
        self.assertIn("\r\x1b[K", out)
        self.assertIn("3 processes, 3 rows (6 written)", out)
        self.assertIn("gpu_watch summary of out.csv: ", out)  # a terminal: the summary too
        self.assertEqual(self.status_output("--quiet"), "")
        r = self.run_gw("--count", "2", "--interval", "0.05", "-o", "x.csv")
        # Not a terminal: no status line, and no summary unless asked for (issue 14).
        self.assertEqual(without_overrun(strip_seam(r.stderr)), "")
        r = self.run_gw("--count", "2", "--interval", "0.05", "-o", "y.csv", "--summary")
        self.assertNotIn(b"\r", r.stderr)
        err = without_overrun(strip_seam(r.stderr))
        self.assertTrue(err.startswith("gpu_watch summary of y.csv: "), err)

    def test_cron_run_that_works_prints_nothing(self):
        os.mkdir(self.path("gpu"))
        for _ in range(2):
            r = self.run_gw("--count", "1", "--append", "-o", self.path("gpu/gpu.csv"))
            self.assertEqual((r.returncode, r.stdout, r.stderr), (0, b"", b""))
        self.assertEqual(len(read_csv(self.path("gpu/gpu.csv"))[1]), 6)

    def test_status_line_fits_the_terminal(self):
        """40 columns: every redraw is cut to 39; after SIGWINCH to 100
        columns, the whole line shows again."""
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 40, 0, 0))
        p = subprocess.Popen([BIN, "--count", "4", "--interval", "0.4", "-o", "out.csv"],
                             env=self.env(), cwd=self.tmp, stderr=slave, stdout=subprocess.DEVNULL)
        self._procs = [p]
        buf = b""
        while buf.count(b"\r\x1b[K") < 2:
            buf += os.read(master, 4096)
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
        p.send_signal(signal.SIGWINCH)
        os.close(slave)
        while True:
            try:
                b = os.read(master, 4096)
            except OSError:
                break
            if not b:
                break
            buf += b
        p.wait(timeout=10)
        os.close(master)
        draws = [d.split(b"\r\n")[0] for d in buf.split(b"\r\x1b[K")[1:]]
        self.assertEqual(len(draws), 4, buf)
        self.assertEqual([len(d) for d in draws[:2]], [39, 39])
        self.assertEqual(draws[0][10:], b"sample 1: 3 processes, 3 rows")
        self.assertTrue(draws[3].endswith(b"sample 4: 3 processes, 3 rows (12 written), from nvidia-smi"),
                        draws)

    def test_status_says_none_matched(self):
        out = self.status_output("--match", "nomatch")
        self.assertIn("sample 2: 3 processes on the GPUs, none matched --match 'nomatch'", out)
        self.assertIn("gpu_watch: 3 processes on the GPUs, none matched --match 'nomatch'\r\n",
                      out)


class Fixtures(GwTest):
    def test_many_awkward_command_lines(self):
        r = self.run_gw("--count", "1", "-o", "-", fixture="many", proc="many")
        self.assertEqual(r.returncode, 0)
        header, rows = read_csv(r.stdout.decode())
        self.assertEqual(len(rows), 23)
        by_pid = {int(row[2]): row for row in rows}
        self.assertEqual(by_pid[421][3], "python3 /tmp/hold.py 64 idle line1 line2")
        # A command line over 4096 bytes is capped there: head, " [...] ", tail.
        long = by_pid[422][3]
        self.assertEqual(len(long), 4096)
        self.assertTrue(long.startswith("python3 /tmp/hold.py 64 idle --long="), long[:60])
        self.assertEqual(long[3072:3079], " [...] ")
        self.assertEqual(by_pid[423][3], 'python3 /tmp/hold.py 64 busy --csv=a,b,"c" =cmd|calc')
        self.assertEqual(len(r.stdout.decode().splitlines()), 24)  # one line per record

    def test_eight_gpus_two_pmon_runs(self):
        r = self.run_gw("--count", "2", "--interval", "0.05", "-o", "-", fixture="gpu8", proc="gpu8")
        header, rows = read_csv(r.stdout.decode())
        self.assertEqual(len(rows), 20)
        for row in rows[:10]:
            self.assertNotEqual(row[5], "", row)  # SM util on every GPU, 4..7 too
        kinds = [c[0] for c in self.calls()]
        self.assertEqual(kinds.count("gpus"), 1)
        self.assertEqual(kinds.count("apps"), 2)
        # The first sample asks the map beside compute-apps and a plain pmon
        # (one wait: issue 18 item 6), then pmon per group once the map says
        # there are eight GPUs; the second sample, the groups only.
        pmon = [" ".join(c[1:-1]) for c in self.calls() if c[0] == "pmon"]
        self.assertEqual(sorted(pmon), ["pmon -c 1 -s um"] + ["pmon -c 1 -s um -i 0,1,2,3"] * 2 +
                         ["pmon -c 1 -s um -i 4,5,6,7"] * 2)

    def test_sixteen_gpus_four_pmon_runs(self):
        r = self.run_gw("--count", "1", "--host", "-o", "-", fixture="gpu16", proc="gpu16")
        self.assertEqual(r.returncode, 0, r.stderr)
        header, rows = read_csv(r.stdout.decode())
        self.assertEqual(len(rows), 18)
        got = {(int(row[1]), int(row[2])): row for row in rows}
        for g in range(16):
            row = got[(g, 5000 + g)]
            self.assertEqual(row[4], str(1000 + g))
            self.assertEqual(row[5], str(10 + g))  # this GPU's own SM figure
        self.assertEqual(got[(0, 9000)][4:6], ["700", "77"])
        self.assertEqual(got[(15, 9000)][4:6], ["900", "88"])
        pmon = sorted(" ".join(c[1:-1]) for c in self.calls() if c[0] == "pmon")
        # A plain pmon beside the first GPU query, then one per group.
        self.assertEqual(pmon, ["pmon -c 1 -s um", "pmon -c 1 -s um -i 0,1,2,3",
                                "pmon -c 1 -s um -i 12,13,14,15", "pmon -c 1 -s um -i 4,5,6,7",
                                "pmon -c 1 -s um -i 8,9,10,11"])

    def test_random_command_lines_round_trip(self):
        """Property: any bytes in /proc/<pid>/cmdline come out as one CSV
        field that Python's csv reader returns as the command line with NULs
        and control characters as spaces."""
        rng = random.Random(20261125)
        proc = self.path("proc")
        rep = self.path("replay")
        os.makedirs(rep)
        expect = {}
        apps = []
        for i in range(300):
            pid = 10000 + i
            n = rng.randint(1, 60)
            raw = bytes(rng.choice(b'ab ,"\'\n\r\t\x00\x01\x7f;|$`xyz\\') for _ in range(n))
            os.makedirs(f"{proc}/{pid}")
            with open(f"{proc}/{pid}/cmdline", "wb") as f:
                f.write(raw)
            cleaned = raw.rstrip(b"\x00 ")
            cleaned = bytes(32 if (c < 32 or c == 127) else c for c in cleaned).decode()
            expect[pid] = cleaned
            apps.append(f"{pid}, GPU-1a8e51c5-1f64-9d83-5d60-65f0c235c074, {i}\n")
        with open(f"{rep}/apps.txt", "w") as f:
            f.writelines(apps)
        with open(f"{rep}/gpus.txt", "w") as f:
            f.write("0, GPU-1a8e51c5-1f64-9d83-5d60-65f0c235c074\n")
        with open(f"{rep}/pmon.txt", "w") as f:
            f.write(open(os.path.join(REPLAY, "idle", "pmon.txt")).read())
        r = self.run_gw("--count", "1", "-o", "-", fixture=rep, proc=proc)
        self.assertEqual(r.returncode, 0, r.stderr)
        header, rows = read_csv(r.stdout.decode())
        self.assertEqual(len(rows), 300)
        self.assertEqual(len(r.stdout.decode().split("\n")), 302)
        for row in rows:
            want = expect[int(row[2])]
            self.assertEqual(row[3], want if want else "", repr(row[3]))
            self.assertEqual(len(row), 7)


class Packaging(GwTest):
    def read(self, name):
        with open(os.path.join(ROOT, name)) as f:
            return f.read()

    def test_ci_runs_the_readme_command_with_every_tool_the_tests_use(self):
        """.ci/run runs exactly the README's test command, and that command
        installs every program a test looks for (a missing one is a skip
        nobody sees in CI)."""
        readme = re.findall(r"^apt-get update && apt-get install .*$", self.read("README.md"), re.M)
        ci = re.findall(r"^apt-get update && apt-get install .*$", self.read(".ci/run"), re.M)
        self.assertEqual(len(ci), 1)
        self.assertTrue(readme)
        self.assertEqual(set(readme), set(ci))
        packages = ci[0].split()
        tools = {"pngcheck": "pngcheck", "valgrind": "valgrind", "groff": "groff-base",
                 "cppcheck": "cppcheck", "clang-tidy": "clang-tidy", "readelf": "build-essential",
                 "promtool": "prometheus", "prometheus": "prometheus",
                 "prometheus-node-exporter": "prometheus-node-exporter",
                 "node_exporter": "prometheus-node-exporter", "logrotate": "logrotate",
                 "systemd-analyze": "systemd", "unshare": "util-linux"}
        e2e = os.path.join(ROOT, "tests", "e2e")
        used = set()
        for name in os.listdir(e2e):
            if name.endswith(".py"):
                with open(os.path.join(e2e, name)) as f:
                    used |= set(re.findall(r"""which\(["']([\w-]+)["']\)""", f.read()))
        self.assertTrue(used)
        for tool in used:
            self.assertIn(tool, tools, f"a test looks for {tool}: name its package here")
            self.assertIn(tools[tool], packages, f"the README's command does not install {tool}")

    def test_install_strips_the_binary(self):
        if not shutil.which("readelf"):  # binutils, part of build-essential
            self.fail("readelf (binutils) is needed")

        def sections(path):
            out = subprocess.run(["readelf", "-S", "-W", path], capture_output=True, text=True)
            self.assertEqual(out.returncode, 0, out.stderr)
            return out.stdout

        self.assertIn(".debug_info", sections(BIN))  # the build keeps -g
        for strip, debug in (([], False), (["INSTALL_STRIP="], True)):
            dest = self.path(f"dest{len(strip)}")
            r = subprocess.run(["make", "-s", "install", f"DESTDIR={dest}", "PREFIX=/usr", *strip],
                               cwd=ROOT, capture_output=True, text=True, timeout=300)
            self.assertEqual(r.returncode, 0, r.stderr)
            installed = os.path.join(dest, "usr", "bin", "gpu_watch")
            self.assertEqual(".debug_info" in sections(installed), debug, strip)
            self.assertTrue(os.path.exists(os.path.join(dest, "usr/share/man/man1/gpu_watch.1")))
