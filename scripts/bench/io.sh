#!/bin/sh
# io.sh - .mhe read throughput: `minihlt inspect --verify` (read, CRC32C,
# decompress, decode every event) against `zstd -d` of the same frames,
# best of 3 runs each.
#
# usage: scripts/bench/io.sh [BUILD] [FILE.mhe]
#   Without FILE, a sample is generated with `minihlt gen` (2000 ttbar events
#   at pileup 60) into a temporary directory.
set -eu
BUILD=${1:-build}
FILE=${2:-}
MINIHLT="$BUILD/bin/minihlt"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

command -v zstd >/dev/null || { echo "io.sh: needs the zstd program" >&2; exit 1; }
if [ -z "$FILE" ]; then
    FILE="$TMP/bench.mhe"
    if ! "$MINIHLT" gen -n 2000 --pileup 60 --process ttbar --seed 1 -o "$FILE" >/dev/null; then
        echo "io.sh: cannot generate a sample (minihlt gen); pass FILE.mhe" >&2
        exit 1
    fi
fi

"$MINIHLT" inspect "$FILE" >"$TMP/info"
events=$(sed -n 's/^events  *\([0-9]*\)$/\1/p' "$TMP/info")
raw_mb=$(sed -n 's/^payload  *\([0-9.]*\) MB raw.*/\1/p' "$TMP/info")
ratio=$(sed -n 's/^payload .*ratio \([0-9.]*\)$/\1/p' "$TMP/info")
from=$(sed -n 's/^layout  *clusters at bytes \([0-9]*\)\.\..*/\1/p' "$TMP/info")
to=$(sed -n 's/^layout  *clusters at bytes [0-9]*\.\.\([0-9]*\),.*/\1/p' "$TMP/info")
# The cluster frames alone, as one .zst stream of concatenated frames.
tail -c +"$((from + 1))" "$FILE" | head -c "$((to - from))" >"$TMP/frames.zst"

now() { date +%s%N; }
best() { # best wall time in seconds of 3 runs of "$@"
    b=""
    for _ in 1 2 3; do
        t0=$(now); "$@" >/dev/null; t1=$(now)
        t=$((t1 - t0))
        if [ -z "$b" ] || [ "$t" -lt "$b" ]; then b=$t; fi
    done
    awk -v ns="$b" 'BEGIN { printf "%.4f", ns / 1e9 }'
}
t_mh=$(best "$MINIHLT" inspect --verify "$FILE")
t_zstd=$(best zstd -q -d -c "$TMP/frames.zst")

awk -v ev="$events" -v mb="$raw_mb" -v r="$ratio" -v a="$t_mh" -v z="$t_zstd" 'BEGIN {
    printf "io: %d events, %.1f MB raw, compression ratio %s\n", ev, mb, r
    printf "io: minihlt read+verify+decode  %7.3f s  %9.0f events/s  %7.1f MB/s\n", a, ev / a, mb / a
    printf "io: zstd -d of the same frames  %7.3f s  %9.0f events/s  %7.1f MB/s\n", z, ev / z, mb / z
    printf "io: ratio minihlt/zstd time     %.2f\n", a / z
    printf "ratio: read+verify+decode throughput vs zstd -d = %.2f   (minihlt inspect --verify MB/s over zstd -d MB/s of the same frames; goal >= 0.9)\n", z / a
}'
