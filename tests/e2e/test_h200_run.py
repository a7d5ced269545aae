"""The logs of a real H200 run (tests/fixtures/h200-580-run/, see its
README): what the two sources wrote in the same seconds, and what summary
makes of a --peaks log whose samples missed every spike."""
import csv
import json
import os
import subprocess
import unittest

from tests.e2e.gw import BIN as GW, ROOT

RUN = os.path.join(ROOT, "tests", "fixtures", "h200-580-run")


def rows(name):
    with open(os.path.join(RUN, name), newline="") as f:
        return list(csv.DictReader(f))


class TwoSources(unittest.TestCase):
    def test_same_processes_gpus_and_memory(self):
        nvml, smi = rows("nvml.csv"), rows("smi.csv")
        key = lambda r: (r["timestamp"], r["gpu_index"], r["pid"], r["cmd"], r["gpu_mem_mib"])
        self.assertEqual(len(nvml), 30)
        self.assertEqual(sorted(map(key, nvml)), sorted(map(key, smi)))
        # No kernels, no utilization: empty in both, never 0.
        idle = [r for r in nvml + smi if r["cmd"].endswith("idle 40 3584")]
        self.assertEqual({(r["sm_util_pct"], r["mem_util_pct"]) for r in idle}, {("", "")})

    def test_busy_sm_agrees_after_the_first_sample(self):
        # The first NVML sample averages over the driver's whole buffer
        # (no earlier timestamp): from the second on, SM is pmon's within 2 %.
        by = lambda rs: {r["timestamp"]: int(r["sm_util_pct"]) for r in rs
                         if r["cmd"].endswith("busy 40") and r["sm_util_pct"]}
        nvml, smi = by(rows("nvml.csv")), by(rows("smi.csv"))
        times = sorted(nvml)[1:]
        self.assertEqual(len(times), 9)
        for t in times:
            self.assertLessEqual(abs(nvml[t] - smi[t]), 2, t)


class TruePeaks(unittest.TestCase):
    def test_driver_peak_beside_the_samples(self):
        log = rows("peaks.csv")
        self.assertEqual(max(int(r["gpu_mem_mib"]) for r in log), 1634)
        self.assertEqual({r["peak_mem_mib"] for r in log} - {"1634"}, {"9826"})
        with open(os.path.join(RUN, "accounted_during.txt")) as f:
            self.assertIn(", 9826 MiB,", f.read())
        r = subprocess.run([GW, "summary", os.path.join(RUN, "peaks.csv"), "--format", "json"],
                           capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        procs = [p for p in json.loads(r.stdout)["processes"] if p.get("pid") is not None]
        self.assertEqual(len(procs), 1)
        self.assertEqual(procs[0]["peak_gpu_mem_mib"], 9826)
        self.assertEqual(procs[0]["sampled_peak_gpu_mem_mib"], 1634)
        self.assertEqual(procs[0]["peak_source"], "driver")


if __name__ == "__main__":
    unittest.main()
