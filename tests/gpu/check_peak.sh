#!/usr/bin/env bash
# On a machine with an NVIDIA GPU and PyTorch: watch tests/gpu/peak.py with
# `gpu_watch -o run.csv -- python3 tests/gpu/peak.py`, print the summary and
# what the script allocated, and check that the reported peaks match within
# what CUDA's context adds (at most CONTEXT_MAX_MIB per process). Also checks
# that the exit status comes through. Prints PASS or FAIL lines; exit 0 only
# when all pass.
set -uo pipefail
cd "$(dirname "$0")/../.."
CONTEXT_MAX_MIB=${CONTEXT_MAX_MIB:-1024}
make -s gpu_watch || exit 1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

echo "== gpu_watch -o run.csv -- python3 tests/gpu/peak.py"
./gpu_watch -o "$dir/run.csv" -- python3 tests/gpu/peak.py >"$dir/peak.out" 2>"$dir/summary.txt"
rc=$?
cat "$dir/peak.out"
echo "== summary at the end of the run (stderr), exit status $rc"
cat "$dir/summary.txt"
echo "== gpu_watch summary run.csv --format json"
./gpu_watch summary "$dir/run.csv" --format json | tee "$dir/summary.json"

python3 - "$dir" "$rc" "$CONTEXT_MAX_MIB" <<'PY'
import json, sys
d, rc, ctx = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
want = json.loads(open(f"{d}/peak.out").read().strip().splitlines()[-1])
s = json.load(open(f"{d}/summary.json"))
procs = {p["pid"]: p for p in s["processes"]}
ok = True
def check(name, cond, detail):
    global ok
    ok &= bool(cond)
    print(f"{'PASS' if cond else 'FAIL'} {name}: {detail}")
check("exit status", rc == 0, f"gpu_watch exited {rc}")
for who in ("parent", "child"):
    pid, alloc = want[f"{who}_pid"], want[f"{who}_peak_mib"]
    p = procs.get(pid)
    if not p:
        check(f"{who} seen", False, f"PID {pid} not in the summary: {sorted(procs)}")
        continue
    peak = p["peak_gpu_mem_mib"]
    check(f"{who} peak", alloc <= peak <= alloc + ctx,
          f"allocated {alloc} MiB, reported {peak} MiB at {p['peak_at']} "
          f"(context and allocator overhead {peak - alloc} MiB, allowed {ctx})")
tot = s["total"]["peak_gpu_mem_mib"]
alloc = want["parent_peak_mib"] + want["child_peak_mib"]
check("total peak", alloc <= tot <= alloc + 2 * ctx,
      f"allocated {alloc} MiB in all, reported {tot} MiB")
print(f"interval {s['interval_s']} s, {s['samples']} samples, span {s['span_s']} s")
sys.exit(0 if ok else 1)
PY
ok=$?

echo "== exit status passes through"
./gpu_watch -q -o "$dir/exit.csv" -- python3 -c 'import sys; sys.exit(3)'
r=$?
[ "$r" -eq 3 ] && echo "PASS exit 3 -> $r" || { echo "FAIL exit 3 -> $r"; ok=1; }
exit $ok
