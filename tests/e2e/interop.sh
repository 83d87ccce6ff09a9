#!/bin/bash
# interop.sh - Triton's Python client (tritonclient[http]) against
# `minihlt serve` (tests/interop/test_tritonclient.py). The client comes from
# PyPI into a venv under the build directory, made on first use; without
# network access the check is reported as skipped.
. "$(dirname "$0")/lib.sh"
BUILD_DIR=${MINIHLT_BUILD:-build}

# scripts/venv.sh makes $BUILD_DIR/venv (shared with the other Python tests,
# locked against parallel callers) and installs what is not importable yet.
if ! PY=$(sh scripts/venv.sh "$BUILD_DIR" "tritonclient.http:tritonclient[http]" \
        2>"$E2E_TMP/venv.err"); then
    echo "ok - tritonclient interop # SKIP no venv with tritonclient[http] (PyPI unreachable?): $(tail -n 1 "$E2E_TMP/venv.err")"
    e2e_done
fi

"$MINIHLT" serve --models tests/data/models --port 0 --quiet >"$E2E_TMP/srv.out" 2>"$E2E_TMP/srv.err" &
pid=$!
url=""
for _ in $(seq 1 100); do
    url=$(sed -n 's/^listening on http:\/\/\([^ ]*\)$/\1/p' "$E2E_TMP/srv.out")
    [ -n "$url" ] && break
    sleep 0.05
done
if [ -z "$url" ]; then
    not_ok "server starts for interop"; sed 's/^/#   /' "$E2E_TMP/srv.err"; kill "$pid" 2>/dev/null; e2e_done
fi
"$PY" tests/interop/test_tritonclient.py "$url" || e2e_failed=1
kill -TERM "$pid"
for _ in $(seq 1 200); do # bounded: a test run must never hang
    case "$(ps -o stat= -p "$pid" 2>/dev/null)" in "" | Z*) break ;; esac
    sleep 0.1
done
case "$(ps -o stat= -p "$pid" 2>/dev/null)" in "" | Z*) ;; *) kill -KILL "$pid" ;; esac
wait "$pid"
rc=$?
if [ "$rc" -eq 0 ]; then ok "server exits 0 after interop"; else not_ok "server exits 0 after interop (exit $rc)"; fi
e2e_done
