#!/bin/sh
# End-to-end tests of `minihlt study` and scripts/plot_study.py: usage
# errors, the plots drawn headless from a saved summary, and (once the
# default menu and the HCAL plugins exist) a tiny study of two variants whose
# summary is checked for consistency.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
BUILD=${MINIHLT_BUILD:-build}

check_fails "study: no menu is a usage error" 2 "expected one menu file" "$MINIHLT" study
check_fails "study: unknown variant named" 2 "unknown variant 'gpu'" \
    "$MINIHLT" study configs/examples/emulated.yaml --variants mahi,gpu
check_fails "study: missing menu named" 2 "nope.yaml" "$MINIHLT" study nope.yaml
check_fails "study: a bad --cpu-ms-per-event is named" 2 "cpu-ms-per-event: expected a number" \
    "$MINIHLT" study configs/examples/emulated.yaml --cpu-ms-per-event -5
check_fails "study: a bad --set is named before any run" 2 "nosuchkey" \
    "$MINIHLT" study configs/examples/emulated.yaml --set process.nosuchkey=1

# Plots from the saved summary and farm.sh JSON of a real study (tests/data/study:
# it has both scans, so every plot is drawn).
mkdir -p "$E2E_TMP/plots"
cp tests/data/study/summary.json tests/data/study/farm.json "$E2E_TMP/plots/"
check "plot_study: runs headless on a saved summary" $PY scripts/plot_study.py "$E2E_TMP/plots"
for f in time_per_event throughput_vs_streams savings_vs_rtt farm_saturation; do
    if head -c 8 "$E2E_TMP/plots/$f.png" 2>/dev/null | grep -q PNG; then ok "plot_study: $f.png is a PNG"
    else not_ok "plot_study: $f.png is a PNG"; fi
done
echo '{"variants": []}' >"$E2E_TMP/plots/summary.json"
check_fails "plot_study: malformed summary named" 1 "summary.json: missing key 'baseline'" \
    $PY scripts/plot_study.py "$E2E_TMP/plots"

# A tiny real study, when the pieces it runs are built.
if [ -f configs/hlt.yaml ] && [ -f "$BUILD/plugins/hcal_mahi.so" ] && [ -f "$BUILD/plugins/hcal_facile.so" ] \
    && [ -d data/models/facile ] && [ -f data/samples/ttbar_pu60.mhe ]; then
    out="$E2E_TMP/study"
    check "study: mahi and facile on the committed sample" "$MINIHLT" study configs/hlt.yaml \
        --variants mahi,facile --events 4 --threads 2 --streams 2 \
        --input data/samples/ttbar_pu60.mhe --set process.time_scale=0.01 -o "$out"
    check "study: summary is consistent" $PY - "$out/summary.json" <<'PYEOF'
import json, math, sys
s = json.load(open(sys.argv[1]))
assert s["baseline"] == "mahi", s["baseline"]
# the scale and the overrides the numbers were made with
assert s["time_scale"] == 0.01, s["time_scale"]
assert s["overrides"] == ["process.time_scale=0.01"], s["overrides"]
vs = {v["name"]: v for v in s["variants"]}
assert set(vs) == {"mahi", "facile"}, vs.keys()
base = vs["mahi"]["hlt_cpu_ms_per_event"]
for v in vs.values():
    e = v["events"]
    assert e["read"] == 4 and e["processed"] + e["failed"] == e["read"], e
    assert e["accepted"] + e["rejected"] == e["processed"], e
    assert 0 <= v["hcal_cpu_fraction"] <= 1 and 0 <= v["hcal_real_fraction"] <= 1
    assert math.isclose(v["savings"], 1 - v["hlt_cpu_ms_per_event"] / base, rel_tol=1e-9)
    # quality beside the savings: the menu's validation module gives resolutions
    res = v["hcal_resolution"]
    assert 0 < res["channel"] < 1 and 0 < res["jet"] < 2, res
    assert set(v["accept_rate_changes"]) == set(v["accept_rates"]), v["accept_rate_changes"]
    for p, d in v["accept_rate_changes"].items():
        assert math.isclose(d, v["accept_rates"][p] - vs["mahi"]["accept_rates"][p], abs_tol=1e-12)
assert all(d == 0 for d in vs["mahi"]["accept_rate_changes"].values())
PYEOF
    if grep -q "HCAL res" "$out/summary.txt" && grep -q "^facile " "$out/summary.txt"; then
        ok "study: the table with resolutions is in summary.txt"
    else not_ok "study: the table with resolutions is in summary.txt"; fi
    # time_scale 0.01: HCAL looks like most of the menu; the table must say so
    if [ "$(grep -c "^WARNING: process.time_scale is 0.01, not 1" "$out/summary.txt")" = 2 ] \
        && grep -q "only meaningful at time_scale 1" "$out/summary.txt" \
        && grep -q "^menu configs/hlt.yaml, process.time_scale 0.01; --set process.time_scale=0.01$" \
            "$out/summary.txt"; then
        ok "study: scaled menu warned about above the table and the farm estimate"
    else not_ok "study: scaled menu warned about above the table and the farm estimate"; fi
    # farm.sh --json, and the study with --farm beside the estimate
    if [ -f "$BUILD/plugins/hcal_remote.so" ] && [ -f configs/hlt_remote.yaml ]; then
        check "farm.sh: 1 and 2 clients with --json" bash scripts/farm.sh --build "$BUILD" --events 4 \
            --input data/samples/ttbar_pu60.mhe --set process.time_scale=0.01 \
            --out "$E2E_TMP/farm" --json "$E2E_TMP/farm.json" 1 2
        check "farm.sh: the JSON has the points plot_study.py reads" $PY - "$E2E_TMP/farm.json" <<'PYEOF'
import json, sys
f = json.load(open(sys.argv[1]))
assert [p["clients"] for p in f["points"]] == [1, 2], f["points"]
for p in f["points"]:
    for k in ("throughput_per_client_hz", "server_queue_ms_per_request",
              "server_compute_ms_per_request"):
        assert isinstance(p[k], float) and p[k] >= 0, (k, p)
    assert p["throughput_per_client_hz"] > 0 and p["server_requests"] >= 4 * p["clients"], p
assert "saturation_clients" in f
PYEOF
        check "study: --farm puts the measurement beside the estimate" "$MINIHLT" study \
            configs/hlt.yaml --variants mahi,remote --events 4 --threads 1 --streams 2 \
            --input data/samples/ttbar_pu60.mhe --set process.time_scale=0.01 \
            --farm "$E2E_TMP/farm.json" -o "$E2E_TMP/study_farm"
        if grep -q "scripts/farm.sh on this machine" "$E2E_TMP/study_farm/summary.txt" \
            && head -c 8 "$E2E_TMP/study_farm/farm_saturation.png" | grep -q PNG; then
            ok "study: farm points in summary.txt and farm_saturation.png"
        else not_ok "study: farm points in summary.txt and farm_saturation.png"; fi
    fi
else
    echo "# study: tiny real study skipped (default menu, HCAL plugins, model or sample not built yet)"
fi
e2e_done
