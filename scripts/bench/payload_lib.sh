# payload_lib.sh - shared by the benchmarks that time reading a .mhe sample
# against `zstd -d` of the same payload (io.sh, source.sh). Sourced, not run
# (run_all.sh skips *_lib.sh).
#
#   bench_sample BUILD [FILE]   sets SAMPLE: FILE, else BUILD/bench/io_ttbar_pu60_2000.mhe
#                               (2000 ttbar events at pileup 60, generated once)
#   bench_frames SAMPLE TMPDIR  writes TMPDIR/frames.zst (the cluster frames alone, one
#                               stream of concatenated zstd frames) and sets EVENTS,
#                               RAW_MB (decompressed payload), COMP_RATIO
#   bench_best CMD...           prints the best wall time in seconds of 3 runs of CMD
#                               (stdout discarded)
command -v zstd >/dev/null || { echo "$(basename "$0"): needs the zstd program" >&2; exit 1; }

bench_sample() {
    SAMPLE=${2:-}
    [ -n "$SAMPLE" ] && return 0
    SAMPLE="$1/bench/io_ttbar_pu60_2000.mhe"
    [ -f "$SAMPLE" ] && return 0
    mkdir -p "$1/bench"
    if ! "$1/bin/minihlt" gen -n 2000 --pileup 60 --process ttbar --seed 1 -o "$SAMPLE.tmp" >/dev/null; then
        rm -f "$SAMPLE.tmp"
        echo "$(basename "$0"): cannot generate a sample (minihlt gen); pass FILE.mhe" >&2
        exit 1
    fi
    mv "$SAMPLE.tmp" "$SAMPLE"
}

bench_frames() {
    "$MINIHLT" inspect "$1" >"$2/info" || { echo "$(basename "$0"): cannot inspect $1" >&2; exit 1; }
    EVENTS=$(sed -n 's/^events  *\([0-9]*\)$/\1/p' "$2/info")
    RAW_MB=$(sed -n 's/^payload  *\([0-9.]*\) MB raw.*/\1/p' "$2/info")
    COMP_RATIO=$(sed -n 's/^payload .*ratio \([0-9.]*\)$/\1/p' "$2/info")
    _from=$(sed -n 's/^layout  *clusters at bytes \([0-9]*\)\.\..*/\1/p' "$2/info")
    _to=$(sed -n 's/^layout  *clusters at bytes [0-9]*\.\.\([0-9]*\),.*/\1/p' "$2/info")
    tail -c +"$((_from + 1))" "$1" | head -c "$((_to - _from))" >"$2/frames.zst"
}

_bench_now() { date +%s%N; }
bench_best() {
    _b=""
    for _ in 1 2 3; do
        _t0=$(_bench_now); "$@" >/dev/null; _t1=$(_bench_now)
        _t=$((_t1 - _t0))
        if [ -z "$_b" ] || [ "$_t" -lt "$_b" ]; then _b=$_t; fi
    done
    awk -v ns="$_b" 'BEGIN { printf "%.4f", ns / 1e9 }'
}
