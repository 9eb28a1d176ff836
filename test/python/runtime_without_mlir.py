# flt.runtime needs neither libMLIR nor libLLVM, nor any compiled extension:
# it is ctypes over libFLTRuntime (which links neither), and with the
# compiler's extension flt._native made unimportable a library built by
# flt-compile still loads, runs and matches the float64 reference. This is
# what lets flt.runtime run on a GPU host that has only the compiled
# libraries and the runtime, under any CPython >= 3.9.
# REQUIRES: python-bindings
# RUN: flt-compile %S/Inputs/linear_attention_rpe.mlir -o %t.so
# RUN: %python %s %t.so | FileCheck %s
# RUN: %python -c "import flt.runtime as r; print(r.library_path())" | xargs ldd | FileCheck %s --check-prefix=LDD

# LDD-NOT: {{libMLIR|libLLVM}}
# LDD: libc.so
# LDD-NOT: {{libMLIR|libLLVM}}

import sys

sys.modules["flt._native"] = None  # any import of the compiler now fails

import numpy as np

import flt
import flt.runtime

# CHECK: compiled modules of flt: []
print("compiled modules of flt:", sorted(
    name for name, module in sys.modules.items()
    if name.split(".")[0] == "flt" and module is not None and
    not str(getattr(module, "__file__", "")).endswith(".py")))

try:
    flt.compile("func.func @f() { return }")
except ImportError:
    # CHECK: the compiler is unavailable
    print("the compiler is unavailable")

kernels = flt.runtime.load(sys.argv[1], arg_names={
    "la": ["fq", "fk", "v", "phi", "psi"]})
# CHECK: cpu <flt function la(fq: f32 [1, 2, ?, 16], fk: f32 [1, 2, ?, 16], v: f32 [1, 2, ?, 16], phi: f32 [1, 2, ?, 8], psi: f32 [1, 2, ?, 8]) -> (f32 [1, 2, ?, 16])>
print(kernels.target, kernels.la)

rng = np.random.default_rng(0)
L = 37
fq, fk, v = (rng.random((1, 2, L, 16), np.float32) for _ in range(3))
phi, psi = (rng.random((1, 2, L, 8), np.float32) for _ in range(2))
out = kernels.la(fq, fk, v, phi, psi)
ok, rms, peak = flt.reference.compare(
    out, flt.reference.linear_attention(fq, fk, v, phi, psi))
assert ok, (rms, peak)
# CHECK: la ok (1, 2, 37, 16)
print("la ok", out.shape)

# CHECK: ValueError: la takes 5 arguments (fq, fk, v, phi, psi), got 4
try:
    kernels.la(fq, fk, v, phi)
except ValueError as error:
    print(f"ValueError: {error}")
# A CPU library refuses GPU memory.
# CHECK: ValueError: to_device: the module was compiled for cpu, not target='cuda'
try:
    kernels.to_device(fq)
except ValueError as error:
    print(f"ValueError: {error}")
