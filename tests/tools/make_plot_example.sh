#!/usr/bin/env bash
# Draw a synthetic two-hour example (default /tmp/plot-synthetic.png; the
# README's picture, docs/plot-example.png, is a real H100 log drawn by
# tests/gpu/run_all.sh): record the series replay (40 real H100
# samples, tests/fixtures/replay/series) with the real sampler and the fake
# nvidia-smi, stretch it into a two-hour log with tests/tools/make_example.py,
# and plot it. Run from the repository root after `make`.
set -eu
out=${1:-/tmp/plot-synthetic.png}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/bin"
cp build/tests/fake-nvidia-smi/nvidia-smi "$tmp/bin/"
PATH="$tmp/bin:$PATH" FAKE_SMI_DIR="$PWD/tests/fixtures/replay/series" FAKE_SMI_STATE="$tmp" \
    GPU_WATCH_PROC_ROOT="$PWD/tests/fixtures/proc/series" TZ=UTC \
    ./gpu_watch --count 40 --interval 0.05 -q -o "$tmp/series.csv"
python3 tests/tools/make_example.py "$tmp/series.csv" "$tmp/run.csv"
TZ=UTC ./gpu_watch plot "$tmp/run.csv" --per-process --util --cpu --title \
    "train + eval on one H100: 2025-01-10 14:00 to 16:19 (2 h 19 min)" -o "$out"
echo "wrote $out"
