"""--prom-textfile and --who against the real engine: promtool's checker on
the file of every scenario, a real node_exporter reading it through its
textfile collector (also while gpu_watch rewrites it 100 times a second),
and a real Prometheus server scraping that node_exporter. Everything on
127.0.0.1, on free ports, killed at the end. Debian packages: prometheus
(promtool, prometheus), prometheus-node-exporter; the contrib/ files are
checked with systemd-analyze and logrotate when those are installed."""
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import time
import unittest
import urllib.parse
import urllib.request

from tests.e2e.gw import BIN, GwTest, PROC, ROOT, wait_for

PROMTOOL = shutil.which("promtool")
NODE_EXPORTER = shutil.which("prometheus-node-exporter") or shutil.which("node_exporter")
PROMETHEUS = shutil.which("prometheus")
MIB = 1048576
UUID0 = "GPU-1a8e51c5-1f64-9d83-5d60-65f0c235c074"

# What the fake nvidia-smi serves in tests/fixtures/replay/busy, and who the
# fixture tree tests/fixtures/proc/who says owns each process.
BUSY = {  # pid: (MiB, SM %, memory-controller %)
    "442": (1642, 39, 2),
    "443": (3590, None, None),
    "444": (1764, 59, 3),
}
WHO = {  # pid: (user, job_id, container, container_pid)
    "442": ("root", "1392969", "", ""),
    "443": ("4242", "claimed:777", "", ""),  # only its environ names the job
    "444": ("nobody", "", "pod:6b7e2f0a-1c2d-4e5f-8a9b-0c1d2e3f4a5b", "7"),
}

_LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?')


def unescape(v):
    return re.sub(r'\\(.)', lambda m: "\n" if m.group(1) == "n" else m.group(1), v)


def parse_metrics(text):
    """Samples of an exposition: a list of (name, {label: value}, float)."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _LINE.match(line)
        assert m, f"not a sample line: {line!r}"
        labels = {}
        body = m.group(2) or ""
        pos = 0
        while pos < len(body):
            lm = _LABEL.match(body, pos)
            assert lm, f"bad labels in {line!r}"
            labels[lm.group(1)] = unescape(lm.group(2))
            pos = lm.end()
        out.append((m.group(1), labels, float(m.group(3))))
    return out


def find(samples, name, **labels):
    return [s for s in samples if s[0] == name and all(s[1].get(k) == v for k, v in labels.items())]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


class PromCase(GwTest):
    def setUp(self):
        super().setUp()
        self.textdir = self.path("textfile")
        os.mkdir(self.textdir)
        self.prom = os.path.join(self.textdir, "gpu_watch.prom")
        self.addCleanup(self.stop_daemons)
        self._daemons = []

    def daemon(self, argv):
        log = open(self.path(os.path.basename(argv[0]) + ".log"), "wb")
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=self.tmp,
                             start_new_session=True)
        log.close()
        self._daemons.append(p)
        return p

    def stop_daemons(self):
        for p in self._daemons:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
            p.wait()

    def daemon_log(self, name):
        try:
            with open(self.path(name + ".log"), errors="replace") as f:
                return f.read()[-3000:]
        except OSError:
            return ""

    def start_sampler(self, *args, fixture="busy", proc="who", **extra):
        # A repeated --interval is refused: the default only when none is given.
        interval = () if "--interval" in args else ("--interval", "0.2")
        return self.start_gw(*interval, "-q", "-o", "/dev/null", "--prom-textfile",
                             self.prom, *args, fixture=fixture, proc=proc, **extra)

    def snapshot(self, *args, status=0, **kw):
        """Start gpu_watch, take the metrics file once written, stop it with
        SIGTERM and check that it removed the file and exited with status
        (1 when no sample got any data)."""
        p = self.start_sampler(*args, **kw)
        ok = wait_for(lambda: os.path.exists(self.prom), timeout=15)
        err = b""
        if not ok:
            p.kill()
            err = p.communicate()[1]
        self.assertTrue(ok, f"no {self.prom} written: {err.decode(errors='replace')}")
        with open(self.prom) as f:
            text = f.read()
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=15)
        self.assertEqual(p.returncode, status, err.decode(errors="replace"))
        self.assertFalse(os.path.exists(self.prom), "the file stays after a clean exit")
        self.assertEqual(os.listdir(self.textdir), [], "a temporary file was left behind")
        return text


@unittest.skipUnless(PROMTOOL, "promtool not installed (Debian package prometheus)")
class TestPromtool(PromCase):
    """promtool check metrics on every scenario: exit 0, no lint output."""

    def check(self, text, what):
        r = subprocess.run([PROMTOOL, "check", "metrics"], input=text.encode(),
                           capture_output=True, timeout=30)
        out = (r.stdout + r.stderr).decode(errors="replace")
        self.assertEqual((r.returncode, out.strip()), (0, ""), f"{what}:\n{text}")
        self.assertNotRegex(text, r"(?m)^[^#].*\} \S+ \d+$", "a sample with a timestamp")
        self.assertTrue(text.endswith("\n"))
        # Every series unique.
        series = [l.rsplit(" ", 1)[0] for l in text.splitlines() if l and not l.startswith("#")]
        self.assertEqual(len(series), len(set(series)), f"{what}: a duplicate series")
        return parse_metrics(text)

    def test_one_gpu(self):
        s = self.check(self.snapshot(), "one GPU")
        for pid, (mib, sm, mem) in BUSY.items():
            got = find(s, "gpu_watch_process_gpu_memory_bytes", pid=pid)
            self.assertEqual([(g[1]["gpu"], g[1]["gpu_uuid"], g[2]) for g in got],
                             [("0", UUID0, mib * MIB)])
            sm_got = find(s, "gpu_watch_process_sm_utilization_ratio", pid=pid)
            # "Not reported" is no series, never 0.
            self.assertEqual([g[2] for g in sm_got], [] if sm is None else [sm / 100])
            mem_got = find(s, "gpu_watch_process_memory_utilization_ratio", pid=pid)
            self.assertEqual([g[2] for g in mem_got], [] if mem is None else [mem / 100])
            self.assertEqual(len(find(s, "gpu_watch_process_info", pid=pid)), 1)
        self.assertEqual([g[2] for g in find(s, "gpu_watch_gpu_processes", gpu="0")], [3])
        ok = find(s, "gpu_watch_query_success")
        self.assertTrue(ok and all(g[2] == 1 for g in ok), ok)
        self.assertTrue(all(g[2] == 0 for g in find(s, "gpu_watch_query_failures_total")))
        ts = find(s, "gpu_watch_last_sample_timestamp_seconds")[0][2]
        self.assertLess(abs(ts - time.time()), 60)
        dur = find(s, "gpu_watch_sample_duration_seconds")[0][2]
        self.assertTrue(0 <= dur < 10, dur)
        # Without --who, no job_id anywhere and no identity labels.
        self.assertNotIn("job_id", "".join(str(g[1]) for g in s))
        version = subprocess.run([BIN, "--version"], capture_output=True).stdout.decode()
        info = find(s, "gpu_watch_build_info")
        self.assertEqual([(g[1]["version"], g[1]["source"], g[2]) for g in info],
                         [(version.split()[1], "nvidia-smi", 1)])

    def test_every_metric_documented(self):
        """Every family gpu_watch writes (all options on) is in the README's
        table with its type, and in the manual page's PROMETHEUS section."""
        text = self.snapshot("--who", "--host", "--peaks")
        self.check(text, "all options")
        types = dict(re.findall(r"(?m)^# TYPE (\S+) (\S+)$", text))
        self.assertIn("gpu_watch_process_gpu_memory_peak_bytes", types)
        self.assertIn("gpu_watch_build_info", types)
        with open(os.path.join(ROOT, "README.md")) as f:
            readme = f.read()
        with open(os.path.join(ROOT, "gpu_watch.1")) as f:
            man = f.read()
        man = man[man.index(".SH PROMETHEUS"):man.index(".SH SIGNALS")]
        rows = {m.group(1): m.group(2) for m in re.finditer(r"(?m)^\| `(gpu_watch_\w+)` \| ([^|]+)\|", readme)}
        for name, kind in types.items():
            self.assertIn(name, rows, f"{name} is not in the README's metric table")
            self.assertTrue(rows[name].strip().startswith(kind), f"{name}: {rows[name]} is not a {kind}")
            self.assertRegex(man, rf"(?m)^\.B {name}\n(?i:{kind})",
                             f"{name} is not in the manual page with its type")

    def test_prom_command(self):
        """--prom-command name publishes the program name only, none no
        command label; the CSV keeps the whole line either way."""
        s = self.check(self.snapshot("--prom-command", "name"), "--prom-command name")
        info = find(s, "gpu_watch_process_info")
        self.assertEqual(sorted(g[1]["command"] for g in info), ["python3"] * 3)
        s = self.check(self.snapshot("--prom-command", "none"), "--prom-command none")
        info = find(s, "gpu_watch_process_info")
        self.assertEqual(len(info), 3)
        self.assertFalse([g for g in info if "command" in g[1]])

    def test_pmon_serves_memory(self):
        """compute-apps fails, pmon gives the memory: the same labels as when
        compute-apps answers (the UUID from the GPU map), not gpu_uuid=""."""
        s = self.check(self.snapshot(FAKE_SMI_FAULT="fail_driver", FAKE_SMI_FAULT_ON="apps"),
                       "pmon only")
        got = find(s, "gpu_watch_process_gpu_memory_bytes")
        self.assertEqual(sorted((g[1]["pid"], g[1]["gpu"], g[1]["gpu_uuid"], g[2]) for g in got),
                         sorted((pid, "0", UUID0, v[0] * MIB) for pid, v in BUSY.items()))
        self.assertEqual([g[2] for g in find(s, "gpu_watch_query_success", query="smi:apps")], [0])

    def test_pid_listed_twice(self):
        """The driver lists a PID twice on one GPU: one series (a duplicate
        fails node_exporter's whole scrape), counted once."""
        s = self.check(self.snapshot(fixture="twice"), "a PID listed twice")
        self.assertEqual(len(find(s, "gpu_watch_process_gpu_memory_bytes", pid="442")), 1)
        self.assertEqual([g[2] for g in find(s, "gpu_watch_gpu_processes", gpu="0")], [3])

    @unittest.skipUnless(os.geteuid() == 0, "needs root: a private /etc/passwd (unshare -m)")
    def test_winbind_user(self):
        """A user name with a backslash and a quote (Winbind's CORP\\ana),
        through the real NSS: escaped in the user label, so promtool and
        node_exporter read the file (a newline: tests/test_prom.c)."""
        passwd = self.path("passwd")
        with open("/etc/passwd") as f:
            base = f.read()
        with open(passwd, "w") as f:
            f.write(base + 'CORP\\ana"q:x:4242:4242::/nonexistent:/usr/sbin/nologin\n')
        # Inside a private mount namespace only: the machine's file is untouched.
        env = self.env(proc="who")
        p = subprocess.Popen(["unshare", "-m", "sh", "-c",
                              'mount --bind "$0" /etc/passwd && exec "$@"', passwd, BIN,
                              "--interval", "0.2", "-q", "-o", "/dev/null", "--who",
                              "--prom-textfile", self.prom],
                             env=env, cwd=self.tmp, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self._procs = getattr(self, "_procs", []) + [p]
        ok = wait_for(lambda: os.path.exists(self.prom), timeout=15)
        if not ok:
            p.kill()
        self.assertTrue(ok, p.communicate()[1].decode() if not ok else "")
        with open(self.prom) as f:
            text = f.read()
        p.send_signal(signal.SIGTERM)
        p.communicate(timeout=15)
        s = self.check(text, "a Winbind user name")
        self.assertEqual(find(s, "gpu_watch_process_info", pid="443")[0][1]["user"],
                         'CORP\\ana"q')
        self.assertIn('user="CORP\\\\ana\\"q"', text)
        if NODE_EXPORTER:
            port = free_port()
            with open(self.prom, "w") as f:
                f.write(text)
            self.daemon([NODE_EXPORTER, f"--web.listen-address=127.0.0.1:{port}",
                         "--collector.disable-defaults", "--collector.textfile",
                         f"--collector.textfile.directory={self.textdir}"])
            url = f"http://127.0.0.1:{port}/metrics"

            def scraped():
                try:
                    return "gpu_watch_process_info" in http_get(url, timeout=1)
                except OSError:
                    return False
            self.assertTrue(wait_for(scraped, timeout=20, step=0.1),
                            "node_exporter did not serve the file")
            self.assertIn('node_textfile_scrape_error 0', http_get(url))

    def test_eight_gpus(self):
        s = self.check(self.snapshot(fixture="gpu8", proc="gpu8"), "8 GPUs")
        counts = {g[1]["gpu"]: g[2] for g in find(s, "gpu_watch_gpu_processes")}
        self.assertEqual(sorted(counts), [str(i) for i in range(8)])
        mem = find(s, "gpu_watch_process_gpu_memory_bytes")
        self.assertEqual(sum(counts.values()), len(mem))
        self.assertEqual({g[1]["gpu"] for g in mem}, set(counts))

    def test_idle(self):
        s = self.check(self.snapshot(fixture="idle", proc="busy"), "idle")
        counts = find(s, "gpu_watch_gpu_processes")
        self.assertTrue(counts, "an idle GPU must have a count of 0, not no series")
        self.assertTrue(all(g[2] == 0 for g in counts))
        self.assertEqual(find(s, "gpu_watch_process_gpu_memory_bytes"), [])

    def test_failing_queries(self):
        s = self.check(self.snapshot(FAKE_SMI_FAULT="fail_driver", status=1), "failing queries")
        ok = find(s, "gpu_watch_query_success")
        self.assertTrue(ok and all(g[2] == 0 for g in ok), ok)
        fails = find(s, "gpu_watch_query_failures_total")
        self.assertTrue(fails and all(g[2] >= 1 for g in fails), fails)

    def test_driver_fails_mid_run(self):
        """The GPUs were listed, then every query fails: a failed query is not
        an idle GPU, so no process count and no per-process series (beside
        query_success 0), rather than gpu_processes 0."""
        p = self.start_sampler(FAKE_SMI_FAULT="fail_driver", FAKE_SMI_FAULT_FROM="2")
        failed = 'gpu_watch_query_success{query="smi:apps"} 0'

        def text():
            try:
                with open(self.prom) as f:
                    t = f.read()
                return t if failed in t else None
            except FileNotFoundError:
                return None
        self.assertTrue(wait_for(text, timeout=15), "no sample with the failure")
        t = text()
        p.send_signal(signal.SIGTERM)
        p.communicate(timeout=15)
        s = self.check(t, "driver failing mid-run")
        self.assertEqual(find(s, "gpu_watch_gpu_processes"), [])
        self.assertEqual([g for g in s if g[0].startswith("gpu_watch_process_")], [])

    def test_odd_command_lines(self):
        proc = self.path("proc")
        shutil.copytree(os.path.join(PROC, "who"), proc)
        odd = b'python3\0-c\0print("a\\\\b")\nnext\0--tag=\xc3\xa9t\xc3\xa9\xff\0'
        with open(os.path.join(proc, "442", "cmdline"), "wb") as f:
            f.write(odd)
        with open(os.path.join(proc, "443", "cmdline"), "wb") as f:
            f.write(b"x" * 5000 + b"\0")
        s = self.check(self.snapshot("--who", proc=proc), "odd command lines")
        cmd = find(s, "gpu_watch_process_info", pid="442")[0][1]["command"]
        # Control characters become spaces (as ps shows them), quotes and
        # backslashes survive escaping, a bad UTF-8 byte becomes U+FFFD (the
        # one sanitiser, text.h).
        self.assertEqual(cmd, 'python3 -c print("a\\\\b") next --tag=\u00e9t\u00e9\ufffd')
        long = find(s, "gpu_watch_process_info", pid="443")[0][1]["command"]
        self.assertEqual(long, "x" * 128)

    def test_host(self):
        s = self.check(self.snapshot("--host"), "--host")
        rss = {g[1]["pid"]: g[2] for g in find(s, "gpu_watch_process_resident_memory_bytes")}
        self.assertEqual(rss, {"442": 712 * MIB, "443": 603 * MIB, "444": 702 * MIB})
        cpu = find(s, "gpu_watch_process_cpu_usage_ratio")
        self.assertEqual(len(cpu), 3)
        self.assertTrue(all(g[2] >= 0 for g in cpu))

    def test_who(self):
        s = self.check(self.snapshot("--who", "--host"), "--who")
        for pid, (user, job, container, _) in WHO.items():
            info = find(s, "gpu_watch_process_info", pid=pid)
            self.assertEqual(len(info), 1)
            lab = info[0][1]
            self.assertEqual((lab["user"], lab["job_id"], lab["container"]), (user, job, container))
            mem = find(s, "gpu_watch_process_gpu_memory_bytes", pid=pid)[0][1]
            self.assertEqual(mem.get("job_id", ""), job)


@unittest.skipUnless(NODE_EXPORTER, "node_exporter not installed (Debian package prometheus-node-exporter)")
class TestNodeExporter(PromCase):
    def start_node_exporter(self):
        port = free_port()
        self.daemon([NODE_EXPORTER, f"--web.listen-address=127.0.0.1:{port}",
                     "--collector.disable-defaults", "--collector.textfile",
                     f"--collector.textfile.directory={self.textdir}"])
        url = f"http://127.0.0.1:{port}/metrics"

        def up():
            try:
                http_get(url, timeout=1)
                return True
            except OSError:
                return False
        self.assertTrue(wait_for(up, timeout=20, step=0.1),
                        "node_exporter did not start: " + self.daemon_log(os.path.basename(NODE_EXPORTER)))
        return port, url

    def test_scrape(self):
        _, url = self.start_node_exporter()
        self.start_sampler("--who")
        self.assertTrue(wait_for(lambda: os.path.exists(self.prom), timeout=15))
        s = parse_metrics(http_get(url))
        self.assertEqual([g[2] for g in find(s, "node_textfile_scrape_error")], [0])
        for pid, (mib, _, _) in BUSY.items():
            got = find(s, "gpu_watch_process_gpu_memory_bytes", pid=pid, gpu="0", gpu_uuid=UUID0)
            self.assertEqual([g[2] for g in got], [mib * MIB], pid)
            info = find(s, "gpu_watch_process_info", pid=pid)[0][1]
            self.assertEqual(info.get("user"), WHO[pid][0])
        # The README's staleness alert matches the file label with ".*gpu_watch.prom"
        # (node_exporter 1.5 puts the base name there, later ones the path).
        mtime = [g for g in find(s, "node_textfile_mtime_seconds")
                 if re.fullmatch(r".*gpu_watch.prom", g[1].get("file", ""))]
        self.assertEqual(len(mtime), 1, "no node_textfile_mtime_seconds for our file")
        self.assertLess(abs(mtime[0][2] - time.time()), 60)

    def test_atomic_rewrites(self):
        """Scrapes while gpu_watch replaces the file 100 times a second:
        never a scrape error, never a partial file."""
        _, url = self.start_node_exporter()
        p = self.start_sampler("--who", "--interval", "0.01")
        self.assertTrue(wait_for(lambda: os.path.exists(self.prom), timeout=15))
        m0 = os.stat(self.prom).st_mtime_ns
        scrapes = 0
        end = time.monotonic() + 3
        while time.monotonic() < end:
            s = parse_metrics(http_get(url))
            scrapes += 1
            self.assertEqual([g[2] for g in find(s, "node_textfile_scrape_error")], [0])
            self.assertEqual(len(find(s, "gpu_watch_process_gpu_memory_bytes")), 3)
            self.assertEqual(len(find(s, "gpu_watch_last_sample_timestamp_seconds")), 1)
        self.assertGreater(scrapes, 10)
        self.assertIsNone(p.poll(), "gpu_watch stopped")
        self.assertNotEqual(os.stat(self.prom).st_mtime_ns, m0, "the file was not rewritten")
        p.send_signal(signal.SIGTERM)
        p.communicate(timeout=15)
        self.assertEqual(p.returncode, 0)
        # Gone after a clean exit: node_exporter no longer serves our series.
        s = parse_metrics(http_get(url))
        self.assertEqual(find(s, "gpu_watch_process_gpu_memory_bytes"), [])

    @unittest.skipUnless(PROMETHEUS, "prometheus not installed (Debian package prometheus)")
    def test_prometheus_sum_by_job(self):
        ne_port, _ = self.start_node_exporter()
        self.start_sampler("--who")
        port = free_port()
        cfg = self.path("prometheus.yml")
        with open(cfg, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                    "scrape_configs:\n  - job_name: node\n    static_configs:\n"
                    f"      - targets: ['127.0.0.1:{ne_port}']\n")
        self.daemon([PROMETHEUS, f"--config.file={cfg}", f"--storage.tsdb.path={self.path('tsdb')}",
                     f"--web.listen-address=127.0.0.1:{port}"])

        def query(promql, by):
            """{value of label by: number} of an instant query."""
            q = urllib.parse.quote(promql)
            r = json.loads(http_get(f"http://127.0.0.1:{port}/api/v1/query?query={q}", timeout=5))
            self.assertEqual(r.get("status"), "success", r)
            return {v["metric"].get(by, ""): float(v["value"][1]) for v in r["data"]["result"]}

        result = {}

        def answered():
            try:
                result.update(query("sum by (job_id) (gpu_watch_process_gpu_memory_bytes)", "job_id"))
            except (OSError, ValueError):
                return False
            return len(result) == 3
        self.assertTrue(wait_for(answered, timeout=60, step=0.5),
                        f"no answer from Prometheus: {result}\n" + self.daemon_log("prometheus"))
        self.assertEqual(result, {"1392969": 1642 * MIB, "claimed:777": 3590 * MIB, "": 1764 * MIB})
        # The README's examples: by user through the info series, a job's
        # peak, GPUs held by idle processes (443 reports no SM use). A
        # subquery sees a scrape only from its next step on: retried.
        def eventually(promql, by, want):
            got = {}

            def same():
                got.clear()
                got.update(query(promql, by))
                return got == want
            self.assertTrue(wait_for(same, timeout=30, step=0.5), f"{promql}: {got} != {want}")
        eventually("sum by (user) (gpu_watch_process_gpu_memory_bytes * on (instance, pid) "
                   "group_left (user) gpu_watch_process_info)", "user",
                   {"root": 1642 * MIB, "4242": 3590 * MIB, "nobody": 1764 * MIB})
        eventually('max_over_time(sum(gpu_watch_process_gpu_memory_bytes{job_id="1392969"})[5m:1s])',
                   "job_id", {"": 1642 * MIB})
        eventually("count by (instance, gpu) (gpu_watch_process_gpu_memory_bytes unless "
                   "on (instance, gpu, pid) (max_over_time("
                   "gpu_watch_process_sm_utilization_ratio[1h]) > 0))", "gpu", {"0": 1})


class TestContrib(unittest.TestCase):
    @unittest.skipUnless(shutil.which("systemd-analyze"), "systemd-analyze not installed")
    def test_unit(self):
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(ROOT, "contrib", "gpu_watch.service")) as f:
                unit = f.read()
            self.assertIn("/usr/local/bin/gpu_watch", unit)
            self.assertIn("--prom-textfile /var/lib/prometheus/node-exporter/", unit)
            self.assertIn("Restart=on-failure", unit)
            # verify checks that ExecStart exists and that the man page
            # named in Documentation= opens: point both at this tree.
            unit = unit.replace("/usr/local/bin/gpu_watch", os.environ.get(
                "GW_BIN", os.path.join(ROOT, "build", "gpu_watch")))
            path = os.path.join(d, "gpu_watch.service")
            with open(path, "w") as f:
                f.write(unit)
            os.mkdir(os.path.join(d, "man1"))
            shutil.copy(os.path.join(ROOT, "gpu_watch.1"), os.path.join(d, "man1"))
            r = subprocess.run(["systemd-analyze", "verify", path], capture_output=True,
                               timeout=60, env=dict(os.environ, MANPATH=d))
            self.assertEqual((r.returncode, r.stderr.decode().strip()), (0, ""))

    def test_readme_logrotate_signals_the_service(self):
        """The README's logrotate recipe signals the service's PID, as
        contrib/ does: pkill -x would signal every user's own runs too."""
        with open(os.path.join(ROOT, "README.md")) as f:
            readme = f.read()
        block = readme[readme.index("**logrotate**"):readme.index("## Exit status")]
        block = block[block.index("```"):block.index("```", block.index("```") + 3)]
        self.assertNotIn("pkill", block)
        self.assertIn("systemctl show --property=MainPID --value gpu_watch.service", block)

    @unittest.skipUnless(shutil.which("logrotate"), "logrotate not installed")
    def test_logrotate(self):
        try:
            pwd.getpwnam("prometheus")
        except KeyError:
            self.skipTest("no prometheus user (Debian package prometheus-node-exporter)")
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            conf = os.path.join(ROOT, "contrib", "gpu_watch.logrotate")
            with open(conf) as f:
                self.assertRegex(f.read(), r"kill -HUP")
            r = subprocess.run(["logrotate", "-d", "-s", os.path.join(d, "status"), conf],
                               capture_output=True, timeout=60)
            out = (r.stdout + r.stderr).decode()
            self.assertEqual(r.returncode, 0, out)
            self.assertNotRegex(out, r"(?i)error")


class TestValidRange(PromCase):
    """One validity range for the writer and the readers: a memory value no
    GPU can hold (999999999999999999 MiB, over 1 PiB) is unknown in the CSV
    and in the metrics, so summary reads every row the sampler wrote."""

    def test_impossible_memory_is_unknown_everywhere(self):
        r = self.run_gw("--count", "1", "-q", "-o", "log.csv", "--prom-textfile", self.prom,
                        fixture="huge")
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        from tests.e2e.gw import read_csv
        _, rows = read_csv(self.path("log.csv"))
        mem = {row[2]: row[4] for row in rows}
        self.assertEqual(mem, {"442": "", "443": "3590", "444": "1764"})
        s = subprocess.run([BIN, "summary", "log.csv"], capture_output=True, cwd=self.tmp,
                           timeout=30)
        self.assertEqual(s.returncode, 0, s.stderr.decode())
        self.assertNotIn(b"malformed", s.stderr)


class TestOneGpuFails(PromCase):
    """NVML lists seven GPUs' processes and fails on one (the first handle,
    GPU 7): that GPU has no process count (not 0), the others keep theirs."""

    def test_failed_gpu_has_no_count(self):
        from tests.e2e.test_nvml import LIB, SCEN
        scen = self.path("scenario.txt")
        with open(os.path.join(SCEN, "gpu8.txt")) as f, open(scen, "w") as out:
            out.write(f.read() + "fault procs_error 1\n")
        p = self.start_sampler("--source", "nvml", fixture="gpu8", proc="gpu8",
                               LD_LIBRARY_PATH=LIB[""], FAKE_NVML_SCENARIO=scen)
        self.assertTrue(wait_for(lambda: os.path.exists(self.prom), timeout=15))
        with open(self.prom) as f:
            text = f.read()
        p.send_signal(signal.SIGTERM)
        p.communicate(timeout=15)
        s = parse_metrics(text)
        counts = {g[1]["gpu"]: g[2] for g in find(s, "gpu_watch_gpu_processes")}
        self.assertEqual(sorted(counts), [str(i) for i in range(7)], text)
        self.assertEqual(counts["0"], 2)  # 5000 and 9000
        self.assertEqual([g[2] for g in find(s, "gpu_watch_query_success", query="nvml:procs")],
                         [0])


def unit_settings(path):
    """The [Service] settings of a unit file: {key: [values]}, continuation
    lines joined, comments left out."""
    out = {}
    with open(path) as f:
        text = f.read().replace("\\\n", " ")
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;[" or "=" not in line:
            continue
        k, v = line.split("=", 1)
        out.setdefault(k, []).append(v)
    return out


def as_nobody():
    os.setgroups([])
    os.setgid(65534)
    os.setuid(65534)


@unittest.skipUnless(os.geteuid() == 0, "needs root: runs the unit's commands as nobody")
class TestUnitAsInstalled(GwTest):
    """The unit's own ExecStartPre= and ExecStart= lines (read from
    contrib/gpu_watch.service), run as the unit runs them (ExecStartPre= as
    root, ExecStart= as an unprivileged user: nobody here) against a textfile
    directory with Debian's ownership (root:root 0755)."""

    def setUp(self):
        super().setUp()
        self.unit = unit_settings(os.path.join(ROOT, "contrib", "gpu_watch.service"))
        os.chmod(self.tmp, 0o755)
        os.chmod(self.state, 0o777)
        self.textdir = self.path("node-exporter")
        os.mkdir(self.textdir, 0o755)  # root:root 0755, as Debian ships it
        self.logdir = self.path("log")
        os.mkdir(self.logdir, 0o755)
        os.chown(self.logdir, 65534, 65534)  # LogsDirectory= gives it to User=

    def argv(self, line):
        """A unit command line as argv, with this tree's paths."""
        import shlex
        user, group = self.unit["User"][0], self.unit["Group"][0]
        argv = shlex.split(line.lstrip("+-@!:"))
        subst = {"/usr/local/bin/gpu_watch": BIN,
                 "/var/lib/prometheus/node-exporter": self.textdir,
                 "/var/log/gpu_watch": self.logdir}
        out = []
        for a in argv:
            for k, v in subst.items():
                a = a.replace(k, v)
            prev = out[-1] if out else ""
            if prev == "-o" and a == user:
                a = "nobody"
            elif prev == "-g" and a == group:
                a = "nogroup"
            out.append(a)
        return out

    def start(self):
        argv = self.argv(self.unit["ExecStart"][0])
        self.assertEqual(argv[0], BIN)
        p = subprocess.Popen(argv, env=self.env(proc="who"), cwd=self.tmp, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, preexec_fn=as_nobody)
        self._procs = getattr(self, "_procs", []) + [p]
        return p

    def prom_path(self):
        argv = self.argv(self.unit["ExecStart"][0])
        return argv[argv.index("--prom-textfile") + 1]

    def test_without_exec_start_pre_exits_1_at_start(self):
        """Debian's directory as shipped: one clear line, exit 1 at once (not
        a healthy-looking run that never publishes), and an exit status
        that the unit does not restart on."""
        p = self.start()
        try:
            _, err = p.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            _, err = p.communicate()
            self.fail("still running with an unwritable textfile directory: " + err.decode())
        err = err.decode()
        self.assertEqual(p.returncode, 1, err)
        lines = [l for l in err.splitlines() if "GPU_WATCH_PROC_ROOT" not in l]
        self.assertEqual(len(lines), 1, err)
        self.assertIn(self.prom_path(), lines[0])
        self.assertIn("Permission denied", lines[0])
        self.assertIn("1", self.unit["RestartPreventExitStatus"][0].split())
        self.assertEqual(os.listdir(self.textdir), [])

    def test_exec_start_pre_then_exec_start_publishes(self):
        pre = self.unit["ExecStartPre"]
        self.assertEqual(len(pre), 1)
        self.assertTrue(pre[0].startswith("+"), "ExecStartPre= must run as root")
        r = subprocess.run(self.argv(pre[0]), capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        st = os.stat(self.textdir)
        self.assertEqual((st.st_uid, st.st_mode & 0o7777), (65534, 0o755))
        p = self.start()
        prom = self.prom_path()
        ok = wait_for(lambda: os.path.exists(prom), timeout=15)
        if not ok:
            p.kill()
        self.assertTrue(ok, "no metrics file: " + (p.communicate()[1].decode() if not ok else ""))
        with open(prom) as f:
            self.assertIn("gpu_watch_process_gpu_memory_bytes{", f.read())
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=15)
        self.assertEqual(p.returncode, 0, err.decode())
        self.assertFalse(os.path.exists(prom))
        self.assertTrue(os.path.getsize(os.path.join(self.logdir, "gpu_log.csv")) > 0)

    def test_unit_settings(self):
        self.assertEqual(set(self.unit["RestartPreventExitStatus"][0].split()), {"1", "2"})
        fams = set(self.unit["RestrictAddressFamilies"][0].split())
        # NSS modules that talk to LDAP over TCP (--who).
        self.assertTrue({"AF_UNIX", "AF_INET", "AF_INET6"} <= fams, fams)
        self.assertIn("/var/lib/prometheus/node-exporter", self.unit["ReadWritePaths"][0])

    def test_later_failure_warns_once(self):
        """A write that fails after the first one worked: one warning that
        says which sample node_exporter still serves; the run goes on."""
        os.chown(self.textdir, 65534, 65534)
        prom = os.path.join(self.textdir, "gpu_watch.prom")
        p = subprocess.Popen([BIN, "-q", "--interval", "0.1", "-o", "/dev/null",
                              "--prom-textfile", prom], env=self.env(), cwd=self.tmp,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=as_nobody)
        self._procs = getattr(self, "_procs", []) + [p]
        self.assertTrue(wait_for(lambda: os.path.exists(prom), timeout=15))
        os.chown(self.textdir, 0, 0)  # Debian's ownership again
        time.sleep(1.0)  # about 10 samples
        self.assertIsNone(p.poll(), "a later failure must not end the run")
        os.chown(self.textdir, 65534, 65534)
        mtime = os.stat(prom).st_mtime
        self.assertTrue(wait_for(lambda: os.stat(prom).st_mtime > mtime, timeout=10))
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=15)
        err = err.decode()
        self.assertEqual(p.returncode, 0, err)
        warn = [l for l in err.splitlines() if "cannot write" in l]
        self.assertEqual(len(warn), 1, err)
        self.assertIn("Permission denied", warn[0])
        self.assertIn("node_exporter keeps serving the sample of", warn[0])
        self.assertIn("recovered", err)


if __name__ == "__main__":
    unittest.main()
