#!/usr/bin/env bash
# Builds flt-fuzz (libFuzzer + ASan + UBSan, with coverage of flt's code) in
# ${FLT_FUZZ_BUILD_DIR:-build-fuzz} and fuzzes the parser, the verifiers,
# flt-decompose and flt-cpu-pipeline (or flt-gpu-pipeline), starting from
# test/fuzz/corpus (seeds cut from the lit tests). Arguments go to libFuzzer, e.g.
#
#   scripts/run-fuzzer.sh -runs=1000000          # a number of executions
#   scripts/run-fuzzer.sh -max_total_time=600    # a time budget (seconds)
#   FLT_FUZZ_PARSE_ONLY=1 scripts/run-fuzzer.sh -runs=1000000
#                                                # parser + verifiers only
#   FLT_FUZZ_PIPELINE=gpu scripts/run-fuzzer.sh -max_total_time=600
#                                                # flt-gpu-pipeline (to PTX)
#
# New interesting inputs go to build-fuzz/corpus; a crash is written as
# crash-<hash> in the current directory (keep it as a regression test in
# test/fuzz/regressions/).
#
# The runtime's readers of untrusted bytes (flt-fuzz-runtime, no MLIR, built
# in the normal build ${FLT_BUILD_DIR:-build} whenever clang has libFuzzer):
#
#   scripts/run-fuzzer.sh --runtime=npy -runs=1000000        the .npy reader
#   scripts/run-fuzzer.sh --runtime=signature -runs=1000000  the parser of
#                                                # library descriptions
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
case "${1:-}" in
--runtime=npy | --runtime=signature)
  target=${1#--runtime=}
  shift
  export FLT_BUILD_DIR=${FLT_BUILD_DIR:-$root/build}
  "$root/scripts/build.sh" flt-fuzz-runtime
  corpus="$FLT_BUILD_DIR/fuzz-corpus-$target"
  mkdir -p "$corpus"
  FLT_FUZZ_TARGET=$target exec "$FLT_BUILD_DIR/bin/flt-fuzz-runtime" \
    "$corpus" "$root/test/fuzz/runtime-corpus/$target" \
    -dict="$root/test/fuzz/runtime-$target.dict" -max_len=8192 -timeout=10 \
    -rss_limit_mb=2048 "$@"
  ;;
--runtime=*)
  echo "run-fuzzer.sh: --runtime=npy or --runtime=signature" >&2
  exit 2
  ;;
esac
export FLT_BUILD_DIR=${FLT_FUZZ_BUILD_DIR:-$root/build-fuzz}
export FLT_CMAKE_ARGS="-DFLT_SANITIZE=address;undefined;fuzzer-no-link -DFLT_BUILD_FUZZER=ON ${FLT_CMAKE_ARGS:-}"
"$root/scripts/build.sh" flt-fuzz
mkdir -p "$FLT_BUILD_DIR/corpus"
# See README (sanitizers): LLVM headers poison memory libMLIR never unpoisons.
export ASAN_OPTIONS="allow_user_poisoning=0:detect_leaks=0:${ASAN_OPTIONS:-}"
exec "$FLT_BUILD_DIR/bin/flt-fuzz" "$FLT_BUILD_DIR/corpus" \
  "$root/test/fuzz/corpus" -dict="$root/test/fuzz/flt.dict" -max_len=4096 \
  -timeout=20 "$@"
