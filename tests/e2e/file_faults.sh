#!/bin/bash
# file_faults.sh - damaged input files through `minihlt run` (issue 8, "Faults and load").
# The reader itself is tested byte by byte in tests/io/test_evcorrupt.c and fuzzed in
# tests/fuzz; this checks what a user of `run` sees: one exact error naming the file and
# the cluster/offset, the documented exit status (1 damaged cluster, 2 unreadable at open),
# never a signal (exit >= 128); with source.skip_bad the skipped events are counted and
# read + skipped = events in the file. Also a file that grows or shrinks during the run.
. "$(dirname "$0")/lib.sh"
GOLDEN=tests/io/golden-1.0.mhe   # 12 events in 3 clusters (5, 5, 2), see tests/io
MENU=configs/examples/emulated.yaml
ZERO=(--set modules.unpack.mean_ms=0 --set modules.tracking.mean_ms=0 --set modules.calo.mean_ms=0)
T=$E2E_TMP

# Layout of the golden file from its footer and index (sim/io/FORMAT.md): cluster offsets,
# sizes and event counts, metadata and index offsets, file size.
read -r META INDEX SIZE CLUSTERS < <(python3 -c "
import struct, sys
d = open(sys.argv[1], 'rb').read()
mo, io, ne, ms, mc, isz, ic, nc, es = struct.unpack('<QQQIIIIIH', d[-56:-10])
cl = [struct.unpack('<QQIIII', d[io + es * i:io + es * i + 32]) for i in range(nc)]
print(mo, io, len(d), ','.join('%d:%d:%d' % (c[0], c[2], c[4]) for c in cl))" "$GOLDEN")
IFS=, read -r -a CL <<<"$CLUSTERS"

# run_case NAME FILE WANT_EXIT STDERR_REGEX [extra options]: `run` exits WANT_EXIT with
# one error line matching the regex.
run_case() {
    name=$1 file=$2 want=$3 pattern=$4; shift 4
    "$MINIHLT" run "$MENU" --input "$file" --quiet "${ZERO[@]}" "$@" >"$T/out" 2>"$T/err"
    rc=$?
    if [ "$rc" -eq "$want" ] && [ "$(wc -l <"$T/err")" -eq 1 ] && grep -Eq "$pattern" "$T/err"; then
        ok "$name"
    else
        not_ok "$name (exit $rc, want $want)"; sed 's/^/#   /' "$T/err" | head -n 5
    fi
}

# Truncated at every cluster boundary, mid-cluster, in the metadata, index and footer: the
# footer is the last 56 bytes, so every cut is found at open and names the file and its size.
cuts="0 16 32"
for c in "${CL[@]}"; do
    IFS=: read -r off len n <<<"$c"
    cuts="$cuts $((off + len / 2)) $((off + len))"
done
cuts="$cuts $(((META + INDEX) / 2)) $INDEX $((INDEX + 40)) $((SIZE - 56)) $((SIZE - 20)) $((SIZE - 1))"
bad=0
for cut in $cuts; do
    head -c "$cut" "$GOLDEN" >"$T/cut.mhe"
    "$MINIHLT" run "$MENU" --input "$T/cut.mhe" --quiet "${ZERO[@]}" --set source.skip_bad=true \
        >/dev/null 2>"$T/err"
    rc=$?
    if [ "$rc" -ne 2 ] || ! grep -Eq "^minihlt: $T/cut.mhe: (truncated: footer missing \(file is $cut bytes\)|.*too short|.*header)" "$T/err"; then
        bad=1; echo "#   cut at $cut: exit $rc: $(head -c 200 "$T/err")"
    fi
done
if [ "$bad" -eq 0 ]; then ok "truncated at every cluster boundary and mid-cluster: exit 2 naming file and size"
else not_ok "truncated files"; fi

# A zeroed index or footer: exit 2 naming the part and its byte offset.
cp "$GOLDEN" "$T/zidx.mhe"
dd if=/dev/zero of="$T/zidx.mhe" bs=1 seek="$INDEX" count=$((SIZE - 56 - INDEX)) conv=notrunc 2>/dev/null
run_case "zeroed index: exit 2 naming index and offset" "$T/zidx.mhe" 2 \
    "^minihlt: $T/zidx.mhe: index at byte $INDEX: checksum mismatch"
cp "$GOLDEN" "$T/zfoot.mhe"
dd if=/dev/zero of="$T/zfoot.mhe" bs=1 seek=$((SIZE - 56)) count=56 conv=notrunc 2>/dev/null
run_case "zeroed footer: exit 2, footer missing" "$T/zfoot.mhe" 2 "^minihlt: $T/zfoot.mhe: truncated: footer missing"
cp "$GOLDEN" "$T/zfoot2.mhe"   # keep the magic: the footer CRC catches it
dd if=/dev/zero of="$T/zfoot2.mhe" bs=1 seek=$((SIZE - 56)) count=48 conv=notrunc 2>/dev/null
run_case "zeroed footer fields: exit 2, footer checksum" "$T/zfoot2.mhe" 2 \
    "^minihlt: $T/zfoot2.mhe: footer at byte $((SIZE - 56)): checksum mismatch"

# Each cluster zeroed in turn: exit 1 naming cluster and byte; with skip_bad exit 0,
# the skipped events are in the report and read + skipped = 12, processed + failed = read.
i=0
for c in "${CL[@]}"; do
    IFS=: read -r off len n <<<"$c"
    cp "$GOLDEN" "$T/z$i.mhe"
    dd if=/dev/zero of="$T/z$i.mhe" bs=1 seek=$((off + len / 3)) count=$((len / 3)) conv=notrunc 2>/dev/null
    run_case "cluster $i damaged: exit 1 naming cluster $i at byte $off" "$T/z$i.mhe" 1 \
        "^minihlt: $T/z$i.mhe: cluster $i at byte $off: checksum mismatch"
    check "cluster $i damaged, skip_bad: $n events skipped, totals add up" sh -c '
        "$0" run "$1" --input "$2" --quiet --report "$3" --set source.skip_bad=true \
            --set modules.unpack.mean_ms=0 --set modules.tracking.mean_ms=0 --set modules.calo.mean_ms=0 &&
        python3 -c "
import json, sys
r = json.load(open(sys.argv[1])); s = r[\"sections\"][\"source\"]; e = r[\"events\"]
assert s[\"skipped_clusters\"] == 1 and s[\"skipped_events\"] == int(sys.argv[2]), s
assert e[\"read\"] + s[\"skipped_events\"] == 12 and e[\"read\"] == e[\"processed\"] + e[\"failed\"], (s, e)
" "$3" "$4"' "$MINIHLT" "$MENU" "$T/z$i.mhe" "$T/z$i.json" "$n"
    i=$((i + 1))
done

# Every cluster damaged: nothing to process, all 12 skipped, still exit 0 with skip_bad.
cp "$GOLDEN" "$T/all.mhe"
for c in "${CL[@]}"; do
    IFS=: read -r off len n <<<"$c"
    printf '\377\377\377\377' | dd of="$T/all.mhe" bs=1 seek=$((off + 8)) conv=notrunc 2>/dev/null
done
check "every cluster damaged, skip_bad: 0 read, 12 skipped" sh -c '
    "$0" run "$1" --input "$2" --quiet --report "$3" --set source.skip_bad=true &&
    python3 -c "
import json, sys
r = json.load(open(sys.argv[1])); s = r[\"sections\"][\"source\"]; e = r[\"events\"]
assert s[\"skipped_clusters\"] == 3 and s[\"skipped_events\"] == 12 and e[\"read\"] == 0, (s, e)
" "$3"' "$MINIHLT" "$MENU" "$T/all.mhe" "$T/all.json"

# Random byte flips anywhere (seeded; 3 bytes per file, 40 files): every one is detected
# (CRC32C everywhere), exit 1 or 2, one error line naming the file, never a signal; with
# skip_bad a damaged cluster is skipped and the totals add up, damage outside the clusters
# still fails at open.
python3 - "$GOLDEN" "$T" <<'PY'
import random, sys
d = open(sys.argv[1], 'rb').read()
rng = random.Random(8)
for k in range(40):
    b = bytearray(d)
    for _ in range(3):
        p = rng.randrange(len(b))
        b[p] ^= rng.randrange(1, 256)
    open('%s/flip%02d.mhe' % (sys.argv[2], k), 'wb').write(b)
PY
bad=0
for f in "$T"/flip*.mhe; do
    "$MINIHLT" run "$MENU" --input "$f" --quiet "${ZERO[@]}" >/dev/null 2>"$T/err"
    rc=$?
    if { [ "$rc" -ne 1 ] && [ "$rc" -ne 2 ]; } || [ "$(wc -l <"$T/err")" -ne 1 ] ||
        ! grep -Eq "^minihlt: $f: ((cluster [0-9]+|index|footer|metadata|header) at byte [0-9]+|truncated|bad magic|.*version)" "$T/err"; then
        bad=1; echo "#   $f: exit $rc: $(head -c 300 "$T/err")"
    fi
    "$MINIHLT" run "$MENU" --input "$f" --quiet "${ZERO[@]}" --set source.skip_bad=true \
        --report "$T/flip.json" >/dev/null 2>"$T/err2"
    rc2=$?
    if [ "$rc" -eq 1 ]; then
        # damage inside clusters only: skip_bad must read the rest and count the skipped events
        if [ "$rc2" -ne 0 ] || ! python3 -c "
import json, sys
r = json.load(open(sys.argv[1])); s = r['sections']['source']; e = r['events']
assert s['skipped_clusters'] >= 1 and e['read'] + s['skipped_events'] == 12, (s, e)
assert e['read'] == e['processed'] + e['failed'], e" "$T/flip.json"; then
            bad=1; echo "#   $f with skip_bad: exit $rc2: $(head -c 300 "$T/err2")"
        fi
    elif [ "$rc2" -ne 2 ]; then
        bad=1; echo "#   $f with skip_bad: exit $rc2 (damage outside clusters must fail at open)"
    fi
    rm -f "$T/flip.json"
done
if [ "$bad" -eq 0 ]; then ok "40 files with random byte flips: exact error, exit 1/2; skip_bad accounting"
else not_ok "random byte flips"; fi

# A file that grows while it is read (a writer appending): the footer read at open still
# describes the file, the run reads its 12 events x 3 loops and exits 0.
SLOW=(--threads 1 --streams 1 --loop 3 --set modules.unpack.mean_ms=30 --set modules.tracking.mean_ms=0
    --set modules.calo.mean_ms=0)
cp "$GOLDEN" "$T/grow.mhe"
"$MINIHLT" run "$MENU" --input "$T/grow.mhe" --quiet "${SLOW[@]}" --report "$T/grow.json" 2>"$T/err" &
pid=$!
for _ in 1 2 3 4 5 6; do sleep 0.1; head -c 5000 "$GOLDEN" >>"$T/grow.mhe"; done
wait "$pid"
rc=$?
if [ "$rc" -eq 0 ] && python3 -c "
import json, sys; e = json.load(open(sys.argv[1]))['events']
assert e['read'] == 36 and e['failed'] == 0, e" "$T/grow.json"; then
    ok "file appended to while read: all 36 events, exit 0"
else not_ok "file appended to while read (exit $rc)"; sed 's/^/#   /' "$T/err" | head -n 5; fi

# A file cut short while it is read: the clusters read after the cut fail with an error
# naming file and cluster, exit 1 (or 0 with skip_bad and the events counted), no signal.
for mode in stop skip; do
    cp "$GOLDEN" "$T/shrink.mhe"
    extra=(); [ "$mode" = skip ] && extra=(--set source.skip_bad=true)
    "$MINIHLT" run "$MENU" --input "$T/shrink.mhe" --quiet "${SLOW[@]}" "${extra[@]}" \
        --report "$T/shrink.json" >/dev/null 2>"$T/err" &
    pid=$!
    sleep 0.2
    truncate -s 7000 "$T/shrink.mhe"   # inside cluster 0: every later read of 0, 1, 2 fails
    wait "$pid"
    rc=$?
    if [ "$mode" = stop ]; then
        if [ "$rc" -eq 1 ] && grep -Eq "^minihlt: $T/shrink.mhe: cluster [0-9] at byte [0-9]+: (truncated|.*I/O|.*short|.*end of file)" "$T/err"
        then ok "file truncated while read: exit 1 naming file and cluster"
        else not_ok "file truncated while read (exit $rc)"; sed 's/^/#   /' "$T/err" | head -n 5; fi
    else
        if [ "$rc" -eq 0 ] && python3 -c "
import json, sys
r = json.load(open(sys.argv[1])); s = r['sections']['source']; e = r['events']
assert s['skipped_events'] > 0 and e['read'] + s['skipped_events'] == 36, (s, e)" "$T/shrink.json"
        then ok "file truncated while read, skip_bad: read + skipped = 36"
        else not_ok "file truncated while read, skip_bad (exit $rc)"; sed 's/^/#   /' "$T/err" | head -n 5; fi
    fi
done
e2e_done
