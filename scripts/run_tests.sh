#!/bin/sh
# Runs minihlt's tests and prints one closing line "N passed, N failed".
# Usage: run_tests.sh BUILD [all|unit|e2e|tsan]
#   unit: every Check program build/tests/<folder>/test_*
#   e2e:  every tests/e2e/*.sh (TAP-like "ok - ..." / "not ok - ..." lines)
#   tsan: the scheduler and client tests (tests/*/test_sched*, test_*_tsan*)
set -u
BUILD=${1:-build}
WHAT=${2:-all}
passed=0
failed=0
failures=""
export MINIHLT_BUILD="$BUILD"
export MINIHLT="$BUILD/bin/minihlt"
export MINIHLT_PLUGIN_PATH="${MINIHLT_PLUGIN_PATH:-}"

run_check() {
    bin=$1
    out=$("$bin" 2>&1)
    rc=$?
    printf '%s\n' "$out" | grep -E '^[0-9]+%: Checks|:[EF]:' || true
    line=$(printf '%s\n' "$out" | grep -E '^[0-9]+%: Checks: ' | tail -n 1)
    if [ -z "$line" ]; then
        printf '%s\n' "$out" | tail -n 20
        echo "FAIL $bin (no Check summary, exit $rc)"
        failed=$((failed + 1)); failures="$failures $bin"
        return
    fi
    n=$(printf '%s' "$line" | sed -E 's/.*Checks: ([0-9]+).*/\1/')
    f=$(printf '%s' "$line" | sed -E 's/.*Failures: ([0-9]+).*/\1/')
    e=$(printf '%s' "$line" | sed -E 's/.*Errors: ([0-9]+).*/\1/')
    passed=$((passed + n - f - e))
    failed=$((failed + f + e))
    if [ "$rc" -ne 0 ] || [ $((f + e)) -ne 0 ]; then
        failures="$failures $bin"
        if [ $((f + e)) -eq 0 ]; then failed=$((failed + 1)); fi
    fi
}

run_e2e() {
    script=$1
    out=$(bash "$script" 2>&1)
    rc=$?
    printf '%s\n' "$out" | grep -E '^(ok|not ok) ' || true
    ok=$(printf '%s\n' "$out" | grep -cE '^ok ' || true)
    nok=$(printf '%s\n' "$out" | grep -cE '^not ok ' || true)
    passed=$((passed + ok))
    failed=$((failed + nok))
    if [ "$rc" -ne 0 ] && [ "$nok" -eq 0 ]; then
        printf '%s\n' "$out" | tail -n 20
        failed=$((failed + 1))
    fi
    if [ "$rc" -ne 0 ] || [ "$nok" -ne 0 ]; then failures="$failures $script"; fi
}

if [ "$WHAT" = all ] || [ "$WHAT" = unit ]; then
    for t in $(find "$BUILD/tests" -mindepth 2 -maxdepth 2 -type f -name 'test_*' -perm -u+x 2>/dev/null | sort); do
        echo "== $t"
        run_check "$t"
    done
fi
if [ "$WHAT" = tsan ]; then
    for t in $(find "$BUILD/tests" -mindepth 2 -maxdepth 2 -type f \( -name 'test_sched*' -o -name 'test_*tsan*' \) -perm -u+x 2>/dev/null | sort); do
        echo "== $t (TSan)"
        run_check "$t"
    done
fi
if [ "$WHAT" = all ] || [ "$WHAT" = e2e ]; then
    for s in $(ls tests/e2e/*.sh 2>/dev/null | grep -v "/lib.sh$" | sort); do
        echo "== $s"
        run_e2e "$s"
    done
fi

if [ -n "$failures" ]; then
    echo "failing:$failures"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
