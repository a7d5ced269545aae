#!/usr/bin/env python3
"""Stretch a short sampler log (e.g. the series replay recorded by the real
sampler) into a two-hour log with host columns, for the README's example
picture: the recorded samples are repeated one every 30 s with the real
PIDs, commands and SM/memory utilization; GPU memory of the first process
ramps up like a training run and drops at the end; a 20-minute pause
before the last quarter stands for a second run appended to the file; the
host columns are made up (cpu_pct, cpu_cores, rss_mib, sys_used_mib).

make_example.py IN.csv OUT.csv [--samples N]"""
import argparse
import csv
import math
import time

ap = argparse.ArgumentParser()
ap.add_argument("inp")
ap.add_argument("out")
ap.add_argument("--samples", type=int, default=240)
a = ap.parse_args()

with open(a.inp, newline="") as f:
    rows = list(csv.reader(f))[1:]
samples = []
for r in rows:  # a sample ends where a PID repeats or the time changes
    if not samples or samples[-1][0][0] != r[0] or any(x[2] == r[2] for x in samples[-1]):
        samples.append([])
    samples[-1].append(r)
base = 1736517600  # 2025-01-10T14:00:00Z
with open(a.out, "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow("timestamp,gpu_index,pid,cmd,gpu_mem_mib,sm_util_pct,mem_util_pct,"
               "cpu_pct,cpu_cores,rss_mib,sys_used_mib".split(","))
    n = a.samples
    for i in range(n):
        t = base + 30 * i + (1200 if i >= n * 3 // 4 else 0)
        ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
        f_ = i / (n - 1)
        sysmem = int(41000 + 9000 * f_ + 600 * math.sin(i / 6))
        for k, r in enumerate(samples[i % len(samples)]):
            mem = int(r[4]) if r[4] else 0
            if k == 0:
                mem += int(30000 * min(1.0, f_ * 2.5)) - (12000 if f_ > 0.9 else 0)
                if i == n // 2:
                    mem += 9000  # a one-sample allocation spike
            else:
                mem += int(4000 * f_)
            cpu = 95 + 60 * math.sin(i / 9 + k) + (40 if k == 0 else 0)
            w.writerow([ts] + r[1:4] + [str(mem)] + r[5:7] +
                       [f"{cpu:.1f}", f"{cpu / 100:.2f}", str(2100 + 300 * k), str(sysmem)])
