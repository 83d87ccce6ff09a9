#!/usr/bin/python3
"""Reference (numpy) implementation of the FACILE model format and forward pass.

The C code in sim/ml must agree with this script; tests/ml/test_facile.c checks
it against a golden file this script writes. Needs numpy and PyYAML (Debian:
python3-numpy python3-yaml; run with the system /usr/bin/python3).

Subcommands:
  init    write a randomly initialised model repository (config.yaml and
          1/weights.bin) with a fixed seed
  golden  build features for random HBHE channels, run the forward pass,
          write inputs, features and outputs as a text golden file
  forward print the outputs of a model for rows of features read from a file

The committed test model and its golden file were made with:
  /usr/bin/python3 scripts/facile_reference.py init --out tests/data/facile_tiny \\
      --name facile_tiny --hidden 20,12,5 --seed 1
  /usr/bin/python3 scripts/facile_reference.py golden --model tests/data/facile_tiny \\
      --n 150 --seed 2 --out tests/data/facile_tiny/golden.txt

Model repository format (also in sim/ml/README.md): config.yaml declares the
input and output tensors and the layers; <version>/weights.bin is the
concatenation, in layer order, of little-endian float32 arrays:
  batchnorm (units U): mean[U], var[U], gamma[U], beta[U]
  dense (in I, units U): weight[U][I] (row-major, out x in), bias[U]
"""
import argparse
import os
import sys

import numpy as np
import yaml

NTS = 8
NDEPTH = 7
NIETA = 29
NIPHI = 72
F_GAIN = 8
F_IPHI = 9
F_DEPTH = 10
F_IETA = F_DEPTH + NDEPTH
NFEAT = F_IETA + NIETA  # 46


def features(charge, first_ts, gain, ieta, iphi, depth):
    """charge: n x nts (fC); gain, ieta, iphi, depth: n. Returns n x NFEAT float32."""
    n = charge.shape[0]
    f = np.zeros((n, NFEAT), dtype=np.float32)
    f[:, 0:NTS] = charge[:, first_ts:first_ts + NTS]
    f[:, F_GAIN] = gain
    f[:, F_IPHI] = iphi
    ae = np.abs(ieta)
    if np.any((ae < 1) | (ae > NIETA) | (depth < 1) | (depth > NDEPTH) | (iphi < 1) | (iphi > NIPHI)):
        raise ValueError("cell outside HBHE")
    f[np.arange(n), F_DEPTH + depth - 1] = 1.0
    f[np.arange(n), F_IETA + ae - 1] = 1.0
    return f


def load(model_dir, version=1):
    """Returns (config dict, list of layers); each layer is a dict with the
    declared fields plus its float32 arrays."""
    with open(os.path.join(model_dir, "config.yaml")) as fh:
        cfg = yaml.safe_load(fh)
    wpath = os.path.join(model_dir, str(version), "weights.bin")
    raw = np.fromfile(wpath, dtype="<f4")
    width = int(cfg["input"][0]["dims"][1])
    pos = 0
    layers = []
    for decl in cfg["layers"]:
        units = int(decl["units"])
        lay = dict(decl)
        if decl["type"] == "batchnorm":
            assert units == width, decl["name"]
            arr = raw[pos:pos + 4 * units].reshape(4, units)
            lay.update(mean=arr[0], var=arr[1], gamma=arr[2], beta=arr[3])
            pos += 4 * units
        else:
            lay["w"] = raw[pos:pos + units * width].reshape(units, width)
            pos += units * width
            lay["b"] = raw[pos:pos + units]
            pos += units
            width = units
        layers.append(lay)
    if pos != raw.size:
        raise ValueError(f"{wpath}: {raw.size} floats, config declares {pos}")
    return cfg, layers


def forward(layers, x):
    """Unfolded forward pass in float64 (the exact reference)."""
    h = x.astype(np.float64)
    for lay in layers:
        if lay["type"] == "batchnorm":
            h = (h - lay["mean"]) / np.sqrt(lay["var"].astype(np.float64) + float(lay["eps"]))
            h = h * lay["gamma"] + lay["beta"]
        else:
            h = h @ lay["w"].astype(np.float64).T + lay["b"]
            if lay["activation"] == "relu":
                h = np.maximum(h, 0.0)
    return h


def cmd_init(args):
    rng = np.random.default_rng(args.seed)
    hidden = [int(u) for u in args.hidden.split(",") if u]
    os.makedirs(os.path.join(args.out, "1"), exist_ok=True)
    lines = [
        f"# FACILE model repository: {args.name}",
        f"# written by scripts/facile_reference.py init --seed {args.seed} (random weights)",
        f"name: {args.name}",
        "platform: minihlt_dense",
        f"max_batch_size: {args.max_batch}",
        "input:",
        "  - name: input__0",
        "    data_type: TYPE_FP32",
        f"    dims: [-1, {NFEAT}]",
        "output:",
        "  - name: output__0",
        "    data_type: TYPE_FP32",
        "    dims: [-1, 1]",
        "layers:",
        f"  - {{type: batchnorm, name: bn0, units: {NFEAT}, eps: 0.001}}",
    ]
    # Batchnorm statistics of the order of the real features.
    mean = np.zeros(NFEAT)
    var = np.ones(NFEAT)
    mean[:NTS] = rng.uniform(5, 80, NTS)
    var[:NTS] = rng.uniform(100, 4000, NTS)
    mean[F_GAIN], var[F_GAIN] = 0.005, 1e-6
    mean[F_IPHI], var[F_IPHI] = 36.5, 431.0
    mean[F_DEPTH:] = rng.uniform(0.02, 0.3, NFEAT - F_DEPTH)
    var[F_DEPTH:] = mean[F_DEPTH:] * (1 - mean[F_DEPTH:])
    gamma = rng.uniform(0.5, 1.5, NFEAT)
    beta = rng.normal(0, 0.1, NFEAT)
    blobs = [mean, var, gamma, beta]
    width = NFEAT
    units_all = hidden + [1]
    for i, units in enumerate(units_all):
        last = i == len(units_all) - 1
        act = "linear" if last else "relu"
        name = "out" if last else f"dense{i + 1}"
        lines.append(f"  - {{type: dense, name: {name}, units: {units}, activation: {act}}}")
        blobs.append(rng.normal(0, np.sqrt(2.0 / width), (units, width)))
        blobs.append(rng.normal(0, 0.1, units))
        width = units
    with open(os.path.join(args.out, "config.yaml"), "w") as fh:
        fh.write("\n".join(lines) + "\n")
    data = np.concatenate([np.asarray(b, dtype=np.float64).ravel() for b in blobs]).astype("<f4")
    data.tofile(os.path.join(args.out, "1", "weights.bin"))
    print(f"wrote {args.out}: {data.size} weights")


def cmd_golden(args):
    rng = np.random.default_rng(args.seed)
    cfg, layers = load(args.model)
    n, nts, first = args.n, 10, args.first_ts
    # HBHE-like cells: |ieta| 1..29, depth 1..7, iphi 1..72, both signs.
    ieta = rng.integers(1, NIETA + 1, n) * rng.choice([-1, 1], n)
    iphi = rng.integers(1, NIPHI + 1, n)
    depth = rng.integers(1, NDEPTH + 1, n)
    gain = rng.uniform(0.003, 0.007, n).astype(np.float32)
    charge = (rng.exponential(40.0, (n, nts)) - 3.0).astype(np.float32)
    feat = features(charge, first, gain, ieta, iphi, depth)
    out = forward(layers, feat)
    nout = out.shape[1]
    with open(args.out, "w") as fh:
        fh.write("# FACILE golden values: scripts/facile_reference.py golden "
                 f"--model {args.model} --n {n} --seed {args.seed} --first-ts {first}\n")
        fh.write("# per row: ieta iphi depth gain q[0..9] features[0..45] outputs[...]\n")
        fh.write(f"n {n} nts {nts} first_ts {first} nfeat {NFEAT} nout {nout}\n")
        for i in range(n):
            vals = [str(int(ieta[i])), str(int(iphi[i])), str(int(depth[i])),
                    f"{float(gain[i]):.9g}"]
            vals += [f"{float(v):.9g}" for v in charge[i]]
            vals += [f"{float(v):.9g}" for v in feat[i]]
            vals += [f"{float(v):.9g}" for v in out[i]]
            fh.write(" ".join(vals) + "\n")
    nzero = int(np.sum(out == 0.0))
    print(f"wrote {args.out}: {n} rows, output range [{out.min():.4g}, {out.max():.4g}], "
          f"{nzero} exact zeros")


def cmd_forward(args):
    _, layers = load(args.model, args.version)
    x = np.loadtxt(args.input, dtype=np.float32, ndmin=2)
    for row in forward(layers, x):
        print(" ".join(f"{v:.9g}" for v in row))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("init")
    p.add_argument("--out", required=True)
    p.add_argument("--name", default="facile_tiny")
    p.add_argument("--hidden", default="20,12,5")
    p.add_argument("--max-batch", type=int, default=16384)
    p.add_argument("--seed", type=int, default=1)
    p = sub.add_parser("golden")
    p.add_argument("--model", required=True)
    p.add_argument("--n", type=int, default=150)
    p.add_argument("--seed", type=int, default=2)
    p.add_argument("--first-ts", type=int, default=0)
    p.add_argument("--out", required=True)
    p = sub.add_parser("forward")
    p.add_argument("--model", required=True)
    p.add_argument("--version", type=int, default=1)
    p.add_argument("--input", required=True)
    args = ap.parse_args()
    {"init": cmd_init, "golden": cmd_golden, "forward": cmd_forward}[args.cmd](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
