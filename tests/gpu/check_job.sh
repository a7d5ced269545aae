#!/usr/bin/env bash
# gpu_watch job on a real GPU (as root: it turns accounting on, and off again
# at the end if it was off; needs PyTorch). Not run yet: no GPU machine was
# lent when it was written.
#
# A made-up job (SLURM_JOB_ID=$JOB in its processes' environment) on GPU 0:
#   A holds 2 GiB and takes 6 GiB more for 2 s at t=3 s;
#   B holds 1 GiB and takes 5 GiB more for 2 s at t=12 s (A and B peak at
#     different times: the upper bound is above what they held at once);
#   C lives 1 s at t=7 s with 3 GiB: between two samples even at 1 s, and
#     certainly at 30 s.
# Two watchers run meanwhile, --interval 1 and --interval 30, both --who
# --peaks. The prolog's snapshot is taken before; at the end `gpu_watch job`
# reports from each log, and the closing note compares the report's bounds,
# the sum of the true peaks (the driver's records of A, B and C) and what
# sampling every 30 s alone would have said. PASS/FAIL lines; exit 0 only
# when all pass. Bounded: about 60 s. Outputs under $OUT (default a temp dir).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
OUT=${OUT:-$(mktemp -d /tmp/gw-job.XXXXXX)}
mkdir -p "$OUT"
JOB=${JOB:-990001}
make -s gpu_watch || exit 1
[ "$(id -u)" -eq 0 ] || { echo "FAIL must run as root (nvidia-smi -am 1)"; exit 1; }
python3 -c 'import torch; assert torch.cuda.is_available()' || { echo "FAIL needs PyTorch with CUDA"; exit 1; }

was=$(nvidia-smi --query-gpu=accounting.mode --format=csv,noheader -i 0 2>/dev/null | head -1)
restore() {
    kill $(jobs -p) 2>/dev/null || true
    if [ "$was" != "Enabled" ]; then
        nvidia-smi -i 0 -am 0 >/dev/null 2>&1 && echo "(accounting turned off again)"
    fi
}
trap restore EXIT
nvidia-smi -i 0 -am 1 >/dev/null || { echo "FAIL nvidia-smi -am 1"; exit 1; }
minor=$(nvidia-smi -q -i 0 | awk -F: '/Minor Number/ {gsub(/ /, "", $2); print $2; exit}')
echo "== GPU 0 is /dev/nvidia$minor (Slurm's number)"

cat >"$OUT/worker.py" <<'PY'
"""worker.py BASE_GIB EXTRA_GIB AT_S FOR_S LIVE_S: hold BASE, take EXTRA more
at AT for FOR seconds, exit after LIVE seconds (all from its start)."""
import sys, time, torch
base, extra, at, dur, live = (float(a) for a in sys.argv[1:])
t0 = time.monotonic()
gib = 1 << 30
hold = torch.empty(int(base * gib), dtype=torch.uint8, device="cuda:0")
hold.fill_(1)
print("ready", flush=True)
while time.monotonic() - t0 < at:
    time.sleep(0.05)
if extra:
    more = torch.empty(int(extra * gib), dtype=torch.uint8, device="cuda:0")
    more.fill_(1)
    torch.cuda.synchronize()
    time.sleep(dur)
    del more
    torch.cuda.empty_cache()
while time.monotonic() - t0 < live:
    time.sleep(0.05)
PY

./gpu_watch job --snapshot "$OUT/snap" || { echo "FAIL snapshot"; exit 1; }
start=$(date +%s.%N)
./gpu_watch --who --peaks --interval 1 -q --force -o "$OUT/log1.csv" &
w1=$!
./gpu_watch --who --peaks --interval 30 -q --force -o "$OUT/log30.csv" &
w30=$!
export SLURM_JOB_ID=$JOB
python3 "$OUT/worker.py" 2 6 3 2 24 >"$OUT/a.out" 2>&1 &
a=$!
python3 "$OUT/worker.py" 1 5 12 2 24 >"$OUT/b.out" 2>&1 &
b=$!
sleep 7
python3 "$OUT/worker.py" 3 0 0 0 1 >"$OUT/c.out" 2>&1 &
c=$!
wait "$a" "$b" "$c"
unset SLURM_JOB_ID
sleep 2
kill -TERM "$w1" "$w30"
wait "$w1" "$w30" 2>/dev/null
nvidia-smi --query-accounted-apps=gpu_uuid,pid,max_memory_usage,time --format=csv >"$OUT/accounted.txt"
for iv in 1 30; do
    ./gpu_watch job --log "$OUT/log$iv.csv" --gpus "$minor" --before "$OUT/snap" --start "$start" \
        --format json "$JOB" >"$OUT/report$iv.json" || echo "FAIL gpu_watch job on log$iv.csv"
    ./gpu_watch job --log "$OUT/log$iv.csv" --gpus "$minor" --before "$OUT/snap" --start "$start" \
        "$JOB" >"$OUT/report$iv.txt"
done
cat "$OUT/report1.txt"

python3 - "$OUT" "$a" "$b" "$c" <<'PY'
import csv, json, sys
out, pids = sys.argv[1], [int(p) for p in sys.argv[2:]]
rows = list(csv.reader(open(f"{out}/accounted.txt")))
names = [h.strip().split(" [")[0] for h in rows[0]]
peak = {}
for row in rows[1:]:
    r = dict(zip(names, (c.strip() for c in row)))
    if int(r["pid"]) in pids:
        peak[int(r["pid"])] = int(r["max_memory_usage"].split()[0])
true_sum = sum(peak.values())
ok = True
def check(name, cond, detail):
    global ok
    ok &= bool(cond)
    print(f"{'PASS' if cond else 'FAIL'} {name}: {detail}")
rep = {iv: json.load(open(f"{out}/report{iv}.json")) for iv in (1, 30)}
check("driver records", len(peak) == 3, f"peaks of A, B, C: {peak}")
for iv, r in rep.items():
    g = [g for g in r["gpus"] if g["slurm"]]
    check(f"{iv} s: one GPU of the job", len(g) == 1, f"{[(x['index'], x['minor']) for x in g]}")
    procs = {p["pid"]: p for p in g[0]["processes"]} if g else {}
    check(f"{iv} s: the 1 s process C counted", pids[2] in procs,
          f"seen_by {procs.get(pids[2], {}).get('seen_by')}")
    m = r["memory_mib"]
    check(f"{iv} s: upper = sum of the true peaks", m["upper"] == true_sum,
          f"upper {m['upper']} vs {true_sum}")
    check(f"{iv} s: lower >= the largest true peak", (m["lower"] or 0) >= max(peak.values(), default=0),
          f"lower {m['lower']} ({m['lower_source']})")
s30 = rep[30]["gpus"][0]["sampled_sum_max_mib"] if rep[30]["gpus"] else None
s1 = rep[1]["gpus"][0]["sampled_sum_max_mib"] if rep[1]["gpus"] else None
print("\nClosing note (MiB):")
print(f"  sum of the true peaks (driver, A+B+C):  {true_sum}")
for iv in (1, 30):
    m = rep[iv]["memory_mib"]
    print(f"  report from the {iv:>2} s log:            lower {m['lower']} ({m['lower_source']}),"
          f" upper {m['upper']}, flags {rep[iv]['flags']}")
print(f"  highest sampled sum, 1 s sampling:      {s1}")
print(f"  highest sampled sum, 30 s sampling:     {s30}  (what 30 s sampling alone says)")
check("30 s sampling alone is below the report's lower bound",
      s30 is None or s30 < rep[30]["memory_mib"]["lower"], f"{s30} < {rep[30]['memory_mib']['lower']}")
sys.exit(0 if ok else 1)
PY
