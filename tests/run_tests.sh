#!/usr/bin/env bash
# Runs every test of the project: the cmocka unit tests, then the end-to-end
# tests (pytest) against the built binary and the fake nvidia-smi. Prints one
# summary line at the end: "N passed, N failed", followed by
# ", N skipped: test (why), ..." when end-to-end tests were skipped.
set -u
B=${GW_BUILD:-build}
cd "$(dirname "$0")/.."
export GW_FAKE_DIR="$PWD/$B/tests/fake-nvidia-smi"
passed=0
failed=0
failures=()
for t in "$B"/tests/test_*; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    out=$("$t" 2>&1)
    rc=$?
    p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
    f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    passed=$((passed + p))
    failed=$((failed + f))
    if [ "$rc" -ne 0 ]; then
        printf '%s\n' "$out" | grep -E 'FAILED|ERROR|error|Assert|failure' | head -20
        failures+=("$name")
    fi
    printf '%-28s %4d passed, %d failed\n' "$name" "$p" "$f"
done
# The fuzz harnesses replayed on their seed corpora (built from the
# fixtures) and on every input that once crashed them (fuzz/regress/NAME/).
for t in "$B"/fuzz/replay_*; do
    [ -x "$t" ] || continue
    name=${t##*/replay_}
    dir=$(mktemp -d)
    if fuzz/seeds.sh "$name" "$dir" && out=$("$t" "$dir" 2>&1); then
        passed=$((passed + 1))
        printf '%-28s %4d passed, %d failed (%s)\n' "fuzz replay $name" 1 0 "$out"
    else
        failed=$((failed + 1))
        failures+=("fuzz replay $name")
        printf '%s\n' "$out" | tail -n 20
        printf '%-28s %4d passed, %d failed\n' "fuzz replay $name" 0 1
    fi
    rm -rf "$dir"
done
# End-to-end tests.
export GW_BIN="$PWD/$B/gpu_watch"
export GW_FAKE_DIR="$PWD/$B/tests/fake-nvidia-smi"
log=$(mktemp)
# unittest discover, plus one "SKIPPED: test (why)" line per skipped test, so
# that the summary line can name them: a skip must not go unseen.
python3 -W ignore::ResourceWarning - 2>&1 <<'EOF' | tee "$log" | grep -vE '^[.sx]*$' | tail -n 60
import sys
import unittest

suite = unittest.defaultTestLoader.discover("tests/e2e", pattern="test_*.py", top_level_dir=".")
result = unittest.TextTestRunner(verbosity=1).run(suite)
for test, why in result.skipped:
    print(f"SKIPPED: {test.id().rsplit('.', 1)[-1]} ({why})")
sys.exit(0 if result.wasSuccessful() else 1)
EOF
ran=$(sed -n 's/^Ran \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
ran=${ran:-0}
ef=$(sed -n 's/.*failures=\([0-9]*\).*/\1/p' "$log" | tail -n 1)
ee=$(sed -n 's/.*errors=\([0-9]*\).*/\1/p' "$log" | tail -n 1)
es=$(sed -n 's/.*skipped=\([0-9]*\).*/\1/p' "$log" | tail -n 1)
ef=${ef:-0}; ee=${ee:-0}; es=${es:-0}
ep=$((ran - ef - ee - es))
if [ "$ran" -eq 0 ]; then ee=1; failures+=("end-to-end: no test ran"); fi
[ $((ef + ee)) -gt 0 ] && failures+=("end-to-end")
printf '%-28s %4d passed, %d failed\n' "end-to-end" "$ep" "$((ef + ee))"
passed=$((passed + ep))
failed=$((failed + ef + ee))
[ ${#failures[@]} -gt 0 ] && printf 'failing: %s\n' "${failures[*]}"
# "N passed, N failed" first, always; then the skipped tests by name.
skipped=$(sed -n 's/^SKIPPED: //p' "$log" | awk '{ printf "%s%s", (NR > 1 ? ", " : ""), $0 }')
rm -f "$log"
if [ -n "$skipped" ]; then
    echo "$passed passed, $failed failed, $es skipped: $skipped"
else
    echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
