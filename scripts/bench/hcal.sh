#!/bin/sh
# hcal.sh - the HCAL reconstruction benchmark, one thread, CPU time:
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
#   Environment: HCAL_BENCH_SAMPLE_EVENTS (30; 0: no framework run),
#   HCAL_BENCH_EVENTS (synthetic events, 20), HCAL_BENCH_CHANNELS (channels
#   per synthetic event; default the generated sample's mean, else 6500),
#   HCAL_BENCH_PILEUPS (MAHI pileup scan, default "20 40 80"; empty: none).
#
# Two measurements:
#  1. Through the framework on generated events (when `minihlt gen -n` exists):
#     a ttbar sample at pileup 60 (BUILD/bench/hcal_pu60_N.mhe, made once),
#     a menu of hcal_unpack + hcal_mahi (then hcal_facile), one thread; the
#     report's per-module CPU time per event.
#  2. Micro-benchmarks on synthetic events (scripts/bench/hcal_bench.c says
#     how they are made) with the same channel count: the MAHI pileup scan,
#     FACILE features + forward, and the onnxruntime comparison (needs PyPI,
#     BUILD/venv; skipped with the reason without it).
set -eu
BUILD=${1:-build}
MODEL=${2:-}
EVENTS=${HCAL_BENCH_EVENTS:-20}
SAMPLE_EVENTS=${HCAL_BENCH_SAMPLE_EVENTS:-30}
PILEUPS=${HCAL_BENCH_PILEUPS-20 40 80}
HERE=$(dirname "$0")
OUT="$BUILD/bench"
MINIHLT="$BUILD/bin/minihlt"
mkdir -p "$OUT"
: >"$OUT/hcal_gen.err"

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
if [ ! -f "$MODEL/config.yaml" ]; then
    echo "hcal.sh: $MODEL/config.yaml: no such file (not a FACILE model repository)" >&2
    exit 1
fi
val() { sed -n "s/^$1 \([0-9.]*\)$/\1/p" "$2"; }

# ---- 1. through the framework, on generated pileup-60 events ------------
fw_mahi_ms=""
fw_facile_ms=""
sample_ch=""
SAMPLE="$OUT/hcal_pu60_$SAMPLE_EVENTS.mhe"
if [ "$SAMPLE_EVENTS" -gt 0 ] && [ ! -s "$SAMPLE" ]; then
    "$MINIHLT" gen -n "$SAMPLE_EVENTS" --pileup 60 --process ttbar --seed 7 -o "$SAMPLE" \
        >/dev/null 2>"$OUT/hcal_gen.err" || rm -f "$SAMPLE"
fi
if [ "$SAMPLE_EVENTS" -gt 0 ] && [ -s "$SAMPLE" ]; then
    sample_ch=$("$MINIHLT" inspect "$SAMPLE" |
        sed -n 's/^channels\/event .* mean \([0-9.]*\) .*/\1/p')
    cat >"$OUT/hcal_menu.yaml" <<EOF
# written by scripts/bench/hcal.sh: the HCAL reconstruction alone, one thread
process: {name: HCALBENCH, threads: 1, streams: 1}
source: {input: $SAMPLE}
modules:
  hbheDigis: {plugin: hcal_unpack}
  hbheReco: {plugin: hcal_mahi}
paths:
  HLT_Hcal: [hbheDigis, hbheReco]
groups:
  hcal: [hbheDigis, hbheReco]
EOF
    "$MINIHLT" run "$OUT/hcal_menu.yaml" --report "$OUT/hcal_mahi.json" >/dev/null
    "$MINIHLT" run "$OUT/hcal_menu.yaml" --set modules.hbheReco.plugin=hcal_facile \
        --set "modules.hbheReco.model=$MODEL" --report "$OUT/hcal_facile.json" >/dev/null
    # "unpack reco" CPU ms per event from a report
    ms() {
        /usr/bin/python3 -c 'import json, sys
m = {x["label"]: x["cpu_ms_per_event"] for x in json.load(open(sys.argv[1]))["modules"]}
print("%.4f %.4f" % (m["hbheDigis"], m["hbheReco"]))' "$1"
    }
    set -- $(ms "$OUT/hcal_mahi.json")
    unpack_ms=$1 fw_mahi_ms=$2
    set -- $(ms "$OUT/hcal_facile.json")
    fw_facile_ms=$2
    awk -v n="$SAMPLE_EVENTS" -v ch="$sample_ch" -v u="$unpack_ms" -v m="$fw_mahi_ms" \
        -v f="$fw_facile_ms" 'BEGIN {
        printf "framework: %d generated ttbar events at pileup 60, %.0f channels per event, one thread\n", n, ch
        printf "framework: hcal_unpack %.2f ms/event; hcal_mahi %.2f ms/event = %.3f us/channel; hcal_facile %.2f ms/event = %.1f ns/channel\n", u, m, m * 1000 / ch, f, f * 1e6 / ch
    }'
else
    echo "hcal.sh: no framework run (HCAL_BENCH_SAMPLE_EVENTS=0, or no sample: $(head -n 1 "$OUT/hcal_gen.err" 2>/dev/null)): synthetic events only"
fi
if [ -n "$sample_ch" ]; then
    CHANNELS=${HCAL_BENCH_CHANNELS:-$(printf '%.0f' "$sample_ch")}
else
    CHANNELS=${HCAL_BENCH_CHANNELS:-6500}
fi

# ---- 2. micro-benchmarks on synthetic events ------------------------------
# The bench program: same warnings and optimisation as the Makefile's build.
cc -std=c11 -O2 -g -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
    -Wvla -Wpointer-arith -Wformat=2 -Wundef -Isim -D_GNU_SOURCE \
    -o "$OUT/hcal_bench" "$HERE/hcal_bench.c" \
    -L"$BUILD/lib" -lminihlt -Wl,-rpath,"$(cd "$BUILD/lib" && pwd)" -lm

"$OUT/hcal_bench" "$MODEL" --pileup 60 --events "$EVENTS" --channels "$CHANNELS" >"$OUT/hcal.txt"
grep -v '^[a-z_]* [0-9.]*$' "$OUT/hcal.txt"
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
ours_py_us=""
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

echo "== hcal summary (one thread, CPU time, $CHANNELS channels per event, pileup 60)"
awk -v mu="$mahi_us" -v mm="$mahi_ms" -v fu="$facile_us" -v fw="$fwd_us" -v ch="$CHANNELS" \
    -v ort="$ort_us" -v op="$ours_py_us" -v fm="$fw_mahi_ms" -v ff="$fw_facile_ms" 'BEGIN {
    if (fm != "") {
        printf "MAHI (framework)     %8.3f us/channel  %9.1f us/event  (hcal_mahi on generated events)\n", fm * 1000 / ch, fm * 1000
        printf "FACILE (framework)   %8.1f ns/channel  %9.1f us/event  (hcal_facile, features + forward)\n", ff * 1e6 / ch, ff * 1000
    }
    printf "MAHI (synthetic)     %8.3f us/channel  %9.1f us/event\n", mu, mm * 1000
    printf "FACILE CPU           %8.1f ns/channel  %9.1f us/event (forward %.1f)\n", fu * 1000 / ch, fu, fw
    if (ort != "")
        printf "onnxruntime forward  %8.1f ns/channel  %9.1f us/event\n", ort * 1000 / ch, ort
    # The lines run_all.sh collects into BUILD/bench/summary.md.
    if (fm != "")
        printf "ratio: mahi_over_facile_framework = %.1f (hcal_mahi / hcal_facile CPU per event, generated pileup-60 events, one thread; goal > 1)\n", fm / ff
    printf "ratio: mahi_over_facile_cpu = %.1f (MAHI / FACILE CPU time per event, synthetic pileup 60, one thread; goal > 1)\n", mm * 1000 / fu
    if (ort != "")
        printf "ratio: onnxruntime_over_facile = %.2f (onnxruntime / our FACILE forward pass, same model and batch, one thread, interleaved; goal >= 1)\n", ort / op
}'
