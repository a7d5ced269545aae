#!/usr/bin/env bash
# Every real-GPU check in one go (one call on the GPU machine), from the
# repository root: the sampler against nvidia-smi, the NVML source against
# the nvidia-smi source, --host, the peak of a
# wrapped command, a CUDA job in a PID namespace (containers), the cost of
# watching, raw captures, and charts of the real
# log. Each check's output goes to $R/<name>/ and its log to
# $R/<name>.log (R defaults to /tmp/gw-r); everything is packed into
# $OUT/gpu-results.tar.gz, and the --host log and its charts are copied to $OUT.
set -u
OUT=${OUT:-/tmp/gw-all}
R=${R:-/tmp/gw-r}
mkdir -p "$R"
make -s gpu_watch build/bench/bench_sample || exit 1
check() {
    local name=$1
    shift
    echo "=== $name"
    mkdir -p "$R/$name"
    OUT="$R/$name" timeout 300 "$@" >"$R/$name.log" 2>&1
    echo "exit $?" >>"$R/$name.log"
    tail -n 25 "$R/$name.log"
}
check sampler bash tests/gpu/check_sampler.sh
check nvml bash tests/gpu/check_nvml.sh
check host env INTERVAL=1 bash tests/gpu/check_host.sh
check peak bash tests/gpu/check_peak.sh
check peaks bash tests/gpu/check_peaks.sh
check job bash tests/gpu/check_job.sh
check dense bash tests/gpu/check_dense.sh
check containers bash tests/gpu/check_containers.sh
check bench bash tests/gpu/bench.sh
check capture bash -c 'python3 tests/gpu/workload.py idle 20 1024 >/dev/null & sleep 8; bash tests/gpu/capture.sh; wait'
echo "=== plot"
./gpu_watch plot "$R/host/host.csv" -o "$R/plot-host.png" --per-process --util --cpu \
    --title "gpu_watch --host on an H100: busy, data-loader-bound and growing CUDA processes" && echo png ok
./gpu_watch plot "$R/host/host.csv" -o "$R/plot-host.svg" --per-process --util --cpu && echo svg ok
./gpu_watch plot "$R/host/host.csv" --util
./gpu_watch summary "$R/host/host.csv"
mkdir -p "$OUT"
tar czf "$OUT/gpu-results.tar.gz" -C "$(dirname "$R")" "$(basename "$R")"
cp "$R/host/host.csv" "$R/plot-host.png" "$R/plot-host.svg" "$OUT/" 2>/dev/null
ls -l "$OUT"
