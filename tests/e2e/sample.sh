#!/bin/bash
# sample.sh - the committed sample data/samples/ttbar_pu60.mhe (24 events in 6 clusters of
# 4, `minihlt gen --events-per-cluster 4`): a flipped byte in one cluster loses that
# cluster's 4 events only (`inspect --verify --skip-bad` counts them and still exits 1,
# `run` with source.skip_bad processes the other 20), and the index seeks: `run --skip N`
# starts at event N, also mid-cluster, without reading the clusters before it (a damaged
# cluster 2 is not even read by `--skip 12`).
. "$(dirname "$0")/lib.sh"
SAMPLE=data/samples/ttbar_pu60.mhe
T=$E2E_TMP

check "sample: 24 events in 6 clusters of 4, all checksums match" sh -c '"$0" inspect --verify "$1" >"$2/v.txt" &&
    grep -q "^events          24$" "$2/v.txt" && grep -q "^clusters        6 (4.0 events each" "$2/v.txt" &&
    grep -q "^verify          OK: 6 clusters, 24 events" "$2/v.txt"' "$MINIHLT" "$SAMPLE" "$T"

# Cluster 2 (events 8..11) from the index (sim/io/FORMAT.md): offset and size.
read -r C2OFF C2SIZE < <(python3 -c "
import struct, sys
d = open(sys.argv[1], 'rb').read()
mo, io, ne, ms, mc, isz, ic, nc, es = struct.unpack('<QQQIIIIIH', d[-56:-10])
assert ne == 24 and nc == 6, (ne, nc)
off, _, size = struct.unpack('<QQI', d[io + es * 2:io + es * 2 + 20])
print(off, size)" "$SAMPLE")
cp "$SAMPLE" "$T/bad.mhe"
python3 -c "
import sys
f = open(sys.argv[1], 'r+b'); p = int(sys.argv[2]) + int(sys.argv[3]) // 2
f.seek(p); b = f.read(1); f.seek(p); f.write(bytes([b[0] ^ 0x10]))" "$T/bad.mhe" "$C2OFF" "$C2SIZE"

"$MINIHLT" inspect --verify --skip-bad "$T/bad.mhe" >"$T/i.out" 2>"$T/i.err"
rc=$?
if [ "$rc" -eq 1 ] && grep -q "^damaged         1 of 6 clusters skipped (4 of 24 events)$" "$T/i.out" &&
    grep -q "(20 events)$" "$T/i.out" &&
    grep -q "bad.mhe: cluster 2 at byte $C2OFF: checksum mismatch" "$T/i.err"; then
    ok "inspect --verify --skip-bad: only cluster 2's 4 events lost, exit 1"
else
    not_ok "inspect --verify --skip-bad (exit $rc)"; sed 's/^/#   /' "$T/i.out" "$T/i.err" | tail -n 8
fi

# A menu that keeps every event it reads, in order (1 thread, 1 stream).
cat >"$T/keep.yaml" <<YAML
process: {threads: 1, streams: 1}
modules:
  all: {plugin: pass}
  out: {plugin: output, file: "$T/kept.mhe", select_paths: [All]}
paths:
  All: [all]
end_paths:
  O: [out]
YAML
# event numbers of a file, in file order
evnums() { "$MINIHLT" inspect --dump 1000 "$1" | sed -n 's/^event [0-9]*: run [0-9]* lumi [0-9]* event \([0-9]*\) .*/\1/p' | tr '\n' ' '; }
mapfile -t ALL < <("$MINIHLT" inspect --dump 24 "$SAMPLE" | sed -n 's/^event [0-9]*: run [0-9]* lumi [0-9]* event \([0-9]*\) .*/\1/p')
want() { local s=""; for i in "$@"; do s+="${ALL[$i]} "; done; printf '%s' "$s"; }
if [ "${#ALL[@]}" -eq 24 ]; then ok "sample: 24 event numbers"; else not_ok "sample: ${#ALL[@]} event numbers"; fi

# run_keep NAME WANT_INDICES FILE [run options]: exit 0 and kept.mhe holds exactly those events.
run_keep() {
    name=$1 idx=$2 file=$3; shift 3
    rm -f "$T/kept.mhe"
    # shellcheck disable=SC2086
    exp=$(want $idx)
    if "$MINIHLT" run "$T/keep.yaml" --input "$file" --quiet --report "$T/r.json" "$@" 2>"$T/err" &&
        [ "$(evnums "$T/kept.mhe")" = "$exp" ]; then ok "$name"; else
        not_ok "$name: want [$exp] got [$(evnums "$T/kept.mhe" 2>/dev/null)]"; sed 's/^/#   /' "$T/err" | head -n 5
    fi
}

run_keep "run source.skip_bad: every event but cluster 2's (8..11)" \
    "0 1 2 3 4 5 6 7 12 13 14 15 16 17 18 19 20 21 22 23" "$T/bad.mhe" --set source.skip_bad=true
check "skip_bad report: 1 cluster, 4 events skipped, 20 read" python3 -c "
import json; r = json.load(open('$T/r.json'))
s = r['sections']['source']; e = r['events']
assert s['skipped_clusters'] == 1 and s['skipped_events'] == 4 and e['read'] == 20, (s, e)"
run_keep "--skip 12 seeks past the damaged cluster without reading it" \
    "12 13 14 15 16 17 18 19 20 21 22 23" "$T/bad.mhe" --skip 12
run_keep "--skip 14 --events 5 starts mid-cluster" "14 15 16 17 18" "$T/bad.mhe" --skip 14 --events 5
run_keep "--skip 5 --events 2 on the intact sample" "5 6" "$SAMPLE" --skip 5 --events 2
check_fails "--skip 9 reads the damaged cluster: exit 1 naming it" 1 \
    "bad.mhe: cluster 2 at byte $C2OFF: checksum mismatch" \
    "$MINIHLT" run "$T/keep.yaml" --input "$T/bad.mhe" --quiet --skip 9 --events 2
e2e_done
