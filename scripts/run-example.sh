#!/usr/bin/env bash
# Sets up, builds and runs the main job: compile the bundled FLT layer
# (examples/flt_layer.mlir) into a shared library, run it at L = 4096 on
# random data, check it against the float64 reference and print the time per
# call and GFLOP/s (examples/run_flt_layer.py).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${FLT_BUILD_DIR:-$root/build}

"$root/scripts/build.sh"

/usr/bin/python3 "$root/examples/run_flt_layer.py" --build "$build" "$@"
