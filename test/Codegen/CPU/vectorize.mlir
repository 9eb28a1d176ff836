// flt-vectorize: static contractions become register-tiled vector.fma
// loops (two vectors of columns per tile where N allows; a product from a
// fill starts its accumulators at the fill's value); elementwise generics
// and sums over outer loops become row tiles of up to four 16-lane vectors
// (with a polynomial exp); what does not fit the tile is left alone.
// RUN: flt-opt %s --split-input-file --flt-vectorize="rows=4 columns=16 column-vectors=2" | FileCheck %s

#a_t = affine_map<(m, n, k) -> (k, m)>
#b = affine_map<(m, n, k) -> (k, n)>
#c = affine_map<(m, n, k) -> (m, n)>
// CHECK-LABEL: func.func @contraction
// CHECK: scf.for {{.*}} step %c4
// CHECK: scf.for {{.*}} step %c32
// CHECK-COUNT-8: vector.transfer_read {{.*}} : tensor<32x32xf32>, vector<16xf32>
// CHECK: scf.for {{.*}} -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// CHECK-COUNT-2: vector.transfer_read {{.*}} : tensor<64x32xf32>, vector<16xf32>
// CHECK-COUNT-8: vector.fma
// CHECK-COUNT-8: vector.transfer_write
// CHECK-NOT: linalg.generic
func.func @contraction(%w: tensor<64x32xf32>, %v: tensor<64x32xf32>, %t: tensor<32x32xf32>) -> tensor<32x32xf32> {
  %r = linalg.generic {indexing_maps = [#a_t, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%w, %v : tensor<64x32xf32>, tensor<64x32xf32>) outs(%t : tensor<32x32xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<32x32xf32>
  return %r : tensor<32x32xf32>
}

// -----

// B read transposed (C += A Bᵀ, B [N, K]: the fused backward's query block
// times a state block): B is transposed once, then the same register tile
// reads one contiguous row of it per k.
#ta = affine_map<(m, n, k) -> (m, k)>
#tb = affine_map<(m, n, k) -> (n, k)>
#tc = affine_map<(m, n, k) -> (m, n)>
// CHECK-LABEL: func.func @contraction_transposed_b
// CHECK: %[[BT:.+]] = linalg.transpose ins(%{{.+}} : tensor<32x80xf32>) outs(%{{.+}} : tensor<80x32xf32>) permutation = [1, 0]
// CHECK: scf.for {{.*}} step %c4
// CHECK: scf.for {{.*}} step %c32
// CHECK: vector.transfer_read %[[BT]]
// CHECK-COUNT-8: vector.fma
// CHECK-NOT: linalg.generic
func.func @contraction_transposed_b(%g: tensor<64x80xf32>, %s: tensor<32x80xf32>, %t: tensor<64x32xf32>) -> tensor<64x32xf32> {
  %r = linalg.generic {indexing_maps = [#ta, #tb, #tc], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%g, %s : tensor<64x80xf32>, tensor<32x80xf32>) outs(%t : tensor<64x32xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %sum = arith.addf %acc, %p : f32
    linalg.yield %sum : f32
  } -> tensor<64x32xf32>
  return %r : tensor<64x32xf32>
}

// -----

// The causal contraction (a diagonal tile: key k only for rows m >= k):
// register-tiled too, each FMA kept only where k <= m (a select, not a
// product with 0, so that a NaN in a later row of B reaches no earlier row
// of C), and the k loop of a row tile stops after its last row.
#ca = affine_map<(m, n, k) -> (m, k)>
#cb = affine_map<(m, n, k) -> (k, n)>
#cc = affine_map<(m, n, k) -> (m, n)>
// CHECK-LABEL: func.func @causal_contraction
// CHECK: scf.for %[[M0:.+]] = {{.*}} step %c4
// CHECK: scf.for {{.*}} step %c16
// CHECK: %[[END:.+]] = arith.addi %[[M0]], %c4
// CHECK: %[[K_END:.+]] = arith.minui %[[END]], %c32
// CHECK: scf.for %[[K:.+]] = %c0 to %[[K_END]]
// CHECK: %[[ACC:.+]] = vector.fma
// CHECK: %[[VISIBLE:.+]] = arith.cmpi ule, %[[K]], %[[M0]]
// CHECK: arith.select %[[VISIBLE]], %[[ACC]]
// CHECK-COUNT-3: arith.select
// CHECK-NOT: linalg.generic
func.func @causal_contraction(%p: tensor<32x32xf32>, %v: tensor<32x16xf32>, %t: tensor<32x16xf32>) -> tensor<32x16xf32> {
  %r = linalg.generic {indexing_maps = [#ca, #cb, #cc], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%p, %v : tensor<32x32xf32>, tensor<32x16xf32>) outs(%t : tensor<32x16xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %k = linalg.index 2 : index
    %m = linalg.index 0 : index
    %visible = arith.cmpi ule, %k, %m : index
    %prod = arith.mulf %x, %y : f32
    %sum = arith.addf %acc, %prod : f32
    %out = arith.select %visible, %sum, %acc : f32
    linalg.yield %out : f32
  } -> tensor<32x16xf32>
  return %r : tensor<32x16xf32>
}

// -----

// A select on another condition is no causal contraction: left alone.
#ca = affine_map<(m, n, k) -> (m, k)>
#cb = affine_map<(m, n, k) -> (k, n)>
#cc = affine_map<(m, n, k) -> (m, n)>
// CHECK-LABEL: func.func @not_causal
// CHECK: linalg.generic
// CHECK-NOT: vector.fma
func.func @not_causal(%p: tensor<32x32xf32>, %v: tensor<32x16xf32>, %t: tensor<32x16xf32>) -> tensor<32x16xf32> {
  %r = linalg.generic {indexing_maps = [#ca, #cb, #cc], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%p, %v : tensor<32x32xf32>, tensor<32x16xf32>) outs(%t : tensor<32x16xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %k = linalg.index 2 : index
    %m = linalg.index 0 : index
    %visible = arith.cmpi ult, %k, %m : index
    %prod = arith.mulf %x, %y : f32
    %sum = arith.addf %acc, %prod : f32
    %out = arith.select %visible, %sum, %acc : f32
    linalg.yield %out : f32
  } -> tensor<32x16xf32>
  return %r : tensor<32x16xf32>
}

// -----

// 30 columns are not a multiple of 16: left for the loop lowering.
// CHECK-LABEL: func.func @not_a_tile_multiple
// CHECK: linalg.generic
// CHECK-NOT: vector.fma
#a = affine_map<(m, n, k) -> (m, k)>
#b2 = affine_map<(m, n, k) -> (k, n)>
#c2 = affine_map<(m, n, k) -> (m, n)>
func.func @not_a_tile_multiple(%x: tensor<8x8xf32>, %y: tensor<8x30xf32>, %t: tensor<8x30xf32>) -> tensor<8x30xf32> {
  %r = linalg.generic {indexing_maps = [#a, #b2, #c2], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %y : tensor<8x8xf32>, tensor<8x30xf32>) outs(%t : tensor<8x30xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<8x30xf32>
  return %r : tensor<8x30xf32>
}

// -----

// Elementwise with a row broadcast and exp, dynamic row count: one 16-lane
// row at a time, the broadcast operand as a scalar, exp as a polynomial.
// CHECK-LABEL: func.func @elementwise
// CHECK: scf.for
// CHECK: tensor.extract
// CHECK: vector.broadcast {{.*}} : f32 to vector<16xf32>
// CHECK: math.fma {{.*}} : vector<16xf32>
// CHECK-NOT: math.exp
// CHECK-NOT: linalg.generic
#row = affine_map<(i, j) -> (i)>
#id = affine_map<(i, j) -> (i, j)>
func.func @elementwise(%s: tensor<?xf32>, %x: tensor<?x32xf32>, %o: tensor<?x32xf32>) -> tensor<?x32xf32> {
  %r = linalg.generic {indexing_maps = [#row, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%s, %x : tensor<?xf32>, tensor<?x32xf32>) outs(%o : tensor<?x32xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %d = arith.subf %b, %a : f32
    %e = math.exp %d : f32
    linalg.yield %e : f32
  } -> tensor<?x32xf32>
  return %r : tensor<?x32xf32>
}

// -----

// A product from zero (C = fill(0)): the accumulators start as zero vectors
// and the loops write into the fill's destination; C is never read.
#fa = affine_map<(m, n, k) -> (m, k)>
#fb = affine_map<(m, n, k) -> (k, n)>
#fc = affine_map<(m, n, k) -> (m, n)>
// CHECK-LABEL: func.func @contraction_from_zero
// CHECK: %[[ZERO:.+]] = arith.constant dense<0.000000e+00> : vector<16xf32>
// CHECK: %[[EMPTY:.+]] = tensor.empty() : tensor<8x16xf32>
// CHECK: scf.for {{.*}} iter_args(%{{.+}} = %[[EMPTY]])
// CHECK-NOT: vector.transfer_read {{.*}} : tensor<8x16xf32>
// CHECK: scf.for {{.*}} iter_args(%{{.+}} = %[[ZERO]], %{{.+}} = %[[ZERO]]
// CHECK-COUNT-4: vector.fma
func.func @contraction_from_zero(%x: tensor<8x8xf32>, %y: tensor<8x16xf32>) -> tensor<8x16xf32> {
  %zero = arith.constant 0.0 : f32
  %empty = tensor.empty() : tensor<8x16xf32>
  %t = linalg.fill ins(%zero : f32) outs(%empty : tensor<8x16xf32>) -> tensor<8x16xf32>
  %r = linalg.generic {indexing_maps = [#fa, #fb, #fc], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %y : tensor<8x8xf32>, tensor<8x16xf32>) outs(%t : tensor<8x16xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<8x16xf32>
  return %r : tensor<8x16xf32>
}

// -----

// A sum over the outer loop, lanes along the inner one (acc[t] += Σ_c
// x[c, t] y[c, t], the fused backward's per-token dot products): one tile
// of all 4 rows and 64 lanes, unrolled into four independent chains of
// 16-lane multiply-adds, no loop and no memory round trip per row.
#rx = affine_map<(c, t) -> (c, t)>
#racc = affine_map<(c, t) -> (t)>
// CHECK-LABEL: func.func @outer_sum
// CHECK-NOT: scf.for
// CHECK-COUNT-16: arith.mulf {{.*}} : vector<16xf32>
// CHECK-NOT: linalg.generic
// CHECK-NOT: vector.multi_reduction
func.func @outer_sum(%x: tensor<4x64xf32>, %y: tensor<4x64xf32>, %acc: tensor<64xf32>) -> tensor<64xf32> {
  %r = linalg.generic {indexing_maps = [#rx, #rx, #racc], iterator_types = ["reduction", "parallel"]}
      ins(%x, %y : tensor<4x64xf32>, tensor<4x64xf32>) outs(%acc : tensor<64xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %out, %m : f32
    linalg.yield %s : f32
  } -> tensor<64xf32>
  return %r : tensor<64xf32>
}
