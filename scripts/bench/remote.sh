#!/bin/sh
# remote.sh - the remote inference path (sim/net client + `minihlt serve`) against its
# parts, timed in the same run on loopback:
#   - request latency p50/p99 and requests/s vs concurrency (requests in flight through the
#     one client I/O thread) for an event-sized request (ROWS x 46 FP32, binary);
#   - a raw loopback TCP round trip of the same request and response sizes, and the
#     in-process CPU forward pass of the same rows: the protocol overhead ratio;
#     (server_request_mean_ms: the server's own request duration, all concurrencies);
#   - the server's dynamic batching: small requests, 16 in flight, on the batching test
#     model and on the same model without dynamic_batching (requests per execution from
#     /metrics, and the throughput gain of batching at equal concurrency).
#
# usage: scripts/bench/remote.sh [BUILD]
#   Environment: REMOTE_BENCH_ROWS (6500, about one pileup-60 event's channels),
#   REMOTE_BENCH_REQUESTS (200), REMOTE_BENCH_CONC ("1 2 4 8").
# Models: tests/data/models (facile_tiny for latency, facile_batch - max_batch_size 256,
# 20 ms queue delay, 2 instances - for batching) plus two variants written here with the
# same weights and instances: facile_nobatch (no dynamic_batching) and facile_batch100
# (100 us queue delay, the delay of the shipped data/models/facile).
# Raw `key value` figures go to BUILD/bench/remote.txt.
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
# The repository served: tests/data/models plus facile_nobatch.
REPO="$OUT/remote_models"
TOP=$(pwd)
rm -rf "$REPO"
mkdir -p "$REPO/facile_nobatch" "$REPO/facile_batch100"
for m in tests/data/models/*; do ln -s "$TOP/$m" "$REPO/$(basename "$m")"; done
BATCH_CFG=tests/data/models/facile_batch/config.yaml
ln -s "$TOP/tests/data/facile_tiny/1" "$REPO/facile_nobatch/1"
sed -e 's/^name: facile_batch$/name: facile_nobatch/' -e '/^dynamic_batching:/,/^  max_queue/d' \
    "$BATCH_CFG" >"$REPO/facile_nobatch/config.yaml"
ln -s "$TOP/tests/data/facile_tiny/1" "$REPO/facile_batch100/1"
sed -e 's/^name: facile_batch$/name: facile_batch100/' \
    -e 's/max_queue_delay_microseconds: 20000$/max_queue_delay_microseconds: 100/' \
    "$BATCH_CFG" >"$REPO/facile_batch100/config.yaml"
if grep -q dynamic_batching "$REPO/facile_nobatch/config.yaml" ||
    ! grep -q "name: facile_nobatch" "$REPO/facile_nobatch/config.yaml" ||
    ! grep -q "max_queue_delay_microseconds: 100$" "$REPO/facile_batch100/config.yaml"; then
    echo "remote.sh: could not derive the variants of $BATCH_CFG" >&2; exit 1
fi
serve_start "$BUILD/bin/minihlt" "$OUT/remote_serve.log" --models "$REPO" || exit 1

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
# batching PREFIX MODEL: 16-row requests, 16 in flight, on MODEL; figures PREFIX_*.
batching() {
    R0=$(metric nv_inference_request_success "$2")
    E0=$(metric nv_inference_exec_count "$2")
    "$OUT/remote_bench" "$URL" "$2" tests/data/facile_tiny 16 "$REQUESTS" 16 \
        | sed "s/^remote_/$1_/; t; s/^/$1_/" >>"$OUT/remote.txt"
    R1=$(metric nv_inference_request_success "$2")
    E1=$(metric nv_inference_exec_count "$2")
    echo "$1_requests_per_execution $(python3 -c "print('%.2f' % (($R1 - $R0) / max($E1 - $E0, 1)))")" \
        >>"$OUT/remote.txt"
}
batching batch facile_batch
batching batch100 facile_batch100
batching nobatch facile_nobatch
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
for k, what in (("batch", "20 ms delay"), ("batch100", "100 us delay")):
    print(f"ratio: batching_gain{'' if k == 'batch' else '_100us'} = "
          f"{v[k + '_c16_req_per_s'] / v['nobatch_c16_req_per_s']:.2f}   "
          f"(requests/s of 16-row requests, 16 in flight: dynamic batching ({what}, "
          f"{v[k + '_requests_per_execution']:.1f} requests per execution) / the same model "
          f"and instances without it ({v['nobatch_requests_per_execution']:.1f}); about 1 on "
          f"the CPU backend, where an execution costs little more than the hand-off; "
          f"goal > 1 on a GPU, where it has a fixed launch cost)")
EOF
