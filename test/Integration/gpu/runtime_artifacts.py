# What is copied to a GPU host — a library made by flt-compile
# --target=cuda, libFLTRuntime, flt-run and flt.runtime (pure Python: ctypes
# over libFLTRuntime) — needs neither libMLIR nor
# libLLVM, nor libomp, libcuda or the CUDA toolkit: the driver is
# dlopen'ed at run time. Where there is no driver, flt-run --device=cuda
# says so in one line and exits 1, and a CUDA library refuses --device=cpu.
# RUN: %python %s

import ctypes
import importlib.util
import os
import subprocess

import numpy as np

os.environ["FLT_TEST_TARGET"] = "cpu"  # the flags below say what to build
from flt_harness import Library, expect, finish, func, tool, ttype  # noqa: E402

X = ttype((1, 2, 1, 8), dynamic=(2,))
lib = Library([func("relu", [("x", X)],
                    [f"%o = flt.feature_map %x {{kernel = #flt.kernel<relu>}}"
                     f" : {X} -> {X}"], [("%o", X)])],
              flags=["--target=cuda", "--sanitize-address=false"])

runtime = os.path.join(os.path.dirname(os.path.abspath(tool("flt-run"))),
                       "..", "lib", "libFLTRuntime.so")
artifacts = [("the CUDA library", lib.path), ("libFLTRuntime", runtime),
             ("flt-run", tool("flt-run"))]
# flt.runtime is Python alone, over that libFLTRuntime: no extension of
# its own, which would tie it to one Python version.
for module in ("flt.runtime", "flt._capi"):
    spec = importlib.util.find_spec(module)
    expect(f"{module} is pure Python", spec is not None and
           spec.origin.endswith(".py"), spec.origin if spec else "missing")
for label, path in artifacts:
    needed = subprocess.run(["ldd", path], capture_output=True, text=True,
                            check=True).stdout
    bad = [line.split()[0] for line in needed.splitlines()
           if any(name in line for name in ("libMLIR", "libLLVM", "libomp",
                                            "libcuda", "libcudart"))]
    expect(f"{label} needs no MLIR, LLVM, OpenMP or CUDA library", not bad,
           f"({', '.join(bad)})")

symbols = subprocess.run(
    ["/usr/lib/llvm-22/bin/llvm-nm", "-D", lib.path], capture_output=True,
    text=True, check=True).stdout.split("\n")
defined = {line.split()[-1] for line in symbols
           if len(line.split()) == 3 and line.split()[1] == "T"}
for name in ("mgpuModuleLoad", "mgpuLaunchKernel", "mgpuMemAlloc",
             "fltCudaInitialize", "__flt_call_relu"):
    expect(f"the CUDA library defines {name}", name in defined)

try:
    ctypes.CDLL("libcuda.so.1")
    has_driver = True
except OSError:
    has_driver = False
x = os.path.join(lib.dir, "x.npy")
np.save(x, np.ones((1, 2, 3, 8), np.float32))
if not has_driver:
    done = subprocess.run([tool("flt-run"), lib.path, "--function=relu",
                           f"--input={x}", "--device=cuda"],
                          capture_output=True, text=True)
    lines = done.stderr.strip().splitlines()
    expect("--device=cuda without a driver: exit 1", done.returncode == 1)
    expect("--device=cuda without a driver: one line naming the driver",
           len(lines) == 1 and "no CUDA driver" in lines[0], done.stderr)
done = subprocess.run([tool("flt-run"), lib.path, "--function=relu",
                       f"--input={x}"], capture_output=True, text=True)
expect("a CUDA library on --device=cpu: exit 1 with one line",
       done.returncode == 1 and "compiled for cuda" in done.stderr and
       len(done.stderr.strip().splitlines()) == 1, done.stderr)
finish()
