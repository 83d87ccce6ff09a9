#!/bin/bash
# remote.sh - end-to-end: the default menu with HCAL reconstruction served by
# `minihlt serve` (configs/hlt_remote.yaml, plugin hcal_remote), and the
# client faults of issue 8: the server killed mid-run, hung mid-run
# (SIGSTOP: it accepts connections but never answers), absent with
# fallback: none. Every event must be accounted for: read = processed +
# failed, and the module's counters say which events were served, retried,
# computed on the CPU (fallback) or failed.
. "$(dirname "$0")/lib.sh"

SERVER_PID=""
stop_server() {
    if [ -n "$SERVER_PID" ]; then
        kill -CONT "$SERVER_PID" 2>/dev/null
        kill "$SERVER_PID" 2>/dev/null
        wait "$SERVER_PID" 2>/dev/null
        SERVER_PID=""
    fi
}
trap 'stop_server; rm -rf "$E2E_TMP"' EXIT

# configs/hlt_remote.yaml is configs/hlt.yaml with hbheReco swapped: both must be in step.
check "configs/hlt_remote.yaml is in step with configs/hlt.yaml (scripts/derive_menu.py)" \
    python3 scripts/derive_menu.py --check configs/hlt_remote.yaml
if python3 -c "
import sys, yaml
a, b = (yaml.safe_load(open(f)) for f in ('configs/hlt.yaml', 'configs/hlt_remote.yaml'))
reco = b['modules'].pop('hbheReco')
a['modules'].pop('hbheReco')
sys.exit(0 if a == b and reco['plugin'] == 'hcal_remote' and reco['fallback'] == 'cpu' else 1)
"; then ok "hlt_remote.yaml parses as hlt.yaml with hbheReco = hcal_remote, fallback cpu"
else not_ok "hlt_remote.yaml parses as hlt.yaml with hbheReco = hcal_remote, fallback cpu"; fi

# The served model: the committed test network under the name the menu asks
# for; the CPU fallback loads the same directory, so both give one answer.
MODELS=$E2E_TMP/models
mkdir -p "$MODELS"
cp -r tests/data/facile_tiny "$MODELS/facile_tiny"

# start_server: `minihlt serve` on a free port; sets SERVER_PID and URL.
. scripts/serve_lib.sh
start_server() { serve_start "$MINIHLT" "$E2E_TMP/serve.out" --models "$MODELS"; }

# served: the number of infer requests the server has answered (its /metrics).
# wait_served N: until that number reaches N, so that a fault is injected mid-run whatever
# the machine's speed.
served() {
    python3 - "$URL" <<'EOF'
import re, sys, urllib.request
text = urllib.request.urlopen(sys.argv[1] + "/metrics", timeout=2).read().decode()
print(int(sum(float(v) for v in
              re.findall(r'^nv_inference_request_success\{[^}]*\} (\S+)', text, re.M))))
EOF
}
wait_served() {
    for _ in $(seq 200); do
        [ "$(served 2>/dev/null || echo 0)" -ge "$1" ] && return 0
        sleep 0.05
    done
    echo "# the server answered fewer than $1 requests"
}

SAMPLE=$E2E_TMP/sample.mhe
if ! "$MINIHLT" gen -n 24 --pileup 20 --seed 7 -o "$SAMPLE" >/dev/null 2>"$E2E_TMP/gen.err"; then
    not_ok "gen sample"; sed 's/^/#   /' "$E2E_TMP/gen.err"; e2e_done
fi

# The fault runs use a small menu (unpack, remote FACILE, towers, MET filter) so that a few
# hundred events take seconds; configs/hlt_remote.yaml itself runs once below.
cat >"$E2E_TMP/menu.yaml" <<'EOF'
process: {name: REMOTE, on_error: skip-event}
modules:
  hbheDigis: {plugin: hcal_unpack}
  hbheReco: {plugin: hcal_remote, servers: ["http://127.0.0.1:8000"], model: facile_tiny,
             model_dir: tests/data/facile_tiny, fallback: cpu, timeout_ms: 2000, retries: 2}
  hltTowers: {plugin: calo_towers, rechits: hbheReco, hitThreshold: 0.5}
  hltMet: {plugin: calo_met, towers: hltTowers, towerEtMin: 0.3}
  hltCaloMET90: {plugin: calo_met_filter, met: hltMet, minMET: 90}
paths:
  HLT_CaloMET90: [hbheDigis, hbheReco, hltTowers, hltMet, hltCaloMET90]
groups:
  hcal: [hbheDigis, hbheReco]
EOF

# run_menu REPORT [--set ...]: the small menu on the sample, 2 threads, 2 streams.
run_menu() {
    report=$1; shift
    "$MINIHLT" run "$E2E_TMP/menu.yaml" --input "$SAMPLE" --threads 2 --streams 2 --quiet \
        --report "$report" "$@"
}

# jq-like checks on a report: py REPORT 'python expression on r (the report),
# m (the hbheReco module entry), c (its counters), s (its remote section)'.
py() {
    python3 - "$1" "$2" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
m = next(x for x in r["modules"] if x["label"] == "hbheReco")
c = m.get("counters", {})
s = r.get("sections", {}).get("remote:hbheReco", {})
e = r["events"]
ok = eval(sys.argv[2])
if not ok:
    print("# events", e, "counters", c, "section", s)
sys.exit(0 if ok else 1)
EOF
}

# Every event accounted for, whatever happened.
ADDS_UP='e["read"] == e["processed"] + e["failed"] and e["processed"] == e["accepted"] + e["rejected"]'

start_server || { not_ok "minihlt serve starts"; e2e_done; }

# 1. Served remotely: no failure, no fallback, same decisions as the local CPU network.
if run_menu "$E2E_TMP/remote.json" --set "modules.hbheReco.servers=[\"$URL\"]" \
        >"$E2E_TMP/out" 2>"$E2E_TMP/err"; then
    ok "remote menu runs against minihlt serve"
else
    not_ok "remote menu runs against minihlt serve"; sed 's/^/#   /' "$E2E_TMP/err" | head
fi
if py "$E2E_TMP/remote.json" "e['read'] == 24 and e['failed'] == 0 and $ADDS_UP and \
        c.get('fallbacks', 0) == 0 and c.get('failures', 0) == 0 and c.get('channels', 0) > 0 \
        and s.get('requests') == 24 and s.get('succeeded') == 24 and s.get('connects', 99) <= 2"; then
    ok "remote: 24 events served, one request each, kept-alive connections"
else not_ok "remote: 24 events served, one request each, kept-alive connections"; fi

check "local CPU FACILE run for comparison" run_menu "$E2E_TMP/local.json" \
    --set "modules.hbheReco={plugin: hcal_facile, model: tests/data/facile_tiny}"
if python3 - "$E2E_TMP/remote.json" "$E2E_TMP/local.json" <<'EOF'
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
ca = next(m for m in a["modules"] if m["label"] == "hltTowers")
cb = next(m for m in b["modules"] if m["label"] == "hltTowers")
pa = {p["name"]: (p["accepted"], p["rejected"]) for p in a["paths"]}
pb = {p["name"]: (p["accepted"], p["rejected"]) for p in b["paths"]}
sys.exit(0 if pa == pb and ca.get("counters") == cb.get("counters") else 1)
EOF
then ok "remote and local FACILE give the same decisions"
else not_ok "remote and local FACILE give the same decisions"; fi

# The shipped menu itself: the whole default menu with HCAL served (3 events).
check "configs/hlt_remote.yaml runs against minihlt serve" "$MINIHLT" run configs/hlt_remote.yaml \
    --input "$SAMPLE" --events 3 --threads 2 --streams 2 --quiet --report "$E2E_TMP/menu.json" \
    --set "modules.hbheReco.servers=[\"$URL\"]" --set modules.hbheReco.model=facile_tiny \
    --set modules.hbheReco.model_dir=tests/data/facile_tiny
if py "$E2E_TMP/menu.json" "e['read'] == 3 and e['failed'] == 0 and s.get('succeeded') == 3"; then
    ok "hlt_remote.yaml: 3 events served remotely"
else not_ok "hlt_remote.yaml: 3 events served remotely"; fi

# 1b. A server answering garbage (HTTP 200, not KServe) first in the list:
#     the first event fails over to the real server, the rest go there directly.
python3 - "$E2E_TMP/garbage.port" <<'EOF' &
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = b"\x00garbage{{"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1], "w").write(str(srv.server_address[1]))
srv.serve_forever()
EOF
GARBAGE_PID=$!
for _ in $(seq 50); do [ -s "$E2E_TMP/garbage.port" ] && break; sleep 0.1; done
GARBAGE="http://127.0.0.1:$(cat "$E2E_TMP/garbage.port")"
run_menu "$E2E_TMP/garbage.json" --set "modules.hbheReco.servers=[\"$GARBAGE\", \"$URL\"]" \
    --set modules.hbheReco.retries=1 >"$E2E_TMP/out" 2>"$E2E_TMP/err"
kill "$GARBAGE_PID"; wait "$GARBAGE_PID" 2>/dev/null
if py "$E2E_TMP/garbage.json" "e['read'] == 24 and e['failed'] == 0 and $ADDS_UP and \
        s['bad_responses'] >= 1 and c.get('failovers', 0) >= 1 and \
        c.get('fallbacks', 0) == 0 and s['succeeded'] == 24"; then
    ok "garbage answers: failed over to the good server, all 24 served"
else not_ok "garbage answers: failed over to the good server, all 24 served"; fi

# 2. Server killed mid-run: the rest of the events fall back to the CPU.
BASE=$(served)
run_menu "$E2E_TMP/killed.json" --loop 12 --set "modules.hbheReco.servers=[\"$URL\"]" \
    --set modules.hbheReco.emulate_rtt_ms=5 --set modules.hbheReco.retries=1 \
    >"$E2E_TMP/out" 2>"$E2E_TMP/err" &
RUN=$!
wait_served $((BASE + 5))
kill -9 "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null; SERVER_PID=""
if wait "$RUN"; then ok "run survives the server killed mid-run"
else not_ok "run survives the server killed mid-run"; sed 's/^/#   /' "$E2E_TMP/err" | head; fi
if py "$E2E_TMP/killed.json" "e['read'] == 288 and e['failed'] == 0 and $ADDS_UP and \
        c.get('fallbacks', 0) > 0 and c['fallbacks'] == c.get('failures') and \
        s['succeeded'] > 0 and s['succeeded'] + s['failed'] == s['requests'] == 288 and \
        s['failed'] == c['fallbacks']"; then
    ok "killed: served + fallbacks = 288 events, none lost"
else not_ok "killed: served + fallbacks = 288 events, none lost"; fi

# 3. Server hung mid-run (SIGSTOP), then back (SIGCONT): timeouts, retries,
#    fallbacks while it hangs, served again afterwards.
start_server || { not_ok "minihlt serve restarts"; e2e_done; }
BASE=$(served)
run_menu "$E2E_TMP/hung.json" --loop 20 --set "modules.hbheReco.servers=[\"$URL\"]" \
    --set modules.hbheReco.emulate_rtt_ms=5 --set modules.hbheReco.timeout_ms=200 \
    --set modules.hbheReco.retries=1 >"$E2E_TMP/out" 2>"$E2E_TMP/err" &
RUN=$!
wait_served $((BASE + 5))
kill -STOP "$SERVER_PID"
sleep 1
kill -CONT "$SERVER_PID"
if wait "$RUN"; then ok "run survives a hung server"
else not_ok "run survives a hung server"; sed 's/^/#   /' "$E2E_TMP/err" | head; fi
if py "$E2E_TMP/hung.json" "e['read'] == 480 and e['failed'] == 0 and $ADDS_UP and \
        s['timeouts'] > 0 and c.get('retries', 0) > 0 and c.get('fallbacks', 0) > 0 and \
        s['succeeded'] + s['failed'] == s['requests'] == 480 and \
        s['failed'] == c['fallbacks'] and s['succeeded'] > 0"; then
    ok "hung: timeouts retried, then CPU fallback; all 480 events accounted for"
else not_ok "hung: timeouts retried, then CPU fallback; all 480 events accounted for"; fi
stop_server

# 4. No server and fallback: none: every event fails, with the reason.
run_menu "$E2E_TMP/none.json" --set "modules.hbheReco.servers=[\"$URL\"]" \
    --set modules.hbheReco.fallback=none --set modules.hbheReco.retries=0 \
    >"$E2E_TMP/out" 2>"$E2E_TMP/err"
if py "$E2E_TMP/none.json" "e['read'] == 24 and e['failed'] == 24 and $ADDS_UP and \
        c.get('failures') == 24 and c.get('fallbacks', 0) == 0 and \
        any('remote inference failed' in f['reason'] for f in e['failures'])"; then
    ok "fallback none: all 24 events failed with the reason"
else not_ok "fallback none: all 24 events failed with the reason"; fi

# 5. The shipped model repository batches: two clients at once against data/models (the
#    model of the quick start and of configs/hlt_remote.yaml) and its dynamic batcher merges
#    their requests, so it runs fewer executions than it answers requests.
if serve_start "$MINIHLT" "$E2E_TMP/serve_data.out" --models data/models --quiet; then
    for i in 1 2; do
        run_menu "$E2E_TMP/pair$i.json" --events 12 --set "modules.hbheReco.servers=[\"$URL\"]" \
            --set modules.hbheReco.model=facile --set modules.hbheReco.model_dir=data/models/facile \
            --set modules.hbheReco.fallback=none >"$E2E_TMP/pair$i.out" 2>&1 &
        eval "PAIR$i=\$!"
    done
    wait "$PAIR1" && wait "$PAIR2" && PAIRS=ok || PAIRS=""
    python3 - "$URL" >"$E2E_TMP/pair.counts" <<'EOF2'
import re, sys, urllib.request
text = urllib.request.urlopen(sys.argv[1] + "/metrics", timeout=2).read().decode()
get = lambda n: int(float(re.search(r'^%s\{model="facile",version="1"\} (\S+)' % n, text,
                                    re.M).group(1)))
print(get("nv_inference_request_success"), get("nv_inference_exec_count"))
EOF2
    read -r REQS EXECS <"$E2E_TMP/pair.counts"
    stop_server
    if [ -n "$PAIRS" ] && [ "${REQS:-0}" -eq 24 ] && [ "${EXECS:-99}" -lt "$REQS" ]; then
        ok "data/models: 2 clients, 24 requests in $EXECS executions (dynamic batching)"
    else
        not_ok "data/models: 2 clients, 24 requests in ${EXECS:-?} executions (dynamic batching)"
        sed 's/^/#   /' "$E2E_TMP/pair1.out" "$E2E_TMP/pair2.out" | head
    fi
else not_ok "minihlt serve --models data/models starts"; fi

# 6. Bad parameters name the module and the key.
check_fails "bad fallback named" 2 "hbheReco.*fallback" run_menu "$E2E_TMP/x.json" \
    --set modules.hbheReco.fallback=gpu
check_fails "bad server URL named" 2 "hbheReco.*servers\[0\]" run_menu "$E2E_TMP/x.json" \
    --set 'modules.hbheReco.servers=["ftp://x"]'

e2e_done
