#!/bin/sh
# venv.sh - a Python virtual environment under BUILD/venv with the PyPI
# packages a script asks for (onnx, onnxruntime, tritonclient[http], ...).
#
# usage: scripts/venv.sh BUILD REQUIREMENT...
#   Creates BUILD/venv from /usr/bin/python3 (with --system-site-packages, so
#   Debian's numpy and PyYAML are reused) if it does not exist, pip-installs
#   the requirements that are not importable yet, and prints the venv's python
#   path on stdout (the only thing printed there).
#   A REQUIREMENT may be written MODULE:REQUIREMENT when the module to
#   import differs from what the name implies, e.g.
#   tritonclient.grpc.model_config_pb2:tritonclient[grpc] (an http-only
#   tritonclient would otherwise count as installed).
#   Exit 0: ready. Exit 3: PyPI unreachable or the install failed (callers
#   treat that as "skip", with the reason on stderr). Exit 2: usage.
#
# Concurrent callers (parallel tests) serialise on BUILD/venv.lock.
set -eu
if [ $# -lt 2 ]; then
    echo "usage: scripts/venv.sh BUILD REQUIREMENT..." >&2
    exit 2
fi
BUILD=$1
shift
VENV="$BUILD/venv"
PY="$VENV/bin/python"
mkdir -p "$BUILD"

# Import name of a requirement: "tritonclient[http]==2.41" -> tritonclient,
# "a.b:pkg[x]" -> a.b. pip_name: the part pip gets.
import_name() {
    case $1 in
        *:*) printf '%s' "${1%%:*}" ;;
        *) printf '%s' "$1" | sed -e 's/[][<>=!~;,].*//' -e 's/-/_/g' ;;
    esac
}
pip_name() { printf '%s' "${1#*:}"; }

(
    flock 9
    if [ ! -x "$PY" ]; then
        if ! /usr/bin/python3 -m venv --system-site-packages "$VENV" >&2; then
            echo "venv.sh: cannot create $VENV (is python3-venv installed?)" >&2
            rm -rf "$VENV"
            exit 3
        fi
    fi
    missing=""
    for req in "$@"; do
        mod=$(import_name "$req")
        if ! "$PY" -c "import $mod" 2>/dev/null; then
            missing="$missing $(pip_name "$req")"
        fi
    done
    if [ -n "$missing" ]; then
        echo "venv.sh: installing into $VENV:$missing" >&2
        # shellcheck disable=SC2086
        if ! "$PY" -m pip install --disable-pip-version-check -q --timeout 30 $missing >&2; then
            echo "venv.sh: pip install of$missing failed (PyPI unreachable?)" >&2
            exit 3
        fi
    fi
) 9>"$BUILD/venv.lock"
echo "$PY"
