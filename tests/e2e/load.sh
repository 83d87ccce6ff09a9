#!/bin/bash
# load.sh - the short version of scripts/load/load.py in `make test` (issue 8, "Faults and
# load"): 8 clients for 5 s (LOAD_CLIENTS, LOAD_SECONDS in the environment) against `minihlt serve` (data/models, --max-body 1 MiB) with 10%
# malformed, oversized (413) or abandoned (client closes half-way) requests. Asserts: every
# good request gets 200 with its rows, every bad one its 400/404/413, RSS growth <= 32 MB,
# the fd count back to its baseline (abandoned connections are closed, not left to the 60 s
# timeout), and the server still serving; then a clean SIGTERM exit 0 with nothing dropped.
. "$(dirname "$0")/lib.sh"
. scripts/serve_lib.sh
if ! serve_start "$MINIHLT" "$E2E_TMP/srv.log" --models data/models --max-body 1048576 --quiet; then
    not_ok "server starts"; e2e_done
fi
# ASan keeps freed memory in quarantine (256 MB): RSS is not a leak measure there.
RSS_MB=32
grep -q __asan_init "$MINIHLT" 2>/dev/null && RSS_MB=1024
python3 scripts/load/load.py --url "$URL" --pid "$SERVER_PID" \
    --clients "${LOAD_CLIENTS:-8}" --duration "${LOAD_SECONDS:-5}" \
    --max-body 1048576 --max-rss-growth-mb "$RSS_MB" --check >"$E2E_TMP/load.out" 2>&1
rc=$?
grep -E '^(ok|not ok) ' "$E2E_TMP/load.out"
grep -vE '^(ok|not ok) ' "$E2E_TMP/load.out" | sed 's/^/# /'
[ "$rc" -eq 0 ] || grep -qE '^not ok ' "$E2E_TMP/load.out" || not_ok "load.py exit $rc"
# No endpoint that changes state (Triton's repository load/unload, logging, trace,
# shared-memory registration): refused, and the model stays loaded.
bad=0
for p in /v2/repository/models/facile/unload /v2/repository/models/facile/load /v2/logging \
    /v2/trace/setting /v2/systemsharedmemory/region/x/register; do
    code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -d '{}' "$URL$p")
    case "$code" in 404 | 405) ;; *) bad=1; echo "#   POST $p: $code" ;; esac
done
[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/v2/models/facile/ready")" = 200 ] || bad=1
if [ "$bad" -eq 0 ]; then ok "no state-changing endpoint (load/unload/logging/trace/shm): 404/405"
else not_ok "state-changing endpoints"; fi
kill -TERM "$SERVER_PID"
wait "$SERVER_PID"
rc=$?
if [ "$rc" -eq 0 ] && ! grep -q "dropped" "$E2E_TMP/srv.log"; then ok "SIGTERM after the load: exit 0, nothing dropped"
else not_ok "SIGTERM after the load (exit $rc)"; sed 's/^/#   /' "$E2E_TMP/srv.log"; fi
e2e_done
