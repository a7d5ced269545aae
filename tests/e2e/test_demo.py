"""`make demo` (tests/demo.sh): a first try without a GPU keeps its logs
where DEMO_OUT says, and shows wrap mode with --peaks, --who and
--prom-textfile on a job that lists its own processes to the fake
nvidia-smi (tests/demo_job.sh). Issue 19 item 15."""
import os
import subprocess
import unittest

from tests.e2e.gw import BIN, FAKE_DIR, ROOT, GwTest, read_csv


class Demo(GwTest):
    def test_demo_keeps_its_logs_and_shows_wrap_mode(self):
        out = self.path("demo.csv")
        env = dict(os.environ, GW_BIN=BIN, GW_FAKE_DIR=FAKE_DIR, DEMO_OUT=out)
        r = subprocess.run(["bash", os.path.join(ROOT, "tests", "demo.sh")], env=env,
                           capture_output=True, text=True, timeout=60, cwd=ROOT)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        # 1. The replay: kept, whole.
        header, rows = read_csv(open(out).read())
        self.assertEqual(header[:3], ["timestamp", "gpu_index", "pid"])
        self.assertEqual(len(rows), 16)
        s = subprocess.run([BIN, "summary", out], capture_output=True, text=True, timeout=30)
        self.assertEqual(s.returncode, 0, s.stderr)
        # 2. Wrap mode: the job's own two processes, with the driver's peak
        # that no sample saw, the --who columns and the metrics file.
        with open(self.path("demo-wrap.csv")) as f:
            header, rows = read_csv(f.read())
        self.assertEqual(header[7:],
                         ["peak_mem_mib", "user", "job_id", "container", "container_pid"])
        pids = {row[2] for row in rows}
        self.assertEqual(len(pids), 2, rows)
        self.assertTrue(all(row[8] for row in rows))  # the user
        self.assertLess(max(int(row[4]) for row in rows), 9744)
        text = r.stdout + r.stderr
        self.assertRegex(text, r"\n *\d+ 0 +9744 MiB\*  -")
        self.assertIn("Peaks are true peaks from the driver's accounting.", text)
        self.assertIn("gpu_watch_process_gpu_memory_bytes{", text)
        self.assertIn("gpu_watch_process_gpu_memory_peak_bytes{", text)
        self.assertIn(f"gpu_watch summary {out}", text)

    def test_readme_tells_how(self):
        with open(os.path.join(ROOT, "README.md")) as f:
            readme = f.read()
        sec = readme[readme.index("## Trying it without a GPU"):]
        sec = sec[:sec.index("\n## ")]
        for word in ("make demo DEMO_OUT=demo.csv", "FAKE_SMI_DIR", "FAKE_SMI_STATE",
                     "FAKE_SMI_ACCT", "FAKE_NVML_SCENARIO", "GPU_WATCH_PROC_ROOT"):
            self.assertIn(word, sec)


if __name__ == "__main__":
    unittest.main()
