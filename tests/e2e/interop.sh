#!/bin/bash
# interop.sh - Triton's Python client (tritonclient[http]) against
# `minihlt serve` (tests/interop/test_tritonclient.py). The client comes from
# PyPI into a venv under the build directory, made on first use; without
# network access the check is reported as skipped.
. "$(dirname "$0")/lib.sh"
BUILD_DIR=${MINIHLT_BUILD:-build}
VENV="$BUILD_DIR/venv"
PY="$VENV/bin/python"

if ! "$PY" -c "import tritonclient.http, numpy" 2>/dev/null; then
    if ! { [ -x "$PY" ] || python3 -m venv --system-site-packages "$VENV" >"$E2E_TMP/venv.log" 2>&1; }; then
        echo "ok - tritonclient interop # SKIP cannot create a venv in $VENV (python3-venv missing?)"
        e2e_done
    fi
    if ! timeout 300 "$VENV/bin/pip" install -q --disable-pip-version-check 'tritonclient[http]' \
        >"$E2E_TMP/pip.log" 2>&1; then
        echo "ok - tritonclient interop # SKIP PyPI unreachable: pip could not install tritonclient[http] ($(tail -n 1 "$E2E_TMP/pip.log"))"
        e2e_done
    fi
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
wait "$pid"
rc=$?
if [ "$rc" -eq 0 ]; then ok "server exits 0 after interop"; else not_ok "server exits 0 after interop (exit $rc)"; fi
e2e_done
