# scripts/run-gpu-tests.sh end to end here, on the CUDA driver double: pack
# a small bundle (python_runtime.py's kernels and the bf16 non-causal
# benchmark layer), then run the bundle's own `run` in its dry mode
# (FLT_GPU_DRY_RUN): the tests as cuda-host, the benchmark's phases in
# order, and every result in the folder named — the log, the summary, each
# test's log, gpu_results.{jsonl,json,txt,png}. The bundle carries no
# compiled Python module (flt.runtime is ctypes), stays small, and its
# Python files compile under every CPython >= 3.9 found on this machine.
# REQUIRES: python-bindings
# RUN: rm -rf %t && mkdir -p %t
# RUN: %python %s %t

import glob
import json
import os
import subprocess
import sys
import time

from flt_harness import expect, finish

work = sys.argv[1]
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
build = os.path.dirname(os.environ["FLT_TOOLS_DIR"])
driver = os.environ["FLT_RECORDING_CUDA_DRIVER_DIR"]
bundle, out = os.path.join(work, "bundle"), os.path.join(work, "out")

env = dict(os.environ, FLT_GPU_PACK_SKIP_BUILD="1", FLT_BUILD_DIR=build,
           FLT_GPU_PACK_TESTS="python_runtime.py",
           FLT_GPU_PACK_LAYERS="bf16-full", FLT_GPU_CHECK_LENGTHS="256")
env.pop("FLT_TEST_TARGET", None)
begun = time.time()
done = subprocess.run([os.path.join(root, "scripts", "run-gpu-tests.sh"),
                       "pack", bundle], env=env, capture_output=True,
                      text=True)
expect("pack: exit 0", done.returncode == 0,
       (done.stdout + done.stderr)[-2000:])
print(f"pack: {time.time() - begun:.0f} s")

size = sum(os.path.getsize(p) for p in glob.glob(
    os.path.join(bundle, "**"), recursive=True) if os.path.isfile(p))
expect("the bundle is under 30 MB", size < 30 << 20, f"({size} bytes)")
compiled = [p for p in glob.glob(os.path.join(bundle, "**"), recursive=True)
            if p.endswith((".pyd", ".pyc")) or "__pycache__" in p or
            (p.endswith(".so") and "/python/" in p)]
expect("the bundle's Python is source only", not compiled, str(compiled))

# Its Python under every interpreter >= 3.9 here (compiled, not run: they
# have no NumPy).
sources = glob.glob(os.path.join(bundle, "**", "*.py"), recursive=True)
pythons = set(glob.glob("/root/.pyenv/versions/3.*/bin/python3")) | {
    sys.executable}
for python in sorted(pythons):
    version = subprocess.run([python, "-c", "import sys; print("
                              "sys.version_info >= (3, 9), "
                              "sys.version.split()[0])"],
                             capture_output=True, text=True).stdout.split()
    if not version or version[0] != "True":
        continue
    checked = subprocess.run(
        [python, "-c", "import sys\nfor p in sys.argv[1:]:\n"
         "    compile(open(p).read(), p, 'exec')", *sources],
        capture_output=True, text=True)
    expect(f"the bundle's Python compiles under {version[1]}",
           checked.returncode == 0, checked.stderr[-500:])

env = dict(os.environ, FLT_GPU_DRY_RUN=driver, FLT_GPU_BUDGET="150",
           FLT_GPU_TEST_BUDGET="60", FLT_GPU_COMPILE_BUDGET="20",
           FLT_GPU_JOBS="2", PYTHON=sys.executable)
# Only what a GPU host would have, and FLT_GPU_DRY_RUN.
for name in ("FLT_TEST_TARGET", "FLT_RECORDING_CUDA_DRIVER_DIR",
             "FLT_TOOLS_DIR", "PYTHONPATH", "LD_LIBRARY_PATH"):
    env.pop(name, None)
begun = time.time()
done = subprocess.run([os.path.join(bundle, "run-gpu-tests.sh"), "run",
                       bundle, out], env=env, capture_output=True, text=True)
took = time.time() - begun
print(f"run (dry): {took:.0f} s")
expect("run: exit 0", done.returncode == 0, done.stdout[-3000:])
for name in ("run.log", "summary.txt", "gpu_results.jsonl",
             "gpu_results.json", "gpu_results.txt", "gpu_results.png",
             "tests/python_runtime.py.log"):
    expect(f"OUT has {name}", os.path.exists(os.path.join(out, name)))
summary = open(os.path.join(out, "summary.txt")).read()
expect("the summary counts the test", "tests: 1 passed of 1;" in summary,
       summary)
expect("the summary ends with no failure", "0 failure(s)" in summary)
rows = json.load(open(os.path.join(out, "gpu_results.json")))
expect("a row per length of the bf16 layer",
       [(r["dtype"], r["causal"], r["L"]) for r in rows] ==
       [("bf16", False, 128), ("bf16", False, 256)], str(rows))
expect("each row has flt's time, eager's and an SDPA entry",
       all("flt_ms" in r and "eager_ms" in r and
           ("sdpa_ms" in r or "sdpa_error" in r) for r in rows), str(rows))
expect("each row has a torch.compile entry",
       all("compile_ms" in r or "compile_error" in r for r in rows))
log = open(os.path.join(out, "run.log")).read()
order = [log.find(s) for s in ("== integration tests", "benchmark timings",
                                "== torch.compile")]
expect("tests, timings, then torch.compile", -1 not in order and
       order == sorted(order), str(order))
finish()
