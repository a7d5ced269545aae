#!/usr/bin/env bash
# make demo [DEMO_OUT=demo.csv]: gpu_watch at work without a GPU, for anyone
# without one at hand. A fake nvidia-smi (tests/fake_smi.c) stands in for the
# driver:
#  1. a replay of a recorded H100 session (two CUDA processes) into DEMO_OUT;
#  2. wrap mode with --peaks, --who and --prom-textfile: a job
#     (tests/demo_job.sh) that lists its own processes to the fake, into
#     DEMO_OUT's name with -wrap (demo-wrap.csv).
# Both logs are kept, so that `gpu_watch summary` and `gpu_watch plot` can
# follow. GW_BIN: the binary (default ./gpu_watch); GW_FAKE_DIR: the fake
# nvidia-smi's directory (default build/tests/fake-nvidia-smi).
set -eu
cd "$(dirname "$0")/.."
B=${GW_BUILD:-build}
GW=${GW_BIN:-./gpu_watch}
out=${DEMO_OUT:-demo.csv}
case $out in
*.csv) wrap_out=${out%.csv}-wrap.csv ;;
*) wrap_out=$out-wrap.csv ;;
esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin" "$tmp/state" "$tmp/job"
cp "${GW_FAKE_DIR:-$B/tests/fake-nvidia-smi}/nvidia-smi" "$tmp/bin/"

echo "1. Replaying tests/fixtures/replay/series (H100, driver 580) with a fake nvidia-smi:"
echo "   gpu_watch --interval 0.25 --count 8 --force -o $out"
PATH="$tmp/bin:$PATH" FAKE_SMI_DIR="$PWD/tests/fixtures/replay/series" FAKE_SMI_STATE="$tmp/state" \
    GPU_WATCH_PROC_ROOT="$PWD/tests/fixtures/proc/series" \
    "$GW" --interval 0.25 --count 8 --force -o "$out"
echo
head -n 5 "$out"
echo "... ($(($(wc -l <"$out") - 1)) rows in $out)"
echo

echo "2. Watching a command, as in a batch job (its processes listed to the fake):"
echo "   gpu_watch --peaks --who --prom-textfile $tmp/gpu.prom --interval 0.5 --force \\"
echo "       -o $wrap_out -- tests/demo_job.sh ..."
cp tests/fixtures/replay/series/gpus.txt "$tmp/job/"
# Accounting on, as an administrator would turn it on (nvidia-smi -am 1).
PATH="$tmp/bin:$PATH" FAKE_SMI_DIR="$tmp/job" FAKE_SMI_STATE="$tmp/state" FAKE_SMI_ACCT=on \
    "$GW" --peaks --who --prom-textfile "$tmp/gpu.prom" --interval 0.5 --force -o "$wrap_out" \
    -- tests/demo_job.sh "$tmp/job" "$tmp/gpu.prom"
echo
echo "Next, with the logs kept:"
echo "   ./gpu_watch summary $out"
echo "   ./gpu_watch plot $out --per-process           (in the terminal)"
echo "   ./gpu_watch plot $wrap_out --per-process -o demo.svg"
