"""Shared pieces of the FACILE ONNX scripts (export_onnx.py,
export_triton_repo.py, bench/hcal_onnx.py): the venv bootstrap, the ONNX graph
builder, a ctypes binding of our C forward pass (libminihlt's
mh_facile_load / mh_facile_forward) and fixed test inputs.

Not a program: import it from a script in scripts/ or scripts/bench/.
"""
import ctypes
import hashlib
import os
import subprocess
import sys

import numpy as np

SCRIPTS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, SCRIPTS)
import facile_reference as ref  # noqa: E402  (the numpy reference and format loader)

# Exit status of the scripts when PyPI packages cannot be had (tests skip).
EXIT_NO_PYPI = 3
# ONNX opset and IR version written: opset 13 / IR 8 load in onnxruntime >=
# 1.10, every Triton onnxruntime backend since 21.xx, and hls4ml.
OPSET = 13
IR_VERSION = 8


def ensure_venv(build, requirements):
    """Re-executes the running script under BUILD/venv's python (made by
    scripts/venv.sh with `requirements`) unless it already runs there.
    Exits EXIT_NO_PYPI with the reason on stderr when the venv cannot be
    made (PyPI unreachable)."""
    venv = os.path.abspath(os.path.join(build, "venv"))
    if os.path.abspath(sys.prefix) == venv:
        return
    cmd = ["sh", os.path.join(SCRIPTS, "venv.sh"), build] + list(requirements)
    res = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    if res.returncode != 0:
        print(f"{os.path.basename(sys.argv[0])}: no Python venv with {' '.join(requirements)} "
              f"(scripts/venv.sh exit {res.returncode})", file=sys.stderr)
        sys.exit(EXIT_NO_PYPI if res.returncode == 3 else 1)
    py = res.stdout.strip().splitlines()[-1]
    os.execv(py, [py, os.path.abspath(sys.argv[0])] + sys.argv[1:])


class ModelError(Exception):
    """A model repository that cannot be read (message names the file)."""


def load_model(model_dir, version=1):
    """facile_reference.load with its failures turned into ModelError."""
    try:
        return ref.load(model_dir, version)
    except KeyError as e:
        raise ModelError(f"{model_dir}/config.yaml: missing key {e}") from e
    except (OSError, ValueError, TypeError, AssertionError) as e:
        raise ModelError(str(e) or repr(e)) from e


def weights_sha256(model_dir, version):
    with open(os.path.join(model_dir, str(version), "weights.bin"), "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def build_onnx(model_dir, version=1):
    """Returns (onnx.ModelProto, cfg) for the model repository: the network
    exactly as declared (BatchNormalization kept as its own node, not folded,
    so that hls4ml and readers see the declared architecture; Gemm with
    transB = 1 takes our out x in weights as they are stored), with a dynamic
    batch dimension and the tensor names of config.yaml."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    cfg, layers = load_model(model_dir, version)
    in_decl, out_decl = cfg["input"][0], cfg["output"][0]
    nin, nout = int(in_decl["dims"][1]), int(out_decl["dims"][1])
    nodes, inits = [], []
    cur = in_decl["name"]
    for i, lay in enumerate(layers):
        name = lay["name"]
        last = i == len(layers) - 1
        if lay["type"] == "batchnorm":
            outname = out_decl["name"] if last else f"{name}_out"
            for suffix, arr in (("scale", lay["gamma"]), ("bias", lay["beta"]),
                                ("mean", lay["mean"]), ("var", lay["var"])):
                inits.append(numpy_helper.from_array(np.asarray(arr, np.float32),
                                                     f"{name}.{suffix}"))
            nodes.append(helper.make_node(
                "BatchNormalization",
                [cur, f"{name}.scale", f"{name}.bias", f"{name}.mean", f"{name}.var"],
                [outname], name=name, epsilon=float(lay["eps"])))
        else:
            relu = lay["activation"] == "relu"
            gemm_out = f"{name}_gemm" if relu else (out_decl["name"] if last else f"{name}_out")
            inits.append(numpy_helper.from_array(np.asarray(lay["w"], np.float32),
                                                 f"{name}.weight"))
            inits.append(numpy_helper.from_array(np.asarray(lay["b"], np.float32),
                                                 f"{name}.bias"))
            nodes.append(helper.make_node("Gemm", [cur, f"{name}.weight", f"{name}.bias"],
                                          [gemm_out], name=f"{name}_gemm", transB=1))
            outname = gemm_out
            if relu:
                outname = out_decl["name"] if last else f"{name}_out"
                nodes.append(helper.make_node("Relu", [gemm_out], [outname], name=f"{name}_relu"))
        cur = outname
    graph = helper.make_graph(
        nodes, str(cfg["name"]),
        [helper.make_tensor_value_info(in_decl["name"], TensorProto.FLOAT, ["batch", nin])],
        [helper.make_tensor_value_info(out_decl["name"], TensorProto.FLOAT, ["batch", nout])],
        initializer=inits)
    model = helper.make_model(graph, producer_name="minihlt scripts/export_onnx.py",
                              opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    model.doc_string = (f"FACILE network '{cfg['name']}' exported from the minihlt model "
                        f"repository {os.path.abspath(model_dir)} version {version}")
    for k, v in (("minihlt_model", str(cfg["name"])), ("minihlt_version", str(version)),
                 ("minihlt_weights_sha256", weights_sha256(model_dir, version))):
        entry = model.metadata_props.add()
        entry.key, entry.value = k, v
    onnx.checker.check_model(model, full_check=True)
    return model, cfg


def export_setup(prog, model_dir, version, build, requirements):
    """The common start of the export scripts: checks that model_dir is a
    model repository, moves into the venv (ensure_venv) and builds the ONNX
    model. Returns (onnx.ModelProto, cfg); on a bad model prints one line
    naming it and exits 1."""
    cfgfile = os.path.join(model_dir, "config.yaml")
    if not os.path.isfile(cfgfile):
        print(f"{prog}: {cfgfile}: no such file (not a model repository)", file=sys.stderr)
        sys.exit(1)
    ensure_venv(build, requirements)
    try:
        return build_onnx(model_dir, version)
    except ModelError as e:
        print(f"{prog}: {model_dir}: cannot read the model: {e}", file=sys.stderr)
        sys.exit(1)


def save_atomic(model, path):
    """onnx.save to a temporary name, then rename: never a half-written file."""
    import onnx
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    onnx.save(model, path + ".tmp")
    os.replace(path + ".tmp", path)


def ort_session(path_or_bytes, threads=1):
    """An onnxruntime CPU session limited to `threads` intra-op threads and
    sequential execution (the one-thread comparison of the benchmarks)."""
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(path_or_bytes, sess_options=so,
                                providers=["CPUExecutionProvider"])


class CFacile:
    """Our C forward pass through ctypes: libminihlt's mh_facile_load and
    mh_facile_forward on a model repository. The per-call ctypes overhead is
    about a microsecond, negligible against a batch of thousands of rows."""

    def __init__(self, build, model_dir, version=1):
        lib_path = os.path.join(build, "lib", "libminihlt.so")
        if not os.path.exists(lib_path):
            raise RuntimeError(f"{lib_path}: not built (run make all)")
        lib = ctypes.CDLL(os.path.abspath(lib_path))
        vp, sz, cp = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p
        lib.mh_facile_load.argtypes = [cp, ctypes.c_uint, ctypes.POINTER(vp), cp, sz]
        lib.mh_facile_load.restype = ctypes.c_int
        lib.mh_facile_forward.argtypes = [vp, vp, sz, vp, vp, sz, cp, sz]
        lib.mh_facile_forward.restype = ctypes.c_int
        lib.mh_facile_free.argtypes = [vp]
        lib.mh_facile_free.restype = None
        for f in ("mh_facile_num_inputs", "mh_facile_num_outputs", "mh_facile_workspace_size"):
            getattr(lib, f).argtypes = [vp]
            getattr(lib, f).restype = sz
        self.lib = lib
        self.err = ctypes.create_string_buffer(512)
        self.m = vp()
        st = lib.mh_facile_load(model_dir.encode(), version, ctypes.byref(self.m), self.err, 512)
        if st != 0:
            raise RuntimeError(f"mh_facile_load: {self.err.value.decode()}")
        self.nin = lib.mh_facile_num_inputs(self.m)
        self.nout = lib.mh_facile_num_outputs(self.m)
        self.work_size = lib.mh_facile_workspace_size(self.m)
        self.work = ctypes.create_string_buffer(self.work_size)

    def forward(self, x, out=None):
        x = np.ascontiguousarray(x, dtype=np.float32)
        n = x.shape[0]
        if out is None:
            out = np.empty((n, self.nout), dtype=np.float32)
        st = self.lib.mh_facile_forward(self.m, x.ctypes.data, n, out.ctypes.data, self.work,
                                        self.work_size, self.err, 512)
        if st != 0:
            raise RuntimeError(f"mh_facile_forward: {self.err.value.decode()}")
        return out

    def close(self):
        if self.m:
            self.lib.mh_facile_free(self.m)
            self.m = ctypes.c_void_p()


CHECK_RTOL = 1e-4


def check_against_c(build, model_dir, version, onnx_path, rows, seed):
    """Runs our C forward pass, onnxruntime (one thread) on onnx_path and the
    float64 numpy reference on `rows` fixed feature rows. Returns (ok, report
    lines): ok when C and onnxruntime agree to CHECK_RTOL relative to the
    largest output magnitude (at least 1) and every output is finite.
    Raises RuntimeError when libminihlt is missing or rejects the model."""
    _, layers = load_model(model_dir, version)
    x = fixed_inputs(rows, seed)
    cf = CFacile(build, model_dir, version)
    try:
        ours = cf.forward(x).astype(np.float64)
    finally:
        cf.close()
    sess = ort_session(onnx_path, threads=1)
    (theirs,) = sess.run(None, {sess.get_inputs()[0].name: x})
    theirs = theirs.astype(np.float64)
    exact = ref.forward(layers, x)
    scale = max(1.0, float(np.abs(exact).max()))
    lines = [f"check on {rows} fixed rows (seed {seed}):"]
    for name, y in (("C forward", ours), ("onnxruntime", theirs)):
        lines.append(f"  max |{name} - numpy float64| = {float(np.abs(y - exact).max()):.3g}")
    d = float(np.abs(ours - theirs).max())
    rel = d / scale
    lines.append(f"  max |C forward - onnxruntime|  = {d:.3g} (relative to max |output| "
                 f"{scale:.4g}: {rel:.3g}, tolerance {CHECK_RTOL:g})")
    ok = rel <= CHECK_RTOL and bool(np.isfinite(ours).all() and np.isfinite(theirs).all())
    return ok, lines


def run_check(prog, build, model_dir, version, onnx_path, rows, seed):
    """check_against_c for a script: prints the report and one verdict line
    (the mismatch on stderr); returns the exit status (0 agree, 1 not)."""
    try:
        ok, lines = check_against_c(build, model_dir, version, onnx_path, rows, seed)
    except RuntimeError as e:
        print(f"{prog}: {e}", file=sys.stderr)
        return 1
    print("\n".join(lines))
    if not ok:
        print(f"{prog}: {onnx_path}: onnxruntime and the C forward pass disagree",
              file=sys.stderr)
        return 1
    print("check: onnxruntime matches the C forward pass")
    return 0


def fixed_inputs(n, seed):
    """n feature rows of random HBHE channels (the distribution of
    facile_reference.py's golden values: exponential charges around 40 fC,
    all depths and |ieta|) plus, in the first rows, edge cases: all-zero
    charges, negative charges, one large pulse."""
    rng = np.random.default_rng(seed)
    ieta = rng.integers(1, ref.NIETA + 1, n) * rng.choice([-1, 1], n)
    iphi = rng.integers(1, ref.NIPHI + 1, n)
    depth = rng.integers(1, ref.NDEPTH + 1, n)
    gain = rng.uniform(0.003, 0.007, n).astype(np.float32)
    charge = (rng.exponential(40.0, (n, 10)) - 3.0).astype(np.float32)
    if n >= 3:
        charge[0] = 0.0
        charge[1] = -2.5
        charge[2] = 0.0
        charge[2, 3] = 5000.0
    return ref.features(charge, 0, gain, ieta, iphi, depth)
