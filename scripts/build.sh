#!/usr/bin/env bash
# Installs missing dependencies, configures (once) and builds flt into
# ${FLT_BUILD_DIR:-build}. Extra arguments are ninja targets.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${FLT_BUILD_DIR:-$root/build}

"$root/scripts/install-deps.sh"

if [ ! -f "$build/build.ninja" ]; then
  cmake -G Ninja -S "$root" -B "$build" \
    -DCMAKE_BUILD_TYPE="${FLT_BUILD_TYPE:-Release}" \
    -DCMAKE_C_COMPILER="${CC:-clang-22}" \
    -DCMAKE_CXX_COMPILER="${CXX:-clang++-22}" \
    -DLLVM_USE_LINKER=lld \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit \
    ${FLT_CMAKE_ARGS:-}
fi
cmake --build "$build" -- "$@"
