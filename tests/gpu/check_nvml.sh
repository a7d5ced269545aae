#!/usr/bin/env bash
# The NVML source against the nvidia-smi source on a real NVIDIA GPU (run
# from the repository root on a machine with nvidia-smi, gcc and PyTorch).
# Starts three CUDA processes (busy, idle holding memory, growing), runs
# `gpu_watch --source nvml` and `gpu_watch --source smi` in the same seconds
# (--interval 1 --count 10 each), and compares them (compare_sources.py): the
# same (pid, gpu, memory) rows, SM within pmon's own sample-to-sample spread.
# Prints both sources' rows side by side and a PASS or FAIL line. Outputs go
# to $OUT (default /tmp/gw-nvml): nvml.csv, smi.csv, their stderr, report.txt.
set -u
OUT=${OUT:-/tmp/gw-nvml}
mkdir -p "$OUT"
make -s gpu_watch || { echo "FAIL: build"; exit 1; }
ldd ./gpu_watch | tee "$OUT/ldd.txt"
nvidia-smi --query-gpu=index,uuid,name,driver_version --format=csv,noheader | tee "$OUT/gpus.txt"
rm -f "$OUT"/w_*.txt
timeout 90 python3 tests/gpu/workload.py busy 40 >"$OUT/w_busy.txt" &
timeout 90 python3 tests/gpu/workload.py idle 40 3584 >"$OUT/w_idle.txt" &
timeout 90 python3 tests/gpu/workload.py grow 40 >"$OUT/w_grow.txt" &
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
    [ "$(cat "$OUT"/w_*.txt 2>/dev/null | grep -c ready)" -ge 3 ] && break
    sleep 0.5
done
if [ "$(cat "$OUT"/w_*.txt 2>/dev/null | grep -c ready)" -lt 3 ]; then
    echo "FAIL: the CUDA workloads did not start (see $OUT/w_*.txt)"
    exit 1
fi
sleep 2 # let the busy loop reach its pace
# Both sources in the same seconds; neither may run past 60 s.
timeout 60 ./gpu_watch --source nvml --interval 1 --count 10 --force -o "$OUT/nvml.csv" \
    2>"$OUT/nvml.stderr" &
a=$!
timeout 60 ./gpu_watch --source smi --interval 1 --count 10 --force -o "$OUT/smi.csv" \
    2>"$OUT/smi.stderr" &
b=$!
wait $a
echo "gpu_watch --source nvml: exit $?" | tee "$OUT/exit.txt"
wait $b
echo "gpu_watch --source smi: exit $?" | tee -a "$OUT/exit.txt"
timeout 30 python3 tests/gpu/compare_sources.py "$OUT" | tee "$OUT/report.txt"
exit "${PIPESTATUS[0]}"
