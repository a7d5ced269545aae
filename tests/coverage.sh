#!/usr/bin/env bash
# make coverage: line coverage of src/ from the gcov data of a COVERAGE=1
# test run. Prints one line per file and the total; fails under 85%.
set -eu
B=${1:-build-cov}
cd "$(dirname "$0")/.."
mkdir -p coverage
total_l=0
total_c=0
printf '%-28s %8s %8s\n' file lines covered
for src in src/*.c src/*/*.c; do
    obj="$B/${src%.c}.o"
    [ -f "${obj%.o}.gcda" ] || { printf '%-28s   (not run)\n' "$src"; continue; }
    out=$(cd coverage && gcov -n -o "../$(dirname "$obj")" "../$src" 2>/dev/null | grep -A1 -E "File '(../)?$src'" | sed -n 2p)
    pct=$(printf '%s' "$out" | sed -n 's/Lines executed:\([0-9.]*\)% of \([0-9]*\)/\1/p')
    n=$(printf '%s' "$out" | sed -n 's/Lines executed:\([0-9.]*\)% of \([0-9]*\)/\2/p')
    [ -n "$n" ] || continue
    c=$(awk -v p="$pct" -v n="$n" 'BEGIN { printf "%d", p * n / 100 + 0.5 }')
    total_l=$((total_l + n))
    total_c=$((total_c + c))
    printf '%-28s %8d %7s%%\n' "$src" "$n" "$pct"
done
pct=$(awk -v c="$total_c" -v l="$total_l" 'BEGIN { printf "%.1f", l ? 100 * c / l : 0 }')
printf '%-28s %8d %7s%%\n' total "$total_l" "$pct"
awk -v p="$pct" 'BEGIN { exit !(p >= 85) }' || { echo "coverage below 85%"; exit 1; }
