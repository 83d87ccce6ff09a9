#!/bin/bash
# onnx.sh - scripts/export_onnx.py and scripts/export_triton_repo.py on the
# tiny test model: the ONNX file is written, onnxruntime agrees with our C
# forward pass (checked inside the script) and, independently here, with the
# numpy golden outputs of tests/data/facile_tiny/golden.txt; the Triton
# repository has the expected files and a config.pbtxt that Triton's own
# ModelConfig protobuf parses, and `minihlt serve` serving that same
# directory answers like onnxruntime on its model.onnx; broken models fail
# with a clear message.
# Needs PyPI (onnx, onnxruntime, tritonclient[grpc] in $MINIHLT_BUILD/venv):
# without it the test prints why and skips.
. "$(dirname "$0")/lib.sh"
BUILD=${MINIHLT_BUILD:-build}
asan_preload_for_python "$BUILD"
MODEL=tests/data/facile_tiny
PY3=/usr/bin/python3

if ! VPY=$(sh scripts/venv.sh "$BUILD" onnx onnxruntime \
        "tritonclient.grpc.model_config_pb2:tritonclient[grpc]" 2>"$E2E_TMP/venv.err"); then
    echo "# SKIP onnx.sh: no venv with onnx/onnxruntime/tritonclient (PyPI unreachable?):"
    sed 's/^/#   /' "$E2E_TMP/venv.err" | tail -n 3
    exit 0
fi

check "export_onnx writes and checks the tiny model" \
    "$PY3" scripts/export_onnx.py "$MODEL" --build "$BUILD" -o "$E2E_TMP/tiny.onnx"
cp "$E2E_TMP/out" "$E2E_TMP/export.out"
check "export_onnx reports the C/onnxruntime match" \
    grep -q "check: onnxruntime matches the C forward pass" "$E2E_TMP/export.out"

# Independent of the script's own check: the written file, run by
# onnxruntime, reproduces the golden outputs of the numpy reference.
check "onnx file reproduces golden.txt" "$VPY" - "$E2E_TMP/tiny.onnx" "$MODEL/golden.txt" <<'EOF'
import sys
import numpy as np
import onnxruntime as ort
path, golden = sys.argv[1], sys.argv[2]
rows = np.loadtxt(golden, comments="#", skiprows=3, ndmin=2)
x = rows[:, 14:14 + 46].astype(np.float32)
want = rows[:, 14 + 46:]
s = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
assert [i.name for i in s.get_inputs()] == ["input__0"], s.get_inputs()
assert s.get_inputs()[0].shape[0] == "batch", s.get_inputs()[0].shape
(got,) = s.run(None, {"input__0": x})
assert got.shape == want.shape, (got.shape, want.shape)
d = np.abs(got - want).max() / max(1.0, np.abs(want).max())
assert d < 1e-4, d
assert np.ptp(want) > 1.0  # the golden outputs are not all alike
EOF

# A model whose weights file is one float short.
mkdir -p "$E2E_TMP/short/1"
cp "$MODEL/config.yaml" "$E2E_TMP/short/"
head -c -4 "$MODEL/1/weights.bin" >"$E2E_TMP/short/1/weights.bin"
check_fails "short weights.bin is named" 1 "short: cannot read the model: .*weights.bin" \
    "$PY3" scripts/export_onnx.py "$E2E_TMP/short" --build "$BUILD" -o "$E2E_TMP/short.onnx"
check "no ONNX file from a broken model" test ! -e "$E2E_TMP/short.onnx"
check_fails "not a model repository" 1 "nowhere/config.yaml: no such file" \
    "$PY3" scripts/export_onnx.py "$E2E_TMP/nowhere" --build "$BUILD"

check "export_triton_repo writes a repository" \
    "$PY3" scripts/export_triton_repo.py "$MODEL" -o "$E2E_TMP/triton" --name facile \
    --instances 2 --build "$BUILD"
check "triton repo files" test -s "$E2E_TMP/triton/facile/config.pbtxt" \
    -a -s "$E2E_TMP/triton/facile/1/model.onnx" -a -s "$E2E_TMP/triton/facile/1/weights.bin"
check "config.pbtxt as Triton reads it" "$VPY" - "$E2E_TMP/triton/facile/config.pbtxt" <<'EOF'
import sys
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2 as mc
c = text_format.Parse(open(sys.argv[1]).read(), mc.ModelConfig())
assert c.name == "facile" and c.platform == "onnxruntime_onnx", c
assert c.max_batch_size == 16384, c.max_batch_size
assert list(c.input[0].dims) == [46] and list(c.output[0].dims) == [1], c
assert c.instance_group[0].count == 2, c.instance_group
assert c.dynamic_batching.max_queue_delay_microseconds == 100, c.dynamic_batching
EOF
check "renamed config.yaml still loads in the C loader" "$VPY" -c "
import sys; sys.path.insert(0, 'scripts')
import facile_onnx as fo
fo.CFacile('$BUILD', '$E2E_TMP/triton/facile').close()"

# The same directory served by `minihlt serve` answers like onnxruntime on the
# model.onnx a Triton server would load from it.
"$MINIHLT" serve --models "$E2E_TMP/triton" --port 0 >"$E2E_TMP/srv.out" 2>"$E2E_TMP/srv.err" &
srv=$!
url=""
for _ in $(seq 1 100); do
    url=$(sed -n 's/^listening on http:\/\/\([^ ]*\)$/\1/p' "$E2E_TMP/srv.out")
    [ -n "$url" ] && break
    sleep 0.05
done
if [ -z "$url" ]; then
    not_ok "minihlt serve loads the Triton repository"; sed 's/^/#   /' "$E2E_TMP/srv.err"
else
    check "minihlt serve = onnxruntime on the exported repository" "$VPY" - "$url" \
        "$E2E_TMP/triton/facile/1/model.onnx" "$MODEL/golden.txt" <<'EOF'
import json, sys, urllib.request
import numpy as np
import onnxruntime as ort
url, path, golden = sys.argv[1:4]
x = np.loadtxt(golden, comments="#", skiprows=3, ndmin=2)[:40, 14:14 + 46].astype(np.float32)
body = {"inputs": [{"name": "input__0", "datatype": "FP32", "shape": list(x.shape),
                    "data": x.ravel().tolist()}]}
req = urllib.request.Request(f"http://{url}/v2/models/facile/infer", json.dumps(body).encode(),
                             {"Content-Type": "application/json"})
out = json.load(urllib.request.urlopen(req, timeout=10))["outputs"][0]
served = np.array(out["data"], dtype=np.float32).reshape(out["shape"])
(ref,) = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, {"input__0": x})
d = np.abs(served - ref).max() / max(1.0, np.abs(ref).max())
assert served.shape == ref.shape and d < 1e-4, (served.shape, ref.shape, d)
EOF
fi
kill -TERM "$srv" 2>/dev/null
wait "$srv" 2>/dev/null
e2e_done
