"""gpu_watch job without Slurm: the binary against the fake nvidia-smi (two GPUs
whose minor numbers differ from their index, tests/fixtures/job/) and a --who log
written here: the prolog's snapshot, the report's bounds and processes, the saved
and spooled reports, the quality flags, usage errors."""
import json
import os
import shutil
import stat
import time

from tests.e2e.gw import FAKE_DIR, ROOT, GwTest

JOBFX = os.path.join(ROOT, "tests", "fixtures", "job")
UA = "GPU-aaaaaaaa-1111-2222-3333-444444444444"
UB = "GPU-bbbbbbbb-1111-2222-3333-444444444444"
WHO = ("timestamp,gpu_index,pid,cmd,gpu_mem_mib,sm_util_pct,mem_util_pct,peak_mem_mib,"
       "user,job_id,container\n")
PLAIN = "timestamp,gpu_index,pid,cmd,gpu_mem_mib,sm_util_pct,mem_util_pct\n"
ACCT_HEAD = "gpu_uuid, pid, max_memory_usage [MiB], time [ms]\n"
BUILD = os.path.dirname(os.path.dirname(FAKE_DIR))  # build/tests -> build
NVML_LIB = {v: os.path.join(BUILD, "tests", "fake-nvml" + v) for v in ("", "-v1")}


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


class JobBase(GwTest):
    def setUp(self):
        super().setUp()
        self.fx = self.path("fx")
        os.mkdir(self.fx)
        for f in ("gpus.txt", "q.txt"):
            shutil.copy(os.path.join(JOBFX, f), os.path.join(self.fx, f))
        self.acct([f"{UB}, 100, 30000 MiB, 5000 ms"])  # PID 100's earlier life

    def acct(self, lines):
        with open(os.path.join(self.fx, "acct.txt"), "w") as f:
            f.write(ACCT_HEAD + "".join(line + "\n" for line in lines))

    def job(self, *args, acct="on", reader="smi"):
        return self.run_gw("job", "--reader", reader, *args, fixture=self.fx, proc=None,
                           FAKE_SMI_ACCT=acct)

    def log(self, rows, header=WHO):
        with open(self.path("log.csv"), "w") as f:
            f.write(header + "".join(r + "\n" for r in rows))
        return self.path("log.csv")

    def two_samples(self, job="42"):
        t = time.time()
        return [f"{iso(t)},1,100,python a.py,700,50,1,,alice,{job},",
                f"{iso(t + 1)},1,100,python a.py,650,30,1,,alice,{job},",
                f"{iso(t + 1)},0,555,other.py,5000,90,1,,bob,43,"]

    def snapshot(self):
        r = self.job("--snapshot", self.path("snap"))
        self.assertEqual(r.returncode, 0, r.stderr)
        return self.path("snap")


class JobCli(JobBase):
    def test_snapshot_bounds_and_saved_reports(self):
        snap = self.snapshot()
        with open(snap) as f:
            self.assertIn(f"{UB},100,30000,5000", f.read())
        # The job: PID 100 again (running, 1,200 MiB), a short child no
        # sample saw, another GPU's record.
        self.acct([f"{UB}, 100, 30000 MiB, 5000 ms", f"{UB}, 100, 1200 MiB, 0 ms",
                   f"{UB}, 200, 3000 MiB, 300 ms", f"{UA}, 300, 7000 MiB, 100 ms"])
        log = self.log(self.two_samples())
        os.mkdir(self.path("spool"))
        r = self.job("--log", log, "--gpus", "0", "--before", snap, "--user", "alice",
                     "--format", "json", "--save", self.path("spool"), "--end",
                     str(time.time() + 5), "42")
        self.assertEqual(r.returncode, 0, r.stderr)
        rep = json.loads(r.stdout)
        self.assertEqual(rep["start_source"], "snapshot")
        [g] = rep["gpus"]
        self.assertEqual((g["index"], g["minor"], g["uuid"]), (1, 0, UB))
        self.assertEqual(g["samples"], 2)
        self.assertEqual((g["sm_mean_pct"], g["sm_max_pct"]), (40.0, 50))
        procs = {p["pid"]: p for p in g["processes"]}
        self.assertEqual(sorted(procs), [100, 200])
        self.assertEqual((procs[100]["driver_peak_mib"], procs[100]["sampled_peak_mib"]),
                         (1200, 700))
        self.assertEqual((procs[200]["seen_by"], procs[200]["user"]), ("accounting", "alice"))
        self.assertEqual(rep["memory_mib"], {"lower": 3000, "lower_source": "driver",
                                             "upper": 4200, "upper_source": "driver",
                                             "upper_null_reason": None})
        self.assertEqual(rep["flags"], [])
        for ext in ("json", "txt"):
            st = os.stat(self.path(f"spool/42.{ext}"))
            self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
        r = self.run_gw("job", "--spool", self.path("spool"), "--format", "json", "42")
        self.assertEqual(json.loads(r.stdout), rep)
        r = self.run_gw("job", "--spool", self.path("spool"), "42")
        self.assertIn("at least 3000 MiB (driver), at most 4200 MiB", r.stdout.decode())
        r = self.run_gw("job", "--spool", self.path("spool"), "43")
        self.assertEqual(r.returncode, 1)
        self.assertIn("no report of job 43", r.stderr.decode())

    def test_without_snapshot_unsampled_cannot_be_counted(self):
        self.acct([f"{UB}, 100, 1200 MiB, 0 ms", f"{UB}, 200, 3000 MiB, 300 ms"])
        r = self.job("--log", self.log(self.two_samples()), "--gpus", "0", "--format", "json",
                     "42")
        self.assertEqual(r.returncode, 0, r.stderr)
        rep = json.loads(r.stdout)
        self.assertIn("unsampled_uncounted", rep["flags"])
        self.assertIsNone(rep["memory_mib"]["upper"])
        self.assertEqual(rep["memory_mib"]["upper_null_reason"],
                         "processes that no sample saw cannot be counted")
        self.assertEqual(rep["memory_mib"]["lower"], 1200)
        self.assertEqual(rep["start_source"], "log")

    def test_accounting_off_and_no_minor_numbers(self):
        os.remove(os.path.join(self.fx, "q.txt"))
        r = self.job("--log", self.log(self.two_samples()), "--gpus", "0", "--format", "json",
                     "42", acct="off")
        self.assertEqual(r.returncode, 0, r.stderr)
        rep = json.loads(r.stdout)
        self.assertIn("accounting_off", rep["flags"])
        self.assertIn("gpu_map_unknown", rep["flags"])
        # Slurm's GPU 0 is not taken to be index 0 (or 1) by position.
        slurm = [g for g in rep["gpus"] if g["slurm"]]
        self.assertEqual([(g["index"], g["minor"]) for g in slurm], [(None, 0)])
        self.assertEqual(rep["memory_mib"]["lower"], 700)
        self.assertEqual(rep["memory_mib"]["lower_source"], "sampled")

    def test_log_without_who(self):
        t = time.time()
        r = self.job("--log", self.log([f"{iso(t)},1,100,a,7,1,1"], header=PLAIN), "--no-acct",
                     "--format", "json", "42")
        self.assertEqual(r.returncode, 0, r.stderr)
        rep = json.loads(r.stdout)
        self.assertIn("no_who_columns", rep["flags"])
        self.assertEqual(rep["gpus"], [])
        r = self.job("--log", self.path("log.csv"), "--no-acct", "42")
        self.assertIn("the log has no --who columns", r.stdout.decode())

    def test_compact_line(self):
        self.acct([f"{UB}, 100, 1200 MiB, 0 ms"])
        r = self.job("--log", self.log(self.two_samples()), "--format", "compact", "42")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.decode(),
                         "gpu_watch:lower_mib=1200,upper_mib=1200,gpus=1,procs=1,flags=\n")

    def test_usage_errors(self):
        for args in ([], ["--log", "x"], ["--log", "x", "4a"], ["--log", "x", "--gpus", "a", "1"],
                     ["--log", "x", "--format", "csv", "1"], ["--snapshot", "f", "1"],
                     ["--log", "x", "--start", "yesterday", "1"], ["--bogus", "1"], ["1", "2"]):
            with self.subTest(args=args):
                r = self.run_gw("job", *args)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn("see gpu_watch job --help", r.stderr.decode())
        r = self.job("--log", self.log([]), "--before", self.path("nothing"), "1")
        self.assertEqual(r.returncode, 1)
        self.assertIn("cannot read the snapshot", r.stderr.decode())


class JobNvml(JobBase):
    """The NVML reader: records with start times, so no snapshot is needed;
    minor numbers from nvmlDeviceGetMinorNumber."""

    def scenario(self, t0):
        path = self.path("scenario.txt")
        with open(path, "w") as f:
            f.write(f"""gpu 0 {UA} 143771
gpu 1 {UB} 143771
minor 0 1
minor 1 0
acct 0 on
acct 1 on
stats 1 99 8000 0 {int(t0) - 100}
stats 1 100 1200 1 {int(t0) + 1}
stats 1 200 3000 0 {int(t0) + 2}
stats 0 300 7000 0 {int(t0) + 2}
""")
        return path

    def nvml_job(self, t0, *args, lib=""):
        e = self.env(self.fx, None, FAKE_SMI_ACCT="on")
        e["LD_LIBRARY_PATH"] = NVML_LIB[lib]
        e["FAKE_NVML_SCENARIO"] = self.scenario(t0)
        return self.run_gw("job", *args, env=e)

    def test_nvml_start_times_tell_the_window(self):
        t = time.time()
        log = self.log([f"{iso(t)},1,100,python a.py,700,50,1,,alice,42,",
                        f"{iso(t + 10)},1,100,python a.py,650,30,1,,alice,42,"])
        r = self.nvml_job(t, "--reader", "nvml", "--log", log, "--gpus", "0", "--start",
                          str(int(t) - 5), "--end", str(t + 20), "--format", "json", "42")
        self.assertEqual(r.returncode, 0, r.stderr)
        rep = json.loads(r.stdout)
        self.assertEqual(rep["accounting_reader"], "nvml")
        [g] = rep["gpus"]
        self.assertEqual((g["index"], g["minor"], g["uuid"]), (1, 0, UB))
        self.assertEqual(sorted(p["pid"] for p in g["processes"]), [100, 200])
        self.assertEqual(rep["memory_mib"]["lower"], 3000)
        self.assertEqual(rep["memory_mib"]["upper"], 4200)
        self.assertEqual(rep["flags"], [])
        # Started before the window: the job before's PID 99 is left out even
        # when the window opens earlier only by the record's start.
        r = self.nvml_job(t, "--reader", "nvml", "--log", log, "--gpus", "0", "--start",
                          str(int(t) - 200), "--end", str(t + 20), "--format", "json", "42")
        rep = json.loads(r.stdout)
        self.assertEqual(sorted(p["pid"] for p in rep["gpus"][0]["processes"]), [99, 100, 200])

    def test_auto_falls_back_to_nvidia_smi(self):
        # A library without the accounting calls (v1 only): nvidia-smi's
        # records are read, and the report says so.
        self.acct([f"{UB}, 100, 1200 MiB, 0 ms"])
        t = time.time()
        r = self.nvml_job(t, "--reader", "auto", "--log", self.log(self.two_samples()),
                          "--format", "json", "42", lib="-v1")
        self.assertEqual(r.returncode, 0, r.stderr)
        rep = json.loads(r.stdout)
        self.assertEqual(rep["accounting_reader"], "nvidia-smi")
        self.assertIn("reading nvidia-smi's records", r.stderr.decode())
        r = self.nvml_job(t, "--reader", "nvml", "--log", self.path("log.csv"), "--format",
                          "json", "42", lib="-v1")
        self.assertEqual(json.loads(r.stdout)["accounting_reader"], "none")
        self.assertIn("accounting_unread", json.loads(r.stdout)["flags"])
