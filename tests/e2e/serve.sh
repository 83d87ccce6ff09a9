#!/bin/bash
# serve.sh - `minihlt serve`: start on a free port, health/metadata/infer with
# curl (JSON and binary), bad requests answered with error JSON, usage and
# repository errors, and a clean exit 0 on SIGTERM and SIGINT with a request
# in flight.
. "$(dirname "$0")/lib.sh"
REPO=tests/data/models

# start_server [ARGS...]: runs the server in the background on port 0 and
# waits for its "listening on" line; sets SRV_PID and URL. The output files
# are emptied first: a line left by an earlier server must not be taken for
# this one's (a signal sent before the new process installed its handlers
# would be lost, and SIGINT is ignored in background jobs until then).
start_server() {
    : >"$E2E_TMP/srv.out"
    : >"$E2E_TMP/srv.err"
    "$MINIHLT" serve --models "$REPO" --port 0 "$@" >>"$E2E_TMP/srv.out" 2>>"$E2E_TMP/srv.err" &
    SRV_PID=$!
    URL=""
    for _ in $(seq 1 200); do
        URL=$(sed -n 's/^listening on \(http:\/\/[^ ]*\)$/\1/p' "$E2E_TMP/srv.out")
        [ -n "$URL" ] && return 0
        kill -0 "$SRV_PID" 2>/dev/null || break
        sleep 0.05
    done
    return 1
}

# stop_server SIGNAL: sends the signal and waits (at most 20 s, then KILL:
# a test run must never hang); sets SRV_RC (137 after the KILL).
stop_server() {
    kill -"$1" "$SRV_PID"
    for _ in $(seq 1 200); do
        st=$(ps -o stat= -p "$SRV_PID" 2>/dev/null)
        case "$st" in "" | Z*) break ;; esac
        sleep 0.1
    done
    case "$(ps -o stat= -p "$SRV_PID" 2>/dev/null)" in "" | Z*) ;; *) kill -KILL "$SRV_PID" ;; esac
    wait "$SRV_PID"
    SRV_RC=$?
}

# status METHOD PATH [curl args...]: prints the HTTP status, body in $E2E_TMP/body
status() {
    m=$1; p=$2; shift 2
    curl -s -o "$E2E_TMP/body" -w '%{http_code}' -X "$m" "$@" "$URL$p"
}

check "help" "$MINIHLT" serve --help
check "help names the options" sh -c '"$0" serve --help | grep -q -- "--max-queue"' "$MINIHLT"
check_fails "unknown option" 2 "serve: unknown or incomplete option '--nope'" "$MINIHLT" serve --nope
check_fails "bad port" 2 "serve: --port: expected an integer in \[0, 65535\], got '70000'" \
    "$MINIHLT" serve --port 70000
check_fails "missing default repository names it" 1 \
    "model repository 'data/models-missing-here' not found" \
    "$MINIHLT" serve --models data/models-missing-here --port 0
check_fails "unknown backend" 1 "backend 'tpu' is not built in" \
    "$MINIHLT" serve --models "$REPO" --port 0 --backend tpu

if start_server --threads 2; then ok "starts and prints its URL"; else
    not_ok "starts and prints its URL"; sed 's/^/#   /' "$E2E_TMP/srv.err"; e2e_done; fi
case "$URL" in http://127.0.0.1:*) ok "binds 127.0.0.1 by default" ;; *) not_ok "binds 127.0.0.1 by default ($URL)" ;; esac

check "health live" test "$(status GET /v2/health/live)" = 200
check "health ready" test "$(status GET /v2/health/ready)" = 200
check "server metadata" sh -c '[ "$(curl -s "$0/v2" | python3 -c "import json,sys; print(json.load(sys.stdin)[\"name\"])")" = minihlt ]' "$URL"
check "model metadata" sh -c 'curl -sf "$0/v2/models/facile_tiny" | python3 -c "
import json, sys
m = json.load(sys.stdin)
assert m[\"inputs\"][0] == {\"name\": \"input__0\", \"datatype\": \"FP32\", \"shape\": [-1, 46]}, m
assert m[\"outputs\"][0][\"shape\"] == [-1, 1], m"' "$URL"
check "model ready" test "$(status GET /v2/models/facile_batch/versions/1/ready)" = 200

# A JSON infer request with two rows, then the same rows as binary data.
python3 - "$E2E_TMP" <<'EOF'
import json, struct, sys
d = sys.argv[1]
rows = [[float((i * 7 + k) % 11) for k in range(46)] for i in range(2)]
json.dump({"inputs": [{"name": "input__0", "datatype": "FP32", "shape": [2, 46], "data": rows}]},
          open(d + "/req.json", "w"))
hdr = json.dumps({"inputs": [{"name": "input__0", "datatype": "FP32", "shape": [2, 46],
                              "parameters": {"binary_data_size": 2 * 46 * 4}}],
                  "outputs": [{"name": "output__0", "parameters": {"binary_data": True}}]}).encode()
open(d + "/req.bin", "wb").write(hdr + struct.pack("<92f", *(rows[0] + rows[1])))
open(d + "/req.hlen", "w").write(str(len(hdr)))
EOF
check "infer JSON" test "$(status POST /v2/models/facile_tiny/infer --data-binary @"$E2E_TMP/req.json")" = 200
cp "$E2E_TMP/body" "$E2E_TMP/json_out"
check "infer binary" test "$(status POST /v2/models/facile_batch/infer -D "$E2E_TMP/hdrs" \
    -H "Inference-Header-Content-Length: $(cat "$E2E_TMP/req.hlen")" --data-binary @"$E2E_TMP/req.bin")" = 200
check "binary and JSON answers agree" python3 - "$E2E_TMP" <<'EOF'
import json, re, struct, sys
d = sys.argv[1]
js = json.load(open(d + "/json_out"))["outputs"][0]["data"]
hl = int(re.search(r"(?im)^inference-header-content-length:\s*(\d+)", open(d + "/hdrs").read()).group(1))
body = open(d + "/body", "rb").read()
meta = json.loads(body[:hl])
assert meta["outputs"][0]["parameters"]["binary_data_size"] == 8, meta
vals = struct.unpack("<2f", body[hl:])
assert all(abs(a - b) <= 1e-5 * (1 + abs(b)) for a, b in zip(vals, js)), (vals, js)
EOF

check "unknown model is 404" test "$(status GET /v2/models/nope)" = 404
check "error is JSON" python3 -c "import json; e = json.load(open('$E2E_TMP/body'))['error']; assert 'nope' in e, e"
check "path escape is 400" test "$(status GET /v2/models/..%2F..%2Fetc/config --path-as-is)" = 400
check "malformed JSON is 400" test "$(status POST /v2/models/facile_tiny/infer --data-binary '{"inputs":')" = 400
check "wrong shape is 400" sh -c '[ "$(curl -s -o /dev/null -w "%{http_code}" --data-binary "{\"inputs\":[{\"name\":\"input__0\",\"datatype\":\"FP32\",\"shape\":[1,2],\"data\":[1,2]}]}" "$0/v2/models/facile_tiny/infer")" = 400 ]' "$URL"
check "GET on infer is 405" test "$(status GET /v2/models/facile_tiny/infer)" = 405
check "metrics scrape" sh -c 'curl -sf "$0/metrics" | grep -q "^nv_inference_request_success{model=\"facile_tiny\",version=\"1\"} 1$"' "$URL"
check "statistics" sh -c 'curl -sf "$0/v2/models/facile_batch/stats" | python3 -c "
import json, sys
s = json.load(sys.stdin)[\"model_stats\"][0]
assert s[\"inference_count\"] == 2 and s[\"inference_stats\"][\"success\"][\"count\"] == 1, s"' "$URL"

# SIGTERM with a request queued in facile_slow (0.5 s batching delay): the
# request is answered and the server exits 0.
curl -s -m 20 -o "$E2E_TMP/slow_out" -w '%{http_code}' --data-binary @"$E2E_TMP/req.json" \
    "$URL/v2/models/facile_slow/infer" >"$E2E_TMP/slow_status" &
CURL_PID=$!
for _ in $(seq 1 100); do
    curl -s "$URL/metrics" | grep -q '^nv_inference_pending_request_count{model="facile_slow",version="1"} 1$' && break
    sleep 0.02
done
stop_server TERM
wait "$CURL_PID"
check "SIGTERM exits 0" test "$SRV_RC" -eq 0
check "in-flight request answered on SIGTERM" test "$(cat "$E2E_TMP/slow_status")" = 200
check "drain reported" grep -q "SIGTERM: draining" "$E2E_TMP/srv.out"
check "summary per model at exit" grep -q "^model facile_batch: 1 requests (0 failed), 2 rows in 1 executions" "$E2E_TMP/srv.out"
check "failed requests counted in the summary" grep -q "^model facile_tiny: [0-9]* requests ([1-9][0-9]* failed)" "$E2E_TMP/srv.out"
check "nothing on stderr" test ! -s "$E2E_TMP/srv.err"
check "port released" sh -c '! curl -s -o /dev/null "$0/v2/health/live"' "$URL"

if start_server --quiet; then ok "restarts (--quiet)"; else not_ok "restarts (--quiet)"; fi
check "--quiet prints only the URL line" test "$(wc -l <"$E2E_TMP/srv.out")" -eq 1
stop_server INT
check "SIGINT exits 0" test "$SRV_RC" -eq 0

# A SIGTERM right at start-up (as soon as the handler is installed, i.e. while
# models load) is still a clean stop. SigCgt in /proc says when TERM (bit 15)
# is caught, once /proc/PID/exe is minihlt (before the exec, the forked bash
# catches TERM itself for its EXIT trap); before that the default action of
# TERM would apply, which no program can prevent.
"$MINIHLT" serve --models "$REPO" --port 0 --quiet >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 1000); do
    case "$(readlink "/proc/$pid/exe" 2>/dev/null)" in
    */minihlt)
        cgt=$(sed -n 's/^SigCgt:\s*//p' "/proc/$pid/status" 2>/dev/null)
        [ -n "$cgt" ] && [ $(( 0x$cgt & 0x4000 )) -ne 0 ] && break ;;
    esac
    sleep 0.002
done
SRV_PID=$pid
stop_server TERM
check "SIGTERM during start-up exits 0 (exit $SRV_RC)" test "$SRV_RC" -eq 0
e2e_done
