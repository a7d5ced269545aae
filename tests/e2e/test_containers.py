"""PID namespaces for real (issue 20): gpu_watch inside one made by
`unshare --pid --fork --mount-proc` (util-linux), and on the host looking at
processes inside one. The fake nvidia-smi answers as an old driver (host
PIDs, FAKE_SMI_DRIVER 470.x) or a new one (the caller's PIDs, 580.x); the
process list is the fixture the test writes. Root only (unshare --pid)."""
import os
import shutil
import subprocess
import time
import unittest

from tests.e2e.gw import BIN, GwTest, read_csv, wait_for

UUID = "GPU-1a8e51c5-1f64-9d83-5d60-65f0c235c074"
PMON_HEAD = ("# gpu         pid   type     sm    mem    enc    dec    jpg    ofa     fb   ccpm    command \n"
             "# Idx           #    C/G      %      %      %      %      %      %     MB     MB    name \n")


def can_unshare():
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    return subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", "true"],
                          capture_output=True, timeout=10).returncode == 0


@unittest.skipUnless(can_unshare(), "needs root and unshare --pid (util-linux)")
class TestPidNamespaces(GwTest):

    def fixture(self, procs):
        """A replay directory listing procs [(pid, MiB, sm %, name)] on GPU 0."""
        d = self.path("fx")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "gpus.txt"), "w") as f:
            f.write(f"0, {UUID}\n")
        with open(os.path.join(d, "apps.txt"), "w") as f:
            f.writelines(f"{pid}, {UUID}, {mib}\n" for pid, mib, _, _ in procs)
        with open(os.path.join(d, "pmon.txt"), "w") as f:
            f.write(PMON_HEAD)
            f.writelines(f"    0 {pid:>10}     C {sm:>6}      2      -      -      -      -"
                         f" {mib:>6}      0    {name}\n" for pid, mib, sm, name in procs)
        return d

    def in_namespace(self, driver, procs, *args, before=""):
        """Run gpu_watch as PID 1 of a new PID namespace (with its own /proc);
        before: shell commands started first (their PIDs are 2, 3, ...)."""
        env = self.env(self.fixture(procs), proc=None, FAKE_SMI_DRIVER=driver)
        script = f'{before} exec "$0" "$@"'
        return subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", "sh", "-c", script,
                               BIN, "--count", "1", "-q", "-o", "-", *args],
                              env=env, capture_output=True, timeout=30, cwd=self.tmp)

    def test_old_driver_host_pid_1_is_not_our_pid_1(self):
        # The driver (470: host PIDs) lists the host's PID 1 and a host
        # process; in here PID 1 is gpu_watch itself.
        procs = [(1, 500, 40, "python3"), (4321, 700, 10, "train")]
        r = self.in_namespace("470.82.01", procs, "--host", "--who")
        self.assertEqual(r.returncode, 0, r.stderr)
        header, rows = read_csv(r.stdout.decode())
        got = {row[2]: dict(zip(header, row)) for row in rows}
        self.assertEqual(sorted(got), ["1", "4321"])
        one = got["1"]
        # The driver's name, never our PID 1's command line (gpu_watch).
        self.assertEqual(one["cmd"], "python3")
        for col in ("cpu_pct", "rss_mib", "user", "job_id", "container", "container_pid"):
            self.assertEqual(one[col], "", col)
        self.assertEqual(one["gpu_mem_mib"], "500")
        err = r.stderr.decode()
        self.assertEqual(err.count("child PID namespace"), 1, err)
        self.assertIn("--pid=host", err)
        self.assertIn("470.82.01", err)
        # --match is judged on the driver's name, not on our PID 1.
        r = self.in_namespace("470.82.01", procs, "--match", "gpu_watch")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(read_csv(r.stdout.decode())[1], [])
        r = self.in_namespace("470.82.01", procs, "--match", "train")
        self.assertEqual([row[2] for row in read_csv(r.stdout.decode())[1]], ["4321"])

    def test_old_driver_through_nvml(self):
        # The same with the NVML source: nvmlSystemGetDriverVersion says 470.
        from tests.e2e.test_nvml import LIB
        scen = self.path("scenario.txt")
        with open(scen, "w") as f:
            f.write("driver 470.82.01\ngpu 0 GPU-1a8e51c5-1f64-9d83-5d60-65f0c235c074 81559\n"
                    "proc 0 1 500 40 2\nname 1 /usr/bin/python3\n")
        env = self.env(self.fixture([]), proc=None, LD_LIBRARY_PATH=LIB[""],
                       FAKE_NVML_SCENARIO=scen)
        r = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", BIN, "--source", "nvml",
                            "--count", "1", "-q", "-o", "-", "--who"],
                           env=env, capture_output=True, timeout=30, cwd=self.tmp)
        self.assertEqual(r.returncode, 0, r.stderr)
        header, rows = read_csv(r.stdout.decode())
        self.assertEqual([(row[2], row[3]) for row in rows], [("1", "python3")])
        self.assertEqual(rows[0][-4:], ["", "", "", ""])
        self.assertIn("driver 470.82.01 gives host PIDs", r.stderr.decode())

    def nvml_in_namespace(self, stats_pid, start_s, *args, before=""):
        """gpu_watch --source nvml --peaks as PID 1 of a new namespace; the
        fake (driver 580: translating, by version) lists PID 2 and gives
        stats_pid's accounting record the start time start_s (epoch s)."""
        from tests.e2e.test_nvml import LIB
        scen = self.path("scenario.txt")
        with open(scen, "w") as f:
            f.write(f"driver 580.95.05\ngpu 0 {UUID} 81559\nacct 0 on\n"
                    f"proc 0 2 500 40 2\nname 2 /usr/bin/python3\n"
                    f"stats 0 {stats_pid} 900 1 {start_s}\n")
        env = self.env(self.fixture([]), proc=None, LD_LIBRARY_PATH=LIB[""],
                       FAKE_NVML_SCENARIO=scen)
        script = f'{before} exec "$0" "$@"'
        return subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", "sh", "-c", script,
                               BIN, "--source", "nvml", "--peaks", "--count", "2",
                               "--interval", "0.2", "-q", "-o", "-", *args],
                              env=env, capture_output=True, timeout=30, cwd=self.tmp)

    def test_record_older_than_local_process_is_a_host_pid(self):
        # The driver says 580 (translating) yet its record of PID 2 began an
        # hour before our PID 2 (a sleep started just now) did: the driver's
        # PID 2 is a host process, never our sleep.
        r = self.nvml_in_namespace(2, int(time.time()) - 3600, "--host", "--who",
                                   before="sleep 30 &")
        self.assertEqual(r.returncode, 0, r.stderr)
        header, rows = read_csv(r.stdout.decode())
        self.assertEqual(len(rows), 2)
        for row in rows:
            got = dict(zip(header, row))
            self.assertEqual((got["pid"], got["cmd"], got["peak_mem_mib"]),
                             ("2", "python3", "900"))
            for col in ("cpu_pct", "rss_mib", "user", "job_id", "container", "container_pid"):
                self.assertEqual(got[col], "", col)
        err = r.stderr.decode()
        self.assertEqual(err.count("child PID namespace"), 1, err)
        self.assertIn("accounting record of PID 2 began", err)
        self.assertIn("--pid=host", err)
        # --match is judged on the driver's name, not on our sleep.
        r = self.nvml_in_namespace(2, int(time.time()) - 3600, "--match", "sleep",
                                   before="sleep 30 &")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(read_csv(r.stdout.decode())[1], [])

    def test_record_after_local_start_is_ours(self):
        # The record began after our sleep did (as the driver's record of a
        # process here always does): the sleep's command line is taken.
        # (+60 s, not +3: this VM's wall clock steps, and /proc's start times
        # count from boot; seconds of skew must not decide the test.)
        r = self.nvml_in_namespace(2, int(time.time()) + 60, "--host",
                                   before="sleep 30 &")
        self.assertEqual(r.returncode, 0, r.stderr)
        header, rows = read_csv(r.stdout.decode())
        self.assertEqual(len(rows), 2)
        got = dict(zip(header, rows[0]))
        self.assertEqual(got["cmd"], "sleep 30")
        self.assertNotEqual(got["rss_mib"], "")
        self.assertNotIn("child PID namespace", r.stderr.decode())

    def test_unknown_driver_is_taken_for_host_pids(self):
        procs = [(1, 500, 40, "python3")]
        env_driver = "unknown"
        r = self.in_namespace(env_driver, procs)
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = read_csv(r.stdout.decode())[1]
        self.assertEqual([row[3] for row in rows], ["python3"])
        self.assertIn("of unknown version", r.stderr.decode())

    def test_new_driver_local_pids(self):
        # 580 translates: PID 2 is our sleep; its command line is read here.
        procs = [(2, 300, 20, "sleep")]
        r = self.in_namespace("580.95.05", procs, "--host", before="sleep 30 &")
        self.assertEqual(r.returncode, 0, r.stderr)
        header, rows = read_csv(r.stdout.decode())
        self.assertEqual(len(rows), 1)
        row = dict(zip(header, rows[0]))
        self.assertEqual(row["cmd"], "sleep 30")
        self.assertNotEqual(row["rss_mib"], "")
        self.assertNotIn("child PID namespace", r.stderr.decode())

    def test_lists_translated_utilization_not(self):
        # 550: lists translated (535.113+), memory and utilization not yet:
        # those columns stay empty rather than another process's figures.
        procs = [(2, 300, 20, "sleep")]
        r = self.in_namespace("550.54.15", procs, before="sleep 30 &")
        self.assertEqual(r.returncode, 0, r.stderr)
        header, rows = read_csv(r.stdout.decode())
        row = dict(zip(header, rows[0]))
        self.assertEqual(row["cmd"], "sleep 30")
        self.assertEqual((row["gpu_mem_mib"], row["sm_util_pct"], row["mem_util_pct"]),
                         ("", "", ""))
        err = r.stderr.decode()
        self.assertEqual(err.count("child PID namespace"), 1, err)
        self.assertIn("unattributed", err)

    def test_new_driver_other_containers_memory_is_unattributed(self):
        # 580 translates and leaves out processes of other namespaces: the
        # GPU's 5000 MiB in use, our one process 300 MiB, 200 reserved.
        procs = [(2, 300, 20, "sleep")]
        fx = self.fixture(procs)
        with open(os.path.join(fx, "gpumem.txt"), "w") as f:
            f.write("0, 5000, 200\n")
        prom = self.path("m.prom")
        env = self.env(fx, proc=None, FAKE_SMI_DRIVER="580.95.05")
        script = 'sleep 30 & exec "$0" "$@"'
        p = subprocess.Popen(["unshare", "--pid", "--fork", "--mount-proc", "sh", "-c", script,
                              BIN, "--count", "6", "--interval", "0.5", "--summary", "-o",
                              "out.csv", "--prom-textfile", prom],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             cwd=self.tmp)
        self._procs = getattr(self, "_procs", []) + [p]
        text = []

        def gauge():
            try:
                with open(prom) as f:
                    t = f.read()
            except OSError:
                return False
            text[:] = [t]
            return "gpu_watch_gpu_memory_unattributed_bytes" in t
        self.assertTrue(wait_for(gauge, timeout=10))
        self.assertIn(f'gpu_watch_gpu_memory_unattributed_bytes{{gpu="0"}} {4500 * 1048576}\n',
                      text[0])
        _, err = p.communicate(timeout=20)
        self.assertEqual(p.returncode, 0, err)
        self.assertIn("GPU memory in use by no listed process (highest): GPU 0 4500 MiB",
                      err.decode())

    def start_in_namespaces(self, depth):
        """A sleep in depth nested PID namespaces, started from the host;
        returns its host PID."""
        cmd = []
        for _ in range(depth):
            cmd += ["unshare", "--pid", "--fork"]
        p = subprocess.Popen(cmd + ["sleep", "30"])
        self._kill = getattr(self, "_kill", []) + [p]
        found = []

        def sleeping():
            for pid in os.listdir("/proc"):
                if not pid.isdigit():
                    continue
                try:
                    with open(f"/proc/{pid}/status") as f:
                        st = f.read()
                    with open(f"/proc/{pid}/cmdline", "rb") as f:
                        cl = f.read()
                except OSError:
                    continue
                ns = [l for l in st.splitlines() if l.startswith("NSpid:")]
                if cl == b"sleep\x0030\x00" and ns and len(ns[0].split()) == depth + 2:
                    found.append(int(pid))
                    return True
            return False
        self.assertTrue(wait_for(sleeping, timeout=10))
        return found[0]

    def tearDown(self):
        for p in getattr(self, "_kill", []):
            # unshare --fork waits for its child: kill the whole chain by PID.
            try:
                for line in subprocess.run(["ps", "-o", "pid=", "--ppid", str(p.pid)],
                                           capture_output=True, text=True).stdout.split():
                    os.kill(int(line), 9)
            except OSError:
                pass
            p.kill()
            p.wait()
        super().tearDown()

    def test_container_pid_from_the_host(self):
        one = self.start_in_namespaces(1)
        two = self.start_in_namespaces(2)
        procs = [(one, 100, 5, "sleep"), (two, 200, 6, "sleep"), (os.getpid(), 50, 1, "python3")]
        env = self.env(self.fixture(procs), proc=None)
        r = subprocess.run([BIN, "--who", "--count", "1", "-q", "-o", "-"], env=env,
                           capture_output=True, timeout=30, cwd=self.tmp)
        self.assertEqual(r.returncode, 0, r.stderr)
        header, rows = read_csv(r.stdout.decode())
        self.assertEqual(header[-1], "container_pid")
        got = {int(row[2]): (row[3], row[-1]) for row in rows}
        # The sleeps are PID 1 of their innermost namespace; this test is in
        # the host's: empty.
        self.assertEqual(got[one], ("sleep 30", "1"))
        self.assertEqual(got[two], ("sleep 30", "1"))
        self.assertEqual(got[os.getpid()][1], "")

    def test_summaries_say_pid_namespace(self):
        # --who --peaks from the host: a sleep in its own PID namespace and
        # this test (the host's namespace), neither with a driver peak (the
        # driver's record stayed 0, or none): the end-of-run summary and
        # `gpu_watch summary` of the log both say why the namespaced one's is
        # unknown, and the other's stays "sampled".
        one = self.start_in_namespaces(1)
        me = os.getpid()
        fx = self.fixture([(one, 100, 5, "sleep"), (me, 50, 1, "python3")])
        with open(os.path.join(fx, "acct.txt"), "w") as f:
            f.write("gpu_uuid, pid, max_memory_usage [MiB], time [ms]\n"
                    f"{UUID}, {one}, 0 MiB, 0 ms\n")
        env = self.env(fx, proc=None, FAKE_SMI_ACCT="on")
        r = subprocess.run([BIN, "--who", "--peaks", "--count", "2", "--interval", "0.2",
                            "--summary", "-o", "out.csv"], env=env, capture_output=True,
                           timeout=30, cwd=self.tmp)
        self.assertEqual(r.returncode, 0, r.stderr)
        err = r.stderr.decode()
        lines = {l.split()[0]: l for l in err.splitlines() if l.split()[:1] in
                 ([str(one)], [str(me)])}
        self.assertIn(" MiB? ", lines[str(one)])
        self.assertNotIn("?", lines[str(me)])
        self.assertIn("Peaks marked ? are lower bounds: the driver's peak is unknown "
                      "(process in a PID namespace", err)
        # The log tells it: container_pid set, peak_mem_mib empty.
        with open(self.path("out.csv")) as f:
            header, rows = read_csv(f.read())
        got = {row[2]: dict(zip(header, row)) for row in rows}
        self.assertEqual((got[str(one)]["container_pid"], got[str(one)]["peak_mem_mib"]),
                         ("1", ""))
        r = subprocess.run([BIN, "summary", "out.csv", "--format", "csv"], env=env,
                           capture_output=True, text=True, timeout=30, cwd=self.tmp)
        self.assertEqual(r.returncode, 0, r.stderr)
        import csv
        import io
        src = {x["pid"]: x["peak_source"] for x in csv.DictReader(io.StringIO(r.stdout))
               if x["row"] == "process"}
        self.assertEqual(src, {str(one): "unknown (process in a PID namespace)",
                               str(me): "sampled"})
        r = subprocess.run([BIN, "summary", "out.csv", "--format", "json"], env=env,
                           capture_output=True, text=True, timeout=30, cwd=self.tmp)
        import json
        procs = {p["pid"]: p for p in json.loads(r.stdout)["processes"]}
        self.assertEqual(procs[one]["peak_source"], "unknown (process in a PID namespace)")
        self.assertEqual(procs[one]["peak_gpu_mem_mib"], 100)  # the sampled lower bound
        # A log without --peaks asked for no driver peak: nothing to explain.
        r = subprocess.run([BIN, "--who", "--count", "1", "-o", "nopeaks.csv"], env=env,
                           capture_output=True, timeout=30, cwd=self.tmp)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = subprocess.run([BIN, "summary", "nopeaks.csv", "--format", "csv"], env=env,
                           capture_output=True, text=True, timeout=30, cwd=self.tmp)
        self.assertEqual({x["peak_source"] for x in csv.DictReader(io.StringIO(r.stdout))
                          if x["row"] == "process"}, {"sampled"})


if __name__ == "__main__":
    unittest.main()


from tests.e2e.test_wrap import UUID as WRAP_UUID, WrapBase  # noqa: E402


@unittest.skipUnless(can_unshare(), "needs root and unshare --pid (util-linux)")
class TestPeaksInPidNamespace(WrapBase):
    """--peaks -- CMD where the command's GPU process runs in its own PID
    namespace and the driver's accounting peak stayed 0 (what R565+ may do:
    tests/gpu/check_containers.sh settles it): the report says why it is
    unknown instead of falling back silently."""

    def test_zero_peak_says_pid_namespace(self):
        acct = os.path.join(self.fx, "acct.txt")
        with open(acct, "w") as f:
            f.write("gpu_uuid, pid, max_memory_usage [MiB], time [ms]\n")
        e = self.env(self.fx, None, FAKE_SMI_ACCT="on")
        job = "echo started > started; while [ ! -e go ]; do sleep 0.05; done"
        p = self.start_gw("--peaks", "-o", "out.csv", "--interval", "0.2", "--", "unshare",
                          "--pid", "--fork", "sh", "-c", job, env=e)
        self.assertTrue(wait_for(lambda: os.path.exists(self.path("started")), timeout=10))
        inner = []

        def find():
            for pid in os.listdir("/proc"):
                try:
                    with open(f"/proc/{pid}/status") as f:
                        ns = [l.split()[1:] for l in f if l.startswith("NSpid:")]
                except OSError:
                    continue
                if ns and ns[0][1:] == ["1"]:
                    with open(f"/proc/{pid}/cmdline", "rb") as f:
                        if b"started" in f.read():
                            inner.append(int(pid))
                            return True
            return False
        self.assertTrue(wait_for(find, timeout=10))
        pid = inner[0]
        self.addCleanup(lambda: os.path.exists(f"/proc/{pid}") and os.kill(pid, 9))
        with open(acct + ".tmp", "w") as f:
            f.write("gpu_uuid, pid, max_memory_usage [MiB], time [ms]\n"
                    f"{WRAP_UUID}, {pid}, 0 MiB, 150 ms\n")
        os.replace(acct + ".tmp", acct)
        self.list_pids([pid])
        self.assertTrue(wait_for(lambda: pid in self.csv_pids(), timeout=10))
        self.list_pids([])
        open(self.path("go"), "w").close()
        out, err = p.communicate(timeout=20)
        self.assertEqual(p.returncode, 0, err)
        err = err.decode()
        self.assertIn("True peaks from the driver's accounting", err)
        line = [l for l in err.splitlines()
                if l.split()[:1] == [str(pid)] and "PID namespace" in l]
        self.assertEqual(len(line), 1, err)
        self.assertIn("unknown (process in a PID namespace)", line[0])
        self.assertEqual(line[0].split()[1:4], ["0", "100", "MiB"])  # the highest sample


class TestUnattributedOnTheHost(GwTest):
    """On the host the gauge shows memory held outside any listed process,
    from NVML (nvmlDeviceGetMemoryInfo_v2: used without the reserved part;
    v1, whose used counts it) and from nvidia-smi."""

    def prom_text(self, args, env):
        prom = self.path("m.prom")
        p = self.start_gw("--count", "8", "--interval", "0.3", "-q", "-o", "/dev/null",
                          "--prom-textfile", prom, *args, env=env)
        got = []

        def read():
            try:
                with open(prom) as f:
                    got[:] = [f.read()]
            except OSError:
                return False
            return "gpu_watch_last_sample_timestamp_seconds" in got[0]
        self.assertTrue(wait_for(read, timeout=10))
        p.kill()
        p.wait()
        return got[0]

    def nvml_env(self, lib, scenario):
        from tests.e2e.test_nvml import LIB
        path = self.path("scenario.txt")
        with open(path, "w") as f:
            f.write(scenario)
        return self.env("busy", "busy", LD_LIBRARY_PATH=LIB[lib], FAKE_NVML_SCENARIO=path)

    BUSY = ("driver 580.159.04\ngpu 0 GPU-1a8e51c5-1f64-9d83-5d60-65f0c235c074 81559\n"
            "proc 0 443 3590 - -\nproc 0 444 1764 59 3\nproc 0 442 1642 39 2\n")

    def test_nvml_v2_less_reserved(self):
        # 10000 used (without 500 reserved), 6996 by the three processes.
        t = self.prom_text(["--source", "nvml"], self.nvml_env("", self.BUSY + "used 0 10000 500\n"))
        self.assertIn(f'gpu_watch_gpu_memory_unattributed_bytes{{gpu="0"}} {2504 * 1048576}\n', t)

    def test_nvml_v1_counts_reserved_in_used(self):
        # The library without the _v2 symbol: used is 10500, reserved unknown.
        t = self.prom_text(["--source", "nvml"],
                           self.nvml_env("-v2", self.BUSY + "used 0 10000 500\n"))
        self.assertIn(f'gpu_watch_gpu_memory_unattributed_bytes{{gpu="0"}} {3504 * 1048576}\n', t)

    def test_idle_gpu_shows_zero(self):
        idle = "driver 580.159.04\ngpu 0 GPU-1a8e51c5-1f64-9d83-5d60-65f0c235c074 81559\n"
        t = self.prom_text(["--source", "nvml"], self.nvml_env("", idle + "used 0 0 500\n"))
        self.assertIn('gpu_watch_gpu_memory_unattributed_bytes{gpu="0"} 0\n', t)

    def test_smi(self):
        fx = self.path("fx")
        shutil.copytree(os.path.join(os.path.dirname(__file__), "..", "fixtures", "replay", "busy"),
                        fx)
        with open(os.path.join(fx, "gpumem.txt"), "w") as f:
            f.write("0, 7512, 512\n")
        t = self.prom_text([], self.env(fx, "busy"))
        self.assertIn(f'gpu_watch_gpu_memory_unattributed_bytes{{gpu="0"}} {4 * 1048576}\n', t)
        self.assertIn(["gpumem", "--query-gpu=index,memory.used,memory.reserved",
                       "--format=csv,noheader,nounits"],
                      [c[:3] for c in self.calls()])
        # Without --prom-textfile (on the host) no such query is made.
        shutil.rmtree(self.state)
        os.mkdir(self.state)
        r = self.run_gw("--count", "1", "-q", "-o", "/dev/null", fixture=fx)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("gpumem", [c[0] for c in self.calls()])

    def busy_with_gpumem(self):
        fx = self.path("fx")
        shutil.copytree(os.path.join(os.path.dirname(__file__), "..", "fixtures", "replay", "busy"),
                        fx)
        with open(os.path.join(fx, "gpumem.txt"), "w") as f:
            f.write("0, 7512, 512\n")
        return fx

    def test_smi_memory_query_in_the_sample_batch(self):
        # The GPU memory query starts with compute-apps and pmon, not after
        # them: one wait. calls.log has each call's monotonic start time.
        fx = self.busy_with_gpumem()
        r = self.run_gw("--count", "1", "-q", "-o", "/dev/null", "--prom-textfile",
                        self.path("m.prom"), fixture=fx, FAKE_SMI_LATENCY="apps=300,pmon=300")
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(os.path.join(self.state, "calls.log")) as f:
            starts = {l.split()[0]: float(l.rsplit("@", 1)[1]) for l in f if "@" in l}
        self.assertLess(abs(starts["gpumem"] - starts["apps"]), 0.15, starts)

    def test_smi_memory_query_within_timeout(self):
        # pmon and the memory query both hang: --timeout 1 bounds the sample
        # (test_cli's test_timeout_bounds_one_sample, with the query that
        # unattributed memory adds).
        fx = self.busy_with_gpumem()
        t0 = time.monotonic()
        r = self.run_gw("--count", "1", "--timeout", "1", "-q", "-o", "-", "--prom-textfile",
                        self.path("m.prom"), fixture=fx, FAKE_SMI_FAULT="hang",
                        FAKE_SMI_FAULT_ON="pmon,gpumem")
        took = time.monotonic() - t0
        self.assertLess(took, 1.6, r.stderr.decode())
        header, rows = read_csv(r.stdout.decode())
        self.assertEqual(len(rows), 3, r.stderr.decode())
        self.assertIn("GPU memory query", r.stderr.decode())
