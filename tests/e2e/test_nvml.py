"""End-to-end tests of --source nvml and auto against the fake NVML library
(tests/fake_nvml.c, found through LD_LIBRARY_PATH) answering a scenario of
tests/fixtures/nvml/, side by side with the fake nvidia-smi replaying the
same fixture: the same CSV, whichever source wrote it. Faults: a driver with
only v1 or v2, bad records, a version mismatch, a call that never returns,
the library missing."""
import os
import shutil
import subprocess
import time
import unittest

from tests.e2e.gw import BIN, FAKE_DIR, GwTest, ROOT, read_csv, strip_seam

BUILD = os.path.dirname(os.path.dirname(FAKE_DIR))  # build/tests -> build
LIB = {v: os.path.join(BUILD, "tests", "fake-nvml" + v) for v in ("", "-v2", "-v1")}
SCEN = os.path.join(ROOT, "tests", "fixtures", "nvml")
PEAKS = os.path.join(ROOT, "tests", "fixtures", "peaks")
PROC_H200 = os.path.join(ROOT, "tests", "fixtures", "proc", "h200")
VALGRIND = shutil.which("valgrind")


def system_nvml():
    """Whether the machine has a real libnvidia-ml (found without LD_LIBRARY_PATH)."""
    import ctypes
    try:
        ctypes.CDLL("libnvidia-ml.so.1")
        return True
    except OSError:
        return False


def body(text):
    """The rows without their timestamps: what must not depend on the source."""
    _, rows = read_csv(text)
    return [r[1:] for r in rows]


class Nvml(GwTest):
    def nvml(self, *args, scenario="busy", proc=None, lib="", fixture=None, extra_scen="",
             timeout=30, **extra):
        path = os.path.join(SCEN, scenario + ".txt")
        if extra_scen:
            path = self.path("scenario.txt")
            with open(os.path.join(SCEN, scenario + ".txt")) as f, open(path, "w") as out:
                out.write(f.read() + extra_scen)
        e = self.env(fixture or scenario, proc or scenario, **extra)
        e["LD_LIBRARY_PATH"] = LIB[lib] if lib is not None else self.path("nolib")
        e["FAKE_NVML_SCENARIO"] = path
        os.makedirs(self.path("nolib"), exist_ok=True)
        r = subprocess.run([BIN, *args], env=e, capture_output=True, timeout=timeout,
                           cwd=self.tmp)
        r.stderr = strip_seam(r.stderr)
        return r

    def both(self, *args, scenario="busy", lib=""):
        """(nvml run, smi run) of the same arguments and fixture."""
        a = self.nvml("--source", "nvml", *args, scenario=scenario, lib=lib)
        b = self.nvml("--source", "smi", *args, scenario=scenario, lib=lib)
        self.assertEqual(a.returncode, 0, a.stderr.decode())
        self.assertEqual(b.returncode, 0, b.stderr.decode())
        return a, b

    def assert_same_csv(self, scenario, lib="", *args):
        a, b = self.both("--count", "2", "--interval", "0.05", "-q", "-o", "-", *args,
                         scenario=scenario, lib=lib)
        self.assertEqual(read_csv(a.stdout.decode())[0], read_csv(b.stdout.decode())[0])
        rows = body(a.stdout.decode())
        self.assertTrue(rows)
        self.assertEqual(rows, body(b.stdout.decode()))
        self.assertEqual(a.stderr.decode(), "")
        return rows

    # ---- the same CSV as nvidia-smi ----

    def test_one_gpu_same_csv_each_driver(self):
        for lib in ("", "-v2", "-v1"):
            with self.subTest(lib=lib or "v3"):
                rows = self.assert_same_csv("busy", lib)
                self.assertIn(["0", "442", rows[0][2], "1642", "39", "2"], rows)
                # 443 is idle: no utilization sample, so empty fields, never 0.
                self.assertEqual([r[3:] for r in rows if r[1] == "443"][0], ["3590", "", ""])

    def test_eight_gpus_same_csv(self):
        rows = self.assert_same_csv("gpu8")
        self.assertEqual(len(rows), 2 * 10)
        self.assertEqual(sorted({r[0] for r in rows}), [str(i) for i in range(8)])
        self.assertIn(["7", "9000", rows[-1][2], "900", "88", "8"], rows)

    def test_mig_same_csv_and_no_utilization(self):
        rows = self.assert_same_csv("mig")
        self.assertEqual([r[1] + ":" + r[3] + ":" + r[4] for r in rows][:2],
                         ["7001:4864:", "7002:2432:"])

    def test_host_compact_match_pid_same_rows(self):
        for args in (["--host"], ["--match", "grow"], ["--pid", "442"],
                     ["--compact", "--pid", "444"]):
            with self.subTest(args=args):
                a, b = self.both("--count", "1", "-q", "-o", "-", *args)
                # --host figures come from /proc and time: compare the GPU part.
                ra = [r[:7] for r in body(a.stdout.decode())]
                rb = [r[:7] for r in body(b.stdout.decode())]
                if "--compact" in args:
                    ra = [r[0] for r in body(a.stdout.decode())]
                    rb = [r[0] for r in body(b.stdout.decode())]
                self.assertTrue(ra)
                self.assertEqual(ra, rb)

    def test_other_pid_namespace_driver_names(self):
        """PIDs neither /proc nor ps knows (another PID namespace): the cmd
        column falls back to the driver's name with either source."""
        os.mkdir(self.path("emptyproc"))
        shutil.copy(os.path.join(FAKE_DIR, "nvidia-smi"), os.path.join(self.fakebin, "ps"))
        out = {}
        for src in ("nvml", "smi"):
            e = self.env("busy", self.path("emptyproc"))
            e["LD_LIBRARY_PATH"] = LIB[""]
            e["FAKE_NVML_SCENARIO"] = os.path.join(SCEN, "busy.txt")
            r = subprocess.run([BIN, "--source", src, "--count", "1", "-q", "-o", "-"], env=e,
                               capture_output=True, timeout=30, cwd=self.tmp)
            self.assertEqual(r.returncode, 0, r.stderr.decode())
            out[src] = body(r.stdout.decode())
        self.assertEqual([r[2] for r in out["nvml"]], ["python3"] * 3)
        self.assertEqual(out["nvml"], out["smi"])

    def test_wrap_mode_same_rows(self):
        """The wrapped command puts itself on the GPU (in the NVML scenario
        and the nvidia-smi fixture at once): the same rows either way."""
        fx = self.path("fx")
        os.mkdir(fx)
        shutil.copy(os.path.join(ROOT, "tests", "fixtures", "replay", "busy", "gpus.txt"), fx)
        with open(os.path.join(ROOT, "tests", "fixtures", "replay", "busy", "pmon.txt")) as f:
            pmon_head = "".join(f.readlines()[:2])
        with open(os.path.join(fx, "pmon.txt"), "w") as f:
            f.write(pmon_head)
        open(os.path.join(fx, "apps.txt"), "w").close()
        uuid = "GPU-1a8e51c5-1f64-9d83-5d60-65f0c235c074"
        scen = self.path("wrap.txt")
        job = (f'echo "proc 0 $$ 100 20 1" >> {scen}; '
               f'echo "$$, {uuid}, 100" > {fx}/apps.txt; '
               f'printf "%s\\n    0 %8d     C     20      1      -      -      -      -    100'
               f'      0    sh\\n" "$(cat {fx}/pmon.txt)" $$ > {fx}/pmon.tmp; '
               f'mv {fx}/pmon.tmp {fx}/pmon.txt; sleep 0.5')
        out = {}
        for src in ("nvml", "smi"):
            with open(scen, "w") as f:
                f.write("driver 580.159.04\ngpu 0 %s 81559\n" % uuid)
            e = self.env(fx, None)
            e["LD_LIBRARY_PATH"] = LIB[""]
            e["FAKE_NVML_SCENARIO"] = scen
            e["FAKE_NVML_RELOAD"] = "1"
            r = subprocess.run([BIN, "--source", src, "--interval", "0.05", "-q", "-o",
                                src + ".csv", "--", "sh", "-c", job], env=e,
                               capture_output=True, timeout=30, cwd=self.tmp)
            self.assertEqual(r.returncode, 0, r.stderr.decode())
            out[src] = {(r[0], r[3], r[4], r[5]) for r in body(self.path(src + ".csv"))}
            with open(os.path.join(fx, "pmon.txt"), "w") as f:
                f.write(pmon_head)
            open(os.path.join(fx, "apps.txt"), "w").close()
        self.assertEqual(out["nvml"], {("0", "100", "20", "1")})
        self.assertEqual(out["nvml"], out["smi"])

    # ---- --peaks: nvmlDeviceGetAccountingStats ----

    def peaks(self, src, extra_scen="", lib="", acct="on", scenario="peaks",
              fixture=os.path.join(PEAKS, "h200"), proc=PROC_H200):
        r = self.nvml("--source", src, "--peaks", "--count", "2", "--interval", "0.05", "-o", "-",
                      scenario=scenario, fixture=fixture, proc=proc, extra_scen=extra_scen,
                      lib=lib, FAKE_SMI_ACCT=acct)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        header, rows = read_csv(r.stdout.decode())
        self.assertEqual(header[-1], "peak_mem_mib")
        return r, rows

    def test_peaks_same_column_as_nvidia_smi(self):
        """The H200 capture (tests/fixtures/peaks/h200 and nvml/peaks.txt):
        the same rows, peak_mem_mib included, from either source."""
        a, rows = self.peaks("nvml")
        self.assertEqual(self.calls(), [])  # nvidia-smi never ran for the NVML run
        b, smi_rows = self.peaks("smi")
        self.assertEqual(a.stderr.decode(), "")
        self.assertEqual([r[1:] for r in rows], [r[1:] for r in smi_rows])
        # 462: sampled at 1,634 MiB, true peak 9,826 MiB (its PID's earlier
        # finished record, 30,000 MiB, is not its own); 460's record says 0.
        self.assertEqual({r[2]: (r[4], r[7]) for r in rows},
                         {"459": ("1642", "1642"), "460": ("3590", ""),
                          "461": ("1766", "1766"), "462": ("1634", "9826")})
        self.assertEqual(len(rows), 8)

    def test_peaks_empty_when_not_its_own_or_off(self):
        cases = [("stats 0 461 5000 0\n", {"461": ""}),      # a finished record
                 ("stats 0 461 na 1\n", {"461": ""}),        # NVML_VALUE_NOT_AVAILABLE
                 ("proc 0 463 100 - -\n", {"463": "", "462": "9826"}),  # NOT_FOUND
                 ("acct 0 off\n", {"459": "", "461": "", "462": ""}),
                 ("acct 0 unsupported\n", {"459": "", "461": "", "462": ""})]
        for extra, want in cases:
            with self.subTest(extra=extra):
                r, rows = self.peaks("nvml", extra)
                got = {row[2]: row[7] for row in rows if row[2] in want}
                self.assertEqual(got, want)
                self.assertEqual(r.stderr.decode(), "")

    def test_peaks_empty_with_accounting_off_like_smi(self):
        a, rows = self.peaks("nvml", "acct 0 off\n", acct="off")
        b, smi_rows = self.peaks("smi", acct="off")
        self.assertEqual({r[7] for r in rows}, {""})
        self.assertEqual([r[1:] for r in rows], [r[1:] for r in smi_rows])

    def test_peaks_mig_stale_records_never_used(self):
        mig = "acct 0 on\nstats 0 7001 70000 1\nstats 0 7002 70000 1\n"
        a, rows = self.peaks("nvml", mig, scenario="mig", fixture=os.path.join(PEAKS, "mig"),
                             proc="mig")
        self.assertEqual([r[7] for r in rows], ["", ""] * 2)
        b, smi_rows = self.peaks("smi", scenario="mig", fixture=os.path.join(PEAKS, "mig"),
                                 proc="mig")
        self.assertEqual([r[1:] for r in rows], [r[1:] for r in smi_rows])

    def test_peaks_library_without_accounting_calls(self):
        """The v1-only fake has no accounting symbols: empty, no error."""
        r, rows = self.peaks("nvml", lib="-v1")
        self.assertEqual(len(rows), 8)
        self.assertEqual({row[7] for row in rows}, {""})
        self.assertEqual(r.stderr.decode(), "")

    def test_peaks_mode_query_failing_warns_once_and_recovers(self):
        r = self.nvml("--source", "nvml", "--peaks", "--count", "4", "--interval", "0.05",
                      "-o", "-", scenario="peaks", fixture=os.path.join(PEAKS, "h200"),
                      proc=PROC_H200, extra_scen="fault acct_mode_error 1 3\n")
        err = r.stderr.decode()
        self.assertEqual(r.returncode, 0, err)
        self.assertEqual(err.count("NVML accounting mode query failed: GPU 0: Unknown Error"), 1,
                         err)
        self.assertIn("peak_mem_mib stays empty until it works", err)
        self.assertIn("recovered after 2 times", err)
        _, rows = read_csv(r.stdout.decode())
        self.assertEqual([row[7] for row in rows if row[2] == "462"], ["", "", "9826", "9826"])
        self.assertEqual({row[4] for row in rows if row[2] == "462"}, {"1634"})

    # ---- awkward but valid answers ----

    def test_insufficient_size_first_then_grown(self):
        a = self.nvml("--source", "nvml", "--count", "1", "-q", "-o", "-",
                      extra_scen="fault insufficient_first\n")
        self.assertEqual(a.returncode, 0, a.stderr.decode())
        self.assertEqual([r[3:] for r in body(a.stdout.decode())],
                         [["1642", "39", "2"], ["3590", "", ""], ["1764", "59", "3"]])

    def test_not_found_is_no_new_samples(self):
        a = self.nvml("--source", "nvml", "--count", "2", "--interval", "0.05", "-o", "-",
                      extra_scen="fault util_not_found\n")
        self.assertEqual(a.returncode, 0, a.stderr.decode())
        self.assertEqual({(r[3], r[4], r[5]) for r in body(a.stdout.decode())},
                         {("1642", "", ""), ("3590", "", ""), ("1764", "", "")})
        self.assertNotIn("warning", a.stderr.decode())

    def test_new_utilization_call_not_supported_falls_back(self):
        a = self.nvml("--source", "nvml", "--count", "1", "-q", "-o", "-",
                      extra_scen="fault util_info_not_supported\n")
        self.assertEqual([r[4] for r in body(a.stdout.decode())], ["39", "", "59"])

    def test_error_costs_the_sample_and_recovers(self):
        a = self.nvml("--source", "nvml", "--count", "5", "--interval", "0.05", "-o", "-",
                      extra_scen="fault procs_error 2 3\n")
        err = a.stderr.decode()
        self.assertEqual(a.returncode, 0, err)
        self.assertEqual(err.count("NVML process list failed: GPU 0"), 1, err)
        self.assertIn("Unknown Error", err)
        self.assertIn("recovered", err)
        self.assertEqual(len(body(a.stdout.decode())), 3 * 3)  # samples 1, 4, 5

    # ---- bad answers: warn once naming the driver and the call, go on with nvidia-smi ----

    def assert_gave_up(self, extra, expect):
        a = self.nvml("--source", "nvml", "--count", "3", "--interval", "0.05", "-o", "-",
                      extra_scen=extra)
        err = a.stderr.decode()
        self.assertEqual(a.returncode, 0, err)
        self.assertEqual(err.count("the run goes on with nvidia-smi"), 1, err)
        self.assertIn("driver 580.159.04", err)
        self.assertIn(expect, err)
        b = self.nvml("--source", "smi", "--count", "3", "--interval", "0.05", "-q", "-o", "-")
        self.assertEqual(body(a.stdout.decode()), body(b.stdout.decode()))
        return err

    def test_v3_records_at_the_v1_stride(self):
        self.assert_gave_up("fault v1_stride\n", "nvmlDeviceGetComputeRunningProcesses_v3")

    def test_pid_zero(self):
        self.assert_gave_up("proc 0 0 100 - -\n", "PID 0")

    def test_pid_4294967295(self):
        self.assert_gave_up("proc 0 4294967295 100 - -\n", "PID 4294967295")

    def test_duplicate_pid(self):
        self.assert_gave_up("proc 0 442 100 - -\n", "PID 442 listed twice")

    def test_call_that_never_returns(self):
        a = self.nvml("--source", "nvml", "--count", "3", "--interval", "0.05", "--timeout", "1",
                      "-o", "-", extra_scen="fault hang 2\n", timeout=20)
        err = a.stderr.decode()
        self.assertEqual(a.returncode, 0, err)
        self.assertEqual(err.count("did not return within 1 s"), 1, err)
        self.assertIn("the run goes on with nvidia-smi", err)
        # The stuck call took the second sample's --timeout whole (issue 18
        # item 6: the bound of one sample): nvidia-smi starts with the third.
        self.assertEqual(len(body(a.stdout.decode())), 2 * 3)
        self.assertNotIn("nvidia-smi compute-apps query failed", err)

    def test_stuck_call_and_hung_smi_one_timeout(self):
        """Issue 18 item 6: the NVML call that never returns takes the
        sample's --timeout; nvidia-smi, hung too, gets no second and third
        --timeout in the same sample (before: about 3 s here)."""
        t0 = time.monotonic()
        a = self.nvml("--source", "nvml", "--count", "2", "--interval", "0.05", "--timeout", "1",
                      "-o", "-", extra_scen="fault hang 2\n", FAKE_SMI_FAULT="hang", timeout=20)
        took = time.monotonic() - t0
        self.assertEqual(a.returncode, 0, a.stderr.decode())
        self.assertLess(took, 1.7, a.stderr.decode())
        self.assertEqual(len(body(a.stdout.decode())), 3)  # the first sample's

    def test_stuck_call_does_not_hang_the_exit(self):
        """Issue 18 item 5: the call that never returns holds the library's
        lock, which the library's destructor wants (as the fake's does). The
        run finishes its files (rows of both samples, the textfile removed)
        and exits within --timeout + 1 s instead of hanging in exit()."""
        prom = self.path("gw.prom")
        csv = self.path("s.csv")
        t0 = time.monotonic()
        try:
            a = self.nvml("--source", "nvml", "--count", "2", "--interval", "0.05", "--timeout",
                          "1", "-o", csv, "--prom-textfile", prom, extra_scen="fault hang 2\n",
                          timeout=10)
        except subprocess.TimeoutExpired:
            self.fail("gpu_watch hung at exit after the NVML call got stuck")
        took = time.monotonic() - t0
        self.assertEqual(a.returncode, 0, a.stderr.decode())
        self.assertLess(took, 2.0)
        self.assertIn("did not return within 1 s", a.stderr.decode())
        self.assertFalse(os.path.exists(prom))
        with open(csv) as f:
            self.assertEqual(len(body(f.read())), 3)  # the first sample's

    # ---- the library cannot be used ----

    def test_version_mismatch(self):
        a = self.nvml("--source", "nvml", "--count", "1", "-o", "-",
                      extra_scen="fault init_mismatch\n")
        self.assertEqual(a.returncode, 1)
        self.assertIn("Driver/library version mismatch", a.stderr.decode())
        self.assertEqual(a.stdout, b"")
        b = self.nvml("--source", "auto", "--count", "1", "-o", "-",
                      extra_scen="fault init_mismatch\n")
        self.assertEqual(b.returncode, 0, b.stderr.decode())
        err = b.stderr.decode()
        self.assertEqual(err.count("--source auto: using nvidia-smi"), 1, err)
        self.assertIn("Driver/library version mismatch", err)
        self.assertEqual(len(body(b.stdout.decode())), 3)
        # Issue 19 item 17: one "NVML: " prefix, not "NVML: NVML: ...".
        self.assertNotIn("NVML: NVML:", err)
        self.assertIn("(NVML: ", err)

    @unittest.skipIf(system_nvml(), "this machine has a real libnvidia-ml.so.1")
    def test_library_missing(self):
        a = self.nvml("--source", "nvml", "--count", "1", "-o", "out.csv", lib=None)
        self.assertEqual(a.returncode, 1)
        self.assertIn("cannot load the NVIDIA library libnvidia-ml.so.1", a.stderr.decode())
        self.assertFalse(os.path.exists(self.path("out.csv")))
        b = self.nvml("--source", "auto", "--count", "2", "--interval", "0.05", "-o", "-",
                      lib=None)
        err = b.stderr.decode()
        self.assertEqual(b.returncode, 0, err)
        self.assertEqual(err.count("--source auto: using nvidia-smi"), 1, err)
        self.assertEqual(len(body(b.stdout.decode())), 6)

    def test_auto_takes_nvml(self):
        a = self.nvml("--source", "auto", "--count", "1", "-o", "-")
        self.assertEqual(a.returncode, 0, a.stderr.decode())
        self.assertIn("--source auto: using NVML", a.stderr.decode())
        self.assertEqual(self.calls(), [])  # nvidia-smi never ran

    @unittest.skipIf("build-san" in BIN, "the sanitizer build cannot run under valgrind")
    @unittest.skipUnless(VALGRIND, "valgrind is not installed")
    def test_valgrind_clean_with_dlclose(self):
        for extra in ("", "fault v1_stride\n", "fault init_mismatch\n"):
            with self.subTest(extra=extra):
                e = self.env("busy", "busy")
                e["LD_LIBRARY_PATH"] = LIB[""]
                path = self.path("vg.txt")
                with open(os.path.join(SCEN, "busy.txt")) as f, open(path, "w") as out:
                    out.write(f.read() + extra)
                e["FAKE_NVML_SCENARIO"] = path
                r = subprocess.run([VALGRIND, "--quiet", "--leak-check=full",
                                    "--errors-for-leak-kinds=definite",
                                    "--show-leak-kinds=definite", "--error-exitcode=99", BIN,
                                    "--source", "auto", "--count", "3", "--interval", "0.05",
                                    "-q", "-o", "-"], env=e, capture_output=True, timeout=120,
                                   cwd=self.tmp)
                err = r.stderr.decode()
                self.assertEqual(r.returncode, 0, err)
                self.assertNotIn("definitely lost", err)
                self.assertNotIn("Invalid ", err)


if __name__ == "__main__":
    unittest.main()
