// After bufferization, the fused lowering of an FLT layer at L = S = 4096,
// m = 64, r = 2 m_f = 32 allocates nothing of L × m r (Q', K') or L × S
// elements: the Kronecker blocks are 64 × 32 tiles and the state is
// m × r × 32 value columns. With flt-fuse-into-tiles the feature maps and
// spectral features are not materialized either: the only full-size buffer
// is the output. The unfused reference allocates both [L, m, r] products,
// which shows that the check can fail.
// RUN: flt-opt %s --flt-decompose --flt-select-algorithm --flt-convert-to-linalg --canonicalize --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" | FileCheck %s --check-prefix=FUSED
// RUN: flt-opt %s --flt-decompose --flt-select-algorithm --flt-convert-to-linalg --canonicalize --flt-fuse-into-tiles --canonicalize --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" | FileCheck %s --check-prefix=TILED
// RUN: flt-opt %s --flt-decompose --flt-select-algorithm --flt-convert-to-linalg=fuse-kronecker=false --canonicalize --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" | FileCheck %s --check-prefix=UNFUSED

// FUSED-LABEL: func.func @layer
// FUSED-NOT: memref<{{[0-9x]*}}4096x64x32xf32>
// FUSED-NOT: memref<{{[0-9x]*}}4096x2048xf32>
// FUSED-NOT: memref<{{[0-9x]*}}4096x4096xf32>
// FUSED: scf.forall
// The per-(b, h, slice) state, and one Kronecker block per feature:
// FUSED-DAG: memref.alloc() {{.*}} : memref<64x32x32xf32>
// FUSED-DAG: memref.alloc() {{.*}} : memref<64x32xf32>
// FUSED-NOT: memref<{{[0-9x]*}}4096x64x32xf32>
// FUSED-NOT: memref<{{[0-9x]*}}4096x4096xf32>
// FUSED: return

// TILED-LABEL: func.func @layer
// TILED-COUNT-1: memref.alloc() {{.*}} : memref<1x8x4096x{{[0-9]+}}xf32>
// TILED-NOT: memref.alloc() {{.*}} : memref<1x8x4096x{{[0-9]+}}xf32>
// TILED: return

// UNFUSED-LABEL: func.func @layer
// UNFUSED: memref.alloc() {{.*}} : memref<1x8x4096x64x32xf32>
func.func @layer(%q: tensor<1x8x4096x64xf32>, %k: tensor<1x8x4096x64xf32>,
                 %v: tensor<1x8x4096x64xf32>, %r: tensor<1x4096x1xf32>,
                 %xi: tensor<8x16x1xf32>, %theta: tensor<8x75xf32>)
    -> tensor<1x8x4096x64xf32> {
  %o = flt.attention %q, %k, %v, %r, %xi, %theta
         {kernel = #flt.kernel<relu>, spectrum = #flt.spectrum<gaussian_mixture>}
       : tensor<1x8x4096x64xf32>, tensor<1x8x4096x64xf32>, tensor<1x8x4096x64xf32>,
         tensor<1x4096x1xf32>, tensor<8x16x1xf32>, tensor<8x75xf32>
      -> tensor<1x8x4096x64xf32>
  return %o : tensor<1x8x4096x64xf32>
}
