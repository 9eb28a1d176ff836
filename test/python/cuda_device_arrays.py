# Device arguments from Python on the CUDA driver double
# (test/lib/RecordingCudaDriver.cpp: no GPU, the kernels do not run, device
# memory holds NaN bytes): module.to_device copies arrays in, a call on
# DeviceArrays passes their pointers to the kernels and returns the kernels'
# own result buffers as DeviceArrays (no copy through the host), wrong
# arguments are ValueErrors naming them, a driver failure is a
# RuntimeError, and every buffer is freed by the time the interpreter exits.
# REQUIRES: python-bindings
# RUN: flt-compile %S/Inputs/linear_attention_rpe.mlir --target=cuda -o %t.so
# RUN: flt-compile %S/Inputs/linear_attention_rpe.mlir -o %t.cpu.so
# RUN: sed 's/x16xf32>/x16xbf16>/g' %S/Inputs/linear_attention_rpe.mlir > %t.bf16.mlir
# RUN: flt-compile %t.bf16.mlir --target=cuda -o %t.bf16.so
# RUN: env LD_LIBRARY_PATH=%recording_cuda_driver_dir \
# RUN:   FLT_RECORDING_DRIVER_TRACE=%t.trace \
# RUN:   FLT_RECORDING_DRIVER_FAIL=cuLaunchKernel@4 \
# RUN:   %python %s %t.so %t.cpu.so %t.bf16.so | FileCheck %s
# RUN: FileCheck %s --check-prefix=TRACE < %t.trace

import sys

import numpy as np

import flt.runtime

module = flt.runtime.load(sys.argv[1])
rng = np.random.default_rng(0)
L = 40
host = [rng.random((1, 2, L, n), np.float32) for n in (16, 16, 16, 8, 8)]
device = [module.to_device(a) for a in host]
# CHECK: f32 (1, 2, 40, 16) {{True}}
print(device[0].dtype, device[0].shape, device[0].pointer != 0)
interface = device[0].__cuda_array_interface__
# CHECK: <f4 (1, 2, 40, 16) 3 False
print(interface["typestr"], interface["shape"], interface["version"],
      interface["data"][1])

# The first call launches 3 kernels; the injected failure hits the second.
out = module.la(*device)
# CHECK: call 1: <flt.DeviceArray f32 [1, 2, 40, 16] at 0x{{[0-9a-f]+}}>
print("call 1:", out)
# CHECK: host copy (1, 2, 40, 16) float32
print("host copy", out.numpy().shape, out.numpy().dtype)
# CHECK: call 2: RuntimeError: running 'la' on the GPU: cuLaunchKernel failed: unspecified launch failure (CUDA error 719)
try:
    module.la(*device)
except RuntimeError as error:
    print(f"call 2: RuntimeError: {error}")
# CHECK: call 3: (1, 2, 40, 16)
print("call 3:", module.la(*device).shape)


def expect_value_error(label, *args, target=module):
    try:
        target.la(*args)
        print(f"{label}: accepted")
    except ValueError as error:
        print(f"{label}: {error}")


# CHECK: mixed: argument 4 ('arg4') of la: the other arguments are on the GPU; expected a torch CUDA tensor or a flt.DeviceArray, got ndarray on the host
expect_value_error("mixed", *device[:4], host[4])
# CHECK: dtype: argument 0 ('arg0') of la: expected dtype f32, got f64
expect_value_error("dtype", module.to_device(host[0].astype(np.float64)),
                   *device[1:])
# CHECK: rank: argument 1 ('arg1') of la: expected shape [1, 2, ?, 16], got [2, 40, 16]
expect_value_error("rank", device[0], module.to_device(host[1][0]),
                   *device[2:])
# The library's own check of the dynamic sizes, before any kernel runs.
# CHECK: length: input sizes of 'la' disagree: flt.linear_attention: 'v' S must equal 'fk' S; inputs were f32 [1, 2, 40, 16], f32 [1, 2, 39, 16],
expect_value_error("length", device[0],
                   module.to_device(host[1][:, :, 1:]), *device[2:])
# CHECK: other module: argument 0 ('arg0') of la: a DeviceArray of another module
expect_value_error("other module", flt.runtime.load(sys.argv[1]).to_device(
    host[0]), *device[1:])
# CHECK: cpu: la was compiled for cpu; GPU arguments need a library compiled with target='cuda'
expect_value_error("cpu", *device, target=flt.runtime.load(sys.argv[2]))
freed = module.to_device(host[0])
freed.free()
# CHECK: freed: <flt.DeviceArray f32 [1, 2, 40, 16] at 0x{{[0-9a-f]+}}, freed>: used after free()
expect_value_error("freed", freed, *device[1:])

# bf16: float32 arrays rounded on the way in, float32 on the way out.
half = flt.runtime.load(sys.argv[3])
halves = ([half.to_device(a, dtype="bf16") for a in host[:3]] +
          [half.to_device(a) for a in host[3:]])
result = half.la(*halves)
# CHECK: bf16: bf16 <i2 float32
print("bf16:", result.dtype, result.__cuda_array_interface__["typestr"],
      result.numpy().dtype)
# CHECK: to_device: expected a float32 array (rounded to bf16) for a bf16 argument, got float64
try:
    half.to_device(host[0].astype(np.float64), dtype="bf16")
except ValueError as error:
    print(error)

# TRACE: cuLaunchKernel: injected failure
# TRACE-NOT: violation
# TRACE: exit: 0 allocations live (0 bytes), 0 streams, 0 events, 0 host registrations, 0 violations
