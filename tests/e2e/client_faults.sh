#!/bin/bash
# client_faults.sh - a server that answers well, then garbage mid-run, then well again,
# through `minihlt run` with hcal_remote (issue 8, "Client"). tests/e2e/remote.sh covers a
# server killed, hung, absent, and a garbage server first in the list (failover); this adds
# one server going bad mid-run in five ways: HTTP 200 with non-KServe bytes, HTTP 500,
# an answer cut short (Content-Length not met, connection closed), a well-formed answer
# with the wrong number of rows, and a connection closed without an answer. With
# fallback: cpu every event is processed (served or computed locally); with fallback: none
# the bad answers fail their events with the reason; either way read = processed + failed
# and the module's counters add up. No signal (exit < 128).
. "$(dirname "$0")/lib.sh"
. scripts/serve_lib.sh
SERVER_PID=""; PROXY_PID=""
cleanup() {
    [ -n "$PROXY_PID" ] && kill "$PROXY_PID" 2>/dev/null
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$E2E_TMP"
}
trap cleanup EXIT
MODELS=$E2E_TMP/models
mkdir -p "$MODELS"
cp -r tests/data/facile_tiny "$MODELS/facile_tiny"
serve_start "$MINIHLT" "$E2E_TMP/serve.out" --models "$MODELS" --quiet || { not_ok "serve starts"; e2e_done; }
SAMPLE=$E2E_TMP/sample.mhe
"$MINIHLT" gen -n 24 --pileup 20 --seed 7 -o "$SAMPLE" >/dev/null 2>&1 || { not_ok "gen sample"; e2e_done; }

# The proxy: requests 0..5 and from 36 on are forwarded to the real server; 6..35 get the
# faults in turn. It counts what it did in FILE.stats at exit.
python3 - "$URL" "$E2E_TMP/proxy.port" <<'PY' &
import http.client, http.server, json, signal, sys, threading, urllib.parse
up = urllib.parse.urlsplit(sys.argv[1])
lock = threading.Lock()
n = [0]
FAULTS = ["garbage", "http500", "cut", "wrong_rows", "close"]
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a):
        pass
    def do_GET(self):
        if self.path == "/reset":   # the next run starts the sequence again
            with lock:
                n[0] = 0
            return self.reply(200, b"", "text/plain")
        self.forward(None)
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with lock:
            i = n[0]; n[0] += 1
        if 6 <= i < 36:
            return self.fault(FAULTS[i % len(FAULTS)])
        self.forward(body)
    def forward(self, body):
        c = http.client.HTTPConnection(up.hostname, up.port, timeout=10)
        hdrs = {k: v for k, v in self.headers.items() if k.lower() in
                ("content-type", "inference-header-content-length")}
        c.request(self.command, self.path, body=body, headers=hdrs)
        r = c.getresponse(); data = r.read()
        self.send_response(r.status)
        for k in ("Content-Type", "Inference-Header-Content-Length"):
            if r.getheader(k):
                self.send_header(k, r.getheader(k))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers(); self.wfile.write(data); c.close()
    def fault(self, kind):
        if kind == "close":
            self.close_connection = True
            return
        if kind == "garbage":
            self.reply(200, b"\x00garbage{{", "application/json")
        elif kind == "http500":
            self.reply(500, b'{"error":"injected failure"}', "application/json")
        elif kind == "wrong_rows":
            self.reply(200, json.dumps({"model_name": "facile_tiny", "outputs": [
                {"name": "output__0", "datatype": "FP32", "shape": [1, 1], "data": [0.5]}]}).encode(),
                "application/json")
        elif kind == "cut":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "100000")
            self.end_headers(); self.wfile.write(b'{"outputs":[{"name":"output__0",')
            self.wfile.flush(); self.close_connection = True
    def reply(self, status, body, ctype):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers(); self.wfile.write(body)
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
srv.daemon_threads = True
open(sys.argv[2], "w").write(str(srv.server_address[1]))
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
srv.serve_forever()
PY
PROXY_PID=$!
for _ in $(seq 50); do [ -s "$E2E_TMP/proxy.port" ] && break; sleep 0.1; done
PROXY="http://127.0.0.1:$(cat "$E2E_TMP/proxy.port")"

cat >"$E2E_TMP/menu.yaml" <<YAML
process: {name: REMOTE, on_error: skip-event}
modules:
  hbheDigis: {plugin: hcal_unpack}
  hbheReco: {plugin: hcal_remote, servers: ["$PROXY"], model: facile_tiny,
             model_dir: tests/data/facile_tiny, fallback: cpu, timeout_ms: 2000, retries: 1}
  hltTowers: {plugin: calo_towers, rechits: hbheReco, hitThreshold: 0.5}
  hltMet: {plugin: calo_met, towers: hltTowers, towerEtMin: 0.3}
  hltCaloMET90: {plugin: calo_met_filter, met: hltMet, minMET: 90}
paths:
  HLT_CaloMET90: [hbheDigis, hbheReco, hltTowers, hltMet, hltCaloMET90]
YAML
py() {
    python3 - "$1" "$2" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
m = next(x for x in r["modules"] if x["label"] == "hbheReco")
c = m.get("counters", {})
s = r.get("sections", {}).get("remote:hbheReco", {})
e = r["events"]
ok = eval(sys.argv[2])
reasons = {}
for f in e.get("failures", []):
    k = f["reason"].split(": ")[-1][:70]
    reasons[k] = reasons.get(k, 0) + 1
print("# %s: read %d, failed %d, remote %s, reasons %s" % (sys.argv[1].split("/")[-1], e["read"],
      e["failed"], {k: s.get(k) for k in ("succeeded", "failed", "retries", "http_errors",
      "bad_responses", "conn_errors")}, reasons))
if not ok:
    print("# events", {k: v for k, v in e.items() if k != "failures"}, "counters", c, "section", s)
    print("# failures", [f["reason"] for f in e.get("failures", [])][:5])
sys.exit(0 if ok else 1)
PY
}
ADDS_UP='e["read"] == e["processed"] + e["failed"] and e["processed"] == e["accepted"] + e["rejected"]'

"$MINIHLT" run "$E2E_TMP/menu.yaml" --input "$SAMPLE" --loop 3 --threads 2 --streams 2 --quiet \
    --report "$E2E_TMP/cpu.json" >"$E2E_TMP/out" 2>"$E2E_TMP/err"
rc=$?
if [ "$rc" -eq 0 ]; then ok "garbage mid-run, fallback cpu: run exits 0"
else not_ok "garbage mid-run, fallback cpu: exit $rc"; sed 's/^/#   /' "$E2E_TMP/err" | head; fi
if py "$E2E_TMP/cpu.json" "e['read'] == 72 and e['failed'] == 0 and $ADDS_UP and \
        s['bad_responses'] > 0 and c.get('fallbacks', 0) > 0 and \
        s['succeeded'] + s['failed'] == s['requests'] == 72 and s['failed'] == c['fallbacks'] and \
        s['succeeded'] >= 36"; then
    ok "garbage mid-run, fallback cpu: 72 events = served + fallbacks, bad answers counted"
else not_ok "garbage mid-run, fallback cpu: totals"; fi

curl -s "$PROXY/reset" >/dev/null
"$MINIHLT" run "$E2E_TMP/menu.yaml" --input "$SAMPLE" --loop 3 --threads 2 --streams 2 --quiet \
    --report "$E2E_TMP/none.json" --set modules.hbheReco.fallback=none \
    --set modules.hbheReco.retries=0 >"$E2E_TMP/out" 2>"$E2E_TMP/err"
rc=$?
if [ "$rc" -eq 0 ] && py "$E2E_TMP/none.json" "e['read'] == 72 and $ADDS_UP and e['failed'] > 0 and \
        e['failed'] == c.get('failures') and e['processed'] == s['succeeded'] and \
        all('remote inference failed' in f['reason'] for f in e['failures'])"; then
    ok "garbage mid-run, fallback none: bad answers fail their events with the reason, totals add up"
else not_ok "garbage mid-run, fallback none (exit $rc)"; sed 's/^/#   /' "$E2E_TMP/err" | head -3; fi
e2e_done
