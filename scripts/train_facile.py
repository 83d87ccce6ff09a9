#!/usr/bin/python3
"""Train the FACILE network (numpy only) and write a model repository.

Regresses the true in-time energy (GeV) of an HBHE channel from the 46
features of sim/ml (mh_facile_features; the same layout as
scripts/facile_reference.py features()). Architecture: BatchNorm (statistics
of the training sample, frozen) -> Dense 50 -> 30 -> 20 -> 10 -> 5 -> 1, ReLU
everywhere (energies are non-negative). Adam on the mean squared error (or, with
--loss rel, weighted by 1/(true + rel_floor)), learning rate decaying to
lr * lr_final.

Data:
  --data FILE.npz   arrays `features` (n x 46, float32) and `truth` (n, GeV),
                    (e.g. converted from a --raw dump)
  --raw FILE        rows of 47 little-endian float32 (the 46 features, then the
                    true in-time energy in GeV), as written by the validation
                    module's `dump` parameter from a generated sample (see
                    "Training the committed model" in plugins/README.md)
  --synthetic N     a toy sample made here: stand-in SiPM pulse (as in
                    tests/hcal/test_mahi.c), exponential in-time energies,
                    pileup in BX -3..+4, Gaussian noise. For smoke tests and
                    until the real dumper exists; NOT the committed model.

Example (writes MODEL_DIR/config.yaml and MODEL_DIR/1/weights.bin):
  /usr/bin/python3 scripts/train_facile.py --synthetic 20000 --epochs 5 \\
      --seed 1 --out /tmp/facile_toy
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import facile_reference as ref  # noqa: E402

HIDDEN = [50, 30, 20, 10, 5]


def pulse_fractions(t):
    """Fractions in 10 samples of a pulse arriving t ns after the start of TS3."""
    def cdf(x):
        x = np.maximum(x, 0.0)
        u = x / 4.0
        return 0.8 * (1 - np.exp(-u) * (1 + u + 0.5 * u * u)) + 0.2 * (1 - np.exp(-x / 20.0))
    a = 25.0 * (np.arange(10) - 3) - t
    return cdf(a + 25.0) - cdf(a)


def synthetic(n, rng):
    ieta = rng.integers(1, ref.NIETA + 1, n) * rng.choice([-1, 1], n)
    iphi = rng.integers(1, ref.NIPHI + 1, n)
    depth = rng.integers(1, ref.NDEPTH + 1, n)
    gain = rng.uniform(0.003, 0.007, n)
    truth = rng.exponential(2.0, n) * (rng.uniform(size=n) < 0.7)  # GeV
    shape = pulse_fractions(0.0)
    charge = np.zeros((n, 10))
    for bx in range(-3, 5):
        amp = truth / gain if bx == 0 else rng.exponential(60.0, n) * (rng.uniform(size=n) < 0.4)
        shifted = np.zeros(10)
        for ts in range(10):
            if 0 <= ts - bx < 10:
                shifted[ts] = shape[ts - bx]
        charge += amp[:, None] * shifted[None, :]
    charge += rng.normal(0, 1.0, charge.shape) * np.sqrt(2.5 + 4.0 * np.maximum(charge, 0))
    feat = ref.features(charge.astype(np.float32), 0, gain.astype(np.float32), ieta, iphi, depth)
    return feat, truth.astype(np.float32)


class Net:
    def __init__(self, nin, rng):
        self.w, self.b = [], []
        width = nin
        for units in HIDDEN + [1]:
            self.w.append(rng.normal(0, np.sqrt(2.0 / width), (units, width)))
            self.b.append(np.zeros(units))
            width = units

    def forward(self, x):
        acts = [x]
        for w, b in zip(self.w, self.b):
            x = np.maximum(x @ w.T + b, 0.0)
            acts.append(x)
        return acts

    def grads(self, acts, y, w=None):
        n = y.shape[0]
        d = 2.0 * (acts[-1][:, 0] - y)[:, None] / n
        if w is not None:
            d = d * w[:, None]
        gw, gb = [None] * len(self.w), [None] * len(self.w)
        for i in reversed(range(len(self.w))):
            d = d * (acts[i + 1] > 0)
            gw[i] = d.T @ acts[i]
            gb[i] = d.sum(axis=0)
            d = d @ self.w[i]
        return gw, gb


def write_repo(out, name, mean, var, eps, net, max_batch, delay_us):
    """delay_us < 0: no dynamic_batching (every request executed alone)."""
    os.makedirs(os.path.join(out, "1"), exist_ok=True)
    lines = [f"# FACILE model repository: {name}",
             "# written by scripts/train_facile.py",
             f"name: {name}", "platform: minihlt_dense", f"max_batch_size: {max_batch}"]
    if delay_us >= 0:
        lines.append(f"dynamic_batching: {{max_queue_delay_microseconds: {delay_us}}}")
    lines += ["input:", "  - name: input__0", "    data_type: TYPE_FP32",
             f"    dims: [-1, {ref.NFEAT}]",
             "output:", "  - name: output__0", "    data_type: TYPE_FP32", "    dims: [-1, 1]",
             "layers:", f"  - {{type: batchnorm, name: bn0, units: {ref.NFEAT}, eps: {eps}}}"]
    blobs = [mean, var, np.ones(ref.NFEAT), np.zeros(ref.NFEAT)]
    for i, (w, b) in enumerate(zip(net.w, net.b)):
        lname = "out" if i == len(net.w) - 1 else f"dense{i + 1}"
        lines.append(f"  - {{type: dense, name: {lname}, units: {w.shape[0]}, activation: relu}}")
        blobs += [w, b]
    with open(os.path.join(out, "config.yaml"), "w") as fh:
        fh.write("\n".join(lines) + "\n")
    data = np.concatenate([np.asarray(b, dtype=np.float64).ravel() for b in blobs]).astype("<f4")
    data.tofile(os.path.join(out, "1", "weights.bin"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--data")
    src.add_argument("--raw")
    src.add_argument("--synthetic", type=int)
    ap.add_argument("--out", required=True)
    ap.add_argument("--name", default="facile")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--lr-final", type=float, default=1.0,
                    help="learning rate of the last epoch, as a fraction of --lr (exponential decay)")
    ap.add_argument("--loss", choices=("mse", "rel"), default="mse",
                    help="mse: mean squared error in GeV; rel: squared error weighted by "
                         "1/(true + rel_floor), so that low-energy channels count as much "
                         "relative to their energy")
    ap.add_argument("--rel-floor", type=float, default=1.0, help="GeV, for --loss rel")
    # One HBHE event is ~9550 channels (rows) and the hcal_remote client sends one request
    # per event, so 65536 rows lets the server merge up to 6 events in one execution.
    ap.add_argument("--max-batch-size", type=int, default=65536)
    # 100 us is short next to one event's forward pass (1.4 ms on one thread,
    # data/models/README.md) and to a network round trip (10 ms on-premises), so a lone
    # client barely notices it, yet requests that several clients send at about the same
    # time are merged. -1: no dynamic_batching.
    ap.add_argument("--max-queue-delay-us", type=int, default=100)
    ap.add_argument("--max-rows", type=int, default=0,
                    help="with --raw: train on a random subset of this many channels")
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    if args.data:
        d = np.load(args.data)
        feat, truth = d["features"].astype(np.float32), d["truth"].astype(np.float32)
    elif args.raw:
        rows = np.fromfile(args.raw, dtype="<f4")
        if rows.size == 0 or rows.size % (ref.NFEAT + 1):
            sys.exit(f"train_facile: {args.raw}: not rows of {ref.NFEAT + 1} float32")
        rows = rows.reshape(-1, ref.NFEAT + 1)
        if args.max_rows and rows.shape[0] > args.max_rows:
            rows = rows[rng.permutation(rows.shape[0])[:args.max_rows]]
        feat, truth = rows[:, :ref.NFEAT].copy(), rows[:, ref.NFEAT].copy()
        print(f"{args.raw}: {rows.shape[0]} channels, mean true energy {truth.mean():.3f} GeV")
    else:
        feat, truth = synthetic(args.synthetic, rng)
    if feat.ndim != 2 or feat.shape[1] != ref.NFEAT or truth.shape != (feat.shape[0],):
        sys.exit(f"train_facile: need features n x {ref.NFEAT} and truth n")
    ntest = max(1, feat.shape[0] // 10)
    xtr, ytr, xte, yte = feat[ntest:], truth[ntest:], feat[:ntest], truth[:ntest]
    eps = 1e-3
    mean, var = xtr.mean(axis=0).astype(np.float64), xtr.var(axis=0).astype(np.float64)
    norm = lambda x: (x - mean) / np.sqrt(var + eps)  # noqa: E731
    net = Net(ref.NFEAT, rng)
    params = net.w + net.b
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    step = 0
    xn = norm(xtr)
    for epoch in range(args.epochs):
        # Exponential decay from lr to lr * lr_final over the epochs.
        lr = args.lr * args.lr_final ** (epoch / max(1, args.epochs - 1))
        order = rng.permutation(xn.shape[0])
        for i in range(0, len(order), args.batch):
            idx = order[i:i + args.batch]
            w = None if args.loss == "mse" else 1.0 / (ytr[idx] + args.rel_floor)
            gw, gb = net.grads(net.forward(xn[idx]), ytr[idx], w)
            step += 1
            for k, g in enumerate(gw + gb):
                m[k] = 0.9 * m[k] + 0.1 * g
                v[k] = 0.999 * v[k] + 0.001 * g * g
                mh = m[k] / (1 - 0.9 ** step)
                vh = v[k] / (1 - 0.999 ** step)
                params[k] -= lr * mh / (np.sqrt(vh) + 1e-8)
        pred = net.forward(norm(xte))[-1][:, 0]
        print(f"epoch {epoch + 1}: test rmse {np.sqrt(np.mean((pred - yte) ** 2)):.4f} GeV")
    write_repo(args.out, args.name, mean, var, eps, net, args.max_batch_size,
               args.max_queue_delay_us)
    # The written repository must reproduce the trained network.
    _, layers = ref.load(args.out)
    again = ref.forward(layers, xte)[:, 0]
    pred = net.forward(norm(xte))[-1][:, 0]
    if not np.allclose(again, pred, rtol=1e-3, atol=1e-4):
        sys.exit("train_facile: written model does not reproduce the trained network")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
