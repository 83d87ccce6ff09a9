#!/usr/bin/python3
"""Write a Triton Inference Server model repository for a FACILE model.

Usage:
  scripts/export_triton_repo.py MODEL_DIR -o REPO_DIR [--version 1] [--name NAME]
        [--kind cpu|gpu] [--instances 1] [--max-queue-delay-us 100]
        [--max-batch N] [--build build] [--no-check]

Writes, for the minihlt model repository MODEL_DIR (sim/ml/README.md format):
  REPO_DIR/NAME/config.pbtxt          platform "onnxruntime_onnx"
  REPO_DIR/NAME/VERSION/model.onnx    the network (scripts/export_onnx.py's graph)
so that a real Triton server serves the same network as `minihlt serve`:
  tritonserver --model-repository=REPO_DIR
The batch dimension is Triton's: max_batch_size (from config.yaml, or
--max-batch; 65536 if neither) rows, dims without it ([46] in, [1] out); one request = one
event's channels, as the hcal_remote plugin sends them. dynamic_batching,
instance_group and parameters of config.yaml are carried over when present;
the command-line options override them.

Check (unless --no-check): config.pbtxt is parsed back with Triton's own
ModelConfig protobuf (PyPI tritonclient[grpc]) and compared with the ONNX
graph's inputs and outputs; onnxruntime must agree with our C forward pass
(as in export_onnx.py). Runs with /usr/bin/python3 and creates BUILD/venv.
Exit: 0 written and checked; 1 error; 3 PyPI unreachable.
"""
import argparse
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import facile_onnx as fo  # noqa: E402

REQS = ["onnx", "onnxruntime", "tritonclient.grpc.model_config_pb2:tritonclient[grpc]"]


def pbtxt(name, cfg, max_batch, kind, instances, delay_us, version):
    """config.pbtxt text (protobuf text format of Triton's ModelConfig)."""
    i, o = cfg["input"][0], cfg["output"][0]
    lines = [
        f"# FACILE for Triton, written by minihlt scripts/export_triton_repo.py from model "
        f"'{cfg['name']}' version {version}",
        f'name: "{name}"',
        'platform: "onnxruntime_onnx"',
        f"max_batch_size: {max_batch}",
        "input [",
        f'  {{ name: "{i["name"]}" data_type: {i["data_type"]} dims: [ {int(i["dims"][1])} ] }}',
        "]",
        "output [",
        f'  {{ name: "{o["name"]}" data_type: {o["data_type"]} dims: [ {int(o["dims"][1])} ] }}',
        "]",
        f"version_policy: {{ specific: {{ versions: [ {version} ] }} }}",
        "instance_group [",
        f"  {{ count: {instances} kind: KIND_{kind.upper()} }}",
        "]",
    ]
    db = cfg.get("dynamic_batching") or {}
    if delay_us is None:
        delay_us = int(db.get("max_queue_delay_microseconds", 100))
    lines.append("dynamic_batching {")
    pref = db.get("preferred_batch_size")
    if pref:
        pref = pref if isinstance(pref, list) else [pref]
        lines.append(f"  preferred_batch_size: [ {', '.join(str(int(p)) for p in pref)} ]")
    lines.append(f"  max_queue_delay_microseconds: {int(delay_us)}")
    lines.append("}")
    params = cfg.get("parameters") or {}
    for k, v in params.items():
        sv = v.get("string_value", v) if isinstance(v, dict) else v
        lines.append(f'parameters {{ key: "{k}" value: {{ string_value: "{sv}" }} }}')
    return "\n".join(lines) + "\n"


def check_pbtxt(text, model):
    """Parses text as Triton's ModelConfig; returns a list of problems."""
    from google.protobuf import text_format
    from tritonclient.grpc import model_config_pb2 as mc

    conf = text_format.Parse(text, mc.ModelConfig())
    problems = []
    g = model.graph
    for decl, vi in ((conf.input[0], g.input[0]), (conf.output[0], g.output[0])):
        if decl.name != vi.name:
            problems.append(f"tensor name {decl.name} != ONNX {vi.name}")
        onnx_dims = [d.dim_value for d in vi.type.tensor_type.shape.dim[1:]]
        if list(decl.dims) != onnx_dims:
            problems.append(f"{decl.name}: dims {list(decl.dims)} != ONNX {onnx_dims}")
        if mc.DataType.Name(decl.data_type) != "TYPE_FP32":
            problems.append(f"{decl.name}: data type {mc.DataType.Name(decl.data_type)}")
    if conf.platform != "onnxruntime_onnx":
        problems.append(f"platform {conf.platform}")
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model_dir")
    ap.add_argument("-o", "--out", required=True, help="Triton model repository directory")
    ap.add_argument("--version", type=int, default=1)
    ap.add_argument("--name", help="model name in Triton (default: config.yaml's name)")
    ap.add_argument("--kind", choices=["cpu", "gpu"], default="cpu")
    ap.add_argument("--instances", type=int, default=1)
    ap.add_argument("--max-queue-delay-us", type=int)
    ap.add_argument("--max-batch", type=int)
    ap.add_argument("--build", default="build")
    ap.add_argument("--no-check", action="store_true")
    args = ap.parse_args()
    prog = "export_triton_repo.py"
    if args.instances < 1:
        print(f"{prog}: --instances must be >= 1", file=sys.stderr)
        return 2
    model, cfg = fo.export_setup(prog, args.model_dir, args.version, args.build,
                                 REQS if not args.no_check else REQS[:2])
    cfgfile = os.path.join(args.model_dir, "config.yaml")
    name = args.name or str(cfg["name"])
    max_batch = args.max_batch if args.max_batch is not None else int(cfg.get("max_batch_size") or 0)
    if max_batch <= 0:
        # Triton needs a bound to batch. One HBHE event is ~9550 channels (one request),
        # so 65536 rows lets the dynamic batcher merge up to 6 events.
        max_batch = 65536
    text = pbtxt(name, cfg, max_batch, args.kind, args.instances, args.max_queue_delay_us,
                 args.version)
    if not args.no_check:
        problems = check_pbtxt(text, model)
        if problems:
            print(f"{prog}: config.pbtxt does not match the ONNX graph: {'; '.join(problems)}",
                  file=sys.stderr)
            return 1
    mdir = os.path.join(args.out, name)
    vdir = os.path.join(mdir, str(args.version))
    os.makedirs(vdir, exist_ok=True)
    onnx_path = os.path.join(vdir, "model.onnx")
    fo.save_atomic(model, onnx_path)
    with open(os.path.join(mdir, "config.pbtxt.tmp"), "w") as fh:
        fh.write(text)
    os.replace(os.path.join(mdir, "config.pbtxt.tmp"), os.path.join(mdir, "config.pbtxt"))
    # The minihlt repository files too, so `minihlt serve --models REPO_DIR`
    # can serve the same directory (Triton ignores them).
    if name == str(cfg["name"]):
        shutil.copyfile(cfgfile, os.path.join(mdir, "config.yaml"))
    else:
        import yaml
        with open(cfgfile) as fh:
            doc = yaml.safe_load(fh)
        doc["name"] = name
        with open(os.path.join(mdir, "config.yaml"), "w") as fh:
            fh.write(f"# {cfgfile} renamed to {name} by scripts/export_triton_repo.py\n")
            yaml.safe_dump(doc, fh, sort_keys=False, default_flow_style=None)
    shutil.copyfile(os.path.join(args.model_dir, str(args.version), "weights.bin"),
                    os.path.join(vdir, "weights.bin"))
    print(f"wrote {mdir}/config.pbtxt and {onnx_path} (max_batch_size {max_batch}, "
          f"{args.instances} x KIND_{args.kind.upper()})")
    if args.no_check:
        return 0
    print("check: config.pbtxt parses as Triton's ModelConfig and matches the graph")
    return fo.run_check(prog, args.build, args.model_dir, args.version, onnx_path, 1024, 5)

if __name__ == "__main__":
    sys.exit(main())
