#!/usr/bin/env bash
# make demo: run the built gpu_watch for a few samples against a replay of a
# recorded H100 session (two CUDA processes, 40 one-second samples), for
# anyone without a GPU at hand, and print the CSV it wrote.
set -eu
cd "$(dirname "$0")/.."
B=${GW_BUILD:-build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin" "$tmp/state"
cp "$B/tests/fake-nvidia-smi/nvidia-smi" "$tmp/bin/"
echo "Replaying tests/fixtures/replay/series (H100, driver 580) with a fake nvidia-smi:"
echo "  gpu_watch --interval 0.25 --count 8 -o $tmp/demo.csv"
PATH="$tmp/bin:$PATH" FAKE_SMI_DIR="$PWD/tests/fixtures/replay/series" FAKE_SMI_STATE="$tmp/state" \
    GPU_WATCH_PROC_ROOT="$PWD/tests/fixtures/proc/series" \
    ./gpu_watch --interval 0.25 --count 8 -o "$tmp/demo.csv"
echo
cat "$tmp/demo.csv"
