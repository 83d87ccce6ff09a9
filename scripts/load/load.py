#!/usr/bin/env python3
"""load.py - load test of `minihlt serve` (issue 8, "Faults and load"), Python stdlib only.

N client threads, each on its own keep-alive connection, send inference requests for D
seconds; a fraction of them (default 10%) are malformed or oversized, or abandon the
connection half-way through a request. Prints requests/s, answers by kind and status,
latency of the good requests, and the server's RSS and open file descriptors (from
/proc/PID) before and after. With --check, exits 1 unless: every good request got 200 with
the right number of output rows, every bad one got its expected status (400/404/413),
RSS grew by at most --max-rss-growth-mb, and the fd count came back to its baseline.

  scripts/load/load.py --url http://127.0.0.1:8000 --pid PID [--clients 64] [--duration 60]
  scripts/load/load.py --start build/bin/minihlt --models data/models   # starts the server

See scripts/load/README.md.
"""
import argparse
import http.client
import json
import os
import random
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.parse

NFEAT = 46


def proc_stats(pid):
    """(RSS in KiB, open fds) of process pid."""
    rss = 0
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                rss = int(line.split()[1])
    return rss, len(os.listdir('/proc/%d/fd' % pid))


def good_request(rng, model):
    """A valid request: (body, headers, rows). Binary tensors half of the time."""
    rows = rng.randint(1, 64)
    vals = [rng.uniform(-1.0, 10.0) for _ in range(rows * NFEAT)]
    if rng.random() < 0.5:
        hdr = json.dumps({"inputs": [{"name": "input__0", "datatype": "FP32", "shape": [rows, NFEAT],
                                      "parameters": {"binary_data_size": rows * NFEAT * 4}}],
                          "outputs": [{"name": "output__0", "parameters": {"binary_data": False}}]}
                         ).encode()
        body = hdr + struct.pack('<%df' % (rows * NFEAT), *vals)
        return body, {"Inference-Header-Content-Length": str(len(hdr))}, rows
    body = json.dumps({"inputs": [{"name": "input__0", "datatype": "FP32", "shape": [rows, NFEAT],
                                   "data": vals}]}).encode()
    return body, {}, rows


# Malformed requests: kind -> (method, path, body, headers, expected status).
def bad_requests(model, max_body):
    row = json.dumps([1.0] * NFEAT)
    good_in = '{"name":"input__0","datatype":"FP32","shape":[1,46],"data":%s}' % row
    return {
        "malformed_json": ("POST", "/v2/models/%s/infer" % model, b'{"inputs":[{"name":', {}, 400),
        "wrong_shape": ("POST", "/v2/models/%s/infer" % model,
                        ('{"inputs":[{"name":"input__0","datatype":"FP32","shape":[2,23],"data":%s}]}'
                         % row).encode(), {}, 400),
        "bad_header_length": ("POST", "/v2/models/%s/infer" % model,
                              ('{"inputs":[%s]}' % good_in).encode(),
                              {"Inference-Header-Content-Length": "99999999"}, 400),
        "binary_past_end": ("POST", "/v2/models/%s/infer" % model,
                            b'{"inputs":[{"name":"input__0","datatype":"FP32","shape":[4,46],'
                            b'"parameters":{"binary_data_size":736}}]}' + b'\0' * 100, {}, 400),
        "gzip_body": ("POST", "/v2/models/%s/infer" % model, ('{"inputs":[%s]}' % good_in).encode(),
                      {"Content-Encoding": "gzip"}, 400),
        "path_escape": ("GET", "/v2/models/..%2F..%2Fetc%2Fpasswd/config", None, {}, 400),
        "absolute_path": ("GET", "/v2/models/%2Fetc%2Fpasswd/config", None, {}, 400),
        "unknown_model": ("POST", "/v2/models/no_such_model/infer", b'{}', {}, 404),
        # above --max-body: answered from the Content-Length alone (see run_oversized)
        "oversized": ("POST", "/v2/models/%s/infer" % model, max_body + 1, {}, 413),
    }


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.kinds = {}        # (kind, status) -> count
        self.unexpected = []   # first few unexpected answers
        self.lat = []          # seconds, good requests

    def add(self, kind, status, ok, detail=None, lat=None):
        with self.lock:
            self.kinds[(kind, status, ok)] = self.kinds.get((kind, status, ok), 0) + 1
            if not ok and len(self.unexpected) < 10:
                self.unexpected.append("%s: %s %s" % (kind, status, detail or ""))
            if lat is not None:
                self.lat.append(lat)


def run_oversized(host, port, path, length):
    """Headers announcing a body above the cap, no body: the server must answer 413 without
    reading it (and may close the connection)."""
    s = socket.create_connection((host, port), timeout=10)
    try:
        s.sendall(("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                   "Content-Length: %d\r\n\r\n" % (path, host, length)).encode())
        data = b""
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        parts = data.split(b" ", 2)
        return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    finally:
        s.close()


def run_abandoned(host, port, path):
    """Half a request (headers promise 1000 bytes, 10 are sent), then the client goes away."""
    s = socket.create_connection((host, port), timeout=10)
    s.sendall(("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Length: 1000\r\n\r\n{\"inputs\":"
               % (path, host)).encode())
    s.close()


def client(idx, args, host, port, stop, stats):
    rng = random.Random(args.seed * 1000 + idx)
    bad = bad_requests(args.model, args.max_body)
    bad_kinds = sorted(bad) + ["abandoned"]
    conn = None
    while not stop.is_set():
        if conn is None:
            conn = http.client.HTTPConnection(host, port, timeout=30)
        try:
            if rng.random() < args.bad_fraction:
                kind = rng.choice(bad_kinds)
                if kind == "abandoned":
                    run_abandoned(host, port, "/v2/models/%s/infer" % args.model)
                    stats.add(kind, "-", True)
                    continue
                method, path, body, headers, want = bad[kind]
                if kind == "oversized":
                    st = run_oversized(host, port, path, body)
                    stats.add(kind, st, st == want, "want %d" % want)
                    continue
                conn.request(method, path, body=body, headers=headers)
                r = conn.getresponse()
                text = r.read()
                ok = r.status == want and b'"error"' in text
                stats.add(kind, r.status, ok, text[:120])
                if r.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
                continue
            body, headers, rows = good_request(rng, args.model)
            t0 = time.monotonic()
            conn.request("POST", "/v2/models/%s/infer" % args.model, body=body, headers=headers)
            r = conn.getresponse()
            text = r.read()
            lat = time.monotonic() - t0
            ok = False
            if r.status == 200:
                out = json.loads(text)["outputs"][0]
                ok = out["shape"] == [rows, 1] and len(out["data"]) == rows
            stats.add("good", r.status, ok, text[:120], lat if ok else None)
        except (OSError, http.client.HTTPException, ValueError) as e:
            stats.add("transport", type(e).__name__, False, str(e)[:120])
            if conn is not None:
                conn.close()
            conn = None
    if conn is not None:
        conn.close()


def wait_listening(proc, timeout=15.0):
    t_end = time.monotonic() + timeout
    while time.monotonic() < t_end:
        line = proc.stdout.readline()
        if not line:
            break
        if line.startswith("listening on "):
            return line.split()[2]
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", help="a running server, e.g. http://127.0.0.1:8000")
    ap.add_argument("--pid", type=int, help="its process id (for RSS and fds)")
    ap.add_argument("--start", metavar="MINIHLT", help="start MINIHLT serve --port 0 instead")
    ap.add_argument("--models", default="data/models", help="model repository for --start")
    ap.add_argument("--model", default="facile")
    ap.add_argument("--clients", type=int, default=64)
    ap.add_argument("--duration", type=float, default=60.0)
    ap.add_argument("--bad-fraction", type=float, default=0.10)
    ap.add_argument("--max-body", type=int, default=1 << 20,
                    help="the server's --max-body (set on the server with --start)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--check", action="store_true", help="exit 1 if a criterion fails")
    ap.add_argument("--max-rss-growth-mb", type=float, default=64.0)
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args()

    proc = None
    if args.start:
        proc = subprocess.Popen([args.start, "serve", "--port", "0", "--quiet", "--models",
                                 args.models, "--max-body", str(args.max_body),
                                 "--max-connections", str(max(256, 4 * args.clients))],
                                stdout=subprocess.PIPE, text=True)
        args.url = wait_listening(proc)
        args.pid = proc.pid
        if not args.url:
            print("load.py: the server did not start", file=sys.stderr)
            proc.kill()
            return 2
    if not args.url or not args.pid:
        ap.error("give --url and --pid, or --start")
    u = urllib.parse.urlsplit(args.url)
    host, port = u.hostname, u.port

    # Warm up (first execution, allocator pools) so that "before" is the steady state.
    conn = http.client.HTTPConnection(host, port, timeout=30)
    rng = random.Random(0)
    for _ in range(20):
        body, headers, _ = good_request(rng, args.model)
        conn.request("POST", "/v2/models/%s/infer" % args.model, body=body, headers=headers)
        conn.getresponse().read()
    conn.close()
    time.sleep(0.5)
    rss0, fd0 = proc_stats(args.pid)

    stats = Stats()
    stop = threading.Event()
    threads = [threading.Thread(target=client, args=(i, args, host, port, stop, stats))
               for i in range(args.clients)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    rss_peak = rss0
    while time.monotonic() - t0 < args.duration:
        time.sleep(min(0.5, max(0.0, args.duration - (time.monotonic() - t0))))
        rss_peak = max(rss_peak, proc_stats(args.pid)[0])
    stop.set()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    # Closed connections are reaped by the server's threads: give them a moment.
    for _ in range(50):
        rss1, fd1 = proc_stats(args.pid)
        if fd1 <= fd0:
            break
        time.sleep(0.1)
    # The server still answers a good request after the load.
    conn = http.client.HTTPConnection(host, port, timeout=30)
    body, headers, rows = good_request(random.Random(7), args.model)
    conn.request("POST", "/v2/models/%s/infer" % args.model, body=body, headers=headers)
    after_status = conn.getresponse().status
    conn.close()

    total = sum(stats.kinds.values())
    good = sum(n for (k, s, ok), n in stats.kinds.items() if k == "good")
    good_ok = sum(n for (k, s, ok), n in stats.kinds.items() if k == "good" and ok)
    bad_ok = sum(n for (k, s, ok), n in stats.kinds.items() if k != "good" and ok)
    failed = sum(n for (k, s, ok), n in stats.kinds.items() if not ok)
    lat = sorted(stats.lat)
    pct = (lambda p: 1e3 * lat[min(len(lat) - 1, int(p * len(lat)))]) if lat else (lambda p: 0.0)
    print("minihlt serve load: %d clients, %.1f s, %.0f%% bad, model %s"
          % (args.clients, elapsed, 100 * args.bad_fraction, args.model))
    print("requests       %d (%.0f req/s), good %d (%.0f req/s), bad %d"
          % (total, total / elapsed, good, good / elapsed, total - good))
    print("good latency   p50 %.1f ms, p99 %.1f ms" % (pct(0.5), pct(0.99)))
    print("answers by kind (status: count, * = unexpected):")
    for (k, s, ok), n in sorted(stats.kinds.items(), key=lambda x: (x[0][0], str(x[0][1]))):
        print("  %-18s %-5s %7d%s" % (k, s, n, "" if ok else " *"))
    print("server RSS     %.1f MB before, %.1f MB peak, %.1f MB after"
          % (rss0 / 1024, rss_peak / 1024, rss1 / 1024))
    print("server fds     %d before, %d after" % (fd0, fd1))
    print("after the load a good request gets %d" % after_status)
    for u_ in stats.unexpected:
        print("# unexpected: %s" % u_)
    figures = {"clients": args.clients, "seconds": elapsed, "requests": total,
               "requests_per_s": total / elapsed, "good": good, "good_ok": good_ok,
               "bad_ok": bad_ok, "unexpected": failed,
               "kinds": {"%s %s" % (k, s): n for (k, s, ok), n in stats.kinds.items()},
               "rss_kb": [rss0, rss_peak, rss1], "fds": [fd0, fd1], "after_status": after_status}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=1)
    rc = 0
    if args.check:
        checks = [("every good request answered 200 with its rows", good > 0 and good_ok == good),
                  ("every bad request got its expected status", failed == 0),
                  ("RSS growth <= %.0f MB" % args.max_rss_growth_mb,
                   rss1 - rss0 <= args.max_rss_growth_mb * 1024),
                  ("fd count back to baseline", fd1 <= fd0),
                  ("still serving after the load", after_status == 200)]
        for name, passed in checks:
            print("%s - %s" % ("ok" if passed else "not ok", name))
            rc |= 0 if passed else 1
    if proc:
        proc.terminate()
        proc.wait(timeout=20)
    return rc


if __name__ == "__main__":
    sys.exit(main())
