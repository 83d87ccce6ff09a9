#!/usr/bin/python3
"""FACILE forward pass: our C code against onnxruntime, one thread, same model,
same batch (run by scripts/bench/hcal.sh).

Usage: scripts/bench/hcal_onnx.py MODEL_DIR [--channels 6500] [--runs 50]
                                  [--build build]

Exports MODEL_DIR to ONNX in memory (scripts/facile_onnx.py), checks that both
give the same outputs on the batch, then times forward passes of one batch of
--channels rows (one event's HBHE channels): ours through ctypes
(mh_facile_forward; ~1 us of call overhead) and onnxruntime's CPU provider with
intra_op_num_threads = 1, sequential execution, all graph optimisations (it
folds the BatchNormalization into the first Gemm, as our loader does).
Interleaved runs after a warm-up, timed in thread CPU time (onnxruntime with one
intra-op thread runs on the calling thread; wall time on a shared machine
measures the neighbours); prints medians and the best, and
"ratio onnxruntime/ours" (> 1: ours is faster). Makes BUILD/venv (onnx,
onnxruntime) like export_onnx.py; exit 3 without PyPI.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import facile_onnx as fo  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model_dir")
    ap.add_argument("--channels", type=int, default=6500)
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--build", default="build")
    args = ap.parse_args()
    prog = "hcal_onnx.py"
    model, cfg = fo.export_setup(prog, args.model_dir, 1, args.build, ["onnx", "onnxruntime"])
    import numpy as np
    import onnxruntime

    sess = fo.ort_session(model.SerializeToString(), threads=1)
    cf = fo.CFacile(args.build, args.model_dir)
    x = fo.fixed_inputs(args.channels, 11)
    in_name = sess.get_inputs()[0].name
    out = np.empty((args.channels, cf.nout), dtype=np.float32)
    ours = cf.forward(x, out).copy()
    (theirs,) = sess.run(None, {in_name: x})
    d = float(np.abs(ours - theirs).max()) / max(1.0, float(np.abs(ours).max()))
    if not d <= fo.CHECK_RTOL:
        print(f"{prog}: outputs differ (relative {d:.3g}); not timing", file=sys.stderr)
        return 1
    for _ in range(5):
        cf.forward(x, out)
        sess.run(None, {in_name: x})
    t_ours, t_ort = [], []
    for _ in range(args.runs):
        a = time.thread_time()
        cf.forward(x, out)
        b = time.thread_time()
        sess.run(None, {in_name: x})
        c = time.thread_time()
        t_ours.append((b - a) * 1e6)
        t_ort.append((c - b) * 1e6)
    cf.close()
    m_ours, m_ort = float(np.median(t_ours)), float(np.median(t_ort))
    print(f"facile vs onnxruntime {onnxruntime.__version__}: model {cfg['name']}, batch "
          f"{args.channels} rows, one thread, {args.runs} interleaved runs")
    print(f"  ours (C, mh_facile_forward)  median {m_ours:8.1f} us  best {min(t_ours):8.1f} us  "
          f"{1e3 * m_ours / args.channels:6.1f} ns/channel")
    print(f"  onnxruntime (1 intra-op thread) median {m_ort:8.1f} us  best {min(t_ort):8.1f} us  "
          f"{1e3 * m_ort / args.channels:6.1f} ns/channel")
    print(f"  ratio onnxruntime/ours (median) {m_ort / m_ours:.2f}  (best {min(t_ort) / min(t_ours):.2f})")
    print(f"ours_forward_us {m_ours:.2f}")
    print(f"ort_forward_us {m_ort:.2f}")
    print(f"ratio_ort_over_ours {m_ort / m_ours:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
