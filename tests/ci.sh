#!/usr/bin/env bash
# make ci: everything CI checks, then ONE summary line "N passed, N failed"
# counting all of it:
#   1. make test                 every unit, fuzz-replay and end-to-end test
#   2. make test SANITIZE=1      the same suite built with ASan + UBSan
#   3. make lint                 cppcheck, clang-tidy and the code's shape (function
#                                lengths, one header per .c): one check each
#   4. make fuzz                 each harness for CI_FUZZ_SECONDS (10; 0: none):
#                                one check each
# Each part's output is shown; a part that cannot report its own counts
# (a build error) counts as one failure. Exit status 0 only if nothing failed.
set -u
cd "$(dirname "$0")/.."
J=${CI_JOBS:-2}
passed=0
failed=0
failing=()

# Run a make command; add the "N passed, N failed" its last line reports.
suite() {
    local name=$1
    shift
    local log
    log=$(mktemp)
    echo "=== $name: $*"
    "$@" 2>&1 | tee "$log"
    local rc=${PIPESTATUS[0]}
    local line
    # The line may go on with ", N skipped: test (why), ..." (tests/run_tests.sh).
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed(,|$)' "$log" | tail -n 1)
    rm -f "$log"
    if [ -z "$line" ]; then
        failed=$((failed + 1))
        failing+=("$name (no result: build or runner error, status $rc)")
        return
    fi
    local p=${line%% passed*} f
    f=${line#*passed, }
    f=${f%% failed*}
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    passed=$((passed + p))
    failed=$((failed + f))
    [ "$f" -eq 0 ] || failing+=("$name")
}

# Run one command as one check.
check() {
    local name=$1
    shift
    echo "=== $name: $*"
    if "$@"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        failing+=("$name")
    fi
}

t0=$SECONDS
make -j"$J" all >/dev/null || true
suite "test" make -j"$J" test
suite "test SANITIZE=1" make -j"$J" test SANITIZE=1
check "cppcheck" make --no-print-directory lint-cppcheck
check "clang-tidy" make --no-print-directory lint-clang-tidy
check "shape" make --no-print-directory lint-shape
# CI_FUZZ_SECONDS=0 leaves fuzzing out (e.g. while a long campaign runs:
# one fuzzer at a time on a shared machine).
[ "${CI_FUZZ_SECONDS:-10}" -gt 0 ] && make -j"$J" fuzz-build FZ=build-fuzz-ci >/dev/null 2>&1
for h in fuzz/fuzz_*.c; do
    [ "${CI_FUZZ_SECONDS:-10}" -gt 0 ] || break
    h=${h#fuzz/fuzz_}
    h=${h%.c}
    check "fuzz $h" make --no-print-directory fuzz FZ=build-fuzz-ci FUZZ="$h" FUZZ_SECONDS="${CI_FUZZ_SECONDS:-10}"
done
echo "=== ci took $((SECONDS - t0)) s"
[ ${#failing[@]} -gt 0 ] && printf 'failing: %s\n' "${failing[@]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
