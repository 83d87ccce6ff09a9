#!/usr/bin/python3
"""Write an ONNX file of a FACILE model repository and check it.

Usage:
  scripts/export_onnx.py MODEL_DIR [--version 1] [-o OUT.onnx] [--build build]
                         [--check-rows 4096] [--seed 5] [--no-check]

MODEL_DIR is a minihlt model repository (config.yaml + <version>/weights.bin,
format in sim/ml/README.md), e.g. tests/data/facile_tiny or data/models/facile.
The ONNX graph is the declared network (BatchNormalization, then Gemm + Relu per
dense layer), opset 13, IR version 8, dynamic batch dimension, the tensor names
of config.yaml (input__0 / output__0 by default). Default output:
BUILD/onnx/<name>.onnx.

Check (unless --no-check): on --check-rows fixed feature rows (seed --seed),
onnxruntime (CPU, one thread) must agree with our C forward pass (libminihlt's
mh_facile_forward through ctypes, so BUILD/lib/libminihlt.so must be built) to
1e-4 relative (of the largest output magnitude); the float64 numpy reference
(scripts/facile_reference.py) is printed beside both.

Runs with /usr/bin/python3: it creates BUILD/venv with the PyPI packages onnx
and onnxruntime (scripts/venv.sh) and re-executes itself there.
Exit: 0 written and checked; 1 error or mismatch; 3 PyPI unreachable.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import facile_onnx as fo  # noqa: E402

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model_dir")
    ap.add_argument("--version", type=int, default=1)
    ap.add_argument("-o", "--out")
    ap.add_argument("--build", default="build")
    ap.add_argument("--check-rows", type=int, default=4096)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--no-check", action="store_true")
    args = ap.parse_args()
    prog = "export_onnx.py"
    model, cfg = fo.export_setup(prog, args.model_dir, args.version, args.build,
                                 ["onnx", "onnxruntime"])
    out = args.out or os.path.join(args.build, "onnx", f"{cfg['name']}.onnx")
    fo.save_atomic(model, out)
    nparams = sum(int(t.dims[0]) * (int(t.dims[1]) if len(t.dims) > 1 else 1)
                  for t in model.graph.initializer)
    ops = [n.op_type for n in model.graph.node]
    print(f"wrote {out}: {len(ops)} nodes ({', '.join(sorted(set(ops)))}), {nparams} parameters, "
          f"opset {fo.OPSET}, IR {fo.IR_VERSION}")
    if args.no_check:
        return 0

    return fo.run_check(prog, args.build, args.model_dir, args.version, out, args.check_rows,
                        args.seed)

if __name__ == "__main__":
    sys.exit(main())
