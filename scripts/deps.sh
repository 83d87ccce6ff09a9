#!/bin/sh
# Installs the Debian packages minihlt needs, if any is missing.
# As root: apt-get update once, then apt-get install of the missing ones.
# Otherwise: prints the exact command and fails.
set -eu
PKGS="build-essential pkg-config libtbb-dev libzstd-dev uuid-dev ocl-icd-opencl-dev
opencl-headers pocl-opencl-icd clinfo check libsubunit-dev libfyaml-dev libjansson-dev
libcurl4-openssl-dev libmicrohttpd-dev zstd python3 python3-venv valgrind clang
libclang-rt-14-dev python3-numpy python3-yaml python3-matplotlib"
missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "minihlt: missing Debian packages:$missing" >&2
    echo "minihlt: install them with: sudo apt-get update && sudo apt-get install -y$missing" >&2
    exit 1
fi
echo "minihlt: installing missing Debian packages:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
