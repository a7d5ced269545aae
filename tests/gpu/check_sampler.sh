#!/usr/bin/env bash
# The core sampler on a real NVIDIA GPU (run from the repository root on a
# machine with nvidia-smi and PyTorch). Starts three CUDA processes (busy,
# idle holding memory, growing), runs `gpu_watch --interval 1 --count 10`,
# captures nvidia-smi's own answers during the same seconds, and compares
# them row by row (tests/gpu/compare_rows.py). Results go to $OUT (default
# /tmp/gw-gpu): rows.csv, the references, and report.txt.
set -eu
OUT=${OUT:-/tmp/gw-gpu}
mkdir -p "$OUT"
make -s gpu_watch
nvidia-smi --query-gpu=index,uuid,name,driver_version --format=csv,noheader >"$OUT/gpus.txt"
python3 tests/gpu/workload.py busy 40 >"$OUT/w_busy.txt" &
python3 tests/gpu/workload.py idle 40 3584 >"$OUT/w_idle.txt" &
python3 tests/gpu/workload.py grow 40 >"$OUT/w_grow.txt" &
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
    [ "$(grep -c ready "$OUT"/w_*.txt | awk -F: '{s+=$2} END {print s}')" -ge 3 ] && break
    sleep 0.5
done
./gpu_watch --interval 1 --count 10 --force -o "$OUT/rows.csv" 2>"$OUT/stderr.txt" &
gw=$!
for i in $(seq 1 10); do
    nvidia-smi --query-compute-apps=pid,gpu_uuid,used_memory --format=csv,noheader,nounits >"$OUT/ref_apps_$i.txt"
    nvidia-smi pmon -c 1 -s um >"$OUT/ref_pmon_$i.txt"
    sleep 0.5
done
wait $gw
python3 tests/gpu/compare_rows.py "$OUT" | tee "$OUT/report.txt"
