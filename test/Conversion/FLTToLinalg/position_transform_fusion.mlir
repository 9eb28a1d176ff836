// LRPE feeding attention: after flt-fuse-into-tiles the rotated q and k are
// computed per tile of tokens inside the attention loops; no [1, 8, 4096, 64]
// buffer other than the output is allocated.
// RUN: flt-opt %s --flt-select-algorithm --flt-convert-to-linalg --canonicalize --flt-fuse-into-tiles --canonicalize --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" | FileCheck %s

// CHECK-LABEL: func.func @lrpe_softmax
// CHECK-COUNT-1: memref.alloc() {{.*}} : memref<1x8x4096x64xf32>
// CHECK-NOT: memref.alloc() {{.*}} : memref<1x8x4096x64xf32>
// CHECK: scf.forall
// CHECK: math.cos
// CHECK: return
func.func @lrpe_softmax(%q: tensor<1x8x4096x64xf32>, %k: tensor<1x8x4096x64xf32>, %v: tensor<1x8x4096x64xf32>, %theta: tensor<8x32xf32>) -> tensor<1x8x4096x64xf32> {
  %qr = flt.position_transform %q, %theta {core = #flt.lrpe_core<rotary>} : tensor<1x8x4096x64xf32>, tensor<8x32xf32> -> tensor<1x8x4096x64xf32>
  %kr = flt.position_transform %k, %theta {core = #flt.lrpe_core<rotary>} : tensor<1x8x4096x64xf32>, tensor<8x32xf32> -> tensor<1x8x4096x64xf32>
  %o = flt.kernel_attention %qr, %kr, %v {causal = true} : tensor<1x8x4096x64xf32>, tensor<1x8x4096x64xf32>, tensor<1x8x4096x64xf32> -> tensor<1x8x4096x64xf32>
  return %o : tensor<1x8x4096x64xf32>
}
