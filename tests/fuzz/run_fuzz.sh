#!/usr/bin/env bash
# Runs one libFuzzer target for ctest (tests/fuzz/CMakeLists.txt).
#   run_fuzz.sh regress FUZZER WORK_DIR REGRESSION_DIR          seeds + regression inputs, each run once
#   run_fuzz.sh fuzz    FUZZER WORK_DIR REGRESSION_DIR SECONDS  fuzz for SECONDS from those and WORK_DIR/corpus
# A crash, a sanitizer report or an unexpected exception makes the fuzzer exit non-zero, and the input
# that caused it is saved as WORK_DIR/crash-* (or leak-*, timeout-*, oom-*): copy it into REGRESSION_DIR
# once fixed, so it is checked on every run from then on.
set -euo pipefail
mode=$1 fuzzer=$2 work=$3 regressions=$4 seconds=${5:-20}

# Seeds are written by the target itself from the library's own writers, so they always match the formats.
rm -rf "$work/seeds"
mkdir -p "$work/corpus"
"$fuzzer" --write-seeds "$work/seeds"

# UB already aborts (-fno-sanitize-recover); these make reports complete and leaks fatal.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
limits=(-timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 -artifact_prefix="$work/")

case "$mode" in
  regress)
    inputs=("$work"/seeds/*)
    if [ -d "$regressions" ]; then
      while IFS= read -r -d '' f; do inputs+=("$f"); done < <(find "$regressions" -type f -print0)
    fi
    # Given files rather than directories, libFuzzer runs each exactly once and fuzzes nothing.
    exec "$fuzzer" "${limits[@]}" "${inputs[@]}"
    ;;
  fuzz)
    dirs=("$work/corpus" "$work/seeds")  # new inputs go to the first directory only
    [ -d "$regressions" ] && dirs+=("$regressions")
    exec "$fuzzer" "${limits[@]}" -max_total_time="$seconds" -print_final_stats=1 "${dirs[@]}"
    ;;
  *)
    echo "run_fuzz.sh: unknown mode '$mode' (regress or fuzz)" >&2
    exit 2
    ;;
esac
