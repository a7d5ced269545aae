#!/usr/bin/env bash
# The cost of watching on a real GPU (run from the repository root on a
# machine with nvidia-smi and PyTorch): three CUDA processes running, then
#  1. bench_sample latency: 100 samples our way (all queries at once, rows
#     written) against the original way (compute-apps, pmon, the GPU query and
#     ps one after another), alternating, with the CPU of each (self+children);
#  2. the real binary: gpu_watch --interval 0.5 --count 100, its own CPU and
#     its children's (RUSAGE_CHILDREN of the caller after it exits);
#  3. each nvidia-smi call alone, 10 times;
#  4. the NVML source against the nvidia-smi source, with 8 CUDA processes
#     (five more idle ones): CPU per sample (self + children) of each
#     (bench_sample cpu, 100 samples; target <= 2.5 ms for NVML), and the
#     CPU share of `gpu_watch --source nvml --interval 0.1 --count 100`.
# Prints a summary; raw figures go to $OUT (default /tmp/gw-gpu-bench).
set -eu
OUT=${OUT:-/tmp/gw-gpu-bench}
mkdir -p "$OUT"
make -s gpu_watch build/bench/bench_sample || { echo "FAIL: build"; exit 1; }
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
# 4. NVML against nvidia-smi with 8 processes: five more idle ones.
for i in 4 5 6 7 8; do
    timeout 300 python3 tests/gpu/workload.py idle 120 256 >"$OUT/b$i.txt" &
done
for _ in $(seq 1 120); do
    [ "$(cat "$OUT"/b*.txt | grep -c ready)" -ge 8 ] && break
    sleep 0.5
done
echo "CUDA processes ready: $(cat "$OUT"/b*.txt | grep -c ready) (want 8)"
timeout 240 python3 - "$OUT" <<'PY'
import os, resource, statistics, subprocess, sys, time
out = sys.argv[1]
def cpu(source):
    """CPU ms per sample, self (every thread) + children, median of 5 runs of 100."""
    runs, rows = [], 0
    for _ in range(5):
        argv = ["build/bench/bench_sample", "cpu", "nvidia-smi", "/proc", "100"] + (["nvml"] if source == "nvml" else [])
        r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            print(f"{source}: bench_sample failed: {r.stderr.strip()}")
            return None
        f = r.stdout.split()
        runs.append((float(f[0]), float(f[3])))
        rows = int(f[2])
    tot = sorted(a + b for a, b in runs)
    med = statistics.median(tot)
    print(f"{source:4s} CPU per sample: median {med:.3f} ms (self + children; min {tot[0]:.3f}, max {tot[-1]:.3f}; "
          f"self {statistics.median(a for a, _ in runs):.3f}, children {statistics.median(b for _, b in runs):.3f}); {rows} rows")
    return med
nv = cpu("nvml")
sm = cpu("smi")
if nv is not None:
    print(f"NVML target <= 2.5 ms: {'ok' if nv <= 2.5 else 'MISSED'}" + (f"; nvidia-smi / NVML = {sm / nv:.0f}x" if sm else ""))
# The CPU share of 10 samples a second with NVML.
before = resource.getrusage(resource.RUSAGE_CHILDREN)
t0 = time.monotonic()
p = subprocess.run(["timeout", "60", "./gpu_watch", "--source", "nvml", "--interval", "0.1", "--count", "100",
                    "--force", "-o", f"{out}/nvml_dense.csv"], stderr=subprocess.PIPE, text=True)
wall = time.monotonic() - t0
after = resource.getrusage(resource.RUSAGE_CHILDREN)
used = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
rows = open(f"{out}/nvml_dense.csv").read().splitlines() if os.path.exists(f"{out}/nvml_dense.csv") else []
print(f"gpu_watch --source nvml --interval 0.1 --count 100: exit {p.returncode}, wall {wall:.1f} s, "
      f"CPU {used * 1e3:.0f} ms = {used / wall * 100:.2f}% of one core; {len(rows) - 1} rows")
if p.stderr.strip():
    print("its stderr:", p.stderr.strip()[:500])
PY
