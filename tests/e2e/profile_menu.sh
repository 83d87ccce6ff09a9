#!/bin/bash
# profile_menu.sh - scripts/profile_menu.py on data/profiles/run3_hlt.yaml:
# the output is valid YAML with one `emulated` module per profile entry and
# only the plugin's parameters; the means add up to the calibrated total;
# --scale keeps every module's share; --farm, --hcal-ms, --path and --into
# do what they say; --update rewrites a menu in place; configs/hlt.yaml is
# what the profile generates; a broken profile fails naming the entry and key.
. "$(dirname "$0")/lib.sh"
PY3=/usr/bin/python3
PROF=data/profiles/run3_hlt.yaml
PM=scripts/profile_menu.py

check "default output" "$PY3" "$PM" "$PROF" -o "$E2E_TMP/base.yaml"
check "scale 0.001" "$PY3" "$PM" "$PROF" --scale 0.001 -o "$E2E_TMP/small.yaml"
check "farm 260 ms" "$PY3" "$PM" "$PROF" --farm -o "$E2E_TMP/farm.yaml"
check "hcal-ms 30" "$PY3" "$PM" "$PROF" --hcal-ms 30 --path HLT_Rest -o "$E2E_TMP/h30.yaml"

check "valid YAML, emulated modules, known parameters, totals" "$PY3" - "$E2E_TMP" "$PROF" <<'EOF'
import sys, yaml
tmp, prof_path = sys.argv[1], sys.argv[2]
prof = yaml.safe_load(open(prof_path))
load = lambda n: yaml.safe_load(open(f"{tmp}/{n}.yaml"))
base, small, farm, h30 = load("base"), load("small"), load("farm"), load("h30")
allowed = {"plugin", "distribution", "mean_ms", "sigma_ms", "seed", "scale_with", "scale_ref",
           "product", "product_type", "produces", "fail_every"}  # the emulated plugin's
mods = base["modules"]
assert list(mods) == [m["label"] for m in prof["modules"]], list(mods)
for label, p in mods.items():
    assert p["plugin"] == "emulated", (label, p)
    assert set(p) <= allowed, (label, set(p) - allowed)
    assert p["distribution"] in ("fixed", "normal", "lognormal", "exponential"), p
    assert p["mean_ms"] > 0, p
    if p["scale_with"] == "pileup":
        assert p["scale_ref"] == prof["reference"]["pileup"], p
labels = list(mods)
for label, p in mods.items():  # a consumed product comes from an earlier producer
    if "product" in p:
        assert labels.index(p["product"]) < labels.index(label), (label, p)
        assert mods[p["product"]].get("produces") == "-", p["product"]
assert sum("product" in p for p in mods.values()) >= 5
seeds = [p["seed"] for p in mods.values()]
assert len(set(seeds)) == len(seeds), "seeds must differ"
total = lambda d: sum(p["mean_ms"] for p in d["modules"].values())
hshare = prof["reference"]["hcal_share"]
want = prof["calibration"]["hcal_ms_per_event"] / hshare * (1 - hshare)
assert abs(total(base) - want) < 1e-3 * want, (total(base), want)
assert abs(total(farm) - 260 * (1 - hshare)) < 1e-3 * 260, total(farm)
assert abs(total(h30) - 270) < 0.27, total(h30)
assert abs(total(small) - want * 0.001) < 1e-6 * want, (total(small), want)
# shares kept under --scale: each module's fraction of the emulated total
for label in mods:
    a = mods[label]["mean_ms"] / total(base)
    b = small["modules"][label]["mean_ms"] / total(small)
    assert abs(a - b) < 1e-5, (label, a, b)
    if "sigma_ms" in mods[label]:
        ra = mods[label]["sigma_ms"] / mods[label]["mean_ms"]
        rb = small["modules"][label]["sigma_ms"] / small["modules"][label]["mean_ms"]
        assert abs(ra - rb) < 1e-5, (label, ra, rb)
# groups cover every module once; the path lists them all
assert sorted(x for g in base["groups"].values() for x in g) == sorted(mods)
assert h30["paths"] == {"HLT_Rest": list(mods)}, h30.get("paths")
EOF

check "--into a menu" "$PY3" "$PM" "$PROF" --scale 0.01 --path HLT_Rest \
    --into configs/examples/emulated.yaml -o "$E2E_TMP/menu.yaml"
check "merged menu keeps its own and adds the profile" "$PY3" -c "
import yaml
m = yaml.safe_load(open('$E2E_TMP/menu.yaml'))
assert 'tracking' in m['modules'] and 'hltIterTracking' in m['modules'], m['modules'].keys()
assert 'hltIterTracking' in m['groups']['tracking'] and 'tracking' in m['groups']['tracking']
assert m['paths']['HLT_Rest'][0] == 'hltRawToDigi' and 'HLT_Calo' in m['paths']
assert m['process']['name'] == 'EMU'"
check_fails "--into twice: duplicate label" 1 "module 'hltRawToDigi' already exists" \
    "$PY3" "$PM" "$PROF" --into "$E2E_TMP/menu.yaml"

# --update rewrites the emulated entries of a commented menu in place.
{ echo "# a hand-written menu"; echo "process: {name: UPD}"; echo "modules:"
  echo "  accept: {plugin: pass}   # kept"
  "$PY3" "$PM" "$PROF" --scale 0.5 --no-groups | sed -n 's/^\(  hlt.*\)$/\1  # tuned/p'
  echo "paths:"; echo "  P: [accept]"; } >"$E2E_TMP/upd.yaml"
cp "$E2E_TMP/upd.yaml" "$E2E_TMP/upd_orig.yaml"
check "--update -o - prints the menu" sh -c "'$PY3' '$PM' '$PROF' --update '$E2E_TMP/upd.yaml' -o - >'$E2E_TMP/upd_stdout.yaml'"
check "--update -o - leaves the menu alone" cmp -s "$E2E_TMP/upd.yaml" "$E2E_TMP/upd_orig.yaml"
check "--update without -o writes the menu in place" "$PY3" "$PM" "$PROF" --update "$E2E_TMP/upd.yaml"
check "--update in place = what -o - printed" cmp -s "$E2E_TMP/upd.yaml" "$E2E_TMP/upd_stdout.yaml"
if [ -e "$E2E_TMP/upd.yaml.tmp" ]; then not_ok "--update leaves no temp file"; else ok "--update leaves no temp file"; fi
check "--update kept comments and set the new costs" "$PY3" - "$E2E_TMP/upd.yaml" "$E2E_TMP/base.yaml" <<'EOF'
import sys, yaml
text = open(sys.argv[1]).read()
assert text.startswith("# a hand-written menu") and "# kept" in text and text.count("# tuned") == 18
got, want = yaml.safe_load(text)["modules"], yaml.safe_load(open(sys.argv[2]))["modules"]
for label, p in want.items():
    assert got[label] == p, (label, got[label], p)
EOF
# The committed default menu is what the profile generates (its cost lines
# and data/profiles/README.md's figures cannot drift apart).
cp configs/hlt.yaml "$E2E_TMP/hlt.yaml"
check "--update configs/hlt.yaml runs" "$PY3" "$PM" "$PROF" --update "$E2E_TMP/hlt.yaml"
if cmp -s configs/hlt.yaml "$E2E_TMP/hlt.yaml"; then
    ok "configs/hlt.yaml's emulated lines are what the profile generates"
else
    not_ok "configs/hlt.yaml's emulated lines are what the profile generates (regenerate: $PM $PROF --update configs/hlt.yaml, then scripts/derive_menu.py)"
    diff configs/hlt.yaml "$E2E_TMP/hlt.yaml" | head -n 6 | sed 's/^/#   /'
fi
grep -v hltTaus "$E2E_TMP/upd.yaml" >"$E2E_TMP/upd2.yaml"
check_fails "--update names a missing module" 1 "no one-line emulated entry for hltTaus" \
    "$PY3" "$PM" "$PROF" --update "$E2E_TMP/upd2.yaml"

# The generated menu runs on the framework's emulated plugin (once that is
# built): every module runs on every event, tracking is the largest group,
# and the CPU time is of the order the profile asks (the golden sample's
# pileup is not 60 and the machine is shared: loose bounds).
if "$MINIHLT" plugins 2>/dev/null | grep -q "type emulated "; then
    cat >"$E2E_TMP/base_menu.yaml" <<'EOF2'
process: {name: PROF, threads: 1, streams: 1}
source: {input: tests/io/golden-1.0.mhe, loop: 10}
modules:
  accept: {plugin: pass}
paths:
  HLT_Accept: [accept]
EOF2
    check "menu for minihlt run" "$PY3" "$PM" "$PROF" --scale 0.01 --path HLT_RestOfMenu \
        --into "$E2E_TMP/base_menu.yaml" -o "$E2E_TMP/run_menu.yaml"
    check "minihlt run on the generated menu" \
        "$MINIHLT" run "$E2E_TMP/run_menu.yaml" --report "$E2E_TMP/report.json"
    check "report: every module on every event, tracking largest" "$PY3" - \
        "$E2E_TMP/report.json" "$E2E_TMP/small.yaml" <<'EOF2'
import json, sys, yaml
r = json.load(open(sys.argv[1]))
prof = yaml.safe_load(open(sys.argv[2]))["modules"]  # scale 0.001
ev = r["events"]
assert ev["read"] == ev["processed"] == 120 and ev["failed"] == 0, ev
calls = {m["label"]: m["calls"] for m in r["modules"]}
for label in prof:
    assert calls.get(label) == 120, (label, calls.get(label))
fr = {g["name"]: g["cpu_fraction"] for g in r["groups"]}
assert max(fr, key=fr.get) == "tracking", fr
cpu = sum(m["cpu_ms_per_event"] for m in r["modules"] if m["label"] in prof)
want = 10 * sum(p["mean_ms"] for p in prof.values())
assert 0.3 * want < cpu < 3 * want, (cpu, want)
EOF2
else
    echo "# SKIP minihlt run of the generated menu: no emulated plugin in this build"
fi

# Broken profiles, each with the culprit named.
bad() { # NAME SED-EXPR REGEX
    sed "$2" "$PROF" >"$E2E_TMP/bad.yaml"
    check_fails "$1" 1 "$3" "$PY3" "$PM" "$E2E_TMP/bad.yaml"
}
bad "unknown distribution" 's/label: hltTaus, group: btag_tau, share: 0.030, distribution: lognormal/label: hltTaus, group: btag_tau, share: 0.030, distribution: gamma/' \
    "modules\[16\] \(hltTaus\)\.distribution: 'gamma' is not one of"
bad "shares must add up" 's/share: 0.190/share: 0.290/' "shares add up to 1.000000; .* must add up to 0.900000"
bad "unknown key" 's/cv: 0.1, scale_with: none}/cv: 0.1, scale_with: none, colour: red}/' \
    "modules\[17\] \(hltFrameworkAndOutput\): unknown key 'colour'"
bad "cv on exponential" 's/distribution: exponential,/distribution: exponential, cv: 1,/' \
    "hltBTagging\)\.cv: not used by a exponential"
bad "consumes a later module" 's/consumes: hltSiPixelRecHits/consumes: hltTaus/' \
    "hltPixelTracks\)\.consumes: 'hltTaus' is not an earlier module's label"
bad "bad label" 's/label: hltPFMET/label: "hlt PFMET"/' "is not a name"
bad "not YAML" 's/^modules:/modules: [/' "not valid YAML"
check_fails "missing file" 1 "nowhere.yaml: cannot read" "$PY3" "$PM" "$E2E_TMP/nowhere.yaml"
check_fails "bad --scale" 2 "scale must be > 0" "$PY3" "$PM" "$PROF" --scale -1
e2e_done
