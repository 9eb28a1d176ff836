// What is not attention, or not one flt op can express, is left alone
// (lowered from TOSA to linalg, but not raised).
// RUN: flt-opt %s --split-input-file --flt-raise-attention | FileCheck %s

// -----

// exp(q k^T) v: no softmax denominator.
// CHECK-LABEL: func.func @unnormalized
// CHECK-NOT: flt.
// CHECK: return
func.func @unnormalized(%q: tensor<8x16x32xf32>, %k: tensor<8x16x32xf32>, %v: tensor<8x16x32xf32>, %k2: tensor<8x16x32xf32>) -> tensor<8x16x32xf32> {
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %kt = tosa.transpose %k {perms = array<i32: 0, 2, 1>} : (tensor<8x16x32xf32>) -> tensor<8x32x16xf32>
  %s = tosa.matmul %q, %kt, %zp, %zp : (tensor<8x16x32xf32>, tensor<8x32x16xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<8x16x16xf32>
  %p = tosa.exp %s : (tensor<8x16x16xf32>) -> tensor<8x16x16xf32>
  %o = tosa.matmul %p, %v, %zp, %zp : (tensor<8x16x16xf32>, tensor<8x16x32xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<8x16x32xf32>
  return %o : tensor<8x16x32xf32>
}

// -----

// exp(q k^T) normalized over the queries (axis 1), then summed over keys.
// CHECK-LABEL: func.func @normalized_over_queries
// CHECK-NOT: flt.
// CHECK: return
func.func @normalized_over_queries(%q: tensor<8x16x32xf32>, %k: tensor<8x16x32xf32>, %v: tensor<8x16x32xf32>, %k2: tensor<8x16x32xf32>) -> tensor<8x16x32xf32> {
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %kt = tosa.transpose %k {perms = array<i32: 0, 2, 1>} : (tensor<8x16x32xf32>) -> tensor<8x32x16xf32>
  %s = tosa.matmul %q, %kt, %zp, %zp : (tensor<8x16x32xf32>, tensor<8x32x16xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<8x16x16xf32>
  %e = tosa.exp %s : (tensor<8x16x16xf32>) -> tensor<8x16x16xf32>
  %z = tosa.reduce_sum %e {axis = 1 : i32} : (tensor<8x16x16xf32>) -> tensor<8x1x16xf32>
  %r = tosa.reciprocal %z : (tensor<8x1x16xf32>) -> tensor<8x1x16xf32>
  %p = tosa.mul %e, %r, %shift : (tensor<8x16x16xf32>, tensor<8x1x16xf32>, tensor<1xi8>) -> tensor<8x16x16xf32>
  %o = tosa.matmul %p, %v, %zp, %zp : (tensor<8x16x16xf32>, tensor<8x16x32xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<8x16x32xf32>
  return %o : tensor<8x16x32xf32>
}

// -----

// softmax(q k^T + B) with a bias B[j] of the key alone: not a function of
// j - i, so not a Toeplitz bias (and no flt op takes a dense one).
// CHECK-LABEL: func.func @additive_bias
// CHECK-NOT: flt.
// CHECK: return
func.func @additive_bias(%q: tensor<8x16x32xf32>, %k: tensor<8x16x32xf32>, %v: tensor<8x16x32xf32>, %k2: tensor<8x16x32xf32>) -> tensor<8x16x32xf32> {
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %kt = tosa.transpose %k {perms = array<i32: 0, 2, 1>} : (tensor<8x16x32xf32>) -> tensor<8x32x16xf32>
  %s = tosa.matmul %q, %kt, %zp, %zp : (tensor<8x16x32xf32>, tensor<8x32x16xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<8x16x16xf32>
  %bias = "tosa.const"() <{values = dense<[[[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0]]]> : tensor<1x1x16xf32>}> : () -> tensor<1x1x16xf32>
  %sb = tosa.add %s, %bias : (tensor<8x16x16xf32>, tensor<1x1x16xf32>) -> tensor<8x16x16xf32>
  %e = tosa.exp %sb : (tensor<8x16x16xf32>) -> tensor<8x16x16xf32>
  %z = tosa.reduce_sum %e {axis = 2 : i32} : (tensor<8x16x16xf32>) -> tensor<8x16x1xf32>
  %r = tosa.reciprocal %z : (tensor<8x16x1xf32>) -> tensor<8x16x1xf32>
  %p = tosa.mul %e, %r, %shift : (tensor<8x16x16xf32>, tensor<8x16x1xf32>, tensor<1xi8>) -> tensor<8x16x16xf32>
  %o = tosa.matmul %p, %v, %zp, %zp : (tensor<8x16x16xf32>, tensor<8x16x32xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<8x16x32xf32>
  return %o : tensor<8x16x32xf32>
}

// -----

// exp(q k^T) v / rowsum(exp(q k2^T)): the normalizer belongs to other scores.
// CHECK-LABEL: func.func @other_denominator
// CHECK-NOT: flt.
// CHECK: return
func.func @other_denominator(%q: tensor<8x16x32xf32>, %k: tensor<8x16x32xf32>, %v: tensor<8x16x32xf32>, %k2: tensor<8x16x32xf32>) -> tensor<8x16x32xf32> {
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %kt = tosa.transpose %k {perms = array<i32: 0, 2, 1>} : (tensor<8x16x32xf32>) -> tensor<8x32x16xf32>
  %s = tosa.matmul %q, %kt, %zp, %zp : (tensor<8x16x32xf32>, tensor<8x32x16xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<8x16x16xf32>
  %k2t = tosa.transpose %k2 {perms = array<i32: 0, 2, 1>} : (tensor<8x16x32xf32>) -> tensor<8x32x16xf32>
  %s2 = tosa.matmul %q, %k2t, %zp, %zp : (tensor<8x16x32xf32>, tensor<8x32x16xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<8x16x16xf32>
  %e = tosa.exp %s : (tensor<8x16x16xf32>) -> tensor<8x16x16xf32>
  %e2 = tosa.exp %s2 : (tensor<8x16x16xf32>) -> tensor<8x16x16xf32>
  %z = tosa.reduce_sum %e2 {axis = 2 : i32} : (tensor<8x16x16xf32>) -> tensor<8x16x1xf32>
  %r = tosa.reciprocal %z : (tensor<8x16x1xf32>) -> tensor<8x16x1xf32>
  %p = tosa.mul %e, %r, %shift : (tensor<8x16x16xf32>, tensor<8x16x1xf32>, tensor<1xi8>) -> tensor<8x16x16xf32>
  %o = tosa.matmul %p, %v, %zp, %zp : (tensor<8x16x16xf32>, tensor<8x16x32xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<8x16x32xf32>
  return %o : tensor<8x16x32xf32>
}

// -----

// f16 softmax attention: raising produces f32 flt ops only.
// CHECK-LABEL: func.func @half_precision
// CHECK-NOT: flt.
// CHECK: return
func.func @half_precision(%q: tensor<8x16x32xf16>, %k: tensor<8x16x32xf16>, %v: tensor<8x16x32xf16>, %k2: tensor<8x16x32xf16>) -> tensor<8x16x32xf16> {
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf16>}> : () -> tensor<1xf16>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %kt = tosa.transpose %k {perms = array<i32: 0, 2, 1>} : (tensor<8x16x32xf16>) -> tensor<8x32x16xf16>
  %s = tosa.matmul %q, %kt, %zp, %zp : (tensor<8x16x32xf16>, tensor<8x32x16xf16>, tensor<1xf16>, tensor<1xf16>) -> tensor<8x16x16xf16>
  %e = tosa.exp %s : (tensor<8x16x16xf16>) -> tensor<8x16x16xf16>
  %z = tosa.reduce_sum %e {axis = 2 : i32} : (tensor<8x16x16xf16>) -> tensor<8x16x1xf16>
  %r = tosa.reciprocal %z : (tensor<8x16x1xf16>) -> tensor<8x16x1xf16>
  %p = tosa.mul %e, %r, %shift : (tensor<8x16x16xf16>, tensor<8x16x1xf16>, tensor<1xi8>) -> tensor<8x16x16xf16>
  %o = tosa.matmul %p, %v, %zp, %zp : (tensor<8x16x16xf16>, tensor<8x16x32xf16>, tensor<1xf16>, tensor<1xf16>) -> tensor<8x16x32xf16>
  return %o : tensor<8x16x32xf16>
}

// -----

// A mask that also hides the diagonal (s >= l) is not causal attention.
// CHECK-LABEL: func.func @diagonal_masked
// CHECK-NOT: flt.
// CHECK: return
func.func @diagonal_masked(%q: tensor<2x4x8xf32>, %k: tensor<2x4x8xf32>, %v: tensor<2x4x3xf32>) -> tensor<2x4x3xf32> {
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %c = "tosa.const"() <{values = dense<0.5> : tensor<1x1x1xf32>}> : () -> tensor<1x1x1xf32>
  %ninf = "tosa.const"() <{values = dense<0xFF800000> : tensor<1x1x1xf32>}> : () -> tensor<1x1x1xf32>
  %future = "tosa.const"() <{values = dense<[[[true, true, true, true], [false, true, true, true], [false, false, true, true], [false, false, false, true]]]> : tensor<1x4x4xi1>}> : () -> tensor<1x4x4xi1>
  %kt = tosa.transpose %k {perms = array<i32: 0, 2, 1>} : (tensor<2x4x8xf32>) -> tensor<2x8x4xf32>
  %s = tosa.matmul %q, %kt, %zp, %zp : (tensor<2x4x8xf32>, tensor<2x8x4xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<2x4x4xf32>
  %sc = tosa.mul %s, %c, %shift : (tensor<2x4x4xf32>, tensor<1x1x1xf32>, tensor<1xi8>) -> tensor<2x4x4xf32>
  %sm = tosa.select %future, %ninf, %sc : (tensor<1x4x4xi1>, tensor<1x1x1xf32>, tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %m = tosa.reduce_max %sm {axis = 2 : i32} : (tensor<2x4x4xf32>) -> tensor<2x4x1xf32>
  %d = tosa.sub %sm, %m : (tensor<2x4x4xf32>, tensor<2x4x1xf32>) -> tensor<2x4x4xf32>
  %e = tosa.exp %d : (tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %z = tosa.reduce_sum %e {axis = 2 : i32} : (tensor<2x4x4xf32>) -> tensor<2x4x1xf32>
  %r = tosa.reciprocal %z : (tensor<2x4x1xf32>) -> tensor<2x4x1xf32>
  %p = tosa.mul %e, %r, %shift : (tensor<2x4x4xf32>, tensor<2x4x1xf32>, tensor<1xi8>) -> tensor<2x4x4xf32>
  %o = tosa.matmul %p, %v, %zp, %zp : (tensor<2x4x4xf32>, tensor<2x4x3xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<2x4x3xf32>
  return %o : tensor<2x4x3xf32>
}
