# lib.sh - helpers for end-to-end tests of the minihlt program (source it).
# Each check prints "ok - NAME" or "not ok - NAME"; the runner counts them.
# $MINIHLT is the program under test (set by scripts/run_tests.sh).
set -u
MINIHLT=${MINIHLT:-build/bin/minihlt}
E2E_TMP=$(mktemp -d)
trap 'rm -rf "$E2E_TMP"' EXIT
e2e_failed=0

ok() { echo "ok - $1"; }
not_ok() { echo "not ok - $1"; e2e_failed=1; }

# check NAME COMMAND...: passes if the command exits 0.
check() {
    name=$1; shift
    if "$@" >"$E2E_TMP/out" 2>"$E2E_TMP/err"; then ok "$name"; else
        not_ok "$name"; sed 's/^/#   /' "$E2E_TMP/err" | head -n 10; fi
}

# check_fails NAME EXPECTED_EXIT STDERR_REGEX COMMAND...: passes if the command
# exits with EXPECTED_EXIT and its stderr matches STDERR_REGEX (grep -E).
check_fails() {
    name=$1; want=$2; pattern=$3; shift 3
    "$@" >"$E2E_TMP/out" 2>"$E2E_TMP/err"
    rc=$?
    if [ "$rc" -eq "$want" ] && grep -Eq "$pattern" "$E2E_TMP/err"; then ok "$name"; else
        not_ok "$name (exit $rc, want $want; stderr below)"; sed 's/^/#   /' "$E2E_TMP/err" | head -n 10; fi
}

e2e_done() { exit "$e2e_failed"; }
