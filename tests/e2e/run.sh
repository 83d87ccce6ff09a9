#!/bin/bash
# run.sh - `minihlt run` and `minihlt plugins` end to end: reports, options,
# exit codes (0 ok, 1 run failed, 2 usage/start-up error), error messages,
# plugin search path, output files.
. "$(dirname "$0")/lib.sh"
GOLDEN=tests/io/golden-1.0.mhe
MENU=configs/examples/emulated.yaml
BUILD=${MINIHLT_BUILD:-build}

check "run --help" "$MINIHLT" run --help
check "plugins --help" "$MINIHLT" plugins --help

"$MINIHLT" run "$MENU" --input "$GOLDEN" --threads 2 --streams 3 --report "$E2E_TMP/r.json" \
    --set modules.unpack.mean_ms=0.2 --set modules.tracking.mean_ms=0.3 \
    --set modules.calo.mean_ms=0.2 >"$E2E_TMP/stdout" 2>"$E2E_TMP/stderr"
rc=$?
if [ "$rc" -eq 0 ] && grep -q "minihlt timing report" "$E2E_TMP/stdout"; then ok "run prints the report"; else
    not_ok "run prints the report (exit $rc)"; sed 's/^/#   /' "$E2E_TMP/stderr" | head; fi
if [ ! -s "$E2E_TMP/stderr" ]; then ok "no progress line when stderr is not a terminal"; else
    not_ok "stderr not empty"; sed 's/^/#   /' "$E2E_TMP/stderr" | head; fi
check "JSON report: totals add up, shared module once per event, options applied" python3 -c "
import json, sys
r = json.load(open('$E2E_TMP/r.json'))
e = r['events']
assert e['read'] == 12 and e['failed'] == 0, e
assert e['processed'] == e['accepted'] + e['rejected'] and e['read'] == e['processed'] + e['failed'], e
m = {x['label']: x for x in r['modules']}
assert m['unpack']['calls'] == 12, m['unpack']   # on 4 paths, runs once per event
assert r['threads'] == 2 and r['streams'] == 3, (r['threads'], r['streams'])
p = {x['name']: x for x in r['paths']}
assert p['HLT_Veto']['accepted'] == 0 and p['HLT_Calo']['accepted'] == 12, p
assert p['HLT_Prescaled']['accepted'] == 2, p['HLT_Prescaled']   # serials 0 and 10
assert p['HLT_Prescaled']['prescaled'] == 10 and p['HLT_Calo']['prescaled'] == 0, p
for x in r['paths']:   # every processed event counted once on every path
    assert x['accepted'] + x['rejected'] + x['prescaled'] == e['processed'], x
assert 'threads: 2' in r['config'] and 'mean_ms: 0.2' in r['config'], r['config']
"

out=$("$MINIHLT" run "$MENU" --input "$GOLDEN" --quiet --set modules.tracking.mean_ms=0 \
    --set modules.calo.mean_ms=0 --set modules.unpack.mean_ms=0 2>&1)
if [ $? -eq 0 ] && [ -z "$out" ]; then ok "--quiet prints nothing"; else not_ok "--quiet printed: $out"; fi

check "--events --skip --loop" sh -c '"$0" run "$1" --input "$2" --events 20 --skip 3 --loop 3 \
    --set modules.tracking.mean_ms=0 --set modules.calo.mean_ms=0 --set modules.unpack.mean_ms=0 \
    --report "$3/l.json" >/dev/null && python3 -c "
import json; e = json.load(open(\"$3/l.json\"))[\"events\"]; assert e[\"read\"] == 20, e"' \
    "$MINIHLT" "$MENU" "$GOLDEN" "$E2E_TMP"

check_fails "no CONFIG is a usage error" 2 "missing CONFIG" "$MINIHLT" run
check_fails "unknown option" 2 "unknown option '--thread'" "$MINIHLT" run "$MENU" --thread 2
check_fails "bad --threads value" 2 "run: --threads: expected an integer" "$MINIHLT" run "$MENU" --threads x
check_fails "missing input file" 2 "nosuch.mhe" "$MINIHLT" run "$MENU" --input "$E2E_TMP/nosuch.mhe"
check_fails "unknown plugin names the module" 2 "module 'calo': unknown plugin 'emulatd'" \
    "$MINIHLT" run "$MENU" --input "$GOLDEN" --set modules.calo.plugin=emulatd
check_fails "unknown parameter names module and key with a location" 2 \
    "^minihlt: --set modules.calo.mean_sm=2:1:.*module 'calo': unknown parameter 'mean_sm'" \
    "$MINIHLT" run "$MENU" --input "$GOLDEN" --set modules.calo.mean_sm=2
check_fails "wrong parameter type" 2 "module 'calo': parameter 'mean_ms': expected" \
    "$MINIHLT" run "$MENU" --input "$GOLDEN" --set modules.calo.mean_ms=fast
check_fails "bad distribution" 2 "module 'calo': parameter 'distribution'" \
    "$MINIHLT" run "$MENU" --input "$GOLDEN" --set modules.calo.distribution=gauss
check_fails "missing producer" 2 "module 'calo' consumes product 'nobody' \(emulated\) but no module" \
    "$MINIHLT" run "$MENU" --input "$GOLDEN" --set modules.calo.product=nobody

cat >"$E2E_TMP/fail.yaml" <<YAML
modules:
  bad: {plugin: emulated, mean_ms: 0, fail_every: 5}
  ok: {plugin: pass}
paths:
  P: [ok, bad]
YAML
check "skip-event: failed events counted, exit 0" sh -c '"$0" run "$1" --input "$2" \
    --report "$3/f.json" >/dev/null && python3 -c "
import json; e = json.load(open(\"$3/f.json\"))[\"events\"]
assert e[\"failed\"] == 3 and e[\"processed\"] == 9, e   # events 1000000, 1000005, 1000010
assert e[\"failures\"][0][\"module\"] == \"bad\", e"' "$MINIHLT" "$E2E_TMP/fail.yaml" "$GOLDEN" "$E2E_TMP"
check_fails "on_error stop exits 1 naming the module" 1 "module 'bad': emulated failure.*on_error: stop" \
    "$MINIHLT" run "$E2E_TMP/fail.yaml" --input "$GOLDEN" --set process.on_error=stop

# A damaged cluster: the run fails naming file and cluster, or skips it.
cp "$GOLDEN" "$E2E_TMP/bad.mhe"
printf '\377\377\377\377' | dd of="$E2E_TMP/bad.mhe" bs=1 seek=6000 conv=notrunc 2>/dev/null
ZERO="--set modules.unpack.mean_ms=0 --set modules.tracking.mean_ms=0 --set modules.calo.mean_ms=0"
# shellcheck disable=SC2086
check_fails "damaged input fails the run with file and cluster" 1 "bad.mhe: cluster [0-9]+ at byte [0-9]+: checksum" \
    "$MINIHLT" run "$MENU" --input "$E2E_TMP/bad.mhe" --quiet $ZERO
# shellcheck disable=SC2086
check "source.skip_bad skips the damaged cluster and says so" sh -c '"$0" run "$1" --input "$2/bad.mhe" \
    --set source.skip_bad=true --report "$2/bad.json" '"$ZERO"' | grep -q "source: skipped 1 damaged cluster" &&
    python3 -c "
import json; r = json.load(open(\"$2/bad.json\"))
s = r[\"sections\"][\"source\"]; e = r[\"events\"]
assert s[\"skipped_clusters\"] == 1 and e[\"read\"] + s[\"skipped_events\"] == 12, (s, e)"' \
    "$MINIHLT" "$MENU" "$E2E_TMP"

cat >"$E2E_TMP/out.yaml" <<YAML
modules:
  half: {plugin: prescale, n: 2}
  out: {plugin: output, file: "$E2E_TMP/kept.mhe", select_paths: [Half]}
paths:
  Half: [half]
end_paths:
  O: [out]
YAML
check "output module writes the selected events" sh -c '"$0" run "$1" --input "$2" --quiet &&
    "$0" inspect "$3/kept.mhe" | grep -Eq "^events +6$"' "$MINIHLT" "$E2E_TMP/out.yaml" "$GOLDEN" "$E2E_TMP"

cat >"$E2E_TMP/slow.yaml" <<YAML
process: {threads: 1, streams: 1}
modules:
  w: {plugin: emulated_async, async_wait_ms: 100}
paths:
  P: [w]
YAML
if command -v script >/dev/null; then
    # script(1) gives the program a terminal on stderr; stdout goes to a file.
    script -qec "$MINIHLT run $E2E_TMP/slow.yaml --input $GOLDEN > $E2E_TMP/slow.out" /dev/null \
        >"$E2E_TMP/tty.txt" 2>&1
    if grep -aq "/12 events .* ev/s .*ETA" "$E2E_TMP/tty.txt" && grep -q "timing report" "$E2E_TMP/slow.out"
    then ok "progress line on a terminal"; else not_ok "progress line on a terminal"; fi
fi

check "plugins lists the built-in types" sh -c '"$0" plugins | grep -q "type emulated_async \[producer, async\]" &&
    "$0" plugins | grep -q "type prescale \[filter\]" && "$0" plugins | grep -q "type output \[output\]"' "$MINIHLT"
check "plugins --json" sh -c '"$0" plugins --json | python3 -c "
import json, sys
d = json.load(sys.stdin)
types = {t[\"name\"]: t for p in d[\"plugins\"] for t in p[\"types\"]}
assert {\"emulated\", \"emulated_async\", \"pass\", \"reject\", \"prescale\", \"random\", \"output\"} <= set(types), types.keys()
n = {x[\"name\"]: x for x in types[\"prescale\"][\"params\"]}[\"n\"]
assert n[\"required\"] and n[\"type\"] == \"int\", n"' "$MINIHLT"
check "MINIHLT_PLUGIN_PATH adds directories and names bad plugins" sh -c '
    MINIHLT_PLUGIN_PATH="$1/tests/plugins" "$0" plugins > "$2/pl.txt" &&
    grep -q "type probe" "$2/pl.txt" &&
    grep -q "abi_bad.so: plugin ABI version 99, this minihlt has version 1" "$2/pl.txt" &&
    grep -q "no_entry.so: no entry symbol minihlt_plugin_entry" "$2/pl.txt"' "$MINIHLT" "$BUILD" "$E2E_TMP"
check_fails "plugins: unknown argument" 2 "unknown argument" "$MINIHLT" plugins --xml
e2e_done
