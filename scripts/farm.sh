#!/bin/bash
# farm.sh - one inference server, N HLT clients: how many `minihlt run`
# processes one `minihlt serve` feeds before it saturates (the SONIC farm
# question).
#
# usage: scripts/farm.sh [options] N [N2 N3 ...]
#   For each N: starts one `minihlt serve` on a free port, runs N clients
#   (`minihlt run MENU` with HCAL served remotely) at once, reads the
#   server's /metrics before and after, and prints per client throughput
#   and HCAL wait, the aggregate throughput, and the server's requests,
#   executions (batching), queue and compute time per request. The last
#   lines are one summary row per N.
# options:
#   --menu FILE      menu (default configs/hlt_remote.yaml; its HCAL module
#                    must be labelled hbheReco)
#   --input FILE     sample (default build/samples/default.mhe)
#   --events E       events per client (default 200)
#   --threads T      threads per client (default 1); --streams S (default 2)
#   --rtt MS         emulate_rtt_ms of every client (default 0; 10 = on-premises, 60 = cloud)
#   --models DIR     server model repository (default data/models)
#   --model NAME     model name (default facile); --model-dir DIR for the CPU fallback
#   --set K=V        passed to every client (repeatable)
#   --out DIR        reports and logs (default build/farm)
#   --json FILE      also write the points as JSON: {"points": [{clients,
#                    throughput_per_client_hz, server_queue_ms_per_request,
#                    server_compute_ms_per_request, ...}], "saturation_clients"}
#                    (scripts/plot_study.py reads it as STUDYDIR/farm.json)
#   --build DIR      build directory (default build)
# Example: scripts/farm.sh --events 300 --rtt 10 1 2 4
set -u
BUILD=build
MENU=configs/hlt_remote.yaml
INPUT=""
EVENTS=200
THREADS=1
STREAMS=2
RTT=0
MODELS=data/models
MODEL=facile
MODEL_DIR=""
OUT=""
JSON=""
SETS=()
NS=()
die() { echo "farm.sh: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
    case $1 in
    --menu) MENU=$2; shift 2 ;;
    --input) INPUT=$2; shift 2 ;;
    --events) EVENTS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --streams) STREAMS=$2; shift 2 ;;
    --rtt) RTT=$2; shift 2 ;;
    --models) MODELS=$2; shift 2 ;;
    --model) MODEL=$2; shift 2 ;;
    --model-dir) MODEL_DIR=$2; shift 2 ;;
    --set) SETS+=(--set "$2"); shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --json) JSON=$2; shift 2 ;;
    --build) BUILD=$2; shift 2 ;;
    -h|--help) sed -n '2,31p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option '$1'" ;;
    *) case $1 in ''|*[!0-9]*) die "N must be a positive integer, not '$1'" ;; esac
       [ "$1" -ge 1 ] || die "N must be at least 1"
       NS+=("$1"); shift ;;
    esac
done
[ ${#NS[@]} -gt 0 ] || die "usage: scripts/farm.sh [options] N [N2 ...] (--help)"
MINIHLT=$BUILD/bin/minihlt
[ -x "$MINIHLT" ] || die "$MINIHLT not built (make all)"
INPUT=${INPUT:-$BUILD/samples/default.mhe}
[ -f "$INPUT" ] || die "sample $INPUT missing (make sample, or --input FILE)"
[ -d "$MODELS/$MODEL" ] || die "model $MODEL not in repository $MODELS"
MODEL_DIR=${MODEL_DIR:-$MODELS/$MODEL}
OUT=${OUT:-$BUILD/farm}
mkdir -p "$OUT"

. "$(dirname "$0")/serve_lib.sh"
SERVER_PID=""
CLIENTS=()
cleanup() {
    for p in "${CLIENTS[@]}"; do kill "$p" 2>/dev/null; done
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null; fi
}
trap cleanup EXIT

metrics() {
    python3 -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1] + "/metrics", timeout=10).read().decode())' \
        "$URL" >"$1" || die "cannot read $URL/metrics"
}

SUMMARY=$OUT/summary.txt
POINTS=$OUT/points.jsonl
: >"$SUMMARY"
: >"$POINTS"
for N in "${NS[@]}"; do
    serve_start "$MINIHLT" "$OUT/serve_$N.log" --models "$MODELS" || die "minihlt serve did not start"
    metrics "$OUT/metrics_${N}_before.txt"
    CLIENTS=()
    for i in $(seq "$N"); do
        "$MINIHLT" run "$MENU" --input "$INPUT" --events "$EVENTS" --threads "$THREADS" \
            --streams "$STREAMS" --quiet --report "$OUT/client_${N}_$i.json" \
            --set "modules.hbheReco.servers=[\"$URL\"]" --set "modules.hbheReco.model=$MODEL" \
            --set "modules.hbheReco.model_dir=$MODEL_DIR" \
            --set "modules.hbheReco.emulate_rtt_ms=$RTT" "${SETS[@]}" \
            >"$OUT/client_${N}_$i.log" 2>&1 &
        CLIENTS+=($!)
    done
    fail=0
    for p in "${CLIENTS[@]}"; do wait "$p" || fail=1; done
    CLIENTS=()
    metrics "$OUT/metrics_${N}_after.txt"
    kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null; SERVER_PID=""
    [ "$fail" -eq 0 ] || { tail -n 3 "$OUT"/client_"${N}"_*.log >&2; die "a client failed (N=$N)"; }
    python3 - "$OUT" "$N" "$MODEL" "$RTT" "$POINTS" "$EVENTS" "$THREADS" "$STREAMS" >>"$SUMMARY" <<'EOF'
import json, re, sys
out, n, model, rtt, points = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
events, threads, streams = (int(x) for x in sys.argv[6:9])

def metrics(path):
    """Sums of the Prometheus samples of our model, by metric name."""
    vals = {}
    for line in open(path):
        if line.startswith("#"):
            continue
        m = re.match(r'^(\w+)\{([^}]*)\}\s+([0-9.eE+-]+)$', line.strip())
        if not m or f'model="{model}"' not in m.group(2):
            continue
        vals[m.group(1)] = vals.get(m.group(1), 0.0) + float(m.group(3))
    return vals

b, a = metrics(f"{out}/metrics_{n}_before.txt"), metrics(f"{out}/metrics_{n}_after.txt")
d = {k: a.get(k, 0.0) - b.get(k, 0.0) for k in a}
total = 0.0
print(f"== N = {n} clients, one server, emulated RTT {rtt} ms", file=sys.stderr)
print(f"{'client':>6} {'events':>7} {'failed':>6} {'wall_s':>7} {'Hz':>8} {'hcal wait ms/ev':>16} {'fallbacks':>9}",
      file=sys.stderr)
for i in range(1, n + 1):
    r = json.load(open(f"{out}/client_{n}_{i}.json"))
    m = next((x for x in r["modules"] if x["label"] == "hbheReco"), {})
    total += r["throughput_hz"]
    print(f"{i:>6} {r['events']['read']:>7} {r['events']['failed']:>6} {r['wall_s']:>7.2f} "
          f"{r['throughput_hz']:>8.1f} {m.get('wait_ms_per_event', 0):>16.2f} "
          f"{m.get('counters', {}).get('fallbacks', 0):>9}", file=sys.stderr)
req = d.get("nv_inference_request_success", 0)
fail = d.get("nv_inference_request_failure", 0)
execs = d.get("nv_inference_exec_count", 0)
rows = d.get("nv_inference_count", 0)
q = d.get("nv_inference_queue_duration_us", 0) / req if req else 0
c = d.get("nv_inference_compute_infer_duration_us", 0) / execs if execs else 0
dur = d.get("nv_inference_request_duration_us", 0) / req if req else 0
print(f"server: {req:.0f} requests ({fail:.0f} failed), {execs:.0f} executions "
      f"({req / execs if execs else 0:.2f} requests per execution, {rows / execs if execs else 0:.0f} rows), "
      f"queue {q:.0f} us/request, compute {c:.0f} us/execution, request {dur:.0f} us", file=sys.stderr)
with open(points, "a") as f:
    f.write(json.dumps({
        "clients": n, "events_per_client": events, "threads": threads, "streams": streams,
        "rtt_ms": float(rtt), "throughput_hz": total, "throughput_per_client_hz": total / n,
        "server_requests": req, "server_failures": fail,
        "requests_per_execution": req / execs if execs else None,
        "server_queue_ms_per_request": q / 1000.0,
        # per request (an execution serves req/execs requests), as in the study's estimate
        "server_compute_ms_per_request":
            d.get("nv_inference_compute_infer_duration_us", 0) / req / 1000.0 if req else None,
        "server_request_ms": dur / 1000.0}) + "\n")
print(f"N={n:<3} total {total:8.1f} Hz  per client {total / n:8.1f} Hz  "
      f"server queue {q:7.0f} us  compute {c:7.0f} us/exec  batch {req / execs if execs else 0:5.2f} req/exec  "
      f"request {dur:7.0f} us")
EOF
done
echo "== summary (also in $SUMMARY)"
cat "$SUMMARY"
if [ -n "$JSON" ]; then
    python3 - "$POINTS" "$JSON" <<'EOF' || die "cannot write $JSON"
import json, sys
pts = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
pts.sort(key=lambda p: p["clients"])
# Saturation: the last N before adding clients stopped raising the aggregate
# throughput by at least half of the added clients' previous per-client rate.
sat = None
for a, b in zip(pts, pts[1:]):
    gain = b["throughput_hz"] - a["throughput_hz"]
    if gain < 0.5 * a["throughput_per_client_hz"] * (b["clients"] - a["clients"]):
        sat = a["clients"]
        break
with open(sys.argv[2], "w") as f:
    json.dump({"tool": "scripts/farm.sh", "points": pts, "saturation_clients": sat,
               "saturation_rule": "last N before more clients raised the aggregate throughput "
                                  "by less than half their per-client rate; null: still "
                                  "scaling at the largest N"}, f, indent=1)
print(f"farm.sh: wrote {sys.argv[2]}")
EOF
fi
