#!/bin/sh
# process.time_scale scales every emulated module's CPU cost alike (the knob
# that lets CI replay the Run 3 profile in seconds with the same shares).
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
for ts in 1 0.1; do
    check "run: emulated menu with time_scale $ts" "$MINIHLT" run configs/examples/emulated.yaml \
        --input tests/io/golden-1.0.mhe --events 10 --threads 1 --streams 1 \
        --set process.time_scale=$ts --report "$E2E_TMP/ts$ts.json"
done
check "time_scale 0.1 makes emulated costs 10x smaller, shares kept" $PY - "$E2E_TMP" <<'PYEOF'
import json, sys
d = sys.argv[1]
a = {m["label"]: m["cpu_ms_per_event"] for m in json.load(open(d + "/ts1.json"))["modules"]}
b = {m["label"]: m["cpu_ms_per_event"] for m in json.load(open(d + "/ts0.1.json"))["modules"]}
for label in ("unpack", "tracking", "calo"):
    r = b[label] / a[label]
    assert 0.07 < r < 0.13, (label, a[label], b[label])
PYEOF
check_fails "time_scale must be positive" 2 "process.time_scale" "$MINIHLT" run \
    configs/examples/emulated.yaml --input tests/io/golden-1.0.mhe --set process.time_scale=0
e2e_done
