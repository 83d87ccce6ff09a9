#!/usr/bin/python3
"""Plots of a `minihlt study` directory (DIR/summary.json) as PNG files in DIR.

    /usr/bin/python3 scripts/plot_study.py DIR [--farm FARM.json]

Writes, when the summary has the data for them:
  time_per_event.png   stacked CPU time per event by timing group, per variant
                       (the part outside every group is "rest of menu")
  throughput_vs_streams.png   the streams scan
  savings_vs_rtt.png   savings and throughput of the remote variant vs RTT
  farm_saturation.png  per-client throughput vs number of clients, from
                       scripts/farm.sh output (DIR/farm.json or --farm)
Runs headless (matplotlib Agg backend). Exit 1 with a message naming the file
when the summary is missing or malformed.
"""
import argparse
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def fail(msg):
    print(f"plot_study: {msg}", file=sys.stderr)
    sys.exit(1)


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except OSError as e:
        fail(f"{path}: {e.strerror}")
    except json.JSONDecodeError as e:
        fail(f"{path}: not JSON: {e}")


def time_per_event(summary, out):
    variants = summary["variants"]
    names = [v["name"] for v in variants]
    groups = sorted({g for v in variants for g in v.get("groups_cpu_ms_per_event", {})})
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(names) + 3.5), 4.5))
    bottom = [0.0] * len(variants)
    colors = plt.get_cmap("tab20").colors
    for k, g in enumerate(groups):
        vals = [v.get("groups_cpu_ms_per_event", {}).get(g) or 0.0 for v in variants]
        ax.bar(names, vals, bottom=bottom, label=g, color=colors[k % len(colors)],
               edgecolor="black" if g == "hcal" else None, linewidth=1.2 if g == "hcal" else 0)
        bottom = [b + x for b, x in zip(bottom, vals)]
    rest = [max(0.0, v["hlt_cpu_ms_per_event"] - b) for v, b in zip(variants, bottom)]
    ax.bar(names, rest, bottom=bottom, label="rest of menu", color="0.75")
    for i, v in enumerate(variants):
        s = v.get("savings")
        if s is not None and v["name"] != summary["baseline"]:
            ax.annotate(f"{-100 * s:+.1f}%", (i, v["hlt_cpu_ms_per_event"]), ha="center",
                        va="bottom", fontsize=8)
    ax.set_ylabel("CPU time per event [ms]")
    ax.set_title(f"HLT time per event by group (baseline {summary['baseline']})")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def throughput_vs_streams(scan, out):
    fig, ax = plt.subplots(figsize=(5, 4))
    kinds = sorted({p["kind"] for p in scan})
    for k in kinds:
        pts = sorted((p["streams"], p["throughput_hz"]) for p in scan if p["kind"] == k)
        ax.plot([s for s, _ in pts], [t for _, t in pts], marker="o", label=k)
    ax.set_xlabel("streams (events in flight)")
    ax.set_ylabel("throughput [events/s]")
    ax.set_xscale("log", base=2)
    ax.legend()
    ax.set_title("Throughput vs streams")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def savings_vs_rtt(scan, out):
    pts = sorted((p["rtt_ms"], p["savings"], p["throughput_hz"]) for p in scan
                 if p["savings"] is not None)
    if not pts:
        return False
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.plot([p[0] for p in pts], [100 * p[1] for p in pts], marker="o", color="C0")
    ax.set_xlabel("emulated round-trip time [ms]")
    ax.set_ylabel("HLT CPU time saved [%]", color="C0")
    ax2 = ax.twinx()
    ax2.plot([p[0] for p in pts], [p[2] for p in pts], marker="s", color="C1")
    ax2.set_ylabel("throughput [events/s]", color="C1")
    ax.set_title("Remote offload vs round-trip time")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return True


def farm_saturation(farm, out):
    pts = farm.get("points", [])
    if not pts:
        return False
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.plot([p["clients"] for p in pts], [p["throughput_per_client_hz"] for p in pts],
            marker="o", label="per client")
    ax.set_xlabel("HLT client processes")
    ax.set_ylabel("throughput per client [events/s]")
    if all("server_queue_ms_per_request" in p for p in pts):
        ax2 = ax.twinx()
        ax2.plot([p["clients"] for p in pts], [p["server_queue_ms_per_request"] for p in pts],
                 marker="s", color="C3")
        ax2.set_ylabel("server queue time per request [ms]", color="C3")
    ax.set_title("Farm saturation (scripts/farm.sh)")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir", help="a minihlt study output directory")
    ap.add_argument("--farm", help="scripts/farm.sh JSON output (default DIR/farm.json)")
    a = ap.parse_args()
    path = os.path.join(a.dir, "summary.json")
    summary = load(path)
    for key in ("variants", "baseline", "scans"):
        if key not in summary:
            fail(f"{path}: missing key '{key}'")
    written = []
    out = os.path.join(a.dir, "time_per_event.png")
    time_per_event(summary, out)
    written.append(out)
    if summary["scans"].get("streams"):
        out = os.path.join(a.dir, "throughput_vs_streams.png")
        throughput_vs_streams(summary["scans"]["streams"], out)
        written.append(out)
    if summary["scans"].get("rtt"):
        out = os.path.join(a.dir, "savings_vs_rtt.png")
        if savings_vs_rtt(summary["scans"]["rtt"], out):
            written.append(out)
    farm_path = a.farm or os.path.join(a.dir, "farm.json")
    if os.path.exists(farm_path):
        out = os.path.join(a.dir, "farm_saturation.png")
        if farm_saturation(load(farm_path), out):
            written.append(out)
    for w in written:
        print(f"wrote {w}")


if __name__ == "__main__":
    main()
