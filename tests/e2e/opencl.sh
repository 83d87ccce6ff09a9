#!/bin/bash
# opencl.sh - the HCAL reconstruction offloaded to the OpenCL device (PoCL in
# CI) through the real framework: configs/hlt_opencl.yaml against the CPU
# plugins on the committed sample, for both backends (MAHI, and FACILE with
# the tiny test model): same events, same trigger decisions, same
# validation figures; the worker is free during the device work (acquire
# costs a fraction of the CPU module); device time counted; the report
# keeps acquire, device wait and produce apart; an OpenCL error
# mid-run (an enqueue refused, or a device lost while the event runs) fails
# the events it hits, by name, and the totals add up; the program comes
# from the cache on the second start; a MAHI binary written by `minihlt
# devices --compile` and named by `binary:` runs with the same results, a
# corrupt one is a start-up error by name; a device that does not exist is
# a start-up error listing what exists.
. "$(dirname "$0")/lib.sh"
SAMPLE=data/samples/ttbar_pu60.mhe
N=4
COMMON=(--input "$SAMPLE" --events $N --threads 2 --streams 2 --set process.time_scale=0.001)
export MINIHLT_CACHE="$E2E_TMP/cache"
unset MINIHLT_OCL_DEVICE MINIHLT_OCL_FAULT

check "configs/hlt_opencl.yaml is in step with configs/hlt.yaml (scripts/derive_menu.py)" \
    python3 scripts/derive_menu.py --check configs/hlt_opencl.yaml
check "configs/hlt_opencl.yaml runs hbheReco on OpenCL" grep -q '^  hbheReco: {plugin: hcal_opencl' configs/hlt_opencl.yaml

run() { # NAME CONFIG ARGS...: writes $E2E_TMP/NAME.json
    name=$1; cfg=$2; shift 2
    if "$MINIHLT" run "$cfg" "${COMMON[@]}" --quiet --report "$E2E_TMP/$name.json" "$@" \
        2>"$E2E_TMP/$name.err"; then ok "run $name"; else
        not_ok "run $name"; sed 's/^/#   /' "$E2E_TMP/$name.err" | head; fi
}

# compare CPU OCL ALGO_CPU ALGO_OCL TOL: decisions identical, validation within TOL.
compare() {
    check "$2 agrees with $1 (decisions, validation within $5)" python3 -c "
import json, sys
a = json.load(open('$E2E_TMP/$1.json')); b = json.load(open('$E2E_TMP/$2.json'))
assert a['events'] == b['events'] and a['events']['failed'] == 0 and a['events']['read'] == $N, (a['events'], b['events'])
pa = {p['name']: (p['accepted'], p['rejected']) for p in a['paths']}
pb = {p['name']: (p['accepted'], p['rejected']) for p in b['paths']}
assert pa == pb, (pa, pb)
va, vb = a['sections']['validation'], b['sections']['validation']
assert (va['algo'], vb['algo']) == ('$3', '$4'), (va['algo'], vb['algo'])
ba, bb = va['channel_response']['bins'], vb['channel_response']['bins']
assert len(ba) == len(bb) and sum(x['n'] for x in ba) > 1000
for x, y in zip(ba, bb):
    assert x['n'] == y['n'], (x, y)
    for k in ('mean', 'rms', 'median'):
        if x[k] is None or y[k] is None:   # empty bin
            assert x[k] is None and y[k] is None, (k, x, y)
        else:
            assert abs(x[k] - y[k]) <= $5 * max(1.0, abs(x[k])), (k, x, y)
"
}

run mahi_cpu configs/hlt.yaml
run mahi_ocl configs/hlt_opencl.yaml --set modules.hbheReco.backend=mahi
compare mahi_cpu mahi_ocl mahi mahi-opencl 1e-4

TINY=tests/data/facile_tiny
run facile_cpu configs/hlt.yaml --set modules.hbheReco.plugin=hcal_facile \
    --set modules.hbheReco.model=$TINY
run facile_ocl configs/hlt_opencl.yaml --set modules.hbheReco.model=$TINY
compare facile_cpu facile_ocl facile facile-opencl 1e-5

check "ExternalWork: acquire is a fraction of the CPU fit; device time counted" python3 -c "
import json
cpu = {m['label']: m for m in json.load(open('$E2E_TMP/mahi_cpu.json'))['modules']}['hbheReco']
ocl = {m['label']: m for m in json.load(open('$E2E_TMP/mahi_ocl.json'))['modules']}['hbheReco']
assert ocl['plugin'] == 'hcal_opencl' and ocl['calls'] == $N, ocl
assert ocl['acquire_real_ms_per_event'] < 0.5 * cpu['real_ms_per_event'], (ocl, cpu)
assert ocl['counters']['device_kernel_ns'] > 0 and ocl['counters']['channels'] > 1000, ocl
# The timing report keeps acquire, device wait and produce apart.
assert ocl['wait_ms_per_event'] > 0 and ocl['produce_real_ms_per_event'] > 0, ocl
assert 'wait_ms_per_event' not in cpu or cpu['wait_ms_per_event'] == 0, cpu
"
check "the text report shows acquire, wait and produce apart" sh -c \
    '"$0" run configs/hlt_opencl.yaml "$@" 2>&1 | grep -Eq "acquire [0-9.]+ real / [0-9.]+ CPU, wait [0-9.]+, produce [0-9.]+ real"' \
    "$MINIHLT" "${COMMON[@]}" --set modules.hbheReco.backend=mahi

MINIHLT_OCL_FAULT=clEnqueueNDRangeKernel:CL_OUT_OF_RESOURCES:2 \
    run fault configs/hlt_opencl.yaml --set modules.hbheReco.backend=mahi
check "an OpenCL error mid-run fails the events it hits, by name" python3 -c "
import json
e = json.load(open('$E2E_TMP/fault.json'))['events']
assert e['read'] == $N and e['processed'] == 2 and e['failed'] == $N - 2, e
f = e['failures']
assert sum(x['count'] for x in f) == $N - 2 and all(x['module'] == 'hbheReco' for x in f), f
assert all(x['reason'].endswith(': clEnqueueNDRangeKernel: CL_OUT_OF_RESOURCES') for x in f), f
"

MINIHLT_OCL_FAULT=completion:CL_DEVICE_NOT_AVAILABLE:1 \
    run lost configs/hlt_opencl.yaml --set modules.hbheReco.model=$TINY
check "a device lost mid-run (completion fails): those events fail, by name" python3 -c "
import json
e = json.load(open('$E2E_TMP/lost.json'))['events']
assert e['read'] == $N and e['processed'] == 1 and e['failed'] == $N - 1, e
f = e['failures']
assert sum(x['count'] for x in f) == $N - 1 and all(x['module'] == 'hbheReco' for x in f), f
assert all(x['reason'].endswith(': command completion (execution): CL_DEVICE_NOT_AVAILABLE')
           for x in f), f
"

check "report names the device; the second start takes the program from the cache" python3 -c "
import json
a = json.load(open('$E2E_TMP/mahi_ocl.json'))['sections']['opencl:hbheReco']
b = json.load(open('$E2E_TMP/fault.json'))['sections']['opencl:hbheReco']
assert a['backend'] == 'mahi' and a['device'] and a['type'] in ('cpu', 'gpu', 'accelerator', 'custom'), a
assert a['program'] == 'source' and b['program'] == 'cache', (a, b)
"

# The FPGA flow end to end: a program binary written by `minihlt devices
# --compile`, named by the config's `binary:` key, runs the menu with the
# same results as the program built from source.
check "devices --compile writes a MAHI binary" \
    "$MINIHLT" devices --compile "$E2E_TMP/mahi.bin" --kernel mahi
run mahi_bin configs/hlt_opencl.yaml --set modules.hbheReco.backend=mahi \
    --set modules.hbheReco.binary="$E2E_TMP/mahi.bin"
compare mahi_cpu mahi_bin mahi mahi-opencl 1e-4
check "the prebuilt binary is what ran (program from binary)" python3 -c "
import json
s = json.load(open('$E2E_TMP/mahi_bin.json'))['sections']['opencl:hbheReco']
assert s['backend'] == 'mahi' and s['program'] == 'binary', s
"
# (not a truncated PoCL binary: that trips an assertion inside PoCL, sim/ocl/README.md)
echo "not a program binary for any device" >"$E2E_TMP/junk.bin"
check_fails "a corrupt binary: start-up error naming the file and the failing call" 2 \
    "module 'hbheReco'.*junk.bin: .*(clCreateProgramWithBinary|clBuildProgram): CL_" \
    "$MINIHLT" run configs/hlt_opencl.yaml "${COMMON[@]}" --set modules.hbheReco.backend=mahi \
    --set modules.hbheReco.binary="$E2E_TMP/junk.bin"

check_fails "a device that does not exist: start-up error listing what exists" 2 \
    "module 'hbheReco'.*device: no OpenCL device matches type=any,name=no-such-board; available: \[0\]" \
    "$MINIHLT" run configs/hlt_opencl.yaml "${COMMON[@]}" --set modules.hbheReco.device.name=no-such-board
check_fails "a backend that does not exist" 2 "backend: 'cuda' is not facile or mahi" \
    "$MINIHLT" run configs/hlt_opencl.yaml "${COMMON[@]}" --set modules.hbheReco.backend=cuda
e2e_done
