#!/usr/bin/python3
"""Keeps the offload menus in step with the default menu configs/hlt.yaml.

    /usr/bin/python3 scripts/derive_menu.py [--check] configs/hlt_opencl.yaml configs/hlt_remote.yaml

A derived menu is configs/hlt.yaml with the HCAL reconstruction swapped: its own
header comment (everything before `process:`) and its own `  hbheReco:` entry (the
line, plus the lines under it indented deeper, for a block mapping) are kept; the
rest is copied from configs/hlt.yaml. Run it after editing configs/hlt.yaml;
`--check` changes nothing and exits 1 naming each menu that is out of step (the
e2e tests run it).
"""
import sys

BASE = "configs/hlt.yaml"


def split(lines, path):
    try:
        i = next(k for k, l in enumerate(lines) if l.startswith("process:"))
    except StopIteration:
        sys.exit(f"derive_menu: {path}: no 'process:' line")
    return lines[:i], lines[i:]


def reco_block(lines, path):
    """(start, end) of the `  hbheReco:` entry in lines."""
    hits = [k for k, l in enumerate(lines) if l.startswith("  hbheReco:")]
    if len(hits) != 1:
        sys.exit(f"derive_menu: {path}: expected one '  hbheReco:' entry, found {len(hits)}")
    end = hits[0] + 1
    while end < len(lines) and lines[end].startswith("    "):
        end += 1
    return hits[0], end


def derive(base_body, path):
    mine = open(path).read().splitlines()
    head, old = split(mine, path)
    s, e = reco_block(old, path)
    bs, be = reco_block(base_body, BASE)
    return "\n".join(head + base_body[:bs] + old[s:e] + base_body[be:]) + "\n"


def main():
    args = sys.argv[1:]
    check = "--check" in args
    paths = [a for a in args if a != "--check"]
    if not paths:
        sys.exit(__doc__)
    _, body = split(open(BASE).read().splitlines(), BASE)
    stale = 0
    for path in paths:
        new = derive(body, path)
        if open(path).read() == new:
            continue
        if check:
            print(f"derive_menu: {path} is out of step with {BASE}: "
                  f"run /usr/bin/python3 scripts/derive_menu.py {path}", file=sys.stderr)
            stale += 1
        else:
            open(path, "w").write(new)
            print(f"derive_menu: {path} regenerated from {BASE}")
    sys.exit(1 if stale else 0)


if __name__ == "__main__":
    main()
