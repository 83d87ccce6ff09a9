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

# asan_preload_for_python BUILD: on an ASan build (make sanitize), the scripts that load
# BUILD/lib/libminihlt.so into Python through ctypes (export_onnx.py, bench/hcal_onnx.py)
# and the programs linked against it without -fsanitize (scripts/bench/hcal.sh) abort with
# "ASan runtime does not come first in initial library list": preload the runtime for the
# rest of the script. Leak checking goes off there (Python and onnxruntime keep memory to
# the end by design); the library's code still runs under ASan+UBSan.
asan_preload_for_python() {
    grep -q __asan_init "$1/lib/libminihlt.so" 2>/dev/null || return 0
    LD_PRELOAD=$(${CC:-cc} -print-file-name=libasan.so)
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
    export LD_PRELOAD ASAN_OPTIONS
}
