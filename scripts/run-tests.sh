#!/usr/bin/env bash
# Sets up, builds and runs every flt test (the lit suite). Installs missing
# Debian packages first (scripts/install-deps.sh). Extra arguments go to lit.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${FLT_BUILD_DIR:-$root/build}

"$root/scripts/build.sh"

# lit -j: CI has 2 cores; the tests are small.
status=0
/usr/lib/llvm-22/bin/lit -sv -j "$(nproc)" "$@" "$build/test" \
  | tee "$build/lit.log" || status=$?

passed=$(sed -n 's/^ *Passed *: *\([0-9]*\).*/\1/p' "$build/lit.log" | head -1)
failed=$(sed -n 's/^ *\(Failed\|Unresolved\|Timed Out\|Unexpectedly Passed\) *: *\([0-9]*\).*/\2/p' \
  "$build/lit.log" | awk '{s += $1} END {print s + 0}')
echo "lit: ${passed:-0} passed, ${failed} failed"
exit "$status"
