// Softmax attention as flt's Python frontends (and other producers) write
// it, one linalg.generic per op: a scale spelled as a division by a splat
// tensor operand, masked_fill(mask, -inf) with a float 0/1 mask (compared
// with 0 in the select's payload), and a constant bias repeated along the
// batch dim (broadcast before it was folded) are raised into
// flt.kernel_attention with temperature, causal and bias(b).
// RUN: flt-opt %s --split-input-file --flt-raise-attention | FileCheck %s

// scores / sqrt(d) with sqrt(d) = 2 a tensor<1xf32> operand, then
// where(triu(ones, 1) != 0, -inf, scores).
// CHECK-LABEL: func.func @float_mask_causal
// CHECK-SAME: (%[[Q:[^:]*]]: {{[^,]*}}, %[[K:[^:]*]]: {{[^,]*}}, %[[V:[^:]*]]: {{[^,]*}})
// CHECK-NEXT: %[[O:.*]] = flt.kernel_attention %[[Q]], %[[K]], %[[V]] {causal = true, temperature = 5.000000e-01 : f32}
// CHECK-NEXT: return %[[O]]
#q = affine_map<(b, h, l, s, x) -> (b, h, l, x)>
#k = affine_map<(b, h, l, s, x) -> (b, h, s, x)>
#s = affine_map<(b, h, l, s, x) -> (b, h, l, s)>
#id = affine_map<(b, h, l, s) -> (b, h, l, s)>
#one = affine_map<(b, h, l, s) -> (0)>
#ls = affine_map<(b, h, l, s) -> (l, s)>
#row = affine_map<(b, h, l, s) -> (b, h, l)>
#pp = affine_map<(b, h, l, e, s) -> (b, h, l, s)>
#pv = affine_map<(b, h, l, e, s) -> (b, h, s, e)>
#po = affine_map<(b, h, l, e, s) -> (b, h, l, e)>
func.func @float_mask_causal(%q: tensor<2x2x4x8xf32>, %k: tensor<2x2x4x8xf32>, %v: tensor<2x2x4x3xf32>) -> tensor<2x2x4x3xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %es = tensor.empty() : tensor<2x2x4x4xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<2x2x4x4xf32>) -> tensor<2x2x4x4xf32>
  %qk = linalg.generic {indexing_maps = [#q, #k, #s], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%q, %k : tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>) outs(%zs : tensor<2x2x4x4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %p = arith.mulf %a, %b : f32
    %r = arith.addf %o, %p : f32
    linalg.yield %r : f32
  } -> tensor<2x2x4x4xf32>
  %c2 = arith.constant dense<2.0> : tensor<1xf32>
  %triu = arith.constant dense<[[0.0, 1.0, 1.0, 1.0], [0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0]]> : tensor<4x4xf32>
  %scaled = linalg.generic {indexing_maps = [#id, #one, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%qk, %c2 : tensor<2x2x4x4xf32>, tensor<1xf32>) outs(%es : tensor<2x2x4x4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.divf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<2x2x4x4xf32>
  %masked = linalg.generic {indexing_maps = [#ls, #id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%triu, %scaled : tensor<4x4xf32>, tensor<2x2x4x4xf32>) outs(%es : tensor<2x2x4x4xf32>) {
  ^bb0(%m: f32, %x: f32, %o: f32):
    %c = arith.cmpf une, %m, %zero : f32
    %r = arith.select %c, %ninf, %x : f32
    linalg.yield %r : f32
  } -> tensor<2x2x4x4xf32>
  %er = tensor.empty() : tensor<2x2x4xf32>
  %lo = linalg.fill ins(%ninf : f32) outs(%er : tensor<2x2x4xf32>) -> tensor<2x2x4xf32>
  %max = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%masked : tensor<2x2x4x4xf32>) outs(%lo : tensor<2x2x4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.maximumf %o, %a : f32
    linalg.yield %r : f32
  } -> tensor<2x2x4xf32>
  %sub = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%masked, %max : tensor<2x2x4x4xf32>, tensor<2x2x4xf32>) outs(%es : tensor<2x2x4x4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.subf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<2x2x4x4xf32>
  %exp = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%sub : tensor<2x2x4x4xf32>) outs(%es : tensor<2x2x4x4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = math.exp %a : f32
    linalg.yield %r : f32
  } -> tensor<2x2x4x4xf32>
  %zr = linalg.fill ins(%zero : f32) outs(%er : tensor<2x2x4xf32>) -> tensor<2x2x4xf32>
  %sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%exp : tensor<2x2x4x4xf32>) outs(%zr : tensor<2x2x4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.addf %o, %a : f32
    linalg.yield %r : f32
  } -> tensor<2x2x4xf32>
  %p = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%exp, %sum : tensor<2x2x4x4xf32>, tensor<2x2x4xf32>) outs(%es : tensor<2x2x4x4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.divf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<2x2x4x4xf32>
  %ev = tensor.empty() : tensor<2x2x4x3xf32>
  %zv = linalg.fill ins(%zero : f32) outs(%ev : tensor<2x2x4x3xf32>) -> tensor<2x2x4x3xf32>
  %out = linalg.generic {indexing_maps = [#pp, #pv, #po], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%p, %v : tensor<2x2x4x4xf32>, tensor<2x2x4x3xf32>) outs(%zv : tensor<2x2x4x3xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %o, %m : f32
    linalg.yield %r : f32
  } -> tensor<2x2x4x3xf32>
  return %out : tensor<2x2x4x3xf32>
}

// -----

// 0.5 q k^T + B with an ALiBi bias B[b, h, i, j] = m_h (j - i), the same
// for both b: the Toeplitz bias b[h, j - i + 3].
// CHECK-LABEL: func.func @bias_repeated_over_batch
// CHECK: %[[B:.*]] = arith.constant dense<{{\[}}[-1.500000e+00, -1.000000e+00, -5.000000e-01, 0.000000e+00, 5.000000e-01, 1.000000e+00, 1.500000e+00], [-7.500000e-01, -5.000000e-01, -2.500000e-01, 0.000000e+00, 2.500000e-01, 5.000000e-01, 7.500000e-01]]> : tensor<2x7xf32>
// CHECK: flt.kernel_attention %{{.*}}, %{{.*}}, %{{.*}} bias(%[[B]]) {temperature = 5.000000e-01 : f32}
// CHECK-NOT: linalg.
// CHECK: return
#q = affine_map<(b, h, l, s, x) -> (b, h, l, x)>
#k = affine_map<(b, h, l, s, x) -> (b, h, s, x)>
#s = affine_map<(b, h, l, s, x) -> (b, h, l, s)>
#id = affine_map<(b, h, l, s) -> (b, h, l, s)>
#one = affine_map<(b, h, l, s) -> (0)>
#ls = affine_map<(b, h, l, s) -> (l, s)>
#row = affine_map<(b, h, l, s) -> (b, h, l)>
#pp = affine_map<(b, h, l, e, s) -> (b, h, l, s)>
#pv = affine_map<(b, h, l, e, s) -> (b, h, s, e)>
#po = affine_map<(b, h, l, e, s) -> (b, h, l, e)>
func.func @bias_repeated_over_batch(%q: tensor<2x2x4x8xf32>, %k: tensor<2x2x4x8xf32>, %v: tensor<2x2x4x3xf32>) -> tensor<2x2x4x3xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %es = tensor.empty() : tensor<2x2x4x4xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<2x2x4x4xf32>) -> tensor<2x2x4x4xf32>
  %qk = linalg.generic {indexing_maps = [#q, #k, #s], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%q, %k : tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>) outs(%zs : tensor<2x2x4x4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %p = arith.mulf %a, %b : f32
    %r = arith.addf %o, %p : f32
    linalg.yield %r : f32
  } -> tensor<2x2x4x4xf32>
  %bias = arith.constant dense<[[[[0.0, 0.5, 1.0, 1.5], [-0.5, 0.0, 0.5, 1.0], [-1.0, -0.5, 0.0, 0.5], [-1.5, -1.0, -0.5, 0.0]], [[0.0, 0.25, 0.5, 0.75], [-0.25, 0.0, 0.25, 0.5], [-0.5, -0.25, 0.0, 0.25], [-0.75, -0.5, -0.25, 0.0]]], [[[0.0, 0.5, 1.0, 1.5], [-0.5, 0.0, 0.5, 1.0], [-1.0, -0.5, 0.0, 0.5], [-1.5, -1.0, -0.5, 0.0]], [[0.0, 0.25, 0.5, 0.75], [-0.25, 0.0, 0.25, 0.5], [-0.5, -0.25, 0.0, 0.25], [-0.75, -0.5, -0.25, 0.0]]]]> : tensor<2x2x4x4xf32>
  %scaled = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%qk, %bias : tensor<2x2x4x4xf32>, tensor<2x2x4x4xf32>) outs(%es : tensor<2x2x4x4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %half = arith.constant 0.5 : f32
    %x = arith.mulf %a, %half : f32
    %r = arith.addf %x, %b : f32
    linalg.yield %r : f32
  } -> tensor<2x2x4x4xf32>
  %er = tensor.empty() : tensor<2x2x4xf32>
  %lo = linalg.fill ins(%ninf : f32) outs(%er : tensor<2x2x4xf32>) -> tensor<2x2x4xf32>
  %max = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%scaled : tensor<2x2x4x4xf32>) outs(%lo : tensor<2x2x4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.maximumf %o, %a : f32
    linalg.yield %r : f32
  } -> tensor<2x2x4xf32>
  %sub = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%scaled, %max : tensor<2x2x4x4xf32>, tensor<2x2x4xf32>) outs(%es : tensor<2x2x4x4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.subf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<2x2x4x4xf32>
  %exp = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%sub : tensor<2x2x4x4xf32>) outs(%es : tensor<2x2x4x4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = math.exp %a : f32
    linalg.yield %r : f32
  } -> tensor<2x2x4x4xf32>
  %zr = linalg.fill ins(%zero : f32) outs(%er : tensor<2x2x4xf32>) -> tensor<2x2x4xf32>
  %sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%exp : tensor<2x2x4x4xf32>) outs(%zr : tensor<2x2x4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.addf %o, %a : f32
    linalg.yield %r : f32
  } -> tensor<2x2x4xf32>
  %p = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%exp, %sum : tensor<2x2x4x4xf32>, tensor<2x2x4xf32>) outs(%es : tensor<2x2x4x4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.divf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<2x2x4x4xf32>
  %ev = tensor.empty() : tensor<2x2x4x3xf32>
  %zv = linalg.fill ins(%zero : f32) outs(%ev : tensor<2x2x4x3xf32>) -> tensor<2x2x4x3xf32>
  %out = linalg.generic {indexing_maps = [#pp, #pv, #po], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%p, %v : tensor<2x2x4x4xf32>, tensor<2x2x4x3xf32>) outs(%zv : tensor<2x2x4x3xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %o, %m : f32
    linalg.yield %r : f32
  } -> tensor<2x2x4x3xf32>
  return %out : tensor<2x2x4x3xf32>
}

// -----

// The same bias doubled for b = 1: it varies along the batch, and flt's
// bias is per head.
// CHECK-LABEL: func.func @bias_varying_over_batch
// CHECK-NOT: flt.
// CHECK: return
#q = affine_map<(b, h, l, s, x) -> (b, h, l, x)>
#k = affine_map<(b, h, l, s, x) -> (b, h, s, x)>
#s = affine_map<(b, h, l, s, x) -> (b, h, l, s)>
#id = affine_map<(b, h, l, s) -> (b, h, l, s)>
#one = affine_map<(b, h, l, s) -> (0)>
#ls = affine_map<(b, h, l, s) -> (l, s)>
#row = affine_map<(b, h, l, s) -> (b, h, l)>
#pp = affine_map<(b, h, l, e, s) -> (b, h, l, s)>
#pv = affine_map<(b, h, l, e, s) -> (b, h, s, e)>
#po = affine_map<(b, h, l, e, s) -> (b, h, l, e)>
func.func @bias_varying_over_batch(%q: tensor<2x2x4x8xf32>, %k: tensor<2x2x4x8xf32>, %v: tensor<2x2x4x3xf32>) -> tensor<2x2x4x3xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %es = tensor.empty() : tensor<2x2x4x4xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<2x2x4x4xf32>) -> tensor<2x2x4x4xf32>
  %qk = linalg.generic {indexing_maps = [#q, #k, #s], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%q, %k : tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>) outs(%zs : tensor<2x2x4x4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %p = arith.mulf %a, %b : f32
    %r = arith.addf %o, %p : f32
    linalg.yield %r : f32
  } -> tensor<2x2x4x4xf32>
  %bias = arith.constant dense<[[[[0.0, 0.5, 1.0, 1.5], [-0.5, 0.0, 0.5, 1.0], [-1.0, -0.5, 0.0, 0.5], [-1.5, -1.0, -0.5, 0.0]], [[0.0, 0.25, 0.5, 0.75], [-0.25, 0.0, 0.25, 0.5], [-0.5, -0.25, 0.0, 0.25], [-0.75, -0.5, -0.25, 0.0]]], [[[0.0, 1.0, 2.0, 3.0], [-1.0, 0.0, 1.0, 2.0], [-2.0, -1.0, 0.0, 1.0], [-3.0, -2.0, -1.0, 0.0]], [[0.0, 0.5, 1.0, 1.5], [-0.5, 0.0, 0.5, 1.0], [-1.0, -0.5, 0.0, 0.5], [-1.5, -1.0, -0.5, 0.0]]]]> : tensor<2x2x4x4xf32>
  %scaled = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%qk, %bias : tensor<2x2x4x4xf32>, tensor<2x2x4x4xf32>) outs(%es : tensor<2x2x4x4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %half = arith.constant 0.5 : f32
    %x = arith.mulf %a, %half : f32
    %r = arith.addf %x, %b : f32
    linalg.yield %r : f32
  } -> tensor<2x2x4x4xf32>
  %er = tensor.empty() : tensor<2x2x4xf32>
  %lo = linalg.fill ins(%ninf : f32) outs(%er : tensor<2x2x4xf32>) -> tensor<2x2x4xf32>
  %max = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%scaled : tensor<2x2x4x4xf32>) outs(%lo : tensor<2x2x4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.maximumf %o, %a : f32
    linalg.yield %r : f32
  } -> tensor<2x2x4xf32>
  %sub = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%scaled, %max : tensor<2x2x4x4xf32>, tensor<2x2x4xf32>) outs(%es : tensor<2x2x4x4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.subf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<2x2x4x4xf32>
  %exp = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%sub : tensor<2x2x4x4xf32>) outs(%es : tensor<2x2x4x4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = math.exp %a : f32
    linalg.yield %r : f32
  } -> tensor<2x2x4x4xf32>
  %zr = linalg.fill ins(%zero : f32) outs(%er : tensor<2x2x4xf32>) -> tensor<2x2x4xf32>
  %sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%exp : tensor<2x2x4x4xf32>) outs(%zr : tensor<2x2x4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.addf %o, %a : f32
    linalg.yield %r : f32
  } -> tensor<2x2x4xf32>
  %p = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%exp, %sum : tensor<2x2x4x4xf32>, tensor<2x2x4xf32>) outs(%es : tensor<2x2x4x4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.divf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<2x2x4x4xf32>
  %ev = tensor.empty() : tensor<2x2x4x3xf32>
  %zv = linalg.fill ins(%zero : f32) outs(%ev : tensor<2x2x4x3xf32>) -> tensor<2x2x4x3xf32>
  %out = linalg.generic {indexing_maps = [#pp, #pv, #po], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%p, %v : tensor<2x2x4x4xf32>, tensor<2x2x4x3xf32>) outs(%zv : tensor<2x2x4x3xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %o, %m : f32
    linalg.yield %r : f32
  } -> tensor<2x2x4x3xf32>
  return %out : tensor<2x2x4x3xf32>
}
