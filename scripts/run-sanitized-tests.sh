#!/usr/bin/env bash
# Builds flt with AddressSanitizer and UndefinedBehaviorSanitizer into
# ${FLT_SANITIZE_BUILD_DIR:-build-sanitize} (flt-compile then instruments the
# kernels it compiles for ASan too) and runs the whole lit suite under them.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export FLT_BUILD_DIR=${FLT_SANITIZE_BUILD_DIR:-$root/build-sanitize}
# No Python extension: an ASan-instrumented one cannot load into python3.
export FLT_CMAKE_ARGS="-DFLT_SANITIZE=address;undefined -DFLT_ENABLE_PYTHON=OFF ${FLT_CMAKE_ARGS:-}"
exec "$root/scripts/run-tests.sh" "$@"
