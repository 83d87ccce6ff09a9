#!/usr/bin/python3
"""Plots of the physics validation section of `minihlt run` reports (PNG).

    /usr/bin/python3 scripts/plot_validation.py REPORT.json [REPORT2.json ...] -o DIR
        [--label NAME ...]

Each report must hold report["sections"]["validation"] (the `validation`
end-path module of configs/hlt.yaml). Several reports are overlaid, e.g. a
MAHI run and a FACILE run of the same sample; the legend names each by
--label or else by the algorithm recorded in the section ("mahi", "facile").
Writes into DIR:
  channel_response.png   median rechit/true energy vs true in-time energy,
                         band = 16%-84% quantiles
  channel_resolution.png sigma_eff/median vs true in-time energy
  oot_leakage.png        median and 84% quantile of the reconstructed energy of
                         channels without in-time energy vs their out-of-time
                         energy (pileup rejection)
  jet_response.png       jet response and resolution vs gen jet pt, match
                         efficiency
  met_resolution.png     sigma_eff of MET_x,y (reco - gen) vs summed Et
  path_rates.png         accept rate per path
Runs headless (matplotlib Agg backend). Exit 1 with a message naming the file
when a report is missing or has no validation section.
"""
import argparse
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def fail(msg):
    print(f"plot_validation: {msg}", file=sys.stderr)
    sys.exit(1)


def load_section(path):
    try:
        with open(path) as f:
            rep = json.load(f)
    except OSError as e:
        fail(f"{path}: {e.strerror}")
    except json.JSONDecodeError as e:
        fail(f"{path}: not JSON: {e}")
    sec = rep.get("sections", {}).get("validation") if isinstance(rep, dict) else None
    if not isinstance(sec, dict) or "channel_response" not in sec:
        fail(f"{path}: no sections.validation (run a menu with the validation end path)")
    return sec


def series(dist, key, min_n=1):
    """x centre (mean x of the entries), value per bin with enough entries."""
    xs, ys = [], []
    for b in dist["bins"]:
        v = b.get(key)
        if b["n"] >= min_n and v is not None and b.get("x_mean") is not None:
            xs.append(b["x_mean"])
            ys.append(v)
    return xs, ys


def plot_response(ax, dist, label, min_n):
    xs, med = series(dist, "median", min_n)
    _, lo = series(dist, "q16", min_n)
    _, hi = series(dist, "q84", min_n)
    line, = ax.plot(xs, med, "o-", label=label)
    ax.fill_between(xs, lo, hi, alpha=0.2, color=line.get_color())


def save(fig, outdir, name, written):
    path = os.path.join(outdir, name)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    written.append(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("reports", nargs="+")
    ap.add_argument("-o", "--outdir", required=True)
    ap.add_argument("--label", action="append", default=[])
    ap.add_argument("--min-entries", type=int, default=20,
                    help="bins with fewer entries are not drawn (default 20)")
    args = ap.parse_args()
    secs = [load_section(p) for p in args.reports]
    labels = [args.label[i] if i < len(args.label) else s.get("algo", f"run {i + 1}")
              for i, s in enumerate(secs)]
    os.makedirs(args.outdir, exist_ok=True)
    written = []
    n = args.min_entries

    fig, ax = plt.subplots(figsize=(6, 4))
    for s, lab in zip(secs, labels):
        plot_response(ax, s["channel_response"], lab, n)
    ax.axhline(1.0, color="grey", lw=0.8)
    ax.set(xscale="log", xlabel="true in-time energy of the channel [GeV]",
           ylabel="reco / true (median, 16-84%)", title="HBHE channel energy response")
    ax.legend()
    save(fig, args.outdir, "channel_response.png", written)

    fig, ax = plt.subplots(figsize=(6, 4))
    for s, lab in zip(secs, labels):
        xs, ys = series(s["channel_response"], "resolution", n)
        ax.plot(xs, ys, "o-", label=lab)
    ax.set(xscale="log", xlabel="true in-time energy of the channel [GeV]",
           ylabel="sigma_eff / median", title="HBHE channel energy resolution")
    ax.legend()
    save(fig, args.outdir, "channel_resolution.png", written)

    fig, ax = plt.subplots(figsize=(6, 4))
    for s, lab in zip(secs, labels):
        xs, med = series(s["oot_leakage"], "median", n)
        _, q84 = series(s["oot_leakage"], "q84", n)
        line, = ax.plot(xs, med, "o-", label=f"{lab} median")
        ax.plot(xs, q84, "s--", color=line.get_color(), label=f"{lab} 84%")
    ax.set(xscale="log", xlabel="out-of-time energy of the channel [GeV]",
           ylabel="reconstructed in-time energy [GeV]",
           title="Channels without in-time energy")
    ax.legend()
    save(fig, args.outdir, "oot_leakage.png", written)

    fig, (a1, a2, a3) = plt.subplots(3, 1, figsize=(6, 8), sharex=True)
    for s, lab in zip(secs, labels):
        jr = s["jet_response"]
        plot_response(a1, jr, lab, n)
        xs, ys = series(jr, "resolution", n)
        a2.plot(xs, ys, "o-", label=lab)
        eff = jr.get("match_efficiency", [])
        ex = [(b["lo"] * b["hi"]) ** 0.5 for b, e in zip(jr["bins"], eff) if e is not None]
        ey = [e for e in eff if e is not None]
        a3.plot(ex, ey, "o-", label=lab)
    a1.axhline(1.0, color="grey", lw=0.8)
    a1.set(ylabel="reco pt / gen pt", title="AK4 calo jets matched to generator jets")
    a2.set(ylabel="sigma_eff / median")
    a3.set(xscale="log", xlabel="generator jet pt [GeV]", ylabel="match efficiency",
           ylim=(0, 1.05))
    a1.legend()
    save(fig, args.outdir, "jet_response.png", written)

    fig, ax = plt.subplots(figsize=(6, 4))
    for s, lab in zip(secs, labels):
        xs, ys = series(s["met_xy"], "sigma_eff", n)
        ax.plot(xs, ys, "o-", label=lab)
    ax.set(xlabel="summed tower Et [GeV]", ylabel="sigma_eff(MET_x,y reco - gen) [GeV]",
           title="Calo MET resolution")
    ax.legend()
    save(fig, args.outdir, "met_resolution.png", written)

    fig, ax = plt.subplots(figsize=(7, 4))
    names = [p["name"] for p in secs[0].get("paths", [])]
    width = 0.8 / max(1, len(secs))
    for i, (s, lab) in enumerate(zip(secs, labels)):
        rates = {p["name"]: (p["rate"] or 0.0) for p in s.get("paths", [])}
        ax.bar([k + i * width for k in range(len(names))], [rates.get(nm, 0.0) for nm in names],
               width=width, label=lab)
    ax.set_xticks([k + 0.4 - width / 2 for k in range(len(names))])
    ax.set_xticklabels(names, rotation=60, ha="right", fontsize=7)
    ax.set(ylabel="accept fraction", yscale="log", title="Path accept rates")
    ax.legend()
    save(fig, args.outdir, "path_rates.png", written)

    for p in written:
        print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
