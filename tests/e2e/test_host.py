"""End-to-end: --host and --compact on real processes of this machine,
listed as GPU processes by the fake nvidia-smi."""
import os
import subprocess
import time

from tests.e2e.gw import GwTest, HEADER, read_csv, REPLAY

HOST_HEADER = HEADER + ["cpu_pct", "cpu_cores", "rss_mib", "sys_used_mib"]
UUID = "GPU-1a8e51c5-1f64-9d83-5d60-65f0c235c074"


def vmrss_kb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])


def cpu_ticks(pid):
    st = open(f"/proc/{pid}/stat").read()
    f = st[st.rindex(")") + 2:].split()
    return int(f[11]) + int(f[12])


def sys_used_mib():
    m = {}
    for line in open("/proc/meminfo"):
        k, v = line.split(":")
        m[k] = int(v.split()[0])
    return (m["MemTotal"] - m["MemAvailable"]) / 1024


class Host(GwTest):
    def setUp(self):
        super().setUp()
        # A busy process (a shell loop burning one CPU) and an idle one.
        self.busy = subprocess.Popen(["sh", "-c", "while :; do :; done"])
        self.idle = subprocess.Popen(["sleep", "60"])
        rep = self.path("replay")
        os.makedirs(rep)
        with open(f"{rep}/apps.txt", "w") as f:
            f.write(f"{self.busy.pid}, {UUID}, 100\n{self.idle.pid}, {UUID}, 200\n")
        with open(f"{rep}/gpus.txt", "w") as f:
            f.write(f"0, {UUID}\n")
        with open(f"{rep}/pmon.txt", "w") as f:
            f.write(open(os.path.join(REPLAY, "idle", "pmon.txt")).read())
        self.rep = rep

    def tearDown(self):
        for p in (self.busy, self.idle):
            p.kill()
            p.wait()
        super().tearDown()

    def test_host_columns(self):
        time.sleep(0.3)
        # What the busy loop really got, measured beside the run: on a loaded
        # machine a busy loop gets less than a whole core.
        hz = os.sysconf("SC_CLK_TCK")
        t0, c0 = time.monotonic(), cpu_ticks(self.busy.pid)
        r = self.run_gw("--host", "--count", "4", "--interval", "0.5", "-o", "-",
                        fixture=self.rep, proc=None)
        real_pct = 100.0 * (cpu_ticks(self.busy.pid) - c0) / hz / (time.monotonic() - t0)
        self.assertEqual(r.returncode, 0, r.stderr)
        header, rows = read_csv(r.stdout.decode())
        self.assertEqual(header, HOST_HEADER)
        self.assertEqual(len(rows), 8)
        ncpu = os.cpu_count()
        for row in rows:
            pid = int(row[2])
            cpu, cores, rss, sysu = float(row[7]), row[8], int(row[9]), int(row[10])
            if pid == self.busy.pid:
                self.assertLess(cpu, 105.0, row)  # one thread: at most one core
            else:
                self.assertLess(cpu, 5.0, row)
            self.assertRegex(cores, r"^\d+(/\d+)*$")
            self.assertTrue(all(0 <= int(c) < ncpu for c in cores.split("/")), cores)
            want = vmrss_kb(pid) / 1024
            self.assertLess(abs(rss - want), max(0.1 * want, 1.0), (row, want))
            self.assertGreater(sysu, 0)
        # The busy loop: the mean of the per-interval figures (the first row is
        # the average since it started) against what it really got meanwhile.
        busy = [float(row[7]) for row in rows if int(row[2]) == self.busy.pid][1:]
        self.assertGreater(real_pct, 25.0)  # the loop did run
        self.assertLess(abs(sum(busy) / len(busy) - real_pct), 20.0, (busy, real_pct))
        # Every row of one sample has the same sys_used_mib.
        for i in range(0, len(rows), 2):  # two rows a sample
            self.assertEqual(rows[i][10], rows[i + 1][10])

    def test_real_host_log_plots_and_summarises(self):
        # Regression: cpu_cores ("0/1") was read as a number by plot and
        # summary, which then called every --host row malformed (seen on the
        # H100 with a real log).
        p = self.path("host.csv")
        r = self.run_gw("--host", "--count", "3", "--interval", "0.2", "-q", "-o", p,
                        fixture=self.rep, proc=None)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(all("/" in row[8] or row[8].isdigit() for row in read_csv(p)[1]))
        r = self.run_gw("plot", p, "-o", self.path("h.svg"), "--cpu")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, b"")
        r = self.run_gw("summary", p, "--format", "csv")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(str(self.busy.pid), r.stdout.decode())

    def test_sys_used_matches_meminfo(self):
        # Read by the test right before and after a one-sample run: other
        # processes allocate meanwhile, so the figure must lie in that range,
        # give or take 2%.
        for _ in range(3):
            before = sys_used_mib()
            r = self.run_gw("--host", "--count", "1", "-o", "-", fixture=self.rep, proc=None)
            after = sys_used_mib()
            sysu = int(read_csv(r.stdout.decode())[1][0][10])
            lo, hi = min(before, after), max(before, after)
            self.assertGreaterEqual(sysu, lo * 0.98 - 1, (sysu, before, after))
            self.assertLessEqual(sysu, hi * 1.02 + 1, (sysu, before, after))

    def test_process_gone_gives_empty_host_fields(self):
        # The busy one must have lived a few clock ticks: in its first tick
        # its CPU % since start is unknown (empty), rightly.
        time.sleep(0.3)
        self.idle.kill()
        self.idle.wait()
        r = self.run_gw("--host", "--count", "1", "-o", "-", fixture=self.rep, proc=None)
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = {int(row[2]): row for row in read_csv(r.stdout.decode())[1]}
        self.assertEqual(rows[self.idle.pid][7:10], ["", "", ""])
        self.assertNotEqual(rows[self.busy.pid][7], "")

    def test_compact(self):
        time.sleep(0.3)
        r = self.run_gw("--compact", "--pid", str(self.busy.pid), "--count", "3", "--interval",
                        "0.5", "-o", "-", fixture=self.rep, proc=None)
        self.assertEqual(r.returncode, 0, r.stderr)
        header, rows = read_csv(r.stdout.decode())
        self.assertEqual(header, ["timestamp", "used_mib", "sys_used_mib", "cpu_cores", "cpu_pct"])
        self.assertEqual(len(rows), 3)
        for row in rows:
            self.assertRegex(row[0], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")
            self.assertEqual(row[1], "100")
            self.assertGreater(float(row[4]), 10.0)  # busy: clearly above idle (test_host_columns checks the figure)
        # A process on no GPU: used_mib empty, the host fields still there.
        sleeper = subprocess.Popen(["sleep", "30"])
        try:
            r = self.run_gw("--compact", "--pid", str(sleeper.pid), "--count", "2", "--interval",
                            "0.2", "-o", "-", fixture=self.rep, proc=None)
        finally:
            sleeper.kill()
            sleeper.wait()
        rows = read_csv(r.stdout.decode())[1]
        self.assertEqual(len(rows), 2)
        self.assertEqual(rows[0][1], "")
        self.assertNotEqual(rows[0][3], "")
        # A PID that does not exist: a row every interval, cores and CPU empty.
        r = self.run_gw("--compact", "--pid", "4000000", "--count", "2", "--interval", "0.2",
                        "-o", "-", fixture=self.rep, proc=None)
        self.assertEqual(r.returncode, 0)
        rows = read_csv(r.stdout.decode())[1]
        self.assertEqual(len(rows), 2)
        self.assertEqual([row[1] for row in rows], ["", ""])
        self.assertEqual([row[3:] for row in rows], [["", ""], ["", ""]])
        self.assertNotEqual(rows[0][2], "")

    def test_compact_usage(self):
        for args in (["--compact"], ["--compact", "--pid", "1,2"], ["--compact", "--pid", "1", "--host"]):
            r = self.run_gw(*args)
            self.assertEqual(r.returncode, 2, args)
            self.assertIn("--compact", r.stderr.decode())

    def test_append_refuses_other_schema(self):
        p = self.path("log.csv")
        self.assertEqual(self.run_gw("--count", "1", "-o", p, fixture=self.rep, proc=None).returncode, 0)
        r = self.run_gw("--host", "--append", "--count", "1", "-o", p, fixture=self.rep, proc=None)
        self.assertEqual(r.returncode, 1)
        self.assertIn("different header", r.stderr.decode())
        p2 = self.path("log2.csv")
        self.assertEqual(self.run_gw("--host", "--count", "1", "-o", p2, fixture=self.rep, proc=None).returncode, 0)
        r = self.run_gw("--append", "--count", "1", "-o", p2, fixture=self.rep, proc=None)
        self.assertEqual(r.returncode, 1)
        r = self.run_gw("--host", "--append", "--count", "1", "-o", p2, fixture=self.rep, proc=None)
        self.assertEqual(r.returncode, 0)


class RealH100Log(GwTest):
    """The --host log of a real H100 run (tests/fixtures/h100-580-run)."""
    LOG = os.path.join(os.path.dirname(REPLAY), "h100-580-run", "host.csv")

    def test_summary_of_real_log(self):
        import json
        r = self.run_gw("summary", self.LOG, "--format", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, b"")
        s = json.loads(r.stdout)
        procs = {p["pid"]: p for p in s["processes"]}
        self.assertEqual(sorted(procs), [791, 792, 793])
        self.assertEqual(procs[793]["peak_gpu_mem_mib"], 10758)  # grows 256 MiB a second
        self.assertEqual(procs[791]["peak_gpu_mem_mib"], 1770)
        self.assertEqual(procs[791]["peak_rss_mib"], 715)
        self.assertGreater(procs[791]["sm_mean_pct"], 60)  # busy
        self.assertLess(procs[792]["sm_mean_pct"], 30)  # data-loader bound
        self.assertGreater(procs[792]["cpu_mean_pct"], 95)
        self.assertEqual(s["total"]["peak_gpu_mem_mib"], 13430)

    def test_plot_of_real_log(self):
        import xml.etree.ElementTree as ET
        out = self.path("real.svg")
        r = self.run_gw("plot", self.LOG, "-o", out, "--per-process", "--util", "--cpu")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, b"")
        root = ET.parse(out).getroot()
        titles = " ".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}title"))
        self.assertIn("peak 10758 MiB", titles)
