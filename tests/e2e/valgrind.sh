#!/bin/bash
# valgrind.sh - `minihlt run` of the default menu end to end under valgrind memcheck
# (issue 8, "Sanitizers and leak checks"): no invalid access, no uninitialised value used,
# no definite leak - with MAHI, with FACILE, and on the error path (a damaged cluster).
# "Possibly lost" blocks are not errors: they are the thread stacks' TLS of oneTBB's
# workers, which oneTBB keeps until process exit by design. tests/valgrind.supp holds the
# two suppressions needed for PoCL (a glibc loader false positive, PoCL/LLVM's own leaks).
# 30-65 s on one core; prints a skip line without valgrind or on a sanitizer build.
. "$(dirname "$0")/lib.sh"
if ! command -v valgrind >/dev/null; then
    echo "# skip - valgrind not installed (apt-get install valgrind)"
    e2e_done
fi
if grep -q __asan_init "$MINIHLT" 2>/dev/null || grep -q __tsan_init "$MINIHLT" 2>/dev/null; then
    echo "# skip - $MINIHLT is built with a sanitizer (valgrind cannot run it)"
    e2e_done
fi
SAMPLE=data/samples/ttbar_pu60.mhe
VG=(valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite --error-exitcode=99
    --track-origins=no --suppressions=tests/valgrind.supp)

# vg_run NAME WANT_EXIT ARGS...: memcheck finds nothing (it would exit 99) and minihlt
# exits WANT_EXIT.
vg_run() {
    name=$1 want=$2; shift 2
    "${VG[@]}" "$MINIHLT" "$@" >"$E2E_TMP/out" 2>"$E2E_TMP/err"
    rc=$?
    if [ "$rc" -eq "$want" ] && ! grep -q '^==[0-9]*==' "$E2E_TMP/err"; then ok "$name"; else
        not_ok "$name (exit $rc, want $want; 99 = memcheck errors)"; sed 's/^/#   /' "$E2E_TMP/err" | head -n 30; fi
}

RUN=(run configs/hlt.yaml --input "$SAMPLE" --events 4 --threads 2 --set process.time_scale=0.01 --quiet)
vg_run "valgrind: hlt.yaml with MAHI, 4 events, 2 threads: clean" 0 "${RUN[@]}"
vg_run "valgrind: hlt.yaml with hcal_facile: clean" 0 "${RUN[@]}" --set modules.hbheReco.plugin=hcal_facile
# OpenCL (PoCL): 2 events; ~6 s with PoCL's kernel cache warm, ~40 s when it compiles.
vg_run "valgrind: hlt_opencl.yaml (PoCL), 2 events: clean" 0 run configs/hlt_opencl.yaml \
    --input "$SAMPLE" --events 2 --threads 2 --set process.time_scale=0.01 --quiet

# The error path frees everything too: a damaged cluster stops the run (exit 1).
cp "$SAMPLE" "$E2E_TMP/d.mhe"
printf '\377\377\377\377' | dd of="$E2E_TMP/d.mhe" bs=1 seek=1000 conv=notrunc 2>/dev/null
vg_run "valgrind: damaged input, run fails: clean" 1 run configs/hlt.yaml --input "$E2E_TMP/d.mhe" \
    --events 4 --threads 2 --set process.time_scale=0.01 --quiet \
    --set modules.hbheReco.plugin=hcal_facile

# The server: good, malformed, oversized and abandoned requests, then SIGTERM (drain).
"${VG[@]}" "$MINIHLT" serve --models data/models --port 0 --max-body 1048576 --quiet \
    >"$E2E_TMP/srv.out" 2>"$E2E_TMP/srv.err" &
pid=$!
URL=""
for _ in $(seq 300); do
    URL=$(sed -n 's/^listening on //p' "$E2E_TMP/srv.out")
    [ -n "$URL" ] && break
    sleep 0.1
done
if [ -n "$URL" ]; then
    python3 scripts/load/load.py --url "$URL" --pid "$pid" --clients 2 --duration 3 \
        --bad-fraction 0.3 --max-body 1048576 >"$E2E_TMP/load.out" 2>&1
fi
grep -E "^(requests|server)" "$E2E_TMP/load.out" 2>/dev/null | sed "s/^/# /"
kill -TERM "$pid"
wait "$pid"
rc=$?
if [ -n "$URL" ] && [ "$rc" -eq 0 ] && ! grep -q '^==[0-9]*==' "$E2E_TMP/srv.err"; then
    ok "valgrind: serve under good and bad requests, SIGTERM: clean"
else
    not_ok "valgrind: serve (exit $rc; 99 = memcheck errors)"; sed 's/^/#   /' "$E2E_TMP/srv.err" | head -n 30
fi
e2e_done
