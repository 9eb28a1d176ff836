// Symbol names that would collide with a library's own symbols. Names with
// a prefix flt reserves (its ABI, MLIR's C interfaces, the CUDA runtime) are
// refused, public or private, function or not; a called function that
// nothing defines is a compile error, not a library that does not load.
// Functions named like what the kernels import (malloc, free, expf, the
// OpenMP runtime) compile and run as themselves: flt compiles the module's
// functions under its own prefix.
// RUN: split-file %s %t
// RUN: not flt-compile %t/call.mlir -o %t/a.so 2>&1 | FileCheck %s --check-prefix=CALL
// RUN: not flt-compile %t/info.mlir -o %t/a.so 2>&1 | FileCheck %s --check-prefix=INFO
// RUN: not flt-compile %t/ciface.mlir -o %t/a.so 2>&1 | FileCheck %s --check-prefix=CIFACE
// RUN: not flt-compile %t/wrapper.mlir -o %t/a.so --target=cuda 2>&1 | FileCheck %s --check-prefix=WRAPPER
// RUN: not flt-compile %t/external.mlir -o %t/b.so 2>&1 | FileCheck %s --check-prefix=EXTERNAL
// RUN: not flt-compile %t/external.mlir -o %t/b.so --target=cuda 2>&1 | FileCheck %s --check-prefix=EXTERNAL-CUDA
// RUN: not test -e %t/b.so
// RUN: flt-compile %t/libc.mlir -o %t/c.so
// RUN: llvm-nm -D --undefined-only %t/c.so | FileCheck %s --check-prefix=IMPORTS
// RUN: %python %S/Inputs/libc_named_functions.py %t/c.so | FileCheck %s --check-prefix=LIBC

// CALL: call.mlir:2:1: error: flt-compile: the name '@__flt_call_f' starts with '__flt_', which flt reserves
// INFO: info.mlir:1:1: error: flt-compile: the name '@__flt_module_info' starts with '__flt_'
// CIFACE: ciface.mlir:1:1: error: flt-compile: the name '@_mlir_ciface_f' starts with '_mlir_'
// WRAPPER: wrapper.mlir:1:1: error: flt-compile: the name '@mgpuMemAlloc' starts with 'mgpu'
// EXTERNAL: external.mlir:1:1: error: flt-compile: the kernels call 'foo', which the module does not define and none of the libraries they link with (libc, libm, libomp) provides
// EXTERNAL-CUDA: the kernels call 'foo', {{.*}}(libc, libm, flt's CUDA runtime)

// The kernels do import what the module's functions are named like.
// IMPORTS-DAG: U __kmpc_fork_call
// IMPORTS-DAG: U sincos
// IMPORTS-DAG: U malloc
// LIBC: malloc: ok
// LIBC: expf: ok
// LIBC: sincos: ok
// LIBC: __kmpc_fork_call: ok

//--- call.mlir
func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> { return %x : tensor<4xf32> }
func.func @__flt_call_f(%x: tensor<4xf32>) -> tensor<4xf32> { return %x : tensor<4xf32> }
//--- info.mlir
func.func private @__flt_module_info(%x: tensor<4xf32>) -> tensor<4xf32> { return %x : tensor<4xf32> }
func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> { return %x : tensor<4xf32> }
//--- ciface.mlir
memref.global "private" constant @_mlir_ciface_f : memref<4xf32> = dense<0.0>
func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> { return %x : tensor<4xf32> }
//--- wrapper.mlir
func.func @mgpuMemAlloc(%x: tensor<4xf32>) -> tensor<4xf32> { return %x : tensor<4xf32> }
//--- external.mlir
func.func private @foo(%x: tensor<2x2x?x2xf32>) -> tensor<2x2x?x2xf32>
func.func @f(%x: tensor<2x2x?x2xf32>) -> tensor<2x2x?x2xf32> {
  %y = func.call @foo(%x) : (tensor<2x2x?x2xf32>) -> tensor<2x2x?x2xf32>
  return %y : tensor<2x2x?x2xf32>
}
//--- libc.mlir
// malloc and expf (through a private @free) are elu(x) + 1; sincos is a
// rotary transform (whose kernels call libm's sincos); __kmpc_fork_call (the
// OpenMP runtime's entry, which the kernels call) is linear attention.
func.func private @free(%x: tensor<2x2x?x2xf32>) -> tensor<2x2x?x2xf32> {
  %f = flt.feature_map %x {kernel = #flt.kernel<elu_plus_one>} : tensor<2x2x?x2xf32> -> tensor<2x2x?x2xf32>
  return %f : tensor<2x2x?x2xf32>
}
func.func @expf(%x: tensor<2x2x?x2xf32>) -> tensor<2x2x?x2xf32> {
  %y = func.call @free(%x) : (tensor<2x2x?x2xf32>) -> tensor<2x2x?x2xf32>
  return %y : tensor<2x2x?x2xf32>
}
func.func @malloc(%x: tensor<2x2x?x2xf32>) -> tensor<2x2x?x2xf32> {
  %f = flt.feature_map %x {kernel = #flt.kernel<elu_plus_one>} : tensor<2x2x?x2xf32> -> tensor<2x2x?x2xf32>
  return %f : tensor<2x2x?x2xf32>
}
func.func @sincos(%x: tensor<2x2x?x2xf32>, %t: tensor<2x1xf32>) -> tensor<2x2x?x2xf32> {
  %y = flt.position_transform %x, %t {core = #flt.lrpe_core<rotary>} : tensor<2x2x?x2xf32>, tensor<2x1xf32> -> tensor<2x2x?x2xf32>
  return %y : tensor<2x2x?x2xf32>
}
func.func @__kmpc_fork_call(%x: tensor<2x2x?x2xf32>) -> tensor<2x2x?x2xf32> {
  %o = flt.linear_attention %x, %x, %x : tensor<2x2x?x2xf32>, tensor<2x2x?x2xf32>, tensor<2x2x?x2xf32> -> tensor<2x2x?x2xf32>
  return %o : tensor<2x2x?x2xf32>
}
