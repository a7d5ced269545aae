#!/usr/bin/env bash
# The cost of watching on a real GPU (run from the repository root on a
# machine with nvidia-smi and PyTorch): three CUDA processes running, then
#  1. bench_sample latency: 100 samples our way (all queries at once, rows
#     written) against the original way (compute-apps, pmon, the GPU query and
#     ps one after another), alternating, with the CPU of each (self+children);
#  2. the real binary: gpu_watch --interval 0.5 --count 100, its own CPU and
#     its children's (RUSAGE_CHILDREN of the caller after it exits);
#  3. each nvidia-smi call alone, 10 times.
# Prints a summary; raw figures go to $OUT (default /tmp/gw-gpu-bench).
set -eu
OUT=${OUT:-/tmp/gw-gpu-bench}
mkdir -p "$OUT"
make -s gpu_watch build/bench/bench_sample
python3 tests/gpu/workload.py busy 200 >"$OUT/b1.txt" &
python3 tests/gpu/workload.py idle 200 2048 >"$OUT/b2.txt" &
python3 tests/gpu/workload.py grow 60 >"$OUT/b3.txt" &
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
    [ "$(cat "$OUT"/b*.txt | grep -c ready)" -ge 3 ] && break
    sleep 0.5
done
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$OUT/machine.txt"
python3 - "$OUT" <<'PY'
import os, resource, statistics, subprocess, sys, time
out = sys.argv[1]
def spread(xs):
    xs = sorted(xs); n = len(xs)
    return statistics.median(xs), xs[n // 10], xs[(9 * n) // 10]
# 1. side by side
r = subprocess.run(["build/bench/bench_sample", "latency", "nvidia-smi", "ps", "/proc", "100"],
                   capture_output=True, text=True, check=True).stdout.splitlines()
ours = [float(x) for x in r[0].split()]; orig = [float(x) for x in r[1].split()]
cpu = [float(x) for x in r[2].split()]
ratios = [a / b for a, b in zip(ours, orig)]
m, lo, hi = spread(ours); print(f"ours      latency/sample median {m:.1f} ms (p10 {lo:.1f}, p90 {hi:.1f})")
m2, lo2, hi2 = spread(orig); print(f"original  latency/sample median {m2:.1f} ms (p10 {lo2:.1f}, p90 {hi2:.1f})")
rm, rlo, rhi = spread(ratios); print(f"ratio ours/original median {rm:.2f} (p10 {rlo:.2f}, p90 {rhi:.2f})")
print(f"CPU per sample: ours {cpu[0]:.2f} ms self + {cpu[1]:.1f} ms children; original {cpu[2]:.2f} self + {cpu[3]:.1f} children")
# 2. the real binary, 100 samples at 0.5 s
t0 = time.monotonic()
before = resource.getrusage(resource.RUSAGE_CHILDREN)
p = subprocess.Popen(["./gpu_watch", "--interval", "0.5", "--count", "100", "--force", "-o", f"{out}/bench_rows.csv"],
                     stderr=subprocess.PIPE)
_, _, ru = os.wait4(p.pid, 0)
wall = time.monotonic() - t0
after = resource.getrusage(resource.RUSAGE_CHILDREN)
tot = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1e3 / 100
self_ms = None
print(f"gpu_watch --interval 0.5 --count 100: wall {wall:.1f} s; CPU self+children {tot:.1f} ms per sample "
      f"= {tot / 500 * 100:.1f}% of one core at 0.5 s, {tot / 30000 * 100:.3f}% at the default 30 s")
rows = open(f"{out}/bench_rows.csv").read().splitlines()
print(f"rows written: {len(rows) - 1}")
# 3. each call alone
calls = {"compute-apps": ["nvidia-smi", "--query-compute-apps=pid,gpu_uuid,used_memory", "--format=csv,noheader,nounits"],
         "pmon": ["nvidia-smi", "pmon", "-c", "1", "-s", "um"],
         "query-gpu": ["nvidia-smi", "--query-gpu=index,uuid", "--format=csv,noheader"],
         "ps": ["ps", "-o", "pid=,args=", "-p", "1"]}
for name, argv in calls.items():
    ts = []
    for _ in range(10):
        t = time.monotonic(); subprocess.run(argv, capture_output=True); ts.append((time.monotonic() - t) * 1e3)
    m, lo, hi = spread(ts)
    print(f"{name:13s} alone: median {m:.1f} ms (p10 {lo:.1f}, p90 {hi:.1f})")
PY
