#!/bin/bash
# devices.sh - `minihlt devices`: listing (text, JSON), selection, --compile
# and loading what it wrote, errors by name.
. "$(dirname "$0")/lib.sh"
export MINIHLT_CACHE="$E2E_TMP/cache"
unset MINIHLT_OCL_DEVICE MINIHLT_OCL_FAULT

check "help" "$MINIHLT" devices --help
check "lists a cpu device" sh -c '"$0" devices | grep -Eq "^ *\[0\] cpu #0 "' "$MINIHLT"
check "json parses and has a cpu" sh -c '"$0" devices --json | python3 -c "
import json, sys
d = json.load(sys.stdin)
assert any(x[\"type\"] == \"cpu\" for x in d[\"devices\"]), d
assert d[\"selected\"] is None
x = d[\"devices\"][0]
for k in (\"platform\", \"compute_units\", \"global_mem_bytes\", \"driver_version\", \"opencl_version\"):
    assert k in x, k
"' "$MINIHLT"
check "--device marks the selected one" sh -c '"$0" devices --device type=cpu | grep -Eq "^\* \[0\] cpu"' "$MINIHLT"
check "json selected index" sh -c '"$0" devices --json --device type=cpu,index=0 | python3 -c "
import json, sys; assert json.load(sys.stdin)[\"selected\"] == 0"' "$MINIHLT"
check_fails "no match exits 1 with the listing" 1 \
    "no OpenCL device matches type=gpu; available: \[0\] .* \(cpu\)" \
    "$MINIHLT" devices --device type=gpu
check_fails "env override applies" 1 "no OpenCL device matches type=accelerator" \
    env MINIHLT_OCL_DEVICE=type=accelerator "$MINIHLT" devices
check_fails "bad env selector" 1 "MINIHLT_OCL_DEVICE: device selector 'kind=gpu'" \
    env MINIHLT_OCL_DEVICE=kind=gpu "$MINIHLT" devices
check_fails "bad --device is a usage error" 2 "devices: --device: device selector 'type=tpu'" \
    "$MINIHLT" devices --device type=tpu
check_fails "unknown kernel" 2 "no embedded kernel source 'nope'" \
    "$MINIHLT" devices --compile "$E2E_TMP/x.bin" --kernel nope

check "--compile writes a binary" "$MINIHLT" devices --compile "$E2E_TMP/selftest.bin" --device type=cpu
check "the binary is not empty" test -s "$E2E_TMP/selftest.bin"
check_fails "bad build option by name" 1 \
    "clBuildProgram: (CL_INVALID_BUILD_OPTIONS|CL_BUILD_PROGRAM_FAILURE)" \
    "$MINIHLT" devices --compile "$E2E_TMP/bad.bin" --options "-no-such-option"
check "failed compile leaves no file" test ! -e "$E2E_TMP/bad.bin"
check_fails "injected fault by name" 1 "clCreateContext: CL_DEVICE_NOT_AVAILABLE" \
    env MINIHLT_OCL_FAULT=clCreateContext:CL_DEVICE_NOT_AVAILABLE \
    "$MINIHLT" devices --compile "$E2E_TMP/f.bin"
check_fails "malformed fault spec" 1 "MINIHLT_OCL_FAULT: fault 'clFinish:CL_NOPE'" \
    env MINIHLT_OCL_FAULT=clFinish:CL_NOPE "$MINIHLT" devices
e2e_done
