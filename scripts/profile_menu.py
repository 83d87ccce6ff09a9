#!/usr/bin/python3
"""Turn a menu cost profile (data/profiles/*.yaml) into `emulated` menu modules.

Usage:
  scripts/profile_menu.py PROFILE [--scale S] [--hcal-ms MS | --farm]
                          [--path NAME] [--into MENU | --update MENU] [--no-groups] [-o OUT]

Output (stdout or -o): a YAML document with `modules:` (one `emulated` module
per profile entry: distribution, mean_ms, sigma_ms, seed, scale_with,
scale_ref; an entry that `consumes` an earlier module gets `product: LABEL` and
that module `produces: "-"`, so the framework runs the chain in order and on
demand) and `groups:` (the profile's timing
groups), ready to paste into a menu (configs/README.md). With --path NAME it
also has `paths: {NAME: [every emulated module]}` (the rest of the menu, run
on every event, as the profile's per-event average assumes). With --into MENU
the modules, groups (merged with same-named ones) and path are added to that
menu and the whole menu is printed (comments of MENU are not kept). With
--update MENU the one-line `LABEL: {plugin: emulated, ...}` entries of a
menu that already has the profile's modules are rewritten in place (the rest
of the file, comments included, is kept; the result is parsed back and
checked): MENU itself is replaced (temp file + rename) unless -o OUT names
another file (-o - prints it).

Absolute cost: the total HLT CPU time per event at the reference pileup is
  hcal mode (default):  calibration.hcal_ms_per_event / reference.hcal_share
                        (or --hcal-ms MS: your measured MAHI time per event)
  farm mode (--farm):   reference.cpu_ms_per_event (260 ms, a farm core)
and each module's mean_ms = share x total x scale (--scale overrides the
profile's `scale`); sigma_ms = cv x mean_ms. Shares are therefore kept exactly
under any scale. Needs only PyYAML (Debian python3-yaml): run with /usr/bin/python3.
Exit 0; 1 on a bad profile or menu (one line naming file, entry and key); 2 usage.
"""
import argparse
import math
import os
import re
import sys

import yaml

DISTRIBUTIONS = ("fixed", "normal", "lognormal", "exponential")
SCALE_WITH = ("none", "pileup", "product")
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
TOP_KEYS = {"name", "version", "reference", "calibration", "scale", "seed", "modules"}
REF_KEYS = {"cpu_ms_per_event", "pileup", "hcal_share"}
CAL_KEYS = {"mode", "hcal_ms_per_event"}
MOD_KEYS = {"label", "group", "share", "distribution", "cv", "scale_with", "consumes"}
SHARE_TOL = 1e-6


class ProfileError(Exception):
    pass


def number(where, v, lo=None, hi=None, lo_open=False):
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ProfileError(f"{where}: expected a number, got {v!r}")
    if lo is not None and (v <= lo if lo_open else v < lo):
        raise ProfileError(f"{where}: {v} must be {'>' if lo_open else '>='} {lo}")
    if hi is not None and v > hi:
        raise ProfileError(f"{where}: {v} must be <= {hi}")
    return float(v)


def check_keys(where, d, allowed):
    if not isinstance(d, dict):
        raise ProfileError(f"{where}: expected a mapping")
    for k in d:
        if k not in allowed:
            raise ProfileError(f"{where}: unknown key '{k}' (allowed: {', '.join(sorted(allowed))})")


def load_profile(path):
    """Reads and checks a profile; returns it as a dict."""
    try:
        with open(path) as fh:
            prof = yaml.safe_load(fh)
    except OSError as e:
        raise ProfileError(f"cannot read: {e.strerror}") from e
    except yaml.YAMLError as e:
        raise ProfileError(f"not valid YAML: {e}") from e
    check_keys("top level", prof, TOP_KEYS)
    for k in ("reference", "modules"):
        if k not in prof:
            raise ProfileError(f"top level: missing '{k}'")
    ref = prof["reference"]
    check_keys("reference", ref, REF_KEYS)
    for k in REF_KEYS:
        if k not in ref:
            raise ProfileError(f"reference: missing '{k}'")
    number("reference.cpu_ms_per_event", ref["cpu_ms_per_event"], 0, lo_open=True)
    number("reference.pileup", ref["pileup"], 0, lo_open=True)
    number("reference.hcal_share", ref["hcal_share"], 0, 1)
    cal = prof.get("calibration") or {}
    check_keys("calibration", cal, CAL_KEYS)
    if cal.get("mode", "farm") not in ("hcal", "farm"):
        raise ProfileError(f"calibration.mode: '{cal['mode']}' is not hcal or farm")
    if cal.get("mode") == "hcal":
        number("calibration.hcal_ms_per_event", cal.get("hcal_ms_per_event"), 0, lo_open=True)
    number("scale", prof.get("scale", 1.0), 0, lo_open=True)
    seed = prof.get("seed", 1)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ProfileError(f"seed: expected an integer >= 0, got {seed!r}")
    mods = prof["modules"]
    if not isinstance(mods, list) or not mods:
        raise ProfileError("modules: expected a non-empty list")
    seen = set()
    total = 0.0
    for i, m in enumerate(mods):
        label = m.get("label") if isinstance(m, dict) else None
        where = f"modules[{i}]" + (f" ({label})" if label else "")
        check_keys(where, m, MOD_KEYS)
        for k in ("label", "group", "share", "distribution", "scale_with"):
            if k not in m:
                raise ProfileError(f"{where}: missing '{k}'")
        for k in ("label", "group"):
            if not isinstance(m[k], str) or not NAME_RE.match(m[k]):
                raise ProfileError(f"{where}: {k} {m[k]!r} is not a name (letters, digits, _)")
        if label in seen:
            raise ProfileError(f"{where}: duplicate label")
        seen.add(label)
        total += number(f"{where}.share", m["share"], 0, 1, lo_open=True)
        if m["distribution"] not in DISTRIBUTIONS:
            raise ProfileError(f"{where}.distribution: '{m['distribution']}' is not one of "
                               f"{', '.join(DISTRIBUTIONS)}")
        if m["scale_with"] not in SCALE_WITH:
            raise ProfileError(f"{where}.scale_with: '{m['scale_with']}' is not one of "
                               f"{', '.join(SCALE_WITH)}")
        if m["distribution"] in ("normal", "lognormal"):
            if "cv" not in m:
                raise ProfileError(f"{where}: missing 'cv' (sigma/mean) for {m['distribution']}")
            number(f"{where}.cv", m["cv"], 0)
        elif "cv" in m:
            raise ProfileError(f"{where}.cv: not used by a {m['distribution']} distribution")
        if "consumes" in m:
            c = m["consumes"]
            if c not in seen or c == label:
                raise ProfileError(f"{where}.consumes: '{c}' is not an earlier module's label")
    want = 1.0 - float(ref["hcal_share"])
    if abs(total - want) > SHARE_TOL:
        raise ProfileError(f"modules: shares add up to {total:.6f}; with hcal_share "
                           f"{ref['hcal_share']} they must add up to {want:.6f}")
    return prof


def sig(x, digits=6):
    """x rounded to `digits` significant digits (keeps YAML short, shares exact
    to ~1e-6)."""
    return float(f"{x:.{digits}g}")


def total_ms(prof, hcal_ms=None, farm=False):
    """(total HLT ms per event at the reference pileup, how it was set)."""
    ref, cal = prof["reference"], prof.get("calibration") or {}
    if farm:
        return float(ref["cpu_ms_per_event"]), "farm: reference.cpu_ms_per_event"
    if hcal_ms is not None:
        return hcal_ms / float(ref["hcal_share"]), f"hcal: --hcal-ms {hcal_ms:g} / hcal_share"
    if cal.get("mode") == "hcal":
        h = float(cal["hcal_ms_per_event"])
        return h / float(ref["hcal_share"]), f"hcal: calibration.hcal_ms_per_event {h:g} / hcal_share"
    return float(ref["cpu_ms_per_event"]), "farm: reference.cpu_ms_per_event"


def build(prof, scale, total):
    """Returns (modules dict label -> params, groups dict name -> [labels])."""
    ref = prof["reference"]
    seed0 = int(prof.get("seed", 1))
    modules, groups = {}, {}
    for i, m in enumerate(prof["modules"]):
        mean = sig(float(m["share"]) * total * scale)
        p = {"plugin": "emulated", "distribution": m["distribution"], "mean_ms": mean}
        if m["distribution"] in ("normal", "lognormal"):
            p["sigma_ms"] = sig(float(m["cv"]) * mean)
        p["seed"] = seed0 + i
        p["scale_with"] = m["scale_with"]
        if m["scale_with"] == "pileup":
            r = sig(float(ref["pileup"]))
            p["scale_ref"] = int(r) if r.is_integer() else r
        if "consumes" in m:
            p["product"] = m["consumes"]
        modules[m["label"]] = p
        groups.setdefault(m["group"], []).append(m["label"])
    # A module another one consumes puts its (default-instance) product.
    for m in prof["modules"]:
        if "consumes" in m:
            modules[m["consumes"]]["produces"] = "-"
    return modules, groups


class FlowDumper(yaml.SafeDumper):
    """Block style at the top, flow style for each module's parameters and
    each group's list (one line per module, as configs/*.yaml are written)."""


def _repr_dict(dumper, data):
    flow = all(not isinstance(v, (dict, list)) for v in data.values())
    return dumper.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=flow)


def _repr_list(dumper, data):
    flow = all(not isinstance(v, (dict, list)) for v in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


FlowDumper.add_representer(dict, _repr_dict)
FlowDumper.add_representer(list, _repr_list)


def merge_into(menu_path, modules, groups, path_name):
    try:
        with open(menu_path) as fh:
            menu = yaml.safe_load(fh)
    except (OSError, yaml.YAMLError) as e:
        raise ProfileError(f"{menu_path}: cannot read the menu: {e}") from e
    if not isinstance(menu, dict):
        raise ProfileError(f"{menu_path}: not a menu (top level is not a mapping)")
    mm = menu.setdefault("modules", {}) or {}
    menu["modules"] = mm
    for label, p in modules.items():
        if label in mm:
            raise ProfileError(f"{menu_path}: module '{label}' already exists in the menu")
        mm[label] = p
    mg = menu.get("groups") or {}
    for g, labels in groups.items():
        mg[g] = list(mg.get(g, [])) + [x for x in labels if x not in mg.get(g, [])]
    menu["groups"] = mg
    if path_name:
        paths = menu.get("paths") or {}
        if path_name in paths:
            raise ProfileError(f"{menu_path}: path '{path_name}' already exists in the menu")
        paths[path_name] = list(modules)
        menu["paths"] = paths
    return menu


def update_in_place(menu_path, modules):
    """Text of menu_path with each profile module's one-line flow entry
    replaced by the new parameters; parsed back to check the result."""
    try:
        with open(menu_path) as fh:
            lines = fh.read().split("\n")
    except OSError as e:
        raise ProfileError(f"{menu_path}: cannot read the menu: {e.strerror}") from e
    todo = dict(modules)
    for i, line in enumerate(lines):
        m = re.match(r"^(\s+)([A-Za-z_][A-Za-z0-9_]*):\s*\{plugin:\s*emulated\b.*\}\s*(#.*)?$", line)
        if m and m.group(2) in todo:
            flow = yaml.dump({m.group(2): todo.pop(m.group(2))}, Dumper=FlowDumper,
                             sort_keys=False, width=4096).rstrip("\n")
            lines[i] = m.group(1) + flow + (f"  {m.group(3)}" if m.group(3) else "")
    if todo:
        raise ProfileError(f"{menu_path}: no one-line emulated entry for "
                           f"{', '.join(sorted(todo))} (use --into for a menu without them)")
    text = "\n".join(lines)
    try:
        got = yaml.safe_load(text)["modules"]
    except (yaml.YAMLError, TypeError, KeyError) as e:
        raise ProfileError(f"{menu_path}: the updated menu does not parse: {e}") from e
    for label, p in modules.items():
        if got.get(label) != p:
            raise ProfileError(f"{menu_path}: module '{label}' did not update cleanly")
    return text


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("profile")
    ap.add_argument("--scale", type=float, help="override the profile's scale (> 0)")
    cal = ap.add_mutually_exclusive_group()
    cal.add_argument("--hcal-ms", type=float,
                     help="measured HCAL (MAHI) CPU ms per event at the reference pileup")
    cal.add_argument("--farm", action="store_true", help="absolute farm figure (260 ms)")
    ap.add_argument("--path", help="also write a path of that name with every module")
    where = ap.add_mutually_exclusive_group()
    where.add_argument("--into", metavar="MENU", help="add to this menu and print the whole menu")
    where.add_argument("--update", metavar="MENU",
                       help="rewrite the profile's modules of this menu in place (comments kept)")
    ap.add_argument("--no-groups", action="store_true")
    ap.add_argument("-o", "--out")
    args = ap.parse_args()
    prog = "profile_menu.py"
    if args.scale is not None and not (math.isfinite(args.scale) and args.scale > 0):
        print(f"{prog}: --scale must be > 0", file=sys.stderr)
        return 2
    if args.hcal_ms is not None and not (math.isfinite(args.hcal_ms) and args.hcal_ms > 0):
        print(f"{prog}: --hcal-ms must be > 0", file=sys.stderr)
        return 2
    if args.path and not NAME_RE.match(args.path):
        print(f"{prog}: --path '{args.path}' is not a name (letters, digits, _)", file=sys.stderr)
        return 2
    try:
        prof = load_profile(args.profile)
    except ProfileError as e:
        print(f"{prog}: {args.profile}: {e}", file=sys.stderr)
        return 1
    scale = args.scale if args.scale is not None else float(prof.get("scale", 1.0))
    total, how = total_ms(prof, args.hcal_ms, args.farm)
    modules, groups = build(prof, scale, total)
    ref = prof["reference"]
    hshare = float(ref["hcal_share"])
    emu = sum(p["mean_ms"] for p in modules.values())
    by_group = {g: sum(modules[x]["mean_ms"] for x in labels) for g, labels in groups.items()}
    head = [
        f"# generated by scripts/profile_menu.py from {args.profile} "
        f"(profile {prof.get('name', '?')} v{prof.get('version', '?')}); do not edit, regenerate",
        f"# total HLT CPU {total:.4g} ms/event at pileup {ref['pileup']:g} ({how}), scale {scale:g}",
        f"# emulated modules {emu:.6g} ms/event at this scale ({total * (1 - hshare):.4g} ms at "
        f"scale 1 = {100 * (1 - hshare):.1f}% of the menu); HCAL (the real modules) "
        f"{total * hshare:.4g} ms = {100 * hshare:.1f}% at scale 1",
        "# emulated time by group (ms/event at this scale): "
        + ", ".join(f"{g} {v:.4g}" for g, v in sorted(by_group.items(), key=lambda kv: -kv[1])),
    ]
    if args.update:
        try:
            text = update_in_place(args.update, modules)
        except ProfileError as e:
            print(f"{prog}: {e}", file=sys.stderr)
            return 1
        # In place unless -o says where (-o - : stdout); temp + rename, so
        # an interrupted write never leaves half a menu.
        dest = args.out or args.update
        if dest == "-":
            sys.stdout.write(text)
        else:
            try:
                with open(dest + ".tmp", "w") as fh:
                    fh.write(text)
                os.replace(dest + ".tmp", dest)
            except OSError as e:
                print(f"{prog}: {dest}: cannot write: {e.strerror}", file=sys.stderr)
                return 1
        print(f"{prog}: {args.update}: {len(modules)} emulated modules updated "
              f"({head[1][2:]})", file=sys.stderr)
        return 0
    if args.into:
        try:
            doc = merge_into(args.into, modules, groups if not args.no_groups else {}, args.path)
        except ProfileError as e:
            print(f"{prog}: {e}", file=sys.stderr)
            return 1
        head.insert(1, f"# merged into {args.into}")
    else:
        doc = {"modules": modules}
        if not args.no_groups:
            doc["groups"] = groups
        if args.path:
            doc["paths"] = {args.path: list(modules)}
    text = "\n".join(head) + "\n" + yaml.dump(doc, Dumper=FlowDumper, sort_keys=False, width=4096)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
