#!/usr/bin/env bash
# Dense peaks (--peak-rate, issue 23) on a real GPU, as root (accounting is
# turned off, then on for the reference run, and restored at the end; needs
# PyTorch). The spike workload (tests/gpu/spike.py: 1 GiB, 8 GiB more every
# 5 s) in two variants, spikes of 300 ms and of 50 ms:
#   A. accounting OFF: gpu_watch --source nvml --peak-rate 50 --interval 1
#      (the dense peak, and gpu_watch's CPU per second from /proc/PID/stat);
#   B. accounting OFF: gpu_watch --source nvml --interval 1 alone (the rows'
#      peak, a lower bound, and its CPU per second: the baseline);
#   C. accounting ON: gpu_watch --source nvml --peaks --peak-rate 50 (the
#      driver's peak, which must win: peak_rate_hz empty).
# The closing note is a table: per variant the rows' peak, the dense peak,
# the driver's, and CPU % of one core with and without --peak-rate.
# PASS/FAIL lines; exit 0 only when all pass. About 3 minutes. If MIG can be
# enabled (MIG=1, the GPU idle, root), also one MIG run of variant A; MIG
# mode is restored at the end. Outputs under $OUT.
# Not run in the session that wrote it: no GPU machine was lent.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-$(mktemp -d /tmp/gw-dense.XXXXXX)}
mkdir -p "$OUT"
SECS=${SPIKE_SECONDS:-21}
make -s gpu_watch || exit 1
[ "$(id -u)" -eq 0 ] || { echo "FAIL must run as root (nvidia-smi -am)"; exit 1; }
was=$(nvidia-smi --query-gpu=accounting.mode --format=csv,noheader -i 0 2>/dev/null | head -1)
restore() {
    kill $(jobs -p) 2>/dev/null || true
    case "$was" in
    Enabled) nvidia-smi -i 0 -am 1 >/dev/null 2>&1 ;;
    *) nvidia-smi -i 0 -am 0 >/dev/null 2>&1 ;;
    esac
    echo "(accounting restored: ${was:-unknown})"
}
trap restore EXIT
ok=0
check() { # name, condition (0 pass), detail
    if [ "$2" -eq 0 ]; then echo "PASS $1: $3"; else echo "FAIL $1: $3"; ok=1; fi
}

# run NAME SPIKE_S ARGS...: spike.py beside gpu_watch ARGS for $SECS s; the
# CPU ticks of gpu_watch (utime+stime of /proc/PID/stat) over the run.
run() {
    local name=$1 hold=$2
    shift 2
    SPIKE_S=$hold timeout 120 python3 tests/gpu/spike.py "$SECS" >"$OUT/$name.spike" 2>&1 &
    local sp=$!
    for _ in $(seq 1 120); do grep -q ready "$OUT/$name.spike" && break; sleep 0.5; done
    local pid
    pid=$(awk '/ready/ {print $2}' "$OUT/$name.spike")
    ./gpu_watch --source nvml --interval 1 --pid "$pid" --force --summary -o "$OUT/$name.csv" \
        "$@" 2>"$OUT/$name.summary" &
    local gw=$!
    sleep 1
    local t0 s0
    t0=$(awk '{print $14 + $15}' "/proc/$gw/stat")
    s0=$(date +%s.%N)
    sleep $((SECS - 4))
    local t1 s1
    t1=$(awk '{print $14 + $15}' "/proc/$gw/stat")
    s1=$(date +%s.%N)
    kill -INT "$gw"
    wait "$gw"
    check "$name gpu_watch exit status" $? "stopped by SIGINT"
    wait "$sp"
    echo "$pid $(echo "($t1 - $t0) / $(getconf CLK_TCK) / ($s1 - $s0) * 100" | bc -l)" \
        >"$OUT/$name.cpu"
    nvidia-smi --query-accounted-apps=pid,max_memory_usage --format=csv,noheader \
        >"$OUT/$name.acct" 2>/dev/null
}

nvidia-smi -i 0 -am 0 >/dev/null || { echo "FAIL nvidia-smi -am 0"; exit 1; }
for v in 300 50; do
    hold=$(echo "$v / 1000" | bc -l)
    echo "== spikes of $v ms, accounting off: --peak-rate 50, then --interval 1 alone"
    run "dense$v" "$hold" --peak-rate 50
    run "plain$v" "$hold"
done
nvidia-smi -i 0 -am 1 >/dev/null || { echo "FAIL nvidia-smi -am 1"; exit 1; }
for v in 300 50; do
    hold=$(echo "$v / 1000" | bc -l)
    echo "== spikes of $v ms, accounting on: --peaks --peak-rate 50"
    run "driver$v" "$hold" --peaks --peak-rate 50
done
if [ "${MIG:-0}" = 1 ]; then
    mig=$(nvidia-smi --query-gpu=mig.mode.current --format=csv,noheader -i 0)
    if nvidia-smi -i 0 -mig 1 >/dev/null 2>&1 && nvidia-smi mig -i 0 -cgi 19,19 -C >/dev/null 2>&1; then
        echo "== MIG: two 1g instances, spikes of 300 ms in the first"
        uuid=$(nvidia-smi -L | awk -F'UUID: ' '/MIG/ {sub(/\)/, "", $2); print $2; exit}')
        CUDA_VISIBLE_DEVICES=$uuid run mig300 0.3 --peak-rate 50
        nvidia-smi mig -i 0 -dci >/dev/null 2>&1
        nvidia-smi mig -i 0 -dgi >/dev/null 2>&1
    else
        echo "NOTE MIG could not be enabled: no MIG run"
    fi
    [ "$mig" = "Enabled" ] || nvidia-smi -i 0 -mig 0 >/dev/null 2>&1
fi

python3 - "$OUT" <<'PY' || ok=1
import csv, os, sys
out = sys.argv[1]
ok = True
def check(name, cond, detail):
    global ok
    ok &= bool(cond)
    print(f"{'PASS' if cond else 'FAIL'} {name}: {detail}")
def log(name):
    pid, cpu = open(f"{out}/{name}.cpu").read().split()
    rows = [r for r in csv.DictReader(open(f"{out}/{name}.csv")) if r["pid"] == pid]
    mem = max((int(r["gpu_mem_mib"]) for r in rows if r["gpu_mem_mib"]), default=None)
    peak = max((int(r["peak_mem_mib"]) for r in rows if r.get("peak_mem_mib")), default=None)
    hz = {r.get("peak_rate_hz", "") for r in rows}
    acct = None
    for line in open(f"{out}/{name}.acct"):
        f = [c.strip() for c in line.split(",")]
        if f and f[0] == pid and f[1].split()[0].isdigit():
            acct = int(f[1].split()[0])
    return mem, peak, hz, float(cpu), acct, open(f"{out}/{name}.summary").read()
print(f"{'spike':>6} {'rows peak':>10} {'dense peak':>11} {'driver peak':>12} "
      f"{'CPU dense':>10} {'CPU plain':>10}")
for v in (300, 50):
    dm, dp, dhz, dcpu, _, dsum = log(f"dense{v}")
    pm, _, _, pcpu, _, psum = log(f"plain{v}")
    _, vp, vhz, _, va, vsum = log(f"driver{v}")
    print(f"{v:>4}ms {str(pm):>6} MiB {str(dp):>7} MiB {str(vp):>8} MiB "
          f"{dcpu:>9.2f}% {pcpu:>9.2f}%")
    check(f"{v} ms: dense peak holds the spike", dp is not None and dp >= 9216,
          f"peak_mem_mib {dp} MiB >= 9216 allocated")
    check(f"{v} ms: dense peak near the driver's", dp is not None and vp is not None
          and abs(dp - vp) <= 0.05 * vp, f"{dp} against {vp} MiB")
    check(f"{v} ms: dense rows say the rate", dhz == {"50"}, f"peak_rate_hz {sorted(dhz)}")
    check(f"{v} ms: driver's peak wins with accounting on", vhz == {""} and vp == va,
          f"peak_rate_hz {sorted(vhz)}, {vp} MiB, accounted-apps {va}")
    check(f"{v} ms: summaries name the source", "sampled at 50 Hz" in dsum or "~" in dsum,
          "dense summary marks ~")
    check(f"{v} ms: plain summary says lower bound", "lower bounds" in psum, "caveat")
    check(f"{v} ms: --peak-rate 50 costs under 1% of a core more", dcpu - pcpu < 1.0,
          f"{dcpu:.2f}% against {pcpu:.2f}%")
if os.path.exists(f"{out}/mig300.csv"):
    rows = list(csv.DictReader(open(f"{out}/mig300.csv")))
    inst = {r["mig_instance"] for r in rows}
    peak = max((int(r["peak_mem_mib"]) for r in rows if r["peak_mem_mib"]), default=None)
    print(f"MIG: instances {sorted(inst)}, dense peak {peak} MiB")
    check("MIG: rows name the instance", all(inst) and inst, f"{sorted(inst)}")
    check("MIG: utilization empty", all(not r["sm_util_pct"] for r in rows), "sm_util_pct")
sys.exit(0 if ok else 1)
PY
exit $ok
