# serve_lib.sh - start `minihlt serve` in the background on a free port (source it; POSIX sh).
#   serve_start MINIHLT LOG ARGS...   runs `MINIHLT serve --port 0 ARGS...` with its output in
#                                     LOG; sets SERVER_PID and URL (http://127.0.0.1:PORT, from
#                                     the "listening on" line); returns 1 (LOG on stderr) if
#                                     the server did not start within 10 s.
# Used by scripts/farm.sh, scripts/bench/remote.sh and tests/e2e/remote.sh.
serve_start() {
    _bin=$1; _log=$2; shift 2
    "$_bin" serve --port 0 "$@" >"$_log" 2>&1 &
    SERVER_PID=$!
    URL=""
    for _ in $(seq 100); do
        URL=$(sed -n 's/^listening on //p' "$_log" 2>/dev/null)  # the log may not exist yet
        [ -n "$URL" ] && return 0
        sleep 0.1
    done
    cat "$_log" >&2
    return 1
}
