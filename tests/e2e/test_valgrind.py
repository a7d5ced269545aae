"""End-to-end under valgrind --leak-check=full --error-exitcode=1: no memory
error and nothing definitely lost, in a clean run, through nvidia-smi
faults (timeouts, failures, 10 MB of output), a logrotate reopen and a
stop by SIGTERM. Skipped for the sanitizer build (ASan and valgrind do not
mix); make ci runs it on the normal build."""
import os
import shutil
import signal
import subprocess
import time
import unittest

from tests.e2e.gw import BIN, GwTest, read_csv, wait_for

VALGRIND = shutil.which("valgrind")
VG = [VALGRIND or "valgrind", "--quiet", "--leak-check=full", "--errors-for-leak-kinds=definite",
      "--show-leak-kinds=definite", "--error-exitcode=99", "--track-fds=no"]


@unittest.skipIf("build-san" in BIN, "the sanitizer build cannot run under valgrind")
@unittest.skipUnless(VALGRIND, "valgrind is not installed")
class Valgrind(GwTest):
    def vg(self, *args, timeout=120, **env):
        e = self.env(**env)
        return subprocess.run([*VG, BIN, *args], env=e, cwd=self.tmp, capture_output=True,
                              timeout=timeout)

    def assert_clean(self, r, status=0):
        err = r.stderr.decode()
        self.assertNotIn("ERROR SUMMARY: ", err.replace("ERROR SUMMARY: 0 errors", ""), err)
        self.assertNotIn("definitely lost", err, err)
        self.assertNotIn("Invalid ", err, err)
        self.assertEqual(r.returncode, status, err)

    def test_clean_run(self):
        r = self.vg("--count", "5", "--interval", "0.05", "-q", "-o", "out.csv")
        self.assert_clean(r)
        self.assertEqual(len(read_csv(self.path("out.csv"))[1]), 15)

    def test_faults(self):
        for fault in ("hang", "fail_driver", "garbage", "midline", "huge"):
            r = self.vg("--count", "4", "--interval", "0.05", "--timeout", "1", "-q", "--force",
                        "-o", "out.csv", FAKE_SMI_FAULT=fault, FAKE_SMI_FAULT_FROM=2,
                        FAKE_SMI_FAULT_UNTIL=3)
            self.assert_clean(r)

    def test_usage_errors_and_unwritable_output(self):
        self.assert_clean(self.vg("--interval", "nope"), status=2)
        self.assert_clean(self.vg("--count", "1", "-o", "/dev/full"), status=1)
        self.assert_clean(self.vg("--count", "1", "-o", "/nonexistent/dir/x.csv"), status=1)

    def test_plot_and_summary(self):
        """The log readers too: plot to SVG and PNG, and summary, on real logs
        and on a malformed one."""
        logs = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures", "logs")
        for log in ("sampler.csv", "host.csv", "compact.csv", "bad.csv"):
            path = os.path.join(logs, log)
            good = log != "bad.csv"
            for out in ("p.svg", "p.png"):
                r = self.vg("plot", path, "-o", self.path(out))
                self.assert_clean(r, status=0 if good else r.returncode)
                self.assertNotEqual(r.returncode, 99, r.stderr.decode())
            r = self.vg("summary", path)
            self.assert_clean(r, status=0 if good else r.returncode)
            self.assertNotEqual(r.returncode, 99, r.stderr.decode())

    def test_sighup_then_sigterm(self):
        e = self.env()
        p = subprocess.Popen([*VG, BIN, "--interval", "0.05", "-q", "-o", "log.csv"], env=e,
                             cwd=self.tmp, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(lambda: p.poll() is None and (p.kill(), p.communicate()))
        log = self.path("log.csv")
        self.assertTrue(wait_for(lambda: os.path.exists(log) and os.path.getsize(log) > 300,
                                 timeout=60))
        os.rename(log, log + ".1")
        p.send_signal(signal.SIGHUP)
        self.assertTrue(wait_for(lambda: os.path.exists(log) and os.path.getsize(log) > 300,
                                 timeout=60))
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=60)
        self.assert_clean(subprocess.CompletedProcess(p.args, p.returncode, out, err))
