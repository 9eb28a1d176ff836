// Attention in TOSA is legalized to linalg by upstream's conversions and
// raised like linalg input.
// RUN: flt-opt %s --split-input-file --flt-raise-attention | FileCheck %s

// softmax(c q k^T) v with the TOSA softmax (reduce_max, sub, exp,
// reduce_sum, reciprocal, mul) on [batch * heads, tokens, d] operands.
// CHECK-LABEL: func.func @softmax
// CHECK-SAME: (%[[Q:.*]]: tensor<8x16x32xf32>, %[[K:.*]]: tensor<8x16x32xf32>, %[[V:.*]]: tensor<8x16x32xf32>)
// CHECK-DAG: %[[V4:.*]] = tensor.expand_shape %[[V]] {{\[}}[0, 1], [2], [3]] output_shape [1, 8, 16, 32]
// CHECK-DAG: %[[Q4:.*]] = tensor.expand_shape %[[Q]] {{\[}}[0, 1], [2], [3]] output_shape [1, 8, 16, 32]
// CHECK-DAG: %[[K4:.*]] = tensor.expand_shape %[[K]] {{\[}}[0, 1], [2], [3]] output_shape [1, 8, 16, 32]
// CHECK: %[[O:.*]] = flt.kernel_attention %[[Q4]], %[[K4]], %[[V4]] {temperature = 1.767700e-01 : f32}
// CHECK: %[[R:.*]] = tensor.collapse_shape %[[O]] {{\[}}[0, 1], [2], [3]]
// CHECK-NOT: tosa.
// CHECK-NOT: linalg.
// CHECK: return %[[R]]
func.func @softmax(%q: tensor<8x16x32xf32>, %k: tensor<8x16x32xf32>, %v: tensor<8x16x32xf32>) -> tensor<8x16x32xf32> {
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %c = "tosa.const"() <{values = dense<0.17677> : tensor<1x1x1xf32>}> : () -> tensor<1x1x1xf32>
  %kt = tosa.transpose %k {perms = array<i32: 0, 2, 1>} : (tensor<8x16x32xf32>) -> tensor<8x32x16xf32>
  %s = tosa.matmul %q, %kt, %zp, %zp : (tensor<8x16x32xf32>, tensor<8x32x16xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<8x16x16xf32>
  %sc = tosa.mul %s, %c, %shift : (tensor<8x16x16xf32>, tensor<1x1x1xf32>, tensor<1xi8>) -> tensor<8x16x16xf32>
  %m = tosa.reduce_max %sc {axis = 2 : i32} : (tensor<8x16x16xf32>) -> tensor<8x16x1xf32>
  %d = tosa.sub %sc, %m : (tensor<8x16x16xf32>, tensor<8x16x1xf32>) -> tensor<8x16x16xf32>
  %e = tosa.exp %d : (tensor<8x16x16xf32>) -> tensor<8x16x16xf32>
  %z = tosa.reduce_sum %e {axis = 2 : i32} : (tensor<8x16x16xf32>) -> tensor<8x16x1xf32>
  %r = tosa.reciprocal %z : (tensor<8x16x1xf32>) -> tensor<8x16x1xf32>
  %p = tosa.mul %e, %r, %shift : (tensor<8x16x16xf32>, tensor<8x16x1xf32>, tensor<1xi8>) -> tensor<8x16x16xf32>
  %o = tosa.matmul %p, %v, %zp, %zp : (tensor<8x16x16xf32>, tensor<8x16x32xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<8x16x32xf32>
  return %o : tensor<8x16x32xf32>
}

// -----

// Causal linear attention with relu features (TOSA's clamp) and an eps:
// (tril * (phi(q) phi(k)^T)) v * 1 / (rowsum + eps).
// CHECK-LABEL: func.func @causal_relu
// CHECK-SAME: (%[[Q:.*]]: tensor<2x4x8xf32>, %[[K:.*]]: tensor<2x4x8xf32>, %[[V:.*]]: tensor<2x4x3xf32>)
// CHECK-DAG: %[[Q4:.*]] = tensor.expand_shape %[[Q]]
// CHECK-DAG: %[[K4:.*]] = tensor.expand_shape %[[K]]
// CHECK-DAG: %[[V4:.*]] = tensor.expand_shape %[[V]]
// CHECK-DAG: %[[FQ:.*]] = flt.feature_map %[[Q4]] {is_query = true, kernel = #flt.kernel<relu>}
// CHECK-DAG: %[[FK:.*]] = flt.feature_map %[[K4]] {kernel = #flt.kernel<relu>}
// CHECK: %[[O:.*]] = flt.linear_attention %[[FQ]], %[[FK]], %[[V4]] {causal = true, eps = 9.99999974E-5 : f32}
// CHECK: %[[R:.*]] = tensor.collapse_shape %[[O]]
// CHECK-NOT: linalg.
// CHECK: return %[[R]]
func.func @causal_relu(%q: tensor<2x4x8xf32>, %k: tensor<2x4x8xf32>, %v: tensor<2x4x3xf32>) -> tensor<2x4x3xf32> {
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %eps = "tosa.const"() <{values = dense<1.0e-4> : tensor<1x1x1xf32>}> : () -> tensor<1x1x1xf32>
  %tril = "tosa.const"() <{values = dense<[[[1.0, 0.0, 0.0, 0.0], [1.0, 1.0, 0.0, 0.0], [1.0, 1.0, 1.0, 0.0], [1.0, 1.0, 1.0, 1.0]]]> : tensor<1x4x4xf32>}> : () -> tensor<1x4x4xf32>
  %fq = tosa.clamp %q {min_val = 0.0 : f32, max_val = 3.40282347e+38 : f32} : (tensor<2x4x8xf32>) -> tensor<2x4x8xf32>
  %fk = tosa.clamp %k {min_val = 0.0 : f32, max_val = 3.40282347e+38 : f32} : (tensor<2x4x8xf32>) -> tensor<2x4x8xf32>
  %fkt = tosa.transpose %fk {perms = array<i32: 0, 2, 1>} : (tensor<2x4x8xf32>) -> tensor<2x8x4xf32>
  %a = tosa.matmul %fq, %fkt, %zp, %zp : (tensor<2x4x8xf32>, tensor<2x8x4xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<2x4x4xf32>
  %am = tosa.mul %a, %tril, %shift : (tensor<2x4x4xf32>, tensor<1x4x4xf32>, tensor<1xi8>) -> tensor<2x4x4xf32>
  %num = tosa.matmul %am, %v, %zp, %zp : (tensor<2x4x4xf32>, tensor<2x4x3xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<2x4x3xf32>
  %den = tosa.reduce_sum %am {axis = 2 : i32} : (tensor<2x4x4xf32>) -> tensor<2x4x1xf32>
  %dene = tosa.add %den, %eps : (tensor<2x4x1xf32>, tensor<1x1x1xf32>) -> tensor<2x4x1xf32>
  %r = tosa.reciprocal %dene : (tensor<2x4x1xf32>) -> tensor<2x4x1xf32>
  %o = tosa.mul %num, %r, %shift : (tensor<2x4x3xf32>, tensor<2x4x1xf32>, tensor<1xi8>) -> tensor<2x4x3xf32>
  return %o : tensor<2x4x3xf32>
}

// -----

// Causal softmax: masked_fill(scores, triu(ones, 1), -inf) as tosa.select
// with a constant i1 mask.
// CHECK-LABEL: func.func @causal_softmax
// CHECK: flt.kernel_attention %{{.*}}, %{{.*}}, %{{.*}} {causal = true, temperature = 5.000000e-01 : f32}
// CHECK-NOT: linalg.
// CHECK: return
func.func @causal_softmax(%q: tensor<2x4x8xf32>, %k: tensor<2x4x8xf32>, %v: tensor<2x4x3xf32>) -> tensor<2x4x3xf32> {
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %c = "tosa.const"() <{values = dense<0.5> : tensor<1x1x1xf32>}> : () -> tensor<1x1x1xf32>
  %ninf = "tosa.const"() <{values = dense<0xFF800000> : tensor<1x1x1xf32>}> : () -> tensor<1x1x1xf32>
  %future = "tosa.const"() <{values = dense<[[[false, true, true, true], [false, false, true, true], [false, false, false, true], [false, false, false, false]]]> : tensor<1x4x4xi1>}> : () -> tensor<1x4x4xi1>
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

// -----

// softmax(c q k^T + B) with an ALiBi-like bias B[h, i, j] = m_h (j - i):
// per head a function of j - i, so flt's Toeplitz bias b[h, j - i + L - 1].
// CHECK-LABEL: func.func @alibi_bias
// CHECK: %[[B:.*]] = arith.constant dense<{{\[}}[-1.500000e+00, -1.000000e+00, -5.000000e-01, 0.000000e+00, 5.000000e-01, 1.000000e+00, 1.500000e+00], [-7.500000e-01, -5.000000e-01, -2.500000e-01, 0.000000e+00, 2.500000e-01, 5.000000e-01, 7.500000e-01]]> : tensor<2x7xf32>
// CHECK: flt.kernel_attention %{{.*}}, %{{.*}}, %{{.*}} bias(%[[B]]) {temperature = 5.000000e-01 : f32}
// CHECK-NOT: linalg.
// CHECK: return
func.func @alibi_bias(%q: tensor<2x4x8xf32>, %k: tensor<2x4x8xf32>, %v: tensor<2x4x3xf32>) -> tensor<2x4x3xf32> {
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %c = "tosa.const"() <{values = dense<0.5> : tensor<1x1x1xf32>}> : () -> tensor<1x1x1xf32>
  %bias = "tosa.const"() <{values = dense<[[[0.0, 0.5, 1.0, 1.5], [-0.5, 0.0, 0.5, 1.0], [-1.0, -0.5, 0.0, 0.5], [-1.5, -1.0, -0.5, 0.0]], [[0.0, 0.25, 0.5, 0.75], [-0.25, 0.0, 0.25, 0.5], [-0.5, -0.25, 0.0, 0.25], [-0.75, -0.5, -0.25, 0.0]]]> : tensor<2x4x4xf32>}> : () -> tensor<2x4x4xf32>
  %kt = tosa.transpose %k {perms = array<i32: 0, 2, 1>} : (tensor<2x4x8xf32>) -> tensor<2x8x4xf32>
  %s = tosa.matmul %q, %kt, %zp, %zp : (tensor<2x4x8xf32>, tensor<2x8x4xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<2x4x4xf32>
  %sc = tosa.mul %s, %c, %shift : (tensor<2x4x4xf32>, tensor<1x1x1xf32>, tensor<1xi8>) -> tensor<2x4x4xf32>
  %sb = tosa.add %sc, %bias : (tensor<2x4x4xf32>, tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %m = tosa.reduce_max %sb {axis = 2 : i32} : (tensor<2x4x4xf32>) -> tensor<2x4x1xf32>
  %d = tosa.sub %sb, %m : (tensor<2x4x4xf32>, tensor<2x4x1xf32>) -> tensor<2x4x4xf32>
  %e = tosa.exp %d : (tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %z = tosa.reduce_sum %e {axis = 2 : i32} : (tensor<2x4x4xf32>) -> tensor<2x4x1xf32>
  %r = tosa.reciprocal %z : (tensor<2x4x1xf32>) -> tensor<2x4x1xf32>
  %p = tosa.mul %e, %r, %shift : (tensor<2x4x4xf32>, tensor<2x4x1xf32>, tensor<1xi8>) -> tensor<2x4x4xf32>
  %o = tosa.matmul %p, %v, %zp, %zp : (tensor<2x4x4xf32>, tensor<2x4x3xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<2x4x3xf32>
  return %o : tensor<2x4x3xf32>
}

// -----

// An additive 0 / -inf mask hiding the keys after each query: causal, and
// no bias left.
// CHECK-LABEL: func.func @additive_causal_mask
// CHECK-NOT: arith.constant dense
// CHECK: flt.kernel_attention %{{.*}}, %{{.*}}, %{{.*}} {causal = true, temperature = 5.000000e-01 : f32}
// CHECK-NOT: linalg.
// CHECK: return
func.func @additive_causal_mask(%q: tensor<2x4x8xf32>, %k: tensor<2x4x8xf32>, %v: tensor<2x4x3xf32>) -> tensor<2x4x3xf32> {
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %c = "tosa.const"() <{values = dense<0.5> : tensor<1x1x1xf32>}> : () -> tensor<1x1x1xf32>
  %bias = "tosa.const"() <{values = dense<[[[0.0, 0xFF800000, 0xFF800000, 0xFF800000], [0.0, 0.0, 0xFF800000, 0xFF800000], [0.0, 0.0, 0.0, 0xFF800000], [0.0, 0.0, 0.0, 0.0]]]> : tensor<1x4x4xf32>}> : () -> tensor<1x4x4xf32>
  %kt = tosa.transpose %k {perms = array<i32: 0, 2, 1>} : (tensor<2x4x8xf32>) -> tensor<2x8x4xf32>
  %s = tosa.matmul %q, %kt, %zp, %zp : (tensor<2x4x8xf32>, tensor<2x8x4xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<2x4x4xf32>
  %sc = tosa.mul %s, %c, %shift : (tensor<2x4x4xf32>, tensor<1x1x1xf32>, tensor<1xi8>) -> tensor<2x4x4xf32>
  %sb = tosa.add %sc, %bias : (tensor<2x4x4xf32>, tensor<1x4x4xf32>) -> tensor<2x4x4xf32>
  %m = tosa.reduce_max %sb {axis = 2 : i32} : (tensor<2x4x4xf32>) -> tensor<2x4x1xf32>
  %d = tosa.sub %sb, %m : (tensor<2x4x4xf32>, tensor<2x4x1xf32>) -> tensor<2x4x4xf32>
  %e = tosa.exp %d : (tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %z = tosa.reduce_sum %e {axis = 2 : i32} : (tensor<2x4x4xf32>) -> tensor<2x4x1xf32>
  %r = tosa.reciprocal %z : (tensor<2x4x1xf32>) -> tensor<2x4x1xf32>
  %p = tosa.mul %e, %r, %shift : (tensor<2x4x4xf32>, tensor<2x4x1xf32>, tensor<1xi8>) -> tensor<2x4x4xf32>
  %o = tosa.matmul %p, %v, %zp, %zp : (tensor<2x4x4xf32>, tensor<2x4x3xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<2x4x3xf32>
  return %o : tensor<2x4x3xf32>
}
