#!/usr/bin/env bash
# Benchmark of `gpu_watch plot` on a 1,000,000-row log (about 100 MB): wall
# time and peak memory (/usr/bin/time -v) for PNG, SVG and terminal output,
# against the targets of issue 4 (under 2 s, under 100 MiB). Not part of
# `make test` (timings belong to a quiet machine). Usage:
#   tests/tools/plot_bench.sh [ROWS]          (run from the repository root)
set -eu
rows=${1:-1000000}
bin=${GW_BIN:-$PWD/build/gpu_watch}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
[ -x "$bin" ] || { echo "build first: make" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (Debian package time)" >&2; exit 1; }
python3 tests/tools/make_log.py "$tmp/big.csv" --rows "$rows" --schema host --interval 1 \
    --spike-at 123457 --pause-at 200000 --pause 3600
printf 'log: %s rows, %s bytes; machine: %s, %s CPUs\n' "$rows" "$(stat -c %s "$tmp/big.csv")" \
    "$(uname -m)" "$(nproc)"
fail=0
run() {
    local name=$1
    shift
    /usr/bin/time -v "$bin" plot "$tmp/big.csv" "$@" >"$tmp/out.txt" 2>"$tmp/time.txt" || {
        cat "$tmp/time.txt" >&2
        fail=1
        return
    }
    local wall rss
    wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$tmp/time.txt")
    rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$tmp/time.txt")
    local secs
    secs=$(echo "$wall" | awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }')
    printf '%-34s %6.2f s  %7.1f MiB\n' "$name" "$secs" "$(echo "$rss" | awk '{print $1/1024}')"
    awk -v s="$secs" -v r="$rss" 'BEGIN { exit !(s < 2 && r < 100 * 1024) }' || fail=1
}
run "png" -o "$tmp/a.png"
run "svg" -o "$tmp/a.svg"
run "png --per-process --util --cpu" -o "$tmp/b.png" --per-process --util --cpu
run "svg --per-gpu --util --cpu" -o "$tmp/b.svg" --per-gpu --util --cpu
run "terminal (--show, 80 columns)" --show
# The one-sample spike must be in the picture: the peak label names it.
grep -q "peak 86401 MiB" "$tmp/a.svg" || { echo "spike lost" >&2; fail=1; }
[ "$fail" -eq 0 ] && echo "within targets (< 2 s, < 100 MiB)" || echo "OUTSIDE TARGETS"
exit "$fail"
