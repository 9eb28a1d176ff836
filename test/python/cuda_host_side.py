# flt.compile(target="cuda") and calls from Python, on the CUDA driver double
# (test/lib/RecordingCudaDriver.cpp: no GPU, kernels do not run): results
# come back with the declared shapes, a driver failure in one call is a
# RuntimeError naming it and the next call works, and nothing is left on
# the device when the interpreter exits.
# REQUIRES: python-bindings
# RUN: env LD_LIBRARY_PATH=%recording_cuda_driver_dir \
# RUN:   FLT_RECORDING_DRIVER_TRACE=%t.trace \
# RUN:   FLT_RECORDING_DRIVER_FAIL=cuLaunchKernel@4 %python %s | FileCheck %s
# RUN: FileCheck %s --check-prefix=TRACE < %t.trace

import numpy as np

import flt

B, H, L, m, r, e = 1, 2, 40, 16, 8, 16
F, V, P = (f"tensor<{B}x{H}x?x{n}xf32>" for n in (m, e, r))
module = flt.compile(f"""
func.func @la(%fq: {F}, %fk: {F}, %v: {V}, %phi: {P}, %psi: {P}) -> {V} {{
  %o = flt.linear_attention %fq, %fk, %v rpe(%phi, %psi) : {F}, {F}, {V}, {P}, {P} -> {V}
  return %o : {V}
}}""", target="cuda", linear_attention_form="linear")

g = np.random.default_rng(0)
inputs = [g.random((B, H, L, n), np.float32) for n in (m, m, e, r, r)]

# CHECK: call 1: (1, 2, 40, 16) float32
# CHECK: call 2: RuntimeError: running 'la' on the GPU: cuLaunchKernel failed: unspecified launch failure (CUDA error 719)
# CHECK: call 3: (1, 2, 40, 16) float32
for call in (1, 2, 3):
    try:
        out = module.la(*inputs)
        print(f"call {call}: {out.shape} {out.dtype}")
    except RuntimeError as error:
        print(f"call {call}: RuntimeError: {error}")

# TRACE: cuModuleLoadData sm_90 cubin: __flt_fn_la_kernel __flt_fn_la_kernel_0 __flt_fn_la_kernel_1
# TRACE: cuLaunchKernel: injected failure
# TRACE-NOT: violation
# TRACE: exit: 0 allocations live (0 bytes), 0 streams, 0 events, 0 host registrations, 0 violations
