#!/bin/sh
# source.sh - the framework's source: events read + decompressed + decoded
# per second through `minihlt run` with a trivial menu (one `pass` module, 2
# threads, 2 streams: the source's read-ahead runs on the worker threads),
# side by side with `zstd -d` of the same payload (the cluster frames), best
# of 5 interleaved runs each. The run includes start-up (menu, plugins), as zstd's does.
#
# usage: scripts/bench/source.sh [BUILD] [FILE.mhe]
#   Without FILE, the 2000-event sample shared with io.sh (payload_lib.sh).
#   A FILE of fewer than SOURCE_MIN_EVENTS events (default 500) is refused
#   (exit 2): minihlt's start-up (~tens of ms) would be most of what is
#   timed, so the ratio would measure start-up, not the source. Setting
#   SOURCE_MIN_EVENTS lower runs it anyway, with a warning on the ratio.
# Prints events/s and MB/s (decompressed payload) of each and
#   ratio: source read+decompress vs zstd -d = R   (goal >= 0.9)
set -eu
BUILD=${1:-build}
MINIHLT="$BUILD/bin/minihlt"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
. "$(dirname "$0")/payload_lib.sh"

bench_sample "$BUILD" "${2:-}"
bench_frames "$SAMPLE" "$TMP"
MIN_EVENTS=${SOURCE_MIN_EVENTS:-500}
SMALL=""
if [ "$EVENTS" -lt 500 ]; then
    if [ "$EVENTS" -lt "$MIN_EVENTS" ]; then
        echo "source.sh: $SAMPLE has $EVENTS events, fewer than $MIN_EVENTS: the timing would" \
            "be mostly minihlt's start-up; use >= 500 events (or SOURCE_MIN_EVENTS=$EVENTS to" \
            "run anyway)" >&2
        exit 2
    fi
    SMALL=1
    echo "source.sh: WARNING: $EVENTS events (< 500): start-up dominates, the ratio is not the source's" >&2
fi
cat >"$TMP/pass.yaml" <<'YAML'
process: {name: SRC, threads: 2, streams: 2}
modules:
  accept: {plugin: pass}
paths:
  HLT_All: [accept]
YAML
# One checked run first: every event must come through (a source that drops
# events would look fast).
"$MINIHLT" run "$TMP/pass.yaml" --input "$SAMPLE" --events -1 --quiet --report "$TMP/r.json"
got=$(python3 -c 'import json,sys; e=json.load(open(sys.argv[1]))["events"]; print(e["processed"])' "$TMP/r.json")
[ "$got" = "$EVENTS" ] || { echo "source.sh: the run processed $got of $EVENTS events" >&2; exit 1; }
bench_a() { "$MINIHLT" run "$TMP/pass.yaml" --input "$SAMPLE" --events -1 --quiet; }
bench_b() { zstd -q -d -c "$TMP/frames.zst"; }
bench_pair 5
t_src=$T_A
t_zstd=$T_B

awk -v small="$SMALL" -v ev="$EVENTS" -v mb="$RAW_MB" -v r="$COMP_RATIO" -v a="$t_src" -v z="$t_zstd" 'BEGIN {
    printf "source: %d events, %.1f MB raw, compression ratio %s\n", ev, mb, r
    printf "source: minihlt run (pass menu, 2 threads)  %7.3f s  %9.0f events/s  %7.1f MB/s\n", a, ev / a, mb / a
    printf "source: zstd -d of the same frames          %7.3f s  %9.0f events/s  %7.1f MB/s\n", z, ev / z, mb / z
    printf "ratio: source read+decompress vs zstd -d = %.2f   (minihlt run events/s, pass menu, 2 threads, over zstd -d of the same frames; goal >= 0.9%s)\n", z / a, small ? "; WARNING: < 500 events, start-up dominated" : ""
}'
