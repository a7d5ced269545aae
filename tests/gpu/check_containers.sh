#!/usr/bin/env bash
# PID namespaces on a real GPU (issue 20), as root: a CUDA process started in
# its own PID namespace (unshare --pid --fork --mount-proc, util-linux) with
# accounting on, and what the driver says about it from the host and from
# inside the namespace:
#   nvidia-smi --query-compute-apps, pmon, --query-accounted-apps, -q -d ACCOUNTING
#   NVML (tests/gpu/nvml_dump.py: processes, memory, utilization, accounting)
#   gpu_watch --who (host: container_pid) and gpu_watch inside (its warning)
#   gpu_watch --who --peaks --summary from the host (does the summary say
#   "unknown (process in a PID namespace)"?), and gpu_watch --source nvml
#   --peaks inside (the accounting record's startTime against the job's
#   start time: no "accounting record of PID ... began" warning may appear
#   for a driver that translates; host-job-start.txt has both times)
# Every output is saved under tests/fixtures/containers/<driver>/ (host-*.txt,
# ns-*.txt) for the fixtures and the closing note; the table at the end shows
# PIDs, memory and the accounting peak side by side. It settles whether the
# driver updates the accounting peak of a namespaced process (R565+ source
# reading suggests it stays 0). Needs PyTorch (tests/gpu/workload.py's python3).
# Bounded: about 80 s. NOT RUN in the session that wrote it (no GPU lent).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
[ "$(id -u)" -eq 0 ] || { echo "FAIL must run as root (unshare --pid, nvidia-smi -am 1)"; exit 1; }
command -v unshare >/dev/null || { echo "FAIL unshare (util-linux) not found"; exit 1; }
make -s gpu_watch || exit 1
DRV=$(nvidia-smi --query-gpu=driver_version --format=csv,noheader -i 0 | head -1)
OUT=${OUT:-tests/fixtures/containers/$DRV}
mkdir -p "$OUT"
was=$(nvidia-smi --query-gpu=accounting.mode --format=csv,noheader -i 0 2>/dev/null | head -1)
restore() {
    [ -n "${NSPID:-}" ] && kill "$NSPID" 2>/dev/null
    if [ "$was" != "Enabled" ]; then
        nvidia-smi -i 0 -am 0 >/dev/null 2>&1 && echo "(accounting turned off again)"
    fi
}
trap restore EXIT
nvidia-smi -i 0 -am 1 >/dev/null || { echo "FAIL nvidia-smi -am 1"; exit 1; }

# The CUDA process: 2 GiB held, a 6 GiB spike for 0.5 s, busy kernels, 50 s.
cat >"$OUT/job.py" <<'PY'
import os, sys, time, torch
x = torch.empty(2 << 30, dtype=torch.uint8, device="cuda")
y = torch.empty(6 << 30, dtype=torch.uint8, device="cuda"); torch.cuda.synchronize()
time.sleep(0.5); del y; torch.cuda.empty_cache()
print("ready", os.getpid(), flush=True)
a = torch.randn(4096, 4096, device="cuda")
end = time.time() + 50
while time.time() < end:
    a = a @ a; a /= a.norm(); torch.cuda.synchronize()
PY
q_apps="--query-compute-apps=pid,process_name,used_memory --format=csv"
q_acct="--query-accounted-apps=gpu_uuid,pid,max_memory_usage,time --format=csv"

# Started in its own PID and mount namespaces with their own /proc: inside,
# the job is PID 2 (sh is 1); a named pipe carries the inside commands.
# CUDA's device 0 is nvidia-smi's index 0 only in PCI order; --kill-child:
# killing unshare (restore) ends the namespace.
mkfifo "$OUT/.cmd" 2>/dev/null || true
unshare --pid --fork --mount-proc --kill-child sh -c "
    CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=0 python3 '$OUT/job.py' >'$OUT/ns-job.txt' 2>&1 &
    while read -r line <'$OUT/.cmd'; do [ \"\$line\" = quit ] && break; sh -c \"\$line\"; done
    wait" &
NSPID=$!
for _ in $(seq 1 120); do grep -q ready "$OUT/ns-job.txt" 2>/dev/null && break; sleep 0.5; done
grep -q ready "$OUT/ns-job.txt" || { echo "FAIL the CUDA job did not start"; cat "$OUT/ns-job.txt"; exit 1; }
INNER=$(awk '/ready/{print $2}' "$OUT/ns-job.txt")
HOSTPID=$(for p in /proc/[0-9]*; do
    grep -qs '^NSpid:.*[[:space:]]'"$INNER"'$' "$p/status" &&
        tr '\0' ' ' <"$p/cmdline" | grep -q job.py && basename "$p"; done | head -1)
[ -n "$HOSTPID" ] || { echo "FAIL the job's host PID not found"; exit 1; }
echo "== driver $DRV; job: host PID $HOSTPID, PID $INNER in its namespace"
# Its start time, s since the epoch (boot time + starttime ticks), beside the
# accounting record's startTime read below: gpu_watch takes a record older
# than the local process of its number (by > 2 s) for another process.
python3 - "$HOSTPID" >"$OUT/host-job-start.txt" <<'PY'
import os, sys
pid = sys.argv[1]
with open(f"/proc/{pid}/stat") as f:
    ticks = int(f.read().rsplit(")", 1)[1].split()[19])
btime = next(int(l.split()[1]) for l in open("/proc/stat") if l.startswith("btime "))
print(f"job host PID {pid} started {btime + ticks / os.sysconf('SC_CLK_TCK'):.2f} s since the epoch")
PY
sleep 3

inside() { echo "$1 >'$OUT/$2' 2>&1" >"$OUT/.cmd"; sleep 4; }
# From the host.
nvidia-smi $q_apps >"$OUT/host-compute-apps.txt" 2>&1
timeout 5 nvidia-smi pmon -c 1 -s um >"$OUT/host-pmon.txt" 2>&1
python3 tests/gpu/nvml_dump.py >"$OUT/host-nvml.txt" 2>&1
./build/gpu_watch --who --host --count 1 -q -o "$OUT/host-gpu_watch.csv" 2>"$OUT/host-gpu_watch.err"
./build/gpu_watch --who --peaks --count 3 --interval 1 --summary -o "$OUT/host-peaks.csv" \
    2>"$OUT/host-peaks-summary.txt"
# From inside (the same commands through the pipe).
inside "nvidia-smi $q_apps" ns-compute-apps.txt
inside "timeout 5 nvidia-smi pmon -c 1 -s um" ns-pmon.txt
inside "python3 $PWD/tests/gpu/nvml_dump.py" ns-nvml.txt
inside "$PWD/build/gpu_watch --who --host --count 1 -q -o -" ns-gpu_watch.txt
inside "$PWD/build/gpu_watch --source nvml --count 1 -q -o -" ns-gpu_watch-nvml.txt
inside "$PWD/build/gpu_watch --source nvml --peaks --count 2 --interval 0.5 -o -" \
    ns-gpu_watch-nvml-peaks.txt
# Let the job end; then the accounting, from both sides.
for _ in $(seq 1 90); do kill -0 "$HOSTPID" 2>/dev/null || break; sleep 0.5; done
nvidia-smi $q_acct >"$OUT/host-accounted-apps.txt" 2>&1
nvidia-smi -i 0 -q -d ACCOUNTING >"$OUT/host-q-accounting.txt" 2>&1
python3 tests/gpu/nvml_dump.py "$HOSTPID" "$INNER" >"$OUT/host-nvml-after.txt" 2>&1
inside "nvidia-smi $q_acct" ns-accounted-apps.txt
inside "python3 $PWD/tests/gpu/nvml_dump.py $HOSTPID $INNER" ns-nvml-after.txt
echo quit >"$OUT/.cmd"; wait "$NSPID" 2>/dev/null; NSPID=
rm -f "$OUT/.cmd"

# The table for the closing note: what each side saw of the job.
row() { # side, what, file, pattern
    printf '%-6s %-22s %s\n' "$1" "$2" "$(grep -E "$4" "$OUT/$3" | tr -s ' ' | head -3 | paste -sd'|')"
}
echo "side   answer                 lines naming the job (host PID $HOSTPID / ns PID $INNER)"
for side in host ns; do
    row $side compute-apps $side-compute-apps.txt "(^|[ ,])($HOSTPID|$INNER),"
    row $side pmon $side-pmon.txt "[[:space:]]($HOSTPID|$INNER)[[:space:]]"
    row $side "nvml processes" $side-nvml.txt "process pid ($HOSTPID|$INNER) "
    row $side "nvml utilization" $side-nvml.txt "utilization"
    row $side "nvml memory" $side-nvml.txt "memory used"
    row $side accounted-apps $side-accounted-apps.txt ", ($HOSTPID|$INNER),"
    row $side "nvml accounting" $side-nvml-after.txt "accounting pid"
done
row host "job start" host-job-start.txt "started"
row host "summary --peaks" host-peaks-summary.txt "PID namespace|^ *$HOSTPID "
row ns "nvml --peaks warning" ns-gpu_watch-nvml-peaks.txt "namespace|began"
peak=$(grep -E ", $HOSTPID," "$OUT/host-accounted-apps.txt" | awk -F', ' '{print $3}' | head -1)
echo "== accounting peak of the namespaced job seen from the host: ${peak:-none} (8 GiB expected if updated)"
echo "outputs in $OUT"
