"""End-to-end: `gpu_watch summary` on fixture logs in every format (JSON
through Python's json module, CSV through its csv module), its answers to
bad files, and the summary at the end of a run."""
import csv
import io
import json
import os
import re
import subprocess

from tests.e2e.gw import GwTest, ROOT

FIX = os.path.join(ROOT, "tests", "fixtures", "summary")
RUN = os.path.join(FIX, "run.csv")


class Summary(GwTest):
    def summary(self, *args, stdin=None):
        e = self.env()
        return subprocess.run([self.bin(), "summary", *args], env=e, capture_output=True,
                              text=True, cwd=self.tmp, input=stdin, timeout=30)

    def bin(self):
        from tests.e2e import gw
        return gw.BIN

    def test_json(self):
        r = self.summary(RUN, "--format", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        d = json.loads(r.stdout)
        self.assertEqual(d["first"], "2025-01-10T10:00:00Z")
        self.assertEqual(d["last"], "2025-01-10T10:05:40Z")
        self.assertEqual(d["span_s"], 340)
        self.assertEqual(d["interval_s"], 10)
        self.assertEqual(d["samples"], 6)
        self.assertEqual(d["skipped_rows"], 1)
        self.assertEqual(d["gaps"], 1)
        procs = d["processes"]
        self.assertEqual([(p["pid"], p["cmd"]) for p in procs], [
            (100, "python3 train.py --lr 0.1"), (100, "other job"),
            (200, 'python3 "eval, v2".py')])
        train = procs[0]
        self.assertEqual(train["gpus"], [0, 1])
        self.assertEqual(train["peak_gpu_mem_mib"], 4000)
        self.assertEqual(train["peak_at"], "2025-01-10T10:00:10Z")
        self.assertEqual(train["sm_mean_pct"], 70)
        self.assertEqual(train["sm_max_pct"], 90)
        self.assertEqual(train["samples"], 3)
        self.assertIsNone(train["peak_rss_mib"])
        self.assertEqual([(g["gpu"], g["peak_gpu_mem_mib"]) for g in d["gpus"]],
                         [(0, 4000), (1, 2600)])
        self.assertEqual(d["total"], {"peak_gpu_mem_mib": 4600, "peak_at": "2025-01-10T10:00:20Z"})
        self.assertIn("Peaks between samples are not seen", d["caveat"])
        self.assertIn("malformed", r.stderr)

    def test_json_host_and_compact(self):
        d = json.loads(self.summary(os.path.join(FIX, "host.csv"), "--format=json").stdout)
        self.assertEqual(d["processes"][0]["cpu_mean_pct"], 200)
        self.assertEqual(d["processes"][0]["peak_rss_mib"], 900)
        comp = os.path.join(ROOT, "tests", "fixtures", "logs", "compact.csv")
        r = self.summary(comp, "--format", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        d = json.loads(r.stdout)
        self.assertEqual(len(d["processes"]), 1)
        self.assertIsNone(d["processes"][0]["pid"])
        self.assertEqual(d["processes"][0]["peak_gpu_mem_mib"], 1650)

    def test_csv(self):
        r = self.summary(RUN, "--format", "csv")
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = list(csv.DictReader(io.StringIO(r.stdout)))
        self.assertEqual([x["row"] for x in rows], ["process"] * 3 + ["gpu", "gpu", "run"])
        self.assertEqual(rows[2]["cmd"], 'python3 "eval, v2".py')
        self.assertEqual(rows[0]["gpus"], "0,1")
        self.assertEqual(rows[0]["peak_gpu_mem_mib"], "4000")
        self.assertEqual(rows[5]["peak_gpu_mem_mib"], "4600")
        self.assertEqual(rows[5]["interval_s"], "10.000")

    def test_text_and_md(self):
        r = self.summary(RUN)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("4000 MiB", r.stdout)
        self.assertEqual(r.stdout.count("Peaks between samples are not seen"), 1)
        r = self.summary(RUN, "--format", "md")
        lines = [l for l in r.stdout.splitlines() if l.startswith("|")]
        # Header, rule, 3 processes, 2 GPUs, all GPUs; every row the same
        # cells (with Peak source and Sampled peak: every summary has them).
        self.assertEqual(len(lines), 8)
        self.assertEqual({l.count(" | ") for l in lines[2:]}, {11})
        self.assertIn("| sampled |", lines[2])

    def test_stdin(self):
        with open(RUN) as f:
            r = self.summary("-", "--format", "json", stdin=f.read())
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["log"], "standard input")

    def test_bad_files(self):
        def write(name, text):
            p = self.path(name)
            with open(p, "w") as f:
                f.write(text)
            return p
        cases = [
            (self.path("missing.csv"), "cannot read"),
            (write("empty.csv", ""), "is empty"),
            (write("header.csv", "timestamp,gpu_index,pid,cmd,gpu_mem_mib,sm_util_pct,mem_util_pct\n"),
             "has a header but no data rows"),
            (write("other.csv", "a,b,c\n1,2,3\n"), "is not a gpu_watch log"),
            (write("allbad.csv", "timestamp,used_mib\nnot a time,1\n"), "no readable rows"),
            (self.tmp, "cannot read"),
            ("/dev/zero", "is not a gpu_watch log: line 1 is longer than 1 MiB"),
            (write("impossible.csv", "timestamp,gpu_index,pid,cmd,gpu_mem_mib,sm_util_pct,"
                   "mem_util_pct\n2025-01-10T10:00:00Z,0,1,a,99999999999999999999,5,1\n"
                   "2025-01-10T10:00:01Z,0,1,a,5,150,1\n"), "no readable rows: all 2"),
        ]
        for path, msg in cases:
            r = self.summary(path)
            self.assertEqual(r.returncode, 1, (path, r.stderr))
            self.assertIn(msg, r.stderr)
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
            self.assertEqual(r.stdout, "")

    def test_every_json_field_is_documented(self):
        """Issue 19 item 8: the README's table names every JSON key that
        summary writes (per process, --host, driver peaks, --by job/user)."""
        with open(os.path.join(ROOT, "README.md")) as f:
            readme = f.read()
        start = readme.index("#### Fields of `--format json`")
        table = readme[start:readme.index("\n#", start + 1)]
        documented = set()
        for line in table.splitlines():
            if line.startswith("| `"):
                documented |= set(re.findall(r"`([a-z_]+)`", line.split("|")[1]))

        def keys(v):
            if isinstance(v, dict):
                return set(v) | set().union(*map(keys, v.values()))
            if isinstance(v, list):
                return set().union(set(), *map(keys, v))
            return set()

        seen = set()
        for log, extra in ((RUN, []), (os.path.join(FIX, "host.csv"), []),
                           (os.path.join(FIX, "peaks.csv"), []),
                           (os.path.join(FIX, "who.csv"), ["--by", "job"]),
                           (os.path.join(FIX, "who.csv"), ["--by", "user"])):
            r = self.summary(log, "--format", "json", *extra)
            self.assertEqual(r.returncode, 0, r.stderr)
            seen |= keys(json.loads(r.stdout))
        self.assertEqual(sorted(seen - documented), [])

    def test_usage(self):
        for args in ([], [RUN, "--format", "xml"], [RUN, "--format"], [RUN, "--bogus"],
                     [RUN, RUN]):
            r = self.summary(*args)
            self.assertEqual(r.returncode, 2, (args, r.stderr))
            self.assertIn("gpu_watch summary:", r.stderr)
        # Issue 19 item 17: one value each, as for the sampler's options.
        for args, opt in (([RUN, "--format", "csv", "--format=json"], "--format"),
                          ([RUN, "--width", "80", "--width", "90"], "--width"),
                          ([RUN, "--by", "job", "--by=user"], "--by")):
            r = self.summary(*args)
            self.assertEqual(r.returncode, 2, (args, r.stderr))
            self.assertIn(f"{opt} given twice", r.stderr)
        for args in ([RUN, "--width", "39"], [RUN, "--width", "x"], [RUN, "--width"]):
            r = self.summary(*args)
            self.assertEqual(r.returncode, 2, (args, r.stderr))
            self.assertIn("--width", r.stderr)
        r = self.summary("--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("--format", r.stdout)
        self.assertIn("--width", r.stdout)

    def test_not_cut_into_a_pipe(self):
        """stdout is a pipe here: every command whole; --width cuts."""
        r = self.run_gw("--count", "3", "--interval", "1", "-o", "out.csv")
        self.assertEqual(r.returncode, 0, r.stderr)
        long_cmd = '--lr=3e-4 --note=a "quoted" arg'
        env = self.env()
        env.pop("COLUMNS", None)
        whole = self.run_gw("summary", "out.csv", env=env)
        self.assertEqual(whole.returncode, 0, whole.stderr)
        self.assertIn(long_cmd, whole.stdout.decode())
        cut = self.run_gw("summary", "out.csv", "--width", "100")
        self.assertNotIn(long_cmd, cut.stdout.decode())
        self.assertIn("...", cut.stdout.decode())
        # Issue 19 item 6: COLUMNS, when set, says how wide (as for the end
        # of a run).
        cols = self.run_gw("summary", "out.csv", COLUMNS="60").stdout.decode()
        self.assertNotIn(long_cmd, cols)
        self.assertLessEqual(max(len(l) for l in cols.splitlines()), 60, cols)

    def test_width_bounds_every_line(self):
        """Issue 19 item 6: --width N keeps every line within N columns (it
        used to cut only the command: --width 80 printed 104-column lines)."""
        r = self.run_gw("--count", "3", "--interval", "1", "--host", "-o", "out.csv")
        self.assertEqual(r.returncode, 0, r.stderr)
        logs = [RUN, os.path.join(FIX, "host.csv"), self.path("out.csv")]
        for log in logs:
            whole = self.summary(log).stdout
            for n in (40, 57, 80, 100, 132):
                with self.subTest(log=os.path.basename(log), width=n):
                    r = self.summary(log, "--width", str(n))
                    self.assertEqual(r.returncode, 0, r.stderr)
                    lines = r.stdout.splitlines()
                    self.assertLessEqual(max(len(l) for l in lines), n, r.stdout)
                    # Nothing lost: each PID and every number of the whole
                    # rendering is still there.
                    words = set(r.stdout.split())
                    for pid in {l.split()[0] for l in whole.splitlines()[2:]
                                if l.split() and l.split()[0].isdigit()}:
                        self.assertIn(pid, words)
                    self.assertIn("MiB", r.stdout)


HDR = "timestamp,gpu_index,pid,cmd,gpu_mem_mib,sm_util_pct,mem_util_pct\n"


class Zones(Summary):
    """Timestamps with milliseconds, Z, an offset or none: read alike, and
    each shown in its own zone, never naive ones as UTC."""

    def log(self, name, stamps):
        p = self.path(name)
        with open(p, "w") as f:
            f.write(HDR + "".join(f"{t},0,7,job,{100 + i},5,1\n" for i, t in enumerate(stamps)))
        return p

    def run_tz(self, path, tz, *args):
        e = self.env()
        e["TZ"] = tz
        return subprocess.run([self.bin(), "summary", path, *args], env=e, capture_output=True,
                              text=True, cwd=self.tmp, timeout=30)

    def test_milliseconds_in_every_form(self):
        for suffix in ("", "Z", "+01:00"):
            stamps = [f"2026-11-20T10:00:0{i // 5}.{i % 5 * 2}00{suffix}" for i in range(10)]
            r = self.run_tz(self.log("ms.csv", stamps), "Europe/Paris")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("10 samples every 0.2 s\n", r.stdout)
            zone = {"": "local time", "Z": "UTC", "+01:00": "UTC+01:00"}[suffix]
            self.assertIn(f"(2s, {zone})", r.stdout)
            j = json.loads(self.run_tz(self.path("ms.csv"), "Europe/Paris", "--format",
                                       "json").stdout)
            self.assertEqual(j["interval_s"], 0.2)
            self.assertEqual(j["first"], "2026-11-20T10:00:00" + suffix)

    def test_naive_log_is_local_time_even_in_utc(self):
        r = self.run_tz(self.log("n.csv", ["2026-11-20T10:00:00", "2026-11-20T10:00:01"]), "UTC")
        self.assertIn("2026-11-20T10:00:00 to 10:00:01 (1s, local time)", r.stdout)
        self.assertNotIn("UTC", r.stdout.splitlines()[0])

    def test_offset_log_across_dst(self):
        """Paris leaves summer time at 03:00+02:00 = 02:00+01:00: an hour of
        log written with offsets must span an hour, not go back."""
        stamps = ["2026-10-25T02:30:00+02:00", "2026-10-25T02:50:00+02:00",
                  "2026-10-25T02:10:00+01:00", "2026-10-25T02:30:00+01:00"]
        r = self.run_tz(self.log("dst.csv", stamps), "Europe/Paris", "--format", "json")
        j = json.loads(r.stdout)
        self.assertEqual(j["span_s"], 3600)
        self.assertEqual(j["interval_s"], 1200)
        self.assertEqual(j["gaps"], 0)


class EndOfRun(GwTest):
    def test_summary_at_the_end_matches_the_log(self):
        # --summary: stderr is no terminal here, and a cron run prints nothing (issue 14).
        r = self.run_gw("--count", "3", "--interval", "1", "-o", "out.csv", "--summary")
        self.assertEqual(r.returncode, 0, r.stderr)
        err = r.stderr.decode()
        self.assertIn("gpu_watch summary of out.csv", err)
        self.assertIn("3590 MiB", err)  # PID 443's memory in the busy capture
        # The same text as reading the log back: off a terminal both give
        # whole commands (issue 19 item 6: the end of a run cut them to ~20
        # characters).
        back = self.run_gw("summary", "out.csv")
        self.assertEqual(back.returncode, 0, back.stderr)
        self.assertEqual(err, back.stdout.decode())
        self.assertIn('--lr=3e-4 --note=a "quoted" arg', err)
        # COLUMNS set: the end of a run fits it, as gpu_watch summary does.
        r = self.run_gw("--count", "3", "--interval", "1", "-o", "out2.csv", "--summary",
                        COLUMNS="70")
        err = r.stderr.decode()
        self.assertLessEqual(max(len(l) for l in err.splitlines()), 70, err)

    def test_quiet_has_no_summary(self):
        r = self.run_gw("--count", "1", "-q", "-o", "out.csv")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, b"")
