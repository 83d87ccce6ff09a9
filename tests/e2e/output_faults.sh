#!/bin/bash
# output_faults.sh - the output module (plugins/output, sim/io writer) when the output cannot
# be written (issue 8, "Faults and load"): a full disk mid-run and at end of job, a directory
# that cannot be written, a final name that is a device or FIFO. Each gives one clear error
# naming the module and the file, a non-zero exit, no signal, and nothing left under the
# final name nor as a temporary (NAME.tmp-XXXXXX). Works as root (CI): "full disk" is the
# file size limit (ulimit -f, SIGXFSZ ignored so write() fails with EFBIG like ENOSPC), an
# "unwritable directory" is a path under a regular file or under /proc.
. "$(dirname "$0")/lib.sh"
GOLDEN=tests/io/golden-1.0.mhe
T=$E2E_TMP
cat >"$T/out.yaml" <<YAML
modules:
  p: {plugin: pass}
  out: {plugin: output, file: "$T/o/kept.mhe"}
paths:
  P: [p]
end_paths:
  O: [out]
YAML
mkdir "$T/o"

# out_case NAME WANT_EXIT STDERR_REGEX DIR_TO_BE_EMPTY [options]: run (in a subshell with
# $LIMIT applied), check exit status, the one error line, and that DIR holds no file.
out_case() {
    name=$1 want=$2 pattern=$3 dir=$4; shift 4
    (
        trap '' XFSZ
        [ -n "${LIMIT:-}" ] && ulimit -f "$LIMIT"
        exec "$MINIHLT" run "$T/out.yaml" --input "$GOLDEN" --quiet "$@"
    ) >"$T/stdout" 2>"$T/err"
    rc=$?
    left=$(find "$dir" -maxdepth 1 -name 'kept.mhe*' 2>/dev/null)
    if [ "$rc" -eq "$want" ] && [ "$(wc -l <"$T/err")" -eq 1 ] && grep -Eq "$pattern" "$T/err" &&
        [ -z "$left" ]; then ok "$name"; else
        not_ok "$name (exit $rc, want $want; left: ${left:-nothing})"; sed 's/^/#   /' "$T/err" | head -n 5
    fi
}

check "baseline: the output file is written" sh -c '"$0" run "$1" --input "$2" --quiet &&
    "$0" inspect "$3" | grep -Eq "^events +12$"' "$MINIHLT" "$T/out.yaml" "$GOLDEN" "$T/o/kept.mhe"
rm -f "$T/o/kept.mhe"

# Full disk at end of job (all 12 events in one cluster, written at close): exit 1.
LIMIT=8 out_case "full disk at end of job: exit 1, no file left" 1 \
    "^minihlt: module 'out': end of job: $T/o/kept.mhe: write failed at byte [0-9]+: File too large" "$T/o"
# Full disk mid-run (a cluster every 2 events): the events that cannot be written fail
# (on_error: skip-event), end of job repeats the first error and the run exits 1.
LIMIT=8 out_case "full disk mid-run: exit 1 with the first error, no file left" 1 \
    "^minihlt: module 'out': end of job: $T/o/kept.mhe: writer failed earlier \(write failed at byte [0-9]+: File too large\); nothing written" \
    "$T/o" --set modules.out.events_per_cluster=2
LIMIT=8 out_case "full disk mid-run, on_error stop: exit 1 naming the module" 1 \
    "module 'out': $T/o/kept.mhe: write failed at byte [0-9]+: File too large.*on_error: stop" \
    "$T/o" --set modules.out.events_per_cluster=2 --set process.on_error=stop

# A directory that cannot be written, also as root: under a regular file, under /proc.
touch "$T/plain"
out_case "output under a regular file: exit 2 naming the path" 2 \
    "^minihlt: module 'out': $T/plain/kept.mhe: cannot create temporary file .*: Not a directory" \
    "$T/plain" --set modules.out.file="$T/plain/kept.mhe"
out_case "output under /proc: exit 2 naming the path" 2 \
    "^minihlt: module 'out': /proc/minihlt-test/kept.mhe: cannot create temporary file" \
    /proc --set modules.out.file=/proc/minihlt-test/kept.mhe

# A final name that is not a regular file: refused before anything is written (the
# temporary would be renamed over it: `file: /dev/full` would replace the device).
mkfifo "$T/o/kept.mhe"
out_case "output onto a FIFO is refused, the FIFO stays" 2 \
    "^minihlt: module 'out': $T/o/kept.mhe: exists and is not a regular file" "$T/none"
if [ -p "$T/o/kept.mhe" ] && [ "$(find "$T/o" | wc -l)" -eq 2 ]; then ok "FIFO untouched, no temporary"
else not_ok "FIFO replaced or temporary left"; ls -la "$T/o" | sed 's/^/#   /'; fi
rm -f "$T/o/kept.mhe"
mkdir "$T/o/kept.mhe"
out_case "output onto a directory is refused" 2 \
    "^minihlt: module 'out': $T/o/kept.mhe: exists and is not a regular file" "$T/none"

# The JSON report (--report) follows the same rules: never replaces a non-regular file
# (a FIFO here; `--report /dev/stdout` used to replace the /dev/stdout symlink), and a full
# disk names the byte and errno, leaving nothing behind.
REPORT_RUN=("$MINIHLT" run configs/examples/emulated.yaml --input "$GOLDEN" --quiet
    --set modules.unpack.mean_ms=0 --set modules.tracking.mean_ms=0 --set modules.calo.mean_ms=0)
mkdir "$T/r"
mkfifo "$T/r/rep.json"
"${REPORT_RUN[@]}" --report "$T/r/rep.json" >/dev/null 2>"$T/err"
rc=$?
if [ "$rc" -eq 1 ] && grep -q "rep.json: exists and is not a regular file" "$T/err" && [ -p "$T/r/rep.json" ] &&
    [ "$(find "$T/r" | wc -l)" -eq 2 ]; then ok "--report onto a FIFO is refused, the FIFO stays"
else not_ok "--report onto a FIFO (exit $rc)"; sed 's/^/#   /' "$T/err"; fi
rm -f "$T/r/rep.json"
( trap '' XFSZ; ulimit -f 1; exec "${REPORT_RUN[@]}" --report "$T/r/rep.json" ) >/dev/null 2>"$T/err"
rc=$?
if [ "$rc" -eq 1 ] && grep -Eq "cannot write the report at byte [0-9]+: File too large" "$T/err" &&
    [ "$(find "$T/r" | wc -l)" -eq 1 ]; then ok "--report on a full disk: exit 1, errno named, nothing left"
else not_ok "--report on a full disk (exit $rc)"; sed 's/^/#   /' "$T/err"; ls "$T/r" | sed 's/^/#   /'; fi

# `minihlt gen` writes events and conditions the same way.
mkfifo "$T/r/gen.mhe" "$T/r/cond.txt"
check_fails "gen -o onto a FIFO is refused" 1 "gen.mhe: exists and is not a regular file" \
    "$MINIHLT" gen -n 2 -o "$T/r/gen.mhe"
check_fails "gen --conditions-out onto a FIFO is refused" 1 "cond.txt: exists and is not a regular file" \
    "$MINIHLT" gen --conditions-out "$T/r/cond.txt"
if [ -p "$T/r/gen.mhe" ] && [ -p "$T/r/cond.txt" ] && [ "$(find "$T/r" | wc -l)" -eq 3 ]; then
    ok "gen: FIFOs untouched, no temporaries"; else not_ok "gen: FIFO replaced or temporary left"; fi
e2e_done
