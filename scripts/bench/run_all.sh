#!/bin/sh
# Runs every benchmark script in scripts/bench/ (what `make bench` does) and
# collects the ratio lines they print into one table, BUILD/bench/summary.md.
#
# Convention: a benchmark prints each headline figure as one line
#   ratio: NAME = VALUE   (WHAT IT COMPARES; goal GOAL)
# where VALUE is measured against a baseline timed in the same run (the
# machines are shared and noisy: absolute times drift, ratios much less).
# Usage: run_all.sh BUILD [NAME...]   (NAME: run only scripts/bench/NAME.sh)
set -u
BUILD=${1:-build}
shift 2>/dev/null || true
DIR=$(dirname "$0")
OUT="$BUILD/bench"
mkdir -p "$OUT"
rc=0
if [ $# -gt 0 ]; then
    scripts=""
    for n in "$@"; do scripts="$scripts $DIR/$n.sh"; done
else
    scripts=$(ls "$DIR"/*.sh | sort)
fi
: >"$OUT/ratios.txt"
for s in $scripts; do
    name=$(basename "$s" .sh)
    case $name in run_all|*_lib) continue ;; esac
    echo "== $s"
    if sh "$s" "$BUILD" 2>&1 | tee "$OUT/$name.log"; then :; else rc=1; fi
    # tee hides the script's status: a failure shows as a missing ratio
    grep '^ratio:' "$OUT/$name.log" | sed "s/^ratio: /$name|/" >>"$OUT/ratios.txt" || true
    grep -q '^ratio:' "$OUT/$name.log" || { echo "run_all: $name printed no ratio" >&2; rc=1; }
done
{
    echo "# minihlt benchmarks ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores)"
    echo
    echo "Each ratio is measured against a baseline timed in the same run; logs in this folder."
    echo
    echo "| benchmark | figure | value | compares; goal |"
    echo "|---|---|---|---|"
    sed -n 's/^\([^|]*\)|\([^=]*\)= *\([^ ]*\) *(\(.*\))$/| \1 | \2 | \3 | \4 |/p' "$OUT/ratios.txt"
} >"$OUT/summary.md"
echo "== summary: $OUT/summary.md"
cat "$OUT/summary.md"
exit $rc
