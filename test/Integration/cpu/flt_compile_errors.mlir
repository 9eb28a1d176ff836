// flt-compile reports what it cannot compile with one error and status 1.
// RUN: split-file %s %t
// RUN: not flt-compile %t/scalar.mlir -o %t/a.so 2>&1 | FileCheck %s --check-prefix=SCALAR
// RUN: not flt-compile %t/empty.mlir -o %t/b.so 2>&1 | FileCheck %s --check-prefix=EMPTY
// RUN: not flt-compile %t/invalid.mlir -o %t/c.so 2>&1 | FileCheck %s --check-prefix=INVALID
// RUN: not flt-compile %t/missing.mlir -o %t/d.so 2>&1 | FileCheck %s --check-prefix=MISSING
// RUN: not flt-compile %t/empty.mlir -o %t/e.so --target=tpu 2>&1 | FileCheck %s --check-prefix=TARGET
// RUN: not flt-compile %t/scalar.mlir -o %t/f.so --token-tile=-1 2>&1 | FileCheck %s --check-prefix=TOKEN
// RUN: not flt-compile %t/scalar.mlir -o %t/g.so --target=cuda --threads-per-block=2048 2>&1 | FileCheck %s --check-prefix=TILE
// RUN: not flt-compile %t/scalar.mlir -o %t/h.ptx --emit=ptx 2>&1 | FileCheck %s --check-prefix=PTX
// RUN: not flt-compile %t/scalar.mlir -o %t/i.so --target=cuda --emulate-gpu-mapping 2>&1 | FileCheck %s --check-prefix=EMULATE

// SCALAR: argument #0 of @f has type 'f32'; compiled functions take and return ranked tensors
// EMPTY: the module has no public function with a body to compile
// INVALID: error: 'flt.linear_attention' op 'v' has S = 6 but 'fk' has S = 5
// MISSING: flt-compile: error: {{.*}}missing.mlir
// TARGET: unknown target 'tpu' (supported: cpu, cuda)
// TOKEN: --token-tile in [0, 512]
// TILE: --threads-per-block in [1, 1024]
// PTX: --emit=ptx needs --target=cuda
// EMULATE: --emulate-gpu-mapping is for --target=cpu

//--- scalar.mlir
func.func @f(%x: f32) -> f32 {
  return %x : f32
}
//--- empty.mlir
func.func private @g(%x: tensor<4xf32>) -> tensor<4xf32>
//--- invalid.mlir
func.func @h(%q: tensor<1x1x5x2xf32>, %v: tensor<1x1x6x2xf32>) -> tensor<1x1x5x2xf32> {
  %o = flt.linear_attention %q, %q, %v : tensor<1x1x5x2xf32>, tensor<1x1x5x2xf32>, tensor<1x1x6x2xf32> -> tensor<1x1x5x2xf32>
  return %o : tensor<1x1x5x2xf32>
}
