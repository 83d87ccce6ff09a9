#!/bin/sh
# io.sh - .mhe read throughput: `minihlt inspect --verify` (read, CRC32C,
# decompress, decode every event) against `zstd -d` of the same frames,
# best of 3 runs each.
#
# usage: scripts/bench/io.sh [BUILD] [FILE.mhe]
#   Without FILE, a sample of 2000 ttbar events at pileup 60 is generated once
#   with `minihlt gen` (BUILD/bench/io_ttbar_pu60_2000.mhe, shared with source.sh).
set -eu
BUILD=${1:-build}
MINIHLT="$BUILD/bin/minihlt"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
. "$(dirname "$0")/payload_lib.sh"

bench_sample "$BUILD" "${2:-}"
bench_frames "$SAMPLE" "$TMP"
t_mh=$(bench_best "$MINIHLT" inspect --verify "$SAMPLE")
t_zstd=$(bench_best zstd -q -d -c "$TMP/frames.zst")

awk -v ev="$EVENTS" -v mb="$RAW_MB" -v r="$COMP_RATIO" -v a="$t_mh" -v z="$t_zstd" 'BEGIN {
    printf "io: %d events, %.1f MB raw, compression ratio %s\n", ev, mb, r
    printf "io: minihlt read+verify+decode  %7.3f s  %9.0f events/s  %7.1f MB/s\n", a, ev / a, mb / a
    printf "io: zstd -d of the same frames  %7.3f s  %9.0f events/s  %7.1f MB/s\n", z, ev / z, mb / z
    printf "io: ratio minihlt/zstd time     %.2f\n", a / z
    printf "ratio: read+verify+decode throughput vs zstd -d = %.2f   (minihlt inspect --verify MB/s over zstd -d MB/s of the same frames; goal >= 0.9)\n", z / a
}'
