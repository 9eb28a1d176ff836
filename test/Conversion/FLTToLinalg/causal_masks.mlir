// Masked pairs are skipped, not multiplied by zero (docs/Semantics.md 6):
// the product of a causal diagonal tile with v selects per pair (key j <=
// query i) instead of running a plain contraction over the masked zeros,
// in which 0 · NaN from a later v_j would reach earlier rows.
// RUN: flt-opt %s --split-input-file --flt-convert-to-linalg="token-tile=32 value-slice=8 column-multiple=8 row-multiple=1" | FileCheck %s

// The tiles below the diagonal in a loop with a plain contraction; the
// diagonal tile after it, its product with v the causal one; rpe's M is
// selected away for masked pairs too (exp(-inf) · NaN is NaN).
// CHECK-LABEL: func.func @softmax_causal
// CHECK: scf.forall
// CHECK: %[[LOOP:.+]]:3 = scf.for
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction"]
// CHECK-NOT: linalg.index 2
// CHECK: scf.yield
// CHECK: arith.cmpi ule
// CHECK: %[[P:.+]] = arith.mulf %{{.*}}, %{{.*}} : f32
// CHECK: arith.select %{{.*}}, %[[P]], %{{.*}} : f32
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction"]
// CHECK: %[[K:.+]] = linalg.index 2
// CHECK: %[[I:.+]] = linalg.index 0
// CHECK: %[[VISIBLE:.+]] = arith.cmpi ule, %[[K]], %[[I]]
// CHECK: %[[SUM:.+]] = arith.addf
// CHECK: arith.select %[[VISIBLE]], %[[SUM]]
func.func @softmax_causal(%q: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x8xf32>, %phi: tensor<1x2x?x4xf32>) -> tensor<1x2x?x8xf32> {
  %o = flt.kernel_attention %q, %q, %v rpe(%phi, %phi) {causal = true} : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x8xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32> -> tensor<1x2x?x8xf32>
  return %o : tensor<1x2x?x8xf32>
}

// -----

// Non-causal attention has no diagonal tile: no causal contraction.
// CHECK-LABEL: func.func @softmax_full
// CHECK-NOT: linalg.index 2
// CHECK: return
func.func @softmax_full(%q: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x8xf32>) -> tensor<1x2x?x8xf32> {
  %o = flt.kernel_attention %q, %q, %v : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x8xf32> -> tensor<1x2x?x8xf32>
  return %o : tensor<1x2x?x8xf32>
}

// -----

// The chunk walk of causal linear attention: its chunk's own keys through
// the causal contraction.
// CHECK-LABEL: func.func @linear_causal
// CHECK: scf.for
// CHECK: %[[K:.+]] = linalg.index 2
// CHECK: %[[I:.+]] = linalg.index 0
// CHECK: %[[VISIBLE:.+]] = arith.cmpi ule, %[[K]], %[[I]]
// CHECK: %[[SUM:.+]] = arith.addf
// CHECK: arith.select %[[VISIBLE]], %[[SUM]]
func.func @linear_causal(%f: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x8xf32>) -> tensor<1x2x?x8xf32> {
  %o = flt.linear_attention %f, %f, %v {causal = true} : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x8xf32> -> tensor<1x2x?x8xf32>
  return %o : tensor<1x2x?x8xf32>
}

// -----

// The Toeplitz mask's shift: the largest finite bias, 0 where none is
// finite (a NaN or +inf anywhere in b, even at an offset causal attention
// never reads, would reach every score through it).
// CHECK-LABEL: func.func @toeplitz_causal
// CHECK: linalg.generic {{.*}} ins(%arg2 : tensor<2x?xf32>)
// CHECK: math.absf
// CHECK: arith.cmpf olt, %{{.*}}, %cst
// CHECK: arith.maximumf
// CHECK: arith.select
// CHECK: arith.cmpf oeq, %{{.*}}, %cst
// CHECK: arith.select
func.func @toeplitz_causal(%f: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x8xf32>, %b: tensor<2x?xf32>) -> tensor<1x2x?x8xf32> {
  %o = flt.toeplitz_attention %f, %f, %v, %b {causal = true, method = #flt.toeplitz_method<direct>} : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x8xf32>, tensor<2x?xf32> -> tensor<1x2x?x8xf32>
  return %o : tensor<1x2x?x8xf32>
}
