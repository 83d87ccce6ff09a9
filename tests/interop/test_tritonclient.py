#!/usr/bin/env python3
"""Interoperability of `minihlt serve` with Triton's own Python client.

Usage: test_tritonclient.py HOST:PORT

Talks to a running server with tritonclient.http (PyPI `tritonclient[http]`)
the way a Triton user would: health, server and model metadata, model config,
repository index, inference with binary and with JSON tensors (outputs
checked against the numpy reference values in
tests/data/facile_tiny/golden.txt), errors surfaced as
InferenceServerException, concurrent async requests merged by the dynamic
batcher, and the statistics extension. Prints TAP-like "ok - ..." /
"not ok - ..." lines and exits non-zero on any failure.
"""
import sys
import traceback

import numpy as np
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

GOLDEN = "tests/data/facile_tiny/golden.txt"
failed = 0


def check(name, fn):
    global failed
    try:
        fn()
        print(f"ok - tritonclient: {name}")
    except Exception:  # report and go on with the next check
        failed = 1
        print(f"not ok - tritonclient: {name}")
        for line in traceback.format_exc().splitlines():
            print(f"#   {line}")


def golden():
    """Features (n x 46) and reference outputs (n) of the golden file."""
    feats, outs = [], []
    nts = None
    with open(GOLDEN) as f:
        for line in f:
            if line.startswith("#"):
                continue
            if line.startswith("n "):
                nts = int(line.split()[3])
                continue
            v = [float(x) for x in line.split()]
            feats.append(v[4 + nts:4 + nts + 46])
            outs.append(v[4 + nts + 46])
    return np.array(feats, dtype=np.float32), np.array(outs, dtype=np.float32)


def main():
    url = sys.argv[1]
    c = httpclient.InferenceServerClient(url=url, concurrency=8)
    x, want = golden()

    def health():
        assert c.is_server_live()
        assert c.is_server_ready()
        assert c.is_model_ready("facile_tiny")
        assert c.is_model_ready("facile_tiny", "1")
        assert not c.is_model_ready("no_such_model")

    def metadata():
        m = c.get_server_metadata()
        assert m["name"] == "minihlt" and "binary_tensor_data" in m["extensions"], m
        mm = c.get_model_metadata("facile_tiny")
        assert mm["inputs"][0] == {"name": "input__0", "datatype": "FP32", "shape": [-1, 46]}, mm
        assert mm["outputs"][0]["name"] == "output__0", mm
        cfg = c.get_model_config("facile_batch")
        assert cfg["max_batch_size"] == 256 and cfg["input"][0]["dims"] == [46], cfg
        idx = c.get_model_repository_index()
        assert {m["name"] for m in idx} >= {"facile_tiny", "facile_batch"}, idx

    def infer(binary_in, binary_out, model="facile_tiny"):
        inp = httpclient.InferInput("input__0", list(x.shape), "FP32")
        inp.set_data_from_numpy(x, binary_data=binary_in)
        out = httpclient.InferRequestedOutput("output__0", binary_data=binary_out)
        r = c.infer(model, [inp], outputs=[out], request_id="interop-1")
        y = r.as_numpy("output__0")
        assert y.shape == (x.shape[0], 1), y.shape
        np.testing.assert_allclose(y[:, 0], want, rtol=1e-4, atol=1e-4)
        assert r.get_response()["id"] == "interop-1"

    def errors():
        inp = httpclient.InferInput("input__0", [1, 45], "FP32")
        inp.set_data_from_numpy(np.zeros((1, 45), np.float32))
        try:
            c.infer("facile_tiny", [inp])
            raise AssertionError("wrong shape accepted")
        except InferenceServerException as e:
            assert "unexpected shape" in e.message(), e.message()
        try:
            c.get_model_metadata("no_such_model")
            raise AssertionError("unknown model accepted")
        except InferenceServerException as e:
            assert "unknown model" in e.message(), e.message()

    def batching():
        before = c.get_inference_statistics("facile_batch")["model_stats"][0]
        reqs = []
        for i in range(16):
            rows = x[i * 8:(i + 1) * 8]
            inp = httpclient.InferInput("input__0", list(rows.shape), "FP32")
            inp.set_data_from_numpy(rows)
            reqs.append((i, c.async_infer("facile_batch", [inp])))
        for i, h in reqs:
            y = h.get_result().as_numpy("output__0")[:, 0]
            np.testing.assert_allclose(y, want[i * 8:(i + 1) * 8], rtol=1e-4, atol=1e-4)
        after = c.get_inference_statistics("facile_batch")["model_stats"][0]
        nreq = after["inference_stats"]["success"]["count"] - before["inference_stats"]["success"]["count"]
        nexec = after["execution_count"] - before["execution_count"]
        assert nreq == 16, (before, after)
        assert nexec < nreq, f"{nexec} executions for {nreq} requests: nothing merged"

    def stats():
        s = c.get_inference_statistics("facile_tiny")["model_stats"][0]
        assert s["name"] == "facile_tiny" and s["version"] == "1", s
        assert s["inference_stats"]["success"]["count"] >= 4, s
        assert s["inference_count"] >= 4 * x.shape[0], s
        assert s["inference_stats"]["fail"]["count"] >= 1, s
        assert s["batch_stats"][0]["batch_size"] == x.shape[0], s
        every = c.get_inference_statistics()["model_stats"]
        assert len(every) >= 2, every

    check("health", health)
    check("metadata, config, repository index", metadata)
    check("infer binary in, binary out", lambda: infer(True, True))
    check("infer JSON in, JSON out", lambda: infer(False, False))
    check("infer binary in, JSON out", lambda: infer(True, False))
    check("infer JSON in, binary out", lambda: infer(False, True))
    check("errors as InferenceServerException", errors)
    check("dynamic batching merges async requests", batching)
    check("statistics extension", stats)
    c.close()
    return failed


if __name__ == "__main__":
    sys.exit(main())
