#!/usr/bin/env bash
# Sets up, builds and runs the main job on the bundled example FLT layer
# (examples/flt_layer.mlir): flt-opt verifies it and expands it with
# flt-decompose into the primitive flt ops.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${FLT_BUILD_DIR:-$root/build}

"$root/scripts/build.sh"

"$build/bin/flt-opt" "$root/examples/flt_layer.mlir" --flt-decompose
