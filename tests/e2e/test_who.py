"""--who end to end: the user,job_id,container columns of the CSV on the
fixture tree tests/fixtures/proc/who, the --append header check, and
`gpu_watch summary --by job|user` on tests/fixtures/summary/who.csv."""
import json
import os
import subprocess
import unittest

from tests.e2e.gw import BIN, HEADER, ROOT, GwTest, read_csv
from tests.e2e.test_prom import WHO

WHO_LOG = os.path.join(ROOT, "tests", "fixtures", "summary", "who.csv")


def summary(*args):
    return subprocess.run([BIN, "summary", *args], capture_output=True, text=True, timeout=30,
                          env=dict(os.environ, TZ="UTC"))


class TestWhoCsv(GwTest):
    """--who in the CSV: three columns last, the fixture's owners, and the
    --append header check."""

    def test_columns(self):
        r = self.run_gw("--who", "--count", "2", "--interval", "0.1", "-q", "-o", "log.csv",
                        proc="who")
        self.assertEqual(r.returncode, 0, r.stderr)
        header, rows = read_csv(self.path("log.csv"))
        self.assertEqual(header, HEADER + ["user", "job_id", "container", "container_pid"])
        self.assertEqual(len(rows), 6)
        for row in rows:
            self.assertEqual(tuple(row[7:]), WHO[row[2]])
        # Another schema is refused by --append, the file untouched.
        before = self.lines("log.csv")
        r = self.run_gw("--count", "1", "--append", "-q", "-o", "log.csv", proc="who")
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"different header", r.stderr)
        self.assertEqual(self.lines("log.csv"), before)
        r = self.run_gw("--who", "--count", "1", "--append", "-q", "-o", "log.csv", proc="who")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(self.lines("log.csv")), 1 + 6 + 3)

    def test_with_host_and_no_proc_files(self):
        # The plain busy tree has no cgroup files: the user only.
        r = self.run_gw("--who", "--host", "--count", "1", "-q", "-o", "-", proc="busy")
        self.assertEqual(r.returncode, 0, r.stderr)
        header, rows = read_csv(r.stdout.decode())
        self.assertEqual(header[-8:], ["cpu_pct", "cpu_cores", "rss_mib", "sys_used_mib", "user",
                                       "job_id", "container", "container_pid"])
        self.assertEqual([tuple(row[-4:]) for row in rows], [("root", "", "", "")] * 3)



class TestSummaryBy(unittest.TestCase):
    def groups(self, by):
        # Issue 19 item 8: the key in its own field (job_id, user), never in
        # cmd; a group has no pid or cmd; "no job" is null.
        r = summary(WHO_LOG, "--by", by, "--format", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        doc = json.loads(r.stdout)
        field = {"job": "job_id", "user": "user"}[by]
        self.assertNotIn("processes", doc)
        for p in doc[by + "s"]:
            self.assertNotIn("cmd", p)
            self.assertNotIn("pid", p)
        return {p[field]: (p["peak_gpu_mem_mib"], p["peak_at"], p["gpus"])
                for p in doc[by + "s"]}, doc

    def test_by_job(self):
        got, doc = self.groups("job")
        self.assertEqual(got, {
            "100": (2300, "2026-12-01T10:00:30Z", [0, 1]),
            "200": (3000, "2026-12-01T10:00:00Z", [1]),
            None: (100, "2026-12-01T10:00:00Z", [1]),
        })
        self.assertEqual(doc["samples"], 2)
        # The GPU totals are the same as per process.
        per_proc = json.loads(summary(WHO_LOG, "--format", "json").stdout)
        self.assertEqual(doc["gpus"], per_proc["gpus"])

    def test_by_user(self):
        got, _ = self.groups("user")
        self.assertEqual(got, {
            "ana": (4700, "2026-12-01T10:00:00Z", [0, 1]),
            "bob": (100, "2026-12-01T10:00:00Z", [1]),
        })

    def test_by_process_is_the_default(self):
        a = summary(WHO_LOG, "--by", "process")
        b = summary(WHO_LOG)
        self.assertEqual((a.returncode, a.stdout), (0, b.stdout))
        self.assertIn("python3 worker.py", a.stdout)

    def test_text_sm_summed_per_gpu(self):
        r = summary(WHO_LOG, "--by", "job", "--format", "csv")
        self.assertEqual(r.returncode, 0, r.stderr)
        header, rows = read_csv(r.stdout)
        # Issue 19 item 8: a job_id column, row type "job", no pid or cmd;
        # the job of processes outside Slurm is empty.
        self.assertEqual(header[:3], ["row", "job_id", "gpus"])
        self.assertNotIn("cmd", header)
        jobs = {row[1]: row for row in rows if row[0] == "job"}
        self.assertEqual(sorted(jobs), ["", "100", "200"])
        self.assertEqual([row[0] for row in rows].count("process"), 0)
        job100 = jobs["100"]
        # SM on GPU 0: 20+30 then 40 (30 not reported); GPU 1: none, then 10.
        self.assertEqual(job100[header.index("sm_max_pct")], "50")

    def test_markdown_and_text_name_the_key(self):
        r = summary(WHO_LOG, "--by", "user", "--format", "md")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = [l for l in r.stdout.splitlines() if l.startswith("|")]
        self.assertTrue(lines[0].startswith("| User | GPU |"), lines[0])
        self.assertNotIn("Command", lines[0])
        cells = {l.split("|")[1].strip() for l in lines[2:]}
        # User names are text from the system: code spans (never Markdown).
        self.assertEqual(cells, {"`ana`", "`bob`", "**total**"})
        ncols = lines[0].count("|")
        self.assertTrue(all(l.count("|") == ncols for l in lines), r.stdout)
        r = summary(WHO_LOG, "--by", "job", "--format", "md")
        cells = [l.split("|")[1].strip() for l in r.stdout.splitlines()[6:9]]
        self.assertEqual(sorted(cells), ["", "`100`", "`200`"])
        t = summary(WHO_LOG, "--by", "job").stdout
        self.assertIn("JOB ID", t)
        self.assertNotIn("job 100", t)
        self.assertRegex(t, r"(?m) 100$")
        self.assertRegex(t, r"(?m) \(none\)$")

    def test_needs_who_columns(self):
        log = os.path.join(ROOT, "tests", "fixtures", "summary", "run.csv")
        r = summary(log, "--by", "job")
        self.assertEqual(r.returncode, 1)
        self.assertIn("--who", r.stderr)
        self.assertEqual(r.stdout, "")
        r = summary(WHO_LOG, "--by", "pod")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--by 'pod'", r.stderr)


if __name__ == "__main__":
    unittest.main()
