#!/bin/sh
# hcal.sh - the HCAL reconstruction benchmark, one thread:
#   MAHI microseconds per channel and milliseconds per event at pileup 60
#   (and the pileup dependence), FACILE CPU microseconds per event (features +
#   forward), and FACILE's forward pass against onnxruntime on the same model
#   and batch; prints the ratios.
#
# usage: scripts/bench/hcal.sh [BUILD] [MODEL_DIR]
#   MODEL_DIR: default data/models/facile if present, else a random model of
#   the FACILE architecture (46-50-30-20-10-5-1, BatchNorm first) written to
#   BUILD/bench/facile_arch by scripts/facile_reference.py (timing does not
#   depend on the weights).
#   Environment: HCAL_BENCH_EVENTS (default 20), HCAL_BENCH_CHANNELS (6500),
#   HCAL_BENCH_PILEUPS (MAHI pileup scan, default "20 40 80"; empty: none).
# Events are synthetic (scripts/bench/hcal_bench.c says how they are made);
# the onnxruntime comparison needs PyPI (BUILD/venv) and is skipped, with the
# reason, without it.
set -eu
BUILD=${1:-build}
MODEL=${2:-}
EVENTS=${HCAL_BENCH_EVENTS:-20}
CHANNELS=${HCAL_BENCH_CHANNELS:-6500}
PILEUPS=${HCAL_BENCH_PILEUPS-20 40 80}
HERE=$(dirname "$0")
OUT="$BUILD/bench"
mkdir -p "$OUT"

if [ ! -e "$BUILD/lib/libminihlt.so" ]; then
    echo "hcal.sh: $BUILD/lib/libminihlt.so missing (run make all)" >&2
    exit 1
fi
if [ -z "$MODEL" ]; then
    if [ -f data/models/facile/config.yaml ]; then
        MODEL=data/models/facile
    else
        MODEL="$OUT/facile_arch"
        /usr/bin/python3 "$HERE/../facile_reference.py" init --out "$MODEL" --name facile_arch \
            --hidden 50,30,20,10,5 --seed 3 >/dev/null
    fi
fi

# The bench program: same warnings and optimisation as the Makefile's build.
cc -std=c11 -O2 -g -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
    -Wvla -Wpointer-arith -Wformat=2 -Wundef -Isim -D_GNU_SOURCE \
    -o "$OUT/hcal_bench" "$HERE/hcal_bench.c" \
    -L"$BUILD/lib" -lminihlt -Wl,-rpath,"$(cd "$BUILD/lib" && pwd)" -lm

"$OUT/hcal_bench" "$MODEL" --pileup 60 --events "$EVENTS" --channels "$CHANNELS" >"$OUT/hcal.txt"
grep -v '^[a-z_]* [0-9.]*$' "$OUT/hcal.txt"
val() { sed -n "s/^$1 \([0-9.]*\)$/\1/p" "$2"; }
mahi_us=$(val mahi_us_per_channel "$OUT/hcal.txt")
mahi_ms=$(val mahi_ms_per_event "$OUT/hcal.txt")
facile_us=$(val facile_us_per_event "$OUT/hcal.txt")
fwd_us=$(val facile_forward_us_per_event "$OUT/hcal.txt")

for mu in $PILEUPS; do
    "$OUT/hcal_bench" "$MODEL" --pileup "$mu" --events 10 --channels "$CHANNELS" >"$OUT/hcal_pu.txt"
    printf 'mahi at pileup %3s: %s us per channel, %s ms per event, %s iterations\n' "$mu" \
        "$(val mahi_us_per_channel "$OUT/hcal_pu.txt")" \
        "$(val mahi_ms_per_event "$OUT/hcal_pu.txt")" "$(val mahi_iterations "$OUT/hcal_pu.txt")"
done

ort_us=""
rc=0
/usr/bin/python3 "$HERE/hcal_onnx.py" "$MODEL" --channels "$CHANNELS" --build "$BUILD" \
    >"$OUT/hcal_onnx.txt" 2>"$OUT/hcal_onnx.err" || rc=$?
if [ "$rc" -eq 0 ]; then
    grep -v '^[a-z_]* [0-9.]*$' "$OUT/hcal_onnx.txt"
    ort_us=$(val ort_forward_us "$OUT/hcal_onnx.txt")
    ours_py_us=$(val ours_forward_us "$OUT/hcal_onnx.txt")
elif [ "$rc" -eq 3 ]; then
    echo "hcal.sh: onnxruntime comparison skipped: no PyPI ($(tail -n 1 "$OUT/hcal_onnx.err"))"
else
    cat "$OUT/hcal_onnx.err" >&2
    exit 1
fi

echo "== hcal summary (one thread, $CHANNELS channels per event, pileup 60)"
awk -v mu="$mahi_us" -v mm="$mahi_ms" -v fu="$facile_us" -v fw="$fwd_us" \
    -v ort="$ort_us" -v op="${ours_py_us:-}" 'BEGIN {
    printf "MAHI                 %8.3f us/channel  %9.1f us/event\n", mu, mm * 1000
    printf "FACILE CPU           %8.1f ns/channel  %9.1f us/event (forward %.1f)\n", fu * 1000 / '"$CHANNELS"', fu, fw
    printf "ratio MAHI/FACILE    %8.1f\n", mm * 1000 / fu
    if (ort != "") {
        printf "onnxruntime forward  %8.1f ns/channel  %9.1f us/event\n", ort * 1000 / '"$CHANNELS"', ort
        printf "ratio onnxruntime/FACILE forward %.2f (same process, interleaved: %.2f)\n", ort / fw, ort / op
    }
    # The lines run_all.sh collects into BUILD/bench/summary.md.
    printf "ratio: mahi_over_facile_cpu = %.1f (MAHI / FACILE CPU time per event at pileup 60, one thread; goal > 1)\n", mm * 1000 / fu
    if (ort != "")
        printf "ratio: onnxruntime_over_facile = %.2f (onnxruntime / our FACILE forward pass, same model and batch, one thread, interleaved; goal >= 1)\n", ort / op
}'
