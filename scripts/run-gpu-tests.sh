#!/usr/bin/env bash
# flt's GPU tests and benchmarks, for a GPU host that has the NVIDIA driver,
# Python >= 3.9 with NumPy (and torch 2.x for the benchmarks) but no
# LLVM/MLIR:
#
#   scripts/run-gpu-tests.sh pack [DIR]   here: build, compile every GPU
#                                         test's kernels (--target=cuda) and
#                                         the benchmark layers into DIR
#                                         (default build/gpu-bundle), then
#                                         check the bundle's host side on
#                                         the CUDA driver double
#   DIR/run-gpu-tests.sh run [DIR [OUT]]  on the GPU host, from DIR alone,
#                                         within FLT_GPU_BUDGET seconds (330):
#                                         the integration tests in parallel
#                                         with compute-sanitizer memcheck,
#                                         then benchmarks/gpu — flt, SDPA and
#                                         eager timings, an ncu SpeedOfLight
#                                         table, torch.compile last under the
#                                         deadline — every result written to
#                                         OUT (default DIR/results) as soon
#                                         as it exists: run.log, summary.txt,
#                                         tests/*.log, memcheck/*.log,
#                                         gpu_results.{jsonl,json,txt,png},
#                                         ncu_bf16_full_L16384.txt
#
# FLT_GPU_DRY_RUN=D runs `run` here on the CUDA driver double in D (kernels
# do not run, results are not compared, torch runs on the CPU at short
# lengths): a check of the run's plumbing (test/Tools/gpu_bundle_dry_run.py).
# pack takes FLT_GPU_PACK_TESTS (test names) and FLT_GPU_PACK_LAYERS
# (e.g. "bf16-full") to make a smaller bundle, and FLT_GPU_CHECK_LENGTHS for
# its check of the benchmark layers.
#
# The integration tests are the CPU ones (test/Integration/cpu) that
# test/Integration/gpu lists; flt_harness.py records their libraries here
# (FLT_TEST_BUNDLE_MODE=record) and replays them there (FLT_TEST_BUNDLE).
# The bundle holds no compiled Python extension: flt.runtime is ctypes over
# DIR/lib/libFLTRuntime.so, so any CPython >= 3.9 runs it.
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
  build=${FLT_BUILD_DIR:-$root/build}
  # (The lit test of the dry run packs from the tree it tests, built.)
  [ -n "${FLT_GPU_PACK_SKIP_BUILD:-}" ] ||
    FLT_BUILD_DIR=$build "$root/scripts/build.sh"
  rm -rf "$out"
  mkdir -p "$out"/{bin,lib,python,tests,kernels}
  cp "$build/bin/flt-run" "$out/bin/"
  cp "$build/lib/libFLTRuntime.so" "$out/lib/"
  # The pure-Python package (flt.runtime finds DIR/lib/libFLTRuntime.so);
  # not the compiler's extension.
  cp -r "$root/python_bindings/flt" "$out/python/"
  find "$out/python" \( -name '*.so' -o -name __pycache__ \) -prune \
    -exec rm -rf {} +
  cp "$root/test/lib/flt_harness.py" "$out/python/"
  cp "$0" "$out/run-gpu-tests.sh"
  cp "$root/benchmarks/gpu/run_gpu_benchmarks.py" "$out/"
  # raise_attention.py's inputs (it finds them next to itself there).
  mkdir -p "$out/tests/LinalgToFLT"
  cp "$root"/test/Conversion/LinalgToFLT/*.mlir "$out/tests/LinalgToFLT/"
  for t in ${FLT_GPU_PACK_TESTS:-$(tests "$root/test/Integration/gpu")}; do
    cp "$root/test/Integration/cpu/$t" "$out/tests/"
    echo "== recording $t"
    FLT_TEST_TARGET=cuda FLT_TEST_BUNDLE="$out/kernels" \
      FLT_TEST_BUNDLE_MODE=record FLT_TOOLS_DIR="$build/bin" \
      PYTHONPATH="$build/python_packages:$root/python_bindings:$root/test/lib" \
      /usr/bin/python3 "$root/test/Integration/cpu/$t" > /dev/null
  done
  # shellcheck disable=SC2086
  /usr/bin/python3 "$root/benchmarks/gpu/run_gpu_benchmarks.py" build \
    --build "$build" --out "$out" \
    ${FLT_GPU_PACK_LAYERS:+--configs $FLT_GPU_PACK_LAYERS}
  # The bundle alone (its flt-run, runtime and kernels), on the CUDA driver
  # double: every library the tests ask for is there, loads its cubin and
  # launches within its kernels' limits, at the benchmarks' lengths too.
  driver="$build/test/recording-cuda-driver"
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
  # shellcheck disable=SC2086
  /usr/bin/python3 "$root/benchmarks/gpu/run_gpu_benchmarks.py" check \
    --bundle "$out" --driver "$driver" \
    ${FLT_GPU_CHECK_LENGTHS:+--lengths $FLT_GPU_CHECK_LENGTHS}
  # What the checks left (bytecode of the build machine's Python).
  find "$out" -name __pycache__ -prune -exec rm -rf {} +
  echo "packed $(du -sh "$out" | cut -f1) into $out; on the GPU host run:"
  echo "  $out/run-gpu-tests.sh run $out [OUT]"
  ;;

one-test)
  # run's worker: one test with what is left of the tests' time.
  bundle=$2 out=$3 t=$4 until=$5 target=$6
  left=$((until - $(date +%s)))
  if [ "$left" -lt 5 ]; then
    echo "NOT RUN (time) $t" >> "$out/tests/status"
    exit 0
  fi
  status=0
  FLT_TEST_TARGET=$target FLT_TEST_BUNDLE="$bundle/kernels" \
    FLT_TOOLS_DIR="$bundle/bin" PYTHONPATH="$bundle/python" \
    timeout -k 5 "$left" "${PYTHON:-python3}" "$bundle/tests/$t" \
    > "$out/tests/$t.log" 2>&1 || status=$?
  case $status in
  0) word=PASSED ;;
  124 | 137) word="TIMED OUT" ;;
  *) word="FAILED (exit $status)" ;;
  esac
  echo "$word $t" >> "$out/tests/status"
  echo "$word $t"
  ;;

run)
  bundle=$(realpath "${2:-$here}")
  out=$(realpath -m "${3:-$bundle/results}")
  mkdir -p "$out/tests" "$out/memcheck"
  : > "$out/tests/status"
  exec > >(tee -a "$out/run.log") 2>&1
  start=$(date +%s)
  budget=${FLT_GPU_BUDGET:-330}
  deadline=$((start + budget))
  left() { echo $((deadline - $(date +%s))); }
  note() { echo "$* [$(($(date +%s) - start)) s]" | tee -a "$out/summary.txt"; }
  python=${PYTHON:-python3}
  export PYTHON=$python
  export LD_LIBRARY_PATH="$bundle/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  dry=${FLT_GPU_DRY_RUN:-}
  jobs=${FLT_GPU_JOBS:-$(nproc)}
  note "run-gpu-tests: $(date -u +%FT%TZ), budget ${budget} s, $jobs jobs," \
    "results in $out"
  if [ -n "$dry" ]; then
    # The CUDA driver double stands in for the GPU.
    export LD_LIBRARY_PATH="$dry:$LD_LIBRARY_PATH"
    # (The harness's cuda-host target checks each flt-run's trace there.)
    export FLT_RECORDING_CUDA_DRIVER_DIR="$dry"
    target=cuda-host
    bench_extra=(--dry-run --lengths ${FLT_GPU_DRY_LENGTHS:-128 256} --reps 2)
    note "DRY RUN on the CUDA driver double in $dry: no kernel runs"
  else
    nvidia-smi -L || { note "run-gpu-tests: no GPU here"; exit 1; }
    target=cuda
    bench_extra=()
  fi
  "$python" -c 'import sys; assert sys.version_info >= (3, 9), sys.version' ||
    { note "run-gpu-tests: $python is older than Python 3.9"; exit 1; }
  PYTHONPATH="$bundle/python" "$python" -c \
    'import sys, numpy, flt.runtime; print("python", sys.version.split()[0], "numpy", numpy.__version__, "runtime", flt.runtime.library_path())' ||
    { note "run-gpu-tests: flt.runtime does not load into $python"; exit 1; }

  # 1. Tests in parallel, and memcheck of every benchmark layer beside them
  #    (the GPU is shared; nothing here is timed).
  tests_until=$((start + ${FLT_GPU_TEST_BUDGET:-150}))
  sanitizer=$(command -v compute-sanitizer ||
              ls /usr/local/cuda/bin/compute-sanitizer 2>/dev/null || true)
  memcheck_pid=
  if [ -n "$sanitizer" ]; then
    echo "== compute-sanitizer memcheck (FLT layer, L = 1000, every layer)"
    (
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
        name=$(basename "$lib" .so)
        status=0
        timeout -k 5 $((tests_until - $(date +%s))) "$sanitizer" --tool \
          memcheck --error-exitcode 1 "$bundle/bin/flt-run" "$lib" \
          --function=layer --device=cuda \
          $(for i in 0 1 2 3 4 5; do echo "--input=$work/in$i.npy"; done) \
          > "$out/memcheck/$name.log" 2>&1 || status=$?
        if [ $status -eq 0 ]; then
          echo "PASSED memcheck $name" | tee -a "$out/memcheck/status"
        else
          echo "FAILED memcheck $name (exit $status)" |
            tee -a "$out/memcheck/status"
        fi
      done
      rm -rf "$work"
    ) &
    memcheck_pid=$!
  else
    note "compute-sanitizer not found: memcheck NOT run"
  fi
  echo "== integration tests ($jobs at a time, until $((tests_until - start)) s)"
  bundled_tests "$bundle" | xargs -P "$jobs" -I{} \
    "$bundle/run-gpu-tests.sh" one-test "$bundle" "$out" {} "$tests_until" \
    "$target" || true
  [ -z "$memcheck_pid" ] || wait "$memcheck_pid" || true
  note "tests: $(grep -c '^PASSED' "$out/tests/status" || true) passed of" \
    "$(bundled_tests "$bundle" | wc -l); $(grep -v '^PASSED' \
    "$out/tests/status" | tr '\n' ';' || true)"
  [ ! -f "$out/memcheck/status" ] || note "memcheck: $(tr '\n' ';' \
    < "$out/memcheck/status")"

  # 2. The benchmark, alone on the GPU: flt / SDPA / eager first, most
  #    important configuration first, each under its share of the time;
  #    then ncu; then torch.compile until the deadline.
  bench=("$python" "$bundle/run_gpu_benchmarks.py" run --bundle "$bundle"
         --out "$out")
  ncu_budget=${FLT_GPU_NCU_BUDGET:-60}
  [ -z "$dry" ] || ncu_budget=0
  reserve=$((ncu_budget + ${FLT_GPU_COMPILE_BUDGET:-60}))
  configs=()
  for config in bf16-full bf16-causal f32-full f32-causal; do
    if [ ! -f "$bundle/layer_${config/-/_}.so" ]; then
      note "timings $config: no layer_${config/-/_}.so in the bundle"
      continue
    fi
    configs+=("$config")
    share=$(($(left) - reserve))
    if [ "$share" -lt 10 ]; then
      note "timings $config: NOT RUN ($(left) s left)"
      continue
    fi
    echo "== benchmark timings: $config (up to $share s)"
    PYTHONPATH="$bundle/python" timeout -k 5 "$share" "${bench[@]}" \
      --phase timings --configs "$config" "${bench_extra[@]}" ||
      note "timings $config: exit $? (rows so far are kept)"
  done
  if [ -z "$dry" ]; then
    share=$(($(left) - ${FLT_GPU_COMPILE_BUDGET:-60}))
    if [ "$share" -ge 20 ]; then
      echo "== ncu SpeedOfLight (bf16, L = 16384; up to $share s)"
      timeout -k 5 "$share" "${bench[@]}" --phase ncu ||
        note "ncu: exit $?"
    else
      note "ncu: NOT RUN ($(left) s left)"
    fi
  else
    note "ncu: not run in the dry run"
  fi
  echo "== torch.compile (until $(($(left) - 10)) s from now)"
  timeout -k 5 "$(($(left) > 15 ? $(left) - 5 : 10))" "${bench[@]}" \
    --phase compile --deadline $((deadline - 10)) --configs "${configs[@]}" \
    "${bench_extra[@]}" ||
    note "compile: exit $? (rows so far are kept)"
  "${bench[@]}" --phase report > /dev/null || true
  failed=$(grep -vc '^PASSED' "$out/tests/status" || true)
  if [ -f "$out/memcheck/status" ]; then
    failed=$((failed + $(grep -vc '^PASSED' "$out/memcheck/status" || true)))
  fi
  note "run-gpu-tests: $failed failure(s), $(($(date +%s) - start)) s;" \
    "results in $out"
  [ "$failed" -eq 0 ]
  ;;
*)
  sed -n '2,36p' "$0"
  exit 2
  ;;
esac
