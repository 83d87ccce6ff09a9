#!/bin/sh
# remote.sh - the remote inference path (sim/net client + `minihlt serve`) against its
# parts, timed in the same run on loopback:
#   - request latency p50/p99 and requests/s vs concurrency (requests in flight through the
#     one client I/O thread) for an event-sized request (ROWS x 46 FP32, binary);
#   - a raw loopback TCP round trip of the same request and response sizes, and the
#     in-process CPU forward pass of the same rows: the protocol overhead ratio;
#     (server_request_mean_ms: the server's own request duration, all concurrencies);
#   - the server's dynamic batching: small requests at concurrency 1 and 16 on the
#     batching test model (requests per execution from /metrics, and the throughput gain).
#
# usage: scripts/bench/remote.sh [BUILD]
#   Environment: REMOTE_BENCH_ROWS (6500, about one pileup-60 event's channels),
#   REMOTE_BENCH_REQUESTS (200), REMOTE_BENCH_CONC ("1 2 4 8").
# Models: tests/data/models (facile_tiny for latency, facile_batch - max_batch_size 256,
# 20 ms queue delay - for batching). Raw `key value` figures go to BUILD/bench/remote.txt.
set -eu
BUILD=${1:-build}
ROWS=${REMOTE_BENCH_ROWS:-6500}
REQUESTS=${REMOTE_BENCH_REQUESTS:-200}
CONC=${REMOTE_BENCH_CONC:-1 2 4 8}
OUT="$BUILD/bench"
mkdir -p "$OUT"
[ -x "$BUILD/bin/minihlt" ] || { echo "remote.sh: $BUILD/bin/minihlt missing (make all)" >&2; exit 1; }

${CC:-cc} -O2 -g -std=c11 -D_GNU_SOURCE -Isim -Wall -Wextra -Werror -Wshadow \
    -Wstrict-prototypes -Wmissing-prototypes -Wvla -pthread \
    -o "$OUT/remote_bench" scripts/bench/remote_bench.c \
    -L"$BUILD/lib" -lminihlt -Wl,-rpath,"$(cd "$BUILD/lib" && pwd)"

. scripts/serve_lib.sh
SERVER_PID=""
trap 'if [ -n "$SERVER_PID" ]; then kill $SERVER_PID; wait $SERVER_PID 2>/dev/null; fi' EXIT
serve_start "$BUILD/bin/minihlt" "$OUT/remote_serve.log" --models tests/data/models || exit 1

metric() { # NAME MODEL: the value of a counter of MODEL in /metrics
    python3 -c '
import re, sys, urllib.request
t = urllib.request.urlopen(sys.argv[1] + "/metrics", timeout=10).read().decode()
print(sum(float(v) for v in re.findall(r"^%s\{[^}]*model=\"%s\"[^}]*\} (\S+)" % (sys.argv[2], sys.argv[3]), t, re.M)))
' "$URL" "$1" "$2"
}

S0=$(metric nv_inference_request_success facile_tiny)
D0=$(metric nv_inference_request_duration_us facile_tiny)
# shellcheck disable=SC2086
"$OUT/remote_bench" "$URL" facile_tiny tests/data/facile_tiny "$ROWS" "$REQUESTS" $CONC \
    >"$OUT/remote.txt"
S1=$(metric nv_inference_request_success facile_tiny)
D1=$(metric nv_inference_request_duration_us facile_tiny)
echo "server_request_mean_ms $(python3 -c "print('%.3f' % (($D1 - $D0) / 1e3 / max($S1 - $S0, 1)))")" \
    >>"$OUT/remote.txt"
R0=$(metric nv_inference_request_success facile_batch)
E0=$(metric nv_inference_exec_count facile_batch)
"$OUT/remote_bench" "$URL" facile_batch tests/data/facile_tiny 16 "$REQUESTS" 1 16 \
    | sed 's/^remote_/batch_/; t; s/^/batch_/' >>"$OUT/remote.txt"
R1=$(metric nv_inference_request_success facile_batch)
E1=$(metric nv_inference_exec_count facile_batch)
echo "batch_requests_per_execution $(python3 -c "print('%.2f' % (($R1 - $R0) / max($E1 - $E0, 1)))")" \
    >>"$OUT/remote.txt"
cat "$OUT/remote.txt"

python3 - "$OUT/remote.txt" "$CONC" <<'EOF'
import sys
v = {}
for line in open(sys.argv[1]):
    k, x = line.split()
    v[k] = float(x)
conc = sys.argv[2].split()
cmax = conc[-1]
base = v["raw_tcp_p50_ms"] + v["cpu_forward_p50_ms"]
print(f"ratio: protocol_overhead = {v['remote_c1_p50_ms'] / base:.2f}   "
      f"(remote p50 at concurrency 1 / (raw loopback TCP round trip of the same bytes + in-process "
      f"forward pass), {int(v['rows'])} rows; goal < 3)")
print(f"ratio: concurrency_gain = {v['remote_c%s_req_per_s' % cmax] / v['remote_c1_req_per_s']:.2f}   "
      f"(requests/s with {cmax} in flight / with 1, one client I/O thread; goal > 1)")
print(f"ratio: batching_gain = {v['batch_c16_req_per_s'] / v['batch_c1_req_per_s']:.2f}   "
      f"(requests/s of 16-row requests, 16 in flight / 1, dynamic batching, "
      f"{v['batch_requests_per_execution']:.1f} requests per execution; goal > 4)")
EOF
