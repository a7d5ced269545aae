"""--peaks: the driver's true peak per process (peak_mem_mib) against the fake
nvidia-smi replaying the H200 capture (tests/fixtures/peaks/), in every
accounting scenario: on, off, [N/A], a driver without the field, MIG with
stale records, a reused PID with two records, a record of 0 MiB, a failing
query."""
import os
import re
import signal

from tests.e2e.gw import HEADER, ROOT, GwTest, read_csv, wait_for, without_overrun
from tests.e2e.test_wrap import UUID, WrapBase

PEAKS = os.path.join(ROOT, "tests", "fixtures", "peaks")
H200 = os.path.join(PEAKS, "h200")
MIG = os.path.join(PEAKS, "mig")
PROC_H200 = os.path.join(ROOT, "tests", "fixtures", "proc", "h200")
HOST = ["cpu_pct", "cpu_cores", "rss_mib", "sys_used_mib"]


class PeaksTest(GwTest):
    def peaks_run(self, *args, fixture=H200, proc=PROC_H200, **extra):
        r = self.run_gw("--peaks", "-o", "-", "-q", *args, fixture=fixture, proc=proc, **extra)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r, *read_csv(r.stdout.decode())

    def kinds(self):
        return [c[0] for c in self.calls()]

    def test_on_each_process_gets_its_own_peak(self):
        r, header, rows = self.peaks_run("--count", "2", "--interval", "0.2", FAKE_SMI_ACCT="on")
        self.assertEqual(header, HEADER + ["peak_mem_mib"])
        self.assertEqual(len(rows), 8)
        got = {(row[1], row[2]): (row[4], row[7]) for row in rows}
        # 462: sampled at 1,634 MiB, true peak 9,826 MiB; its PID's earlier
        # finished record (30,000 MiB) is not its own. 460's record says 0: unknown.
        self.assertEqual(got, {("0", "459"): ("1642", "1642"), ("0", "460"): ("3590", ""),
                               ("0", "461"): ("1766", "1766"), ("0", "462"): ("1634", "9826")})
        calls = self.calls()
        gpus = [c for c in calls if c[0] == "gpus"]
        self.assertEqual(gpus[0][1], "--query-gpu=index,uuid,accounting.mode")
        self.assertEqual(len(gpus), 1, "the mode is cached, not asked every sample")
        acct = [c for c in calls if c[0] == "acct"]
        self.assertEqual(len(acct), 2)
        self.assertEqual(acct[0][1], "--query-accounted-apps=gpu_uuid,pid,max_memory_usage,time")

    def test_with_host_the_column_is_last(self):
        r, header, rows = self.peaks_run("--host", "--count", "1", FAKE_SMI_ACCT="on")
        self.assertEqual(header, HEADER + HOST + ["peak_mem_mib"])
        self.assertEqual([row[-1] for row in rows], ["1642", "", "1766", "9826"])
        self.assertEqual(rows[0][10], "1980")  # sys_used_mib from the fixture /proc

    def test_off_na_and_old_driver_leave_it_empty(self):
        for mode in ("off", "na", "old"):
            with self.subTest(mode=mode):
                log = os.path.join(self.state, "calls.log")
                if os.path.exists(log):
                    os.remove(log)
                r, header, rows = self.peaks_run("--count", "2", "--interval", "0.1",
                                                 FAKE_SMI_ACCT=mode)
                self.assertEqual(len(rows), 8)
                self.assertEqual({row[7] for row in rows}, {""})
                # The index map still works (an old driver is asked without the field).
                self.assertEqual({row[1] for row in rows}, {"0"})
                self.assertNotIn("acct", self.kinds())
                self.assertEqual(without_overrun(r.stderr), "")
                if mode == "old":
                    self.assertEqual([c[1] for c in self.calls() if c[0] == "gpus"],
                                     ["--query-gpu=index,uuid,accounting.mode",
                                      "--query-gpu=index,uuid"])

    def test_mig_stale_records_are_never_used(self):
        r, header, rows = self.peaks_run("--count", "1", fixture=MIG, proc="mig",
                                         FAKE_SMI_ACCT="on")
        self.assertEqual(len(rows), 2)
        self.assertEqual([row[7] for row in rows], ["", ""])
        self.assertNotIn("acct", self.kinds())

    def test_failing_query_warns_once_and_recovers(self):
        r = self.run_gw("--peaks", "-o", "-", "--count", "4", "--interval", "0.1", fixture=H200,
                        proc=PROC_H200, FAKE_SMI_ACCT="on", FAKE_SMI_FAULT="fail_driver",
                        FAKE_SMI_FAULT_ON="acct", FAKE_SMI_FAULT_UNTIL="2")
        self.assertEqual(r.returncode, 0, r.stderr)
        header, rows = read_csv(r.stdout.decode())
        self.assertEqual([row[7] for row in rows if row[2] == "462"], ["", "", "9826", "9826"])
        err = r.stderr.decode()
        self.assertEqual(err.count("accounted-apps query failed: exit status 9"), 1, err)
        self.assertIn("peak_mem_mib stays empty until it works", err)
        self.assertIn("recovered after 2 times", err)
        # The other columns did not suffer.
        self.assertEqual({row[4] for row in rows if row[2] == "462"}, {"1634"})

    def test_without_peaks_nothing_changes(self):
        r = self.run_gw("-o", "-", "-q", "--count", "1", fixture=H200, proc=PROC_H200,
                        FAKE_SMI_ACCT="on")
        header, rows = read_csv(r.stdout.decode())
        self.assertEqual(header, HEADER)
        self.assertEqual([c[1] for c in self.calls() if c[0] == "gpus"], ["--query-gpu=index,uuid"])
        self.assertNotIn("acct", self.kinds())

    def test_append_refuses_the_other_header(self):
        log = self.path("run.csv")
        with open(log, "w") as f:
            f.write(",".join(HEADER) + "\n")
        r = self.run_gw("--peaks", "--append", "-o", log, "--count", "1", "-q", fixture=H200,
                        proc=PROC_H200, FAKE_SMI_ACCT="on")
        self.assertEqual(r.returncode, 1)
        self.assertIn("different header", r.stderr.decode())
        self.assertEqual(self.lines("run.csv"), [",".join(HEADER)])
        # A --peaks log takes --peaks rows, and refuses rows without the column.
        os.remove(log)
        for args in (["--peaks"], ["--peaks", "--append"]):
            r = self.run_gw(*args, "-o", log, "--count", "1", "-q", fixture=H200, proc=PROC_H200,
                            FAKE_SMI_ACCT="on")
            self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(self.lines("run.csv")), 9)
        r = self.run_gw("--append", "-o", log, "--count", "1", "-q", fixture=H200, proc=PROC_H200)
        self.assertEqual(r.returncode, 1)

    def test_compact_refuses_peaks(self):
        r = self.run_gw("--compact", "--pid", "462", "--peaks", "-o", "-", fixture=H200,
                        proc=PROC_H200)
        self.assertEqual(r.returncode, 2)
        self.assertIn("--compact cannot be combined with --peaks", r.stderr.decode())
        self.assertEqual(self.calls(), [])

ACCT_HEADER = "gpu_uuid, pid, max_memory_usage [MiB], time [ms]\n"
JOB = 'echo $$ > pid.tmp; mv pid.tmp pid; while [ ! -e go ]; do sleep 0.05; done'


class WrapPeaksTest(WrapBase):
    """gpu_watch --peaks -- CMD against the real /proc: a spike that no
    sample sees is reported from the record read after the command ended."""

    def set_acct(self, *records):
        tmp = os.path.join(self.fx, "acct.txt.tmp")
        with open(tmp, "w") as f:
            f.write(ACCT_HEADER + "".join(f"{UUID}, {p}, {m} MiB, {t} ms\n" for p, m, t in records))
        os.replace(tmp, os.path.join(self.fx, "acct.txt"))

    def run_job(self, *opts, peaks=True):
        self.set_acct()
        e = self.env(self.fx, None, FAKE_SMI_ACCT="on")
        p = self.start_gw(*(["--peaks"] if peaks else []), "-o", "out.csv", "--interval", "0.2",
                          *opts, "--", "sh", "-c", JOB, env=e)
        pid = self.pidfile("pid")
        self.addCleanup(self.stop_job, pid)
        # While it runs: its running record (time 0), and a finished record of
        # an earlier process that had the same PID for an hour: not its own.
        self.set_acct((pid, 50000, 3600000), (pid, 100, 0))
        self.list_pids([pid])
        self.assertTrue(wait_for(lambda: pid in self.csv_pids(), timeout=10))
        # The spike came and went between samples; the record keeps it.
        self.set_acct((pid, 50000, 3600000), (pid, 9826, 150))
        self.list_pids([])
        open(self.path("go"), "w").close()
        out, err = p.communicate(timeout=20)
        self.assertEqual(p.returncode, 0, err)
        return pid, err.decode()

    def stop_job(self, pid):
        """A test that failed half-way leaves no job behind."""
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def test_true_peak_after_exit(self):
        pid, err = self.run_job()
        header, rows = read_csv(self.path("out.csv"))
        self.assertEqual(header[-1], "peak_mem_mib")
        mine = [r for r in rows if r[2] == str(pid)]
        self.assertTrue(mine)
        self.assertEqual({r[4] for r in mine}, {"100"})  # no sample saw the spike
        self.assertEqual({r[7] for r in mine}, {"100"})  # its running record, not the 50,000
        self.assertIn("True peaks from the driver's accounting, read after the command ended", err)
        line = next(l for l in err.splitlines() if l.split()[:1] == [str(pid)] and "driver" in l)
        self.assertEqual(line.split()[1:7], ["0", "9826", "MiB", "driver", "100", "MiB"])
        self.assertIn("  total 0      9826 MiB", err)
        self.assertNotIn("50000", err)
        # The accounting was read before the command started and after it ended.
        acct = [c for c in self.calls() if c[0] == "acct"]
        self.assertGreaterEqual(len(acct), 3)

    def test_quiet_prints_nothing(self):
        pid, err = self.run_job("-q")
        self.assertEqual(err, "")

    def test_summary_has_the_true_peak_without_peaks(self):
        """Issue 19 item 5: wrap mode reads the accounting once after the
        command ended, --peaks or not: the summary gives the driver's peak."""
        pid, err = self.run_job(peaks=False)
        header, rows = read_csv(self.path("out.csv"))
        self.assertNotIn("peak_mem_mib", header)  # the column stays --peaks's
        line = next(l for l in err.splitlines() if l.split()[:1] == [str(pid)])
        self.assertIn("9826 MiB*", line)
        self.assertNotIn("Peaks between samples are not seen", err)
        self.assertIn("Peaks are true peaks from the driver's accounting.", err)
        self.assertNotIn("50000", err)  # the earlier process's record
        self.assertNotIn("read after the command ended", err)  # --peaks's report
        # Issue 19 item 9: the GPU's total is not below its only process's peak.
        total = next(l for l in err.splitlines() if l.split()[:2] == ["total", "0"])
        self.assertIn("9826 MiB*", total)
        # One read of the accounting, after the command ended.
        acct = [c for c in self.calls() if c[0] == "acct"]
        self.assertEqual(len(acct), 1, self.calls())
        # Issue 19 item 9: the summary of the log agrees with the end of
        # the run on the samples and the end (the last sample, after the
        # command ended, was empty and left no row).
        back = self.run_gw("summary", "out.csv", env=self.env(self.fx, None)).stdout.decode()
        head = re.compile(r"to (\S+) \(.*\), (\d+) samples?")
        self.assertEqual(head.search(err).groups(), head.search(back).groups(), (err, back))


class SummaryPeaksTest(GwTest):
    """gpu_watch summary on logs with and without peak_mem_mib."""

    def summary(self, log, fmt):
        r = self.run_gw("summary", os.path.join(ROOT, "tests", "fixtures", "summary", log),
                        "--format", fmt)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout.decode()

    def test_log_with_peaks(self):
        import json
        d = json.loads(self.summary("peaks.csv", "json"))
        got = {p["pid"]: (p["peak_gpu_mem_mib"], p["peak_source"], p["sampled_peak_gpu_mem_mib"])
               for p in d["processes"]}
        self.assertEqual(got, {462: (9826, "driver", 1634), 461: (4838, "driver", 4838),
                               460: (3590, "sampled", 3590), 459: (1642, "driver", 1642)})
        self.assertIn("true peaks from the driver's accounting", d["caveat"])
        header, rows = read_csv(self.summary("peaks.csv", "csv"))
        self.assertEqual(header[4:7], ["peak_gpu_mem_mib", "peak_source", "sampled_peak_gpu_mem_mib"])
        text = self.summary("peaks.csv", "text")
        self.assertIn("9826 MiB*", text)

    def test_log_without_peaks_says_sampled(self):
        # Issue 23: every summary says where each peak came from, also for
        # logs without peak_mem_mib: "sampled", a lower bound.
        import json
        d = json.loads(self.summary("host.csv", "json"))
        self.assertEqual(d["processes"][0]["peak_source"], "sampled")
        self.assertIn("Peaks between samples are not seen: these are lower bounds", d["caveat"])
        header, rows = read_csv(self.summary("host.csv", "csv"))
        self.assertEqual(header[5], "peak_source")
        self.assertEqual({r[5] for r in rows}, {"sampled"})

    def test_end_of_run_summary_marks_driver_peaks(self):
        # --summary: stderr is not a terminal here.
        r = self.run_gw("--peaks", "--summary", "-o", "run.csv", "--count", "1", fixture=H200,
                        proc=PROC_H200, FAKE_SMI_ACCT="on")
        self.assertEqual(r.returncode, 0, r.stderr)
        err = r.stderr.decode()
        line = next(l for l in err.splitlines() if l.split()[:1] == ["462"])
        self.assertIn("9826 MiB*", line)
        self.assertIn("Peaks marked * (source: driver)", err)
        self.assertNotIn("accounting is off", err)
        # Accounting off: sampled peaks, and once how to turn it on.
        r = self.run_gw("--peaks", "--summary", "-o", "run2.csv", "--count", "1", fixture=H200,
                        proc=PROC_H200)
        err = r.stderr.decode()
        self.assertNotIn("MiB*", err)
        self.assertEqual(err.count("sudo nvidia-smi -am 1"), 1, err)
        self.assertIn("(lower bounds)", err)


class PlotPeaksTest(GwTest):
    """gpu_watch plot draws the driver's peak where the samples missed it."""

    def driver_labels(self, log, *opts):
        import subprocess
        import xml.etree.ElementTree as ET
        out = self.path("p.svg")
        r = subprocess.run([self.bin_path(), "plot", os.path.join(ROOT, "tests", "fixtures",
                                                                  "summary", log), "-o", out, *opts],
                           capture_output=True, timeout=30, cwd=self.tmp)
        self.assertEqual(r.returncode, 0, r.stderr)
        ns = "{http://www.w3.org/2000/svg}"
        return [t.text for t in ET.parse(out).getroot().iter(ns + "text")
                if t.text and t.text.startswith("driver peak")]

    def bin_path(self):
        from tests.e2e.gw import BIN
        return BIN

    def test_driver_peak_drawn_per_process(self):
        # Only 462's spike was missed by the samples (9826 against 1634 MiB);
        # 459's and 461's driver peaks equal their samples: no extra line.
        self.assertEqual(self.driver_labels("peaks.csv", "--per-process"),
                         ["driver peak 9826 MiB"])

    def test_no_line_without_the_column(self):
        self.assertEqual(self.driver_labels("host.csv", "--per-process"), [])

    def test_no_line_for_totals(self):
        self.assertEqual(self.driver_labels("peaks.csv"), [])
