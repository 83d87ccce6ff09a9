#!/bin/sh
# savings.sh - the savings study at a small scale: `minihlt study` of the
# default menu with MAHI (the baseline) and FACILE on the CPU, and how much
# of the ideal savings (the baseline's HCAL share, the Amdahl bound) FACILE
# achieves. achieved/ideal = (1 - CPU_facile/CPU_mahi) / HCAL share: the
# part of MAHI's cost that FACILE removes (1 = HCAL reco for free).
#
# usage: scripts/bench/savings.sh [BUILD]
# Environment: SAVINGS_BENCH_EVENTS (24), SAVINGS_BENCH_TIME_SCALE (0.1: the
# emulated rest of the menu at a tenth of its cost, so that the HCAL share is
# larger than the real menu's ~10% but the ratio is the same quantity),
# SAVINGS_BENCH_INPUT (BUILD/samples/default.mhe, else the committed sample).
# Output (summary.json, summary.txt) in BUILD/bench/savings.
set -eu
BUILD=${1:-build}
MINIHLT="$BUILD/bin/minihlt"
EVENTS=${SAVINGS_BENCH_EVENTS:-24}
SCALE=${SAVINGS_BENCH_TIME_SCALE:-0.1}
INPUT=${SAVINGS_BENCH_INPUT:-$BUILD/samples/default.mhe}
[ -f "$INPUT" ] || INPUT=data/samples/ttbar_pu60.mhe
OUT="$BUILD/bench/savings"
rm -rf "$OUT"
"$MINIHLT" study configs/hlt.yaml --variants mahi,facile --events "$EVENTS" --threads 1 \
    --streams 1 --input "$INPUT" --set process.time_scale="$SCALE" --no-plots -o "$OUT" \
    2>"$OUT.log" || { cat "$OUT.log" >&2; exit 1; }
python3 - "$OUT/summary.json" "$SCALE" <<'PYEOF'
import json, sys
s = json.load(open(sys.argv[1]))
v = {x["name"]: x for x in s["variants"]}
f, m = v["facile"], v["mahi"]
print(f"savings: mahi {m['hlt_cpu_ms_per_event']:.2f} ms/event (HCAL {100 * m['hcal_cpu_fraction']:.1f}%), "
      f"facile {f['hlt_cpu_ms_per_event']:.2f} ms/event; time_scale {sys.argv[2]}")
print(f"savings: achieved {100 * f['savings']:.1f}%, ideal {100 * f['ideal_savings']:.1f}%")
print(f"ratio: achieved/ideal savings (facile) = {f['achieved_over_ideal']:.2f}   "
      "(HLT CPU saved by FACILE on the CPU over the baseline MAHI share, minihlt study; goal >= 0.9)")
PYEOF
