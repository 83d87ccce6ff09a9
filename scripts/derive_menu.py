#!/usr/bin/python3
"""Keeps the offload menus in step with the default menu.

    /usr/bin/python3 scripts/derive_menu.py configs/hlt_opencl.yaml [configs/hlt_remote.yaml ...]

Each derived menu is configs/hlt.yaml with one line swapped: its own header comment
(everything before `process:`) and its own `  hbheReco:` line are kept, the rest is
copied from configs/hlt.yaml. Run it after editing configs/hlt.yaml (the e2e tests
check that the menus are in step).
"""
import sys

BASE = "configs/hlt.yaml"


def split(lines, path):
    try:
        i = next(k for k, l in enumerate(lines) if l.startswith("process:"))
    except StopIteration:
        sys.exit(f"derive_menu: {path}: no 'process:' line")
    return lines[:i], lines[i:]


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    base = open(BASE).read().splitlines()
    _, body = split(base, BASE)
    for path in sys.argv[1:]:
        mine = open(path).read().splitlines()
        head, old = split(mine, path)
        reco = [l for l in old if l.startswith("  hbheReco:")]
        if len(reco) != 1:
            sys.exit(f"derive_menu: {path}: expected one '  hbheReco:' line, found {len(reco)}")
        new = head + [reco[0] if l.startswith("  hbheReco:") else l for l in body]
        open(path, "w").write("\n".join(new) + "\n")
        print(f"derive_menu: {path} regenerated from {BASE}")


if __name__ == "__main__":
    main()
