#!/bin/bash
# fuzz_replay.sh - builds the libFuzzer targets (tests/fuzz/, clang with
# ASan+UBSan) and replays every committed corpus input once per target:
# seeds and the regression inputs of crashes fixed earlier. A crash, leak,
# sanitizer report or timeout (10 s per input) fails the target's line.
. "$(dirname "$0")/lib.sh"
BUILD=${MINIHLT_BUILD:-build}
# Known leaks inside libfyaml, matched by function: needs the full unwinder.
export LSAN_OPTIONS="suppressions=$PWD/tests/fuzz/lsan.supp"
export ASAN_OPTIONS="fast_unwind_on_malloc=0"

if make --no-print-directory -s BUILD="$BUILD" fuzz-build >"$E2E_TMP/build.log" 2>&1; then
    ok "fuzz targets build (clang -fsanitize=fuzzer,address,undefined)"
else
    not_ok "fuzz targets build"; tail -n 20 "$E2E_TMP/build.log" | sed 's/^/#   /'
    e2e_done
fi

for src in tests/fuzz/fuzz_*.c; do
    t=$(basename "$src" .c)
    corpus=tests/fuzz/corpus/${t#fuzz_}
    n=$(find "$corpus" -type f 2>/dev/null | wc -l)
    if [ "$n" -eq 0 ]; then not_ok "$t: no committed corpus in $corpus"; continue; fi
    if "$BUILD/fuzz/$t" -timeout=10 -rss_limit_mb=2048 "$corpus"/* >"$E2E_TMP/$t.log" 2>&1; then
        ok "$t replays its $n corpus inputs"
    else
        not_ok "$t replay"; grep -E 'ERROR|SUMMARY|Running:' "$E2E_TMP/$t.log" | tail -n 10 | sed 's/^/#   /'
    fi
done
e2e_done
