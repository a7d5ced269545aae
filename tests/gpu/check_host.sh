#!/usr/bin/env bash
# --host on a real GPU (run from the repository root on a machine with
# nvidia-smi and PyTorch; INTERVAL, default 0.5): a busy, a data-loader-bound and a growing CUDA
# process; gpu_watch --host --interval 0.5 --count 40; the test's own
# readings of each process's CPU time (/proc/<pid>/stat) and RSS over the same
# run to compare with. The log is also the real-GPU example for plot.
set -eu
OUT=${OUT:-/tmp/gw-gpu-host}
mkdir -p "$OUT"
make -s gpu_watch
python3 tests/gpu/workload.py busy 70 >"$OUT/w_busy.txt" &
python3 tests/gpu/workload.py loader 70 >"$OUT/w_loader.txt" &
python3 tests/gpu/workload.py grow 70 >"$OUT/w_grow.txt" &
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
    [ "$(cat "$OUT"/w_*.txt | grep -c ready)" -ge 3 ] && break
    sleep 0.5
done
pids=$(cat "$OUT"/w_*.txt | awk '/ready/ {print $2}' | paste -sd, -)
python3 - "$OUT" "$pids" <<'PY'
import csv, os, subprocess, sys, time
out, pids = sys.argv[1], [int(p) for p in sys.argv[2].split(",")]
hz = os.sysconf("SC_CLK_TCK")
def ticks(p):
    s = open(f"/proc/{p}/stat").read(); f = s[s.rindex(")") + 2:].split()
    return int(f[11]) + int(f[12])
t0 = time.monotonic(); c0 = {p: ticks(p) for p in pids}
r = subprocess.run(["./gpu_watch", "--host", "--interval", os.environ.get("INTERVAL", "0.5"), "--count", "40", "--force",
                    "--match", "workload.py", "-o", f"{out}/host.csv"], capture_output=True, text=True)
dt = time.monotonic() - t0
real = {p: 100.0 * (ticks(p) - c0[p]) / hz / dt for p in pids}
rss = {p: int([l for l in open(f"/proc/{p}/status") if l.startswith("VmRSS")][0].split()[1]) / 1024 for p in pids}
rows = list(csv.DictReader(open(f"{out}/host.csv")))
print(f"exit {r.returncode}; {len(rows)} rows; stderr: {r.stderr.strip() or '(empty)'}")
fails = []
for p in pids:
    mine = [x for x in rows if int(x["pid"]) == p]
    role = mine[0]["cmd"].split()[2] if mine else "?"
    cpus = [float(x["cpu_pct"]) for x in mine[1:]]
    sms = [int(x["sm_util_pct"]) for x in mine if x["sm_util_pct"]]
    mean_cpu = sum(cpus) / len(cpus)
    print(f"pid {p} {role:6s} rows {len(mine)}  cpu_pct mean {mean_cpu:6.1f} (own reading {real[p]:6.1f})  "
          f"sm% mean {sum(sms) / max(1, len(sms)):5.1f}  rss_mib last {mine[-1]['rss_mib']} (VmRSS now {rss[p]:.0f})  "
          f"cores {mine[-1]['cpu_cores']}")
    if len(mine) != 40:
        fails.append(f"{role}: {len(mine)} rows")
    if abs(mean_cpu - real[p]) > max(10, 0.15 * real[p]):
        fails.append(f"{role}: cpu_pct {mean_cpu:.1f} vs {real[p]:.1f}")
    if abs(float(mine[-1]["rss_mib"]) - rss[p]) > 0.1 * rss[p]:
        fails.append(f"{role}: rss")
print("example rows (loader):")
for x in [x for x in rows if "loader" in x["cmd"]][-3:]:
    print(",".join(x.values()))
print("PASS" if not fails else "FAIL " + "; ".join(fails))
PY
