// kernel_attention at L = S = 4096 (softmax with bias and rpe; FourierFormer)
// allocates no L × S buffer after bufferization: only [64 × 64] tiles of
// scores, and the output.
// RUN: flt-opt %s --split-input-file --flt-select-algorithm --flt-convert-to-linalg --canonicalize --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" | FileCheck %s

// CHECK-LABEL: func.func @softmax
// CHECK-NOT: memref<{{[0-9x]*}}4096x4096xf32>
// CHECK: memref.alloc() {{.*}} : memref<64x64xf32>
// CHECK-NOT: memref<{{[0-9x]*}}4096x4096xf32>
// CHECK: return
func.func @softmax(%q: tensor<1x8x4096x64xf32>, %b: tensor<8x8191xf32>, %phi: tensor<1x8x4096x32xf32>) -> tensor<1x8x4096x64xf32> {
  %o = flt.kernel_attention %q, %q, %q bias(%b) rpe(%phi, %phi) {causal = true} : tensor<1x8x4096x64xf32>, tensor<1x8x4096x64xf32>, tensor<1x8x4096x64xf32>, tensor<8x8191xf32>, tensor<1x8x4096x32xf32>, tensor<1x8x4096x32xf32> -> tensor<1x8x4096x64xf32>
  return %o : tensor<1x8x4096x64xf32>
}

// -----

// CHECK-LABEL: func.func @fourier
// CHECK-NOT: memref<{{[0-9x]*}}4096x4096xf32>
// CHECK: math.sin
// CHECK: math.log
// CHECK-NOT: memref<{{[0-9x]*}}4096x4096xf32>
// CHECK: return
func.func @fourier(%q: tensor<1x8x4096x64xf32>, %r: tensor<8x64xf32>) -> tensor<1x8x4096x64xf32> {
  %o = flt.kernel_attention %q, %q, %q scale(%r) {kernel = #flt.pair_kernel<fourier_integral>} : tensor<1x8x4096x64xf32>, tensor<1x8x4096x64xf32>, tensor<1x8x4096x64xf32>, tensor<8x64xf32> -> tensor<1x8x4096x64xf32>
  return %o : tensor<1x8x4096x64xf32>
}
