#!/usr/bin/env bash
# Raw nvidia-smi output of this machine, for tests/fixtures/ (run with CUDA
# processes alive): compute-apps, pmon with and without -i, the GPU map,
# -L and the plain table.
set -eu
OUT=${OUT:-/tmp/gw-capture}
mkdir -p "$OUT"
nvidia-smi --query-compute-apps=pid,gpu_uuid,used_memory --format=csv,noheader,nounits >"$OUT/apps_noheader_nounits.txt"
nvidia-smi pmon -c 1 -s um >"$OUT/pmon_um.txt"
n=$(nvidia-smi -L | wc -l)
nvidia-smi pmon -c 1 -s um -i "$(seq -s, 0 $((n - 1)))" >"$OUT/pmon_um_i_all.txt"
nvidia-smi --query-gpu=index,uuid --format=csv,noheader >"$OUT/gpus_noheader.txt"
nvidia-smi -L >"$OUT/smi_L.txt"
nvidia-smi >"$OUT/smi.txt"
nvidia-smi --version >"$OUT/version.txt" 2>&1 || true
ls -l "$OUT"
