#!/usr/bin/python3
"""gen_remote_menu.py - writes configs/hlt_remote.yaml from configs/hlt.yaml: the same menu
with the `hbheReco` line swapped for the hcal_remote module below (and this header).
tests/e2e/remote.sh fails when the committed file differs from what this writes.

usage: scripts/gen_remote_menu.py [HLT_YAML] [OUT]   (defaults: configs/hlt.yaml,
       configs/hlt_remote.yaml; OUT "-" = stdout)
"""
import sys

HEADER = """\
# hlt_remote.yaml - the default menu (configs/hlt.yaml) with the HCAL reconstruction served
# by a remote KServe v2 / Triton inference server: FACILE runs in `minihlt serve` (or a real
# Triton serving scripts/export_triton_repo.py's repository), the SONIC way. The worker thread
# builds the features in acquire(), sends one request per event and goes on with other
# modules; the wait is reported apart (wait_ms_per_event), not as HLT CPU time.
#
#   minihlt serve --models data/models &            # listens on http://127.0.0.1:8000
#   minihlt run configs/hlt_remote.yaml --report remote.json
#   minihlt compare base.json remote.json
#
# Knobs (all on hbheReco, e.g. --set modules.hbheReco.emulate_rtt_ms=10):
#   servers         failover list, e.g. ["http://gpu1:8000", "http://gpu2:8000"]
#   timeout_ms      per attempt; retries: further attempts, each on the next server
#   fallback        cpu: an event whose every attempt failed runs FACILE locally (model_dir);
#                   none: that event fails (reason in the report)
#   emulate_rtt_ms  fixed delay added to each answer: 10 on-premises, 60 cloud (SONIC papers)
# The report counts retries, failovers, failures and fallbacks per module and adds a
# "remote:hbheReco" section with the client's totals (attempts, timeouts, connections, bytes).
#
# Written by scripts/gen_remote_menu.py from configs/hlt.yaml (rerun it when hlt.yaml changes):
# everything but `modules.hbheReco` is hlt.yaml unchanged.
"""

HBHE_RECO = """\
  hbheReco:                            # FACILE on a remote inference server
    plugin: hcal_remote
    servers: ["http://127.0.0.1:8000"]
    model: facile
    timeout_ms: 2000
    retries: 2
    fallback: cpu
    model_dir: data/models/facile
    emulate_rtt_ms: 0"""


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else "configs/hlt.yaml"
    out = sys.argv[2] if len(sys.argv) > 2 else "configs/hlt_remote.yaml"
    text = open(src).read()
    body = text[text.index("\nprocess:") + 1:].split("\n")
    hits = [i for i, line in enumerate(body) if line.startswith("  hbheReco:")]
    if len(hits) != 1:
        sys.exit(f"gen_remote_menu.py: {src}: expected one '  hbheReco:' line, found {len(hits)}")
    if not body[hits[0]].rstrip().split("#")[0].rstrip().endswith("}"):
        sys.exit(f"gen_remote_menu.py: {src}: hbheReco is not a one-line flow mapping")
    body[hits[0]] = HBHE_RECO
    result = HEADER + "\n".join(body)
    if out == "-":
        sys.stdout.write(result)
    else:
        with open(out, "w") as f:
            f.write(result)


if __name__ == "__main__":
    main()
