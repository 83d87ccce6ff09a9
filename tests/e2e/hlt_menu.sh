# hlt_menu.sh - the default menu configs/hlt.yaml end to end on the committed sample, with
# the HCAL reconstruction as MAHI and as FACILE (one --set swaps it): the report has the
# `hcal` timing group and the `validation` section with sane physics, `compare` works on
# the two, the plots are drawn, and bad HCAL parameters fail at start-up naming the module.
. tests/e2e/lib.sh
SAMPLE=${MINIHLT_SAMPLE:-data/samples/ttbar_pu60.mhe}
PY=/usr/bin/python3
# Few events, emulated costs scaled down: the test is about wiring and physics, not time.
RUN="$MINIHLT run configs/hlt.yaml --input $SAMPLE --events 6 --threads 2 --streams 2 --quiet
     --set process.time_scale=0.01"

check "menu runs with MAHI" $RUN --report "$E2E_TMP/mahi.json"
check "menu runs with FACILE (one --set)" $RUN --report "$E2E_TMP/facile.json" \
    --set modules.hbheReco.plugin=hcal_facile

# report_ok FILE ALGO: the report's hcal group and validation section.
report_ok() {
    "$PY" - "$1" "$2" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
algo = sys.argv[2]
ev = r["events"]
assert ev["processed"] == 6 and ev["failed"] == 0, ev
g = {x["name"]: x for x in r["groups"]}
assert g["hcal"]["modules"] == ["hbheDigis", "hbheReco"], g["hcal"]
assert 0 < g["hcal"]["cpu_fraction"] < 1, g["hcal"]
plugin = {m["label"]: m["plugin"] for m in r["modules"]}
assert plugin["hbheReco"] == "hcal_" + algo, plugin["hbheReco"]
v = r["sections"]["validation"]
assert v["algo"] == algo and v["events"] == 6, (v["algo"], v["events"])
bins = {(b["lo"], b["hi"]): b for b in v["channel_response"]["bins"]}
b = bins[(1.0, 2.0)]
assert b["n"] > 500, b
assert 0.95 < b["median"] < 1.05, ("channel response 1-2 GeV", b["median"])
assert 0.05 < b["resolution"] < 0.3, ("channel resolution 1-2 GeV", b["resolution"])
assert v["jet_response"]["all"]["n"] > 5, v["jet_response"]["all"]
paths = [p["name"] for p in v["paths"]]
assert len(paths) == 12 and "HLT_CaloJet500_NoJetID" in paths and "HLT_ZeroBias" in paths, paths
EOF
}
check "MAHI report: hcal group, validation section, response ~1" report_ok "$E2E_TMP/mahi.json" mahi
check "FACILE report: hcal group, validation section, response ~1" report_ok "$E2E_TMP/facile.json" facile
check "compare MAHI vs FACILE" "$MINIHLT" compare "$E2E_TMP/mahi.json" "$E2E_TMP/facile.json"
if grep -q "hcal" "$E2E_TMP/out"; then ok "compare shows the hcal group"; else
    not_ok "compare shows the hcal group"; fi
check "plot_validation draws the PNGs" "$PY" scripts/plot_validation.py "$E2E_TMP/mahi.json" \
    "$E2E_TMP/facile.json" -o "$E2E_TMP/plots"
n=$(ls "$E2E_TMP/plots"/*.png 2>/dev/null | wc -l)
if [ "$n" -eq 6 ]; then ok "six validation plots"; else not_ok "six validation plots (got $n)"; fi

check_fails "bad activeBXs names module and key" 2 "hbheReco.*activeBXs" \
    $RUN --set 'modules.hbheReco.activeBXs=[0, 9]'
check_fails "missing conditions file names module and file" 2 "hbheDigis.*conditions.*/nonexistent/c.txt" \
    $RUN --set modules.hbheDigis.conditions=/nonexistent/c.txt
check_fails "missing FACILE model names module and dir" 2 "hbheReco.*model.*/nonexistent/m" \
    $RUN --set modules.hbheReco.plugin=hcal_facile --set modules.hbheReco.model=/nonexistent/m
e2e_done
