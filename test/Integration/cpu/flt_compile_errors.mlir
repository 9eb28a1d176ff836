// flt-compile reports what it cannot compile with one error and status 1.
// RUN: split-file %s %t
// RUN: not flt-compile %t/scalar.mlir -o %t/a.so 2>&1 | FileCheck %s --check-prefix=SCALAR
// RUN: not flt-compile %t/empty.mlir -o %t/b.so 2>&1 | FileCheck %s --check-prefix=EMPTY
// RUN: not flt-compile %t/invalid.mlir -o %t/c.so 2>&1 | FileCheck %s --check-prefix=INVALID
// RUN: not flt-compile %t/missing.mlir -o %t/d.so 2>&1 | FileCheck %s --check-prefix=MISSING
// RUN: not flt-compile %t/empty.mlir -o %t/e.so --target=tpu 2>&1 | FileCheck %s --check-prefix=TARGET
// RUN: not flt-compile %t/scalar.mlir -o %t/f.so --token-tile=-1 2>&1 | FileCheck %s --check-prefix=TOKEN
// RUN: not flt-compile %t/scalar.mlir -o %t/g.so --target=cuda --threads-per-block=2048 2>&1 | FileCheck %s --check-prefix=TILE
// RUN: not flt-compile %t/relu.mlir -o %t/g.so --emulate-gpu-mapping --threads-per-block=48 2>&1 | FileCheck %s --check-prefix=WARPS
// RUN: not flt-compile %t/relu.mlir -o %t/g.so --target=cuda --shared-memory=232448 2>&1 | FileCheck %s --check-prefix=SHARED
// RUN: not flt-compile %t/relu.mlir -o %t/g.so --target=cuda --cuda-chip=sm_89 --shared-memory=232432 2>&1 | FileCheck %s --check-prefix=SHARED89
// RUN: not flt-compile %t/relu.mlir -o %t/g.so --cpu=bogus 2>&1 | FileCheck %s --check-prefix=CPU --implicit-check-not=note:
// RUN: flt-compile --cpu=help | FileCheck %s --check-prefix=CPUS
// RUN: not flt-compile %t/relu.mlir -o %t/g.so --target=cuda --cuda-chip=bogus 2>&1 | FileCheck %s --check-prefix=CHIP
// RUN: not flt-compile %t/relu.mlir -o %t/g.so --target=cuda --cuda-chip=sm_60 2>&1 | FileCheck %s --check-prefix=OLDCHIP
// RUN: not flt-compile %t/relu.mlir -o %t/g.so --target=cuda --cuda-chip=sm_990 2>&1 | FileCheck %s --check-prefix=NVPTX
// RUN: env FLT_PRINT_IR_ON_ERROR=1 not flt-compile %t/relu.mlir -o %t/g.so --cpu=bogus 2>&1 | FileCheck %s --check-prefix=IR
// RUN: not flt-compile %t/scalar.mlir -o %t/h.ptx --emit=ptx 2>&1 | FileCheck %s --check-prefix=PTX
// RUN: not flt-compile %t/scalar.mlir -o %t/i.so --target=cuda --emulate-gpu-mapping 2>&1 | FileCheck %s --check-prefix=EMULATE

// SCALAR: argument #0 of @f has type 'f32'; compiled functions take and return ranked tensors
// EMPTY: the module has no public function with a body to compile
// INVALID: error: 'flt.linear_attention' op 'v' has S = 6 but 'fk' has S = 5
// MISSING: flt-compile: error: {{.*}}missing.mlir
// TARGET: unknown target 'tpu' (supported: cpu, cuda)
// TOKEN: --token-tile in [0, 512]
// TILE: --threads-per-block in [32, 1024]
// PTX: --emit=ptx needs --target=cuda
// EMULATE: --emulate-gpu-mapping is for --target=cpu
// WARPS: --threads-per-block must be a multiple of 32 (whole warps), got 48
// SHARED: --shared-memory in [-1, 232432] required, got 232448
// SHARED89: a block can use at most 101360 bytes of shared memory on sm_89, not 232432
// The message alone: no note with the module (or an LLVM ERROR that ends
// the process).
// CPU: error: flt-compile: unknown CPU 'bogus' for {{.*}} (`flt-compile --cpu=help` lists the CPU names
// CPUS: CPU names for --cpu
// CPUS: x86-64-v3
// CHIP: unknown cuda-chip 'bogus' (a CUDA architecture sm_70 or newer
// OLDCHIP: unknown cuda-chip 'sm_60'
// NVPTX: LLVM's NVPTX target does not know the CUDA architecture 'sm_990'
// The IR only when asked for.
// IR: unknown CPU 'bogus'
// IR: note: see current operation:
// IR: flt.feature_map

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
//--- relu.mlir
func.func @relu(%x: tensor<1x1x4x2xf32>) -> tensor<1x1x4x2xf32> {
  %f = flt.feature_map %x {kernel = #flt.kernel<relu>} : tensor<1x1x4x2xf32> -> tensor<1x1x4x2xf32>
  return %f : tensor<1x1x4x2xf32>
}
