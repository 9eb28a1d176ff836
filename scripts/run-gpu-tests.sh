#!/usr/bin/env bash
# flt's GPU tests and benchmarks, for a GPU host that has the NVIDIA driver,
# Python with NumPy (and torch 2.x for the benchmarks) but no LLVM/MLIR:
#
#   scripts/run-gpu-tests.sh pack [DIR]   here: build, compile every GPU
#                                         test's kernels (--target=cuda) and
#                                         the benchmark layers into DIR
#                                         (default build/gpu-bundle), then
#                                         check the bundle's host side on
#                                         the CUDA driver double
#   DIR/run-gpu-tests.sh run [DIR]        on the GPU host, from DIR alone:
#                                         every integration test on the GPU
#                                         (float64 references, docs/Semantics.md 3
#                                         tolerances), compute-sanitizer
#                                         memcheck, then benchmarks/gpu
#
# The integration tests are the CPU ones (test/Integration/cpu) that
# test/Integration/gpu lists; flt_harness.py records their libraries here
# (FLT_TEST_BUNDLE_MODE=record) and replays them there (FLT_TEST_BUNDLE).
set -euo pipefail

mode=${1:-}
here=$(cd "$(dirname "$0")" && pwd)

tests() {
  # The integration tests that test/Integration/gpu runs on the GPU.
  grep -l 'FLT_TEST_TARGET=cuda' "$1"/*.py | xargs -n1 basename | sort
}

bundled_tests() {
  # The tests in a bundle (DIR/tests also holds their input files).
  (cd "$1/tests" && ls -- *.py)
}

case "$mode" in
pack)
  root=$(cd "$here/.." && pwd)
  out=$(realpath -m "${2:-$root/build/gpu-bundle}")
  "$root/scripts/build.sh"
  rm -rf "$out"
  mkdir -p "$out"/{bin,lib,python,tests,kernels}
  cp "$root/build/bin/flt-run" "$out/bin/"
  cp "$root/build/lib/libFLTRuntime.so" "$out/lib/"
  # flt.runtime with its extension (no MLIR); not the compiler.
  cp -r "$root/python_bindings/flt" "$out/python/"
  rm -rf "$out"/python/flt/_native*.so "$out"/python/flt/__pycache__
  cp "$root"/build/python_packages/flt/_runtime*.so "$out/python/flt/"
  cp "$root/test/lib/flt_harness.py" "$out/python/"
  cp "$0" "$out/run-gpu-tests.sh"
  cp "$root/benchmarks/gpu/run_gpu_benchmarks.py" "$out/"
  # raise_attention.py's inputs (it finds them next to itself there).
  mkdir -p "$out/tests/LinalgToFLT"
  cp "$root"/test/Conversion/LinalgToFLT/*.mlir "$out/tests/LinalgToFLT/"
  for t in $(tests "$root/test/Integration/gpu"); do
    cp "$root/test/Integration/cpu/$t" "$out/tests/"
    echo "== recording $t"
    FLT_TEST_TARGET=cuda FLT_TEST_BUNDLE="$out/kernels" \
      FLT_TEST_BUNDLE_MODE=record FLT_TOOLS_DIR="$root/build/bin" \
      PYTHONPATH="$root/build/python_packages:$root/python_bindings:$root/test/lib" \
      /usr/bin/python3 "$root/test/Integration/cpu/$t" > /dev/null
  done
  /usr/bin/python3 "$root/benchmarks/gpu/run_gpu_benchmarks.py" build \
    --build "$root/build" --out "$out"
  # The bundle alone (its flt-run, runtime and kernels), on the CUDA driver
  # double: every library the tests ask for is there, loads its cubin and
  # launches within its kernels' limits, at the benchmarks' lengths too.
  driver="$root/build/test/recording-cuda-driver"
  for t in $(bundled_tests "$out"); do
    echo "== checking $t on the CUDA driver double"
    FLT_TEST_TARGET=cuda-host FLT_TEST_BUNDLE="$out/kernels" \
      FLT_RECORDING_CUDA_DRIVER_DIR="$driver" FLT_TOOLS_DIR="$out/bin" \
      LD_LIBRARY_PATH="$out/lib" PYTHONPATH="$out/python" \
      /usr/bin/python3 "$out/tests/$t" > "$out/check-$t.log" ||
      { cat "$out/check-$t.log"; echo "pack: $t fails on the driver double" >&2; exit 1; }
    rm "$out/check-$t.log"
  done
  echo "== checking the benchmark layers on the CUDA driver double"
  /usr/bin/python3 "$root/benchmarks/gpu/run_gpu_benchmarks.py" check \
    --bundle "$out" --driver "$driver"
  echo "packed $(du -sh "$out" | cut -f1) into $out; on the GPU host run:"
  echo "  $out/run-gpu-tests.sh run $out"
  ;;
run)
  bundle=$(realpath "${2:-$here}")
  export LD_LIBRARY_PATH="$bundle/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  python=${PYTHON:-python3}
  failed=0
  nvidia-smi -L || { echo "run-gpu-tests: no GPU here" >&2; exit 1; }
  # flt.runtime's extension was built for the build machine's Python.
  runtime_python=yes
  PYTHONPATH="$bundle/python" "$python" -c 'import flt._runtime' ||
    runtime_python=no
  for t in $(bundled_tests "$bundle"); do
    echo "== $t"
    if [ $runtime_python = no ] && grep -q 'import flt.runtime' "$bundle/tests/$t"; then
      failed=$((failed + 1))
      echo "NOT RUN: $t: flt._runtime does not load into $python" \
        "(built for $(ls "$bundle"/python/flt/ | grep _runtime); PYTHON= picks another)"
      continue
    fi
    if ! FLT_TEST_TARGET=cuda FLT_TEST_BUNDLE="$bundle/kernels" \
        FLT_TOOLS_DIR="$bundle/bin" PYTHONPATH="$bundle/python" \
        "$python" "$bundle/tests/$t"; then
      failed=$((failed + 1))
      echo "FAILED: $t"
    fi
  done
  sanitizer=$(command -v compute-sanitizer ||
              ls /usr/local/cuda/bin/compute-sanitizer 2>/dev/null || true)
  if [ -n "$sanitizer" ]; then
    echo "== compute-sanitizer memcheck (FLT layer, L = 1000, every dtype)"
    work=$(mktemp -d)
    "$python" - "$work" <<'PY'
import sys, numpy as np
g = np.random.default_rng(0)
L, d = 1000, 64
arrays = [g.standard_normal((1, 8, L, d)).astype(np.float32) for _ in range(3)]
arrays += [g.uniform(0, .2, (1, L, 1)).astype(np.float32),
           g.standard_normal((8, 16, 1)).astype(np.float32),
           np.concatenate([g.uniform(0, 1, (8, 25)), g.normal(0, .1, (8, 50))],
                          1).astype(np.float32)]
for i, a in enumerate(arrays):
    np.save(f"{sys.argv[1]}/in{i}.npy", a)
PY
    for lib in "$bundle"/layer_*.so; do
      if ! "$sanitizer" --tool memcheck --error-exitcode 1 "$bundle/bin/flt-run" \
          "$lib" --function=layer --device=cuda \
          $(for i in 0 1 2 3 4 5; do echo "--input=$work/in$i.npy"; done); then
        failed=$((failed + 1))
        echo "FAILED: memcheck $(basename "$lib")"
      fi
    done
  else
    echo "run-gpu-tests: compute-sanitizer not found: memcheck NOT run"
  fi
  echo "== benchmarks/gpu"
  "$python" "$bundle/run_gpu_benchmarks.py" run --bundle "$bundle" || \
    { failed=$((failed + 1)); echo "FAILED: benchmarks"; }
  echo "run-gpu-tests: $failed failure(s)"
  [ "$failed" -eq 0 ]
  ;;
*)
  sed -n '2,19p' "$0"
  exit 2
  ;;
esac
