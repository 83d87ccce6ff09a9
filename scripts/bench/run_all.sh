#!/bin/sh
# Runs every benchmark script in scripts/bench/ (what `make bench` does).
# Usage: run_all.sh BUILD
set -u
BUILD=${1:-build}
rc=0
for s in $(ls "$(dirname "$0")"/*.sh | sort); do
    [ "$(basename "$s")" = run_all.sh ] && continue
    echo "== $s"
    sh "$s" "$BUILD" || rc=1
done
exit $rc
