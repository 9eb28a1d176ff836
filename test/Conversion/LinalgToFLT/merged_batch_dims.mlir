// Batch dims merged on one path and apart on another: q, k, v of
// [B, H, L, d] reshaped to [B * H, L, d] (a collapse_shape, through which the
// analysis sees B and H), and the attention weights computed in the merged
// shape (one label for B * H). The operands that carry the dims apart are
// then read as they are (leaves), so that both sides agree.
// RUN: flt-opt %s --split-input-file --flt-raise-attention | FileCheck %s

// softmax(0.5 q k^T) v with the softmax computed on [B * H, L, S].
// CHECK-LABEL: func.func @softmax_merged_batch
// CHECK-SAME: (%[[Q:[^:]*]]: {{[^,]*}}, %[[K:[^:]*]]: {{[^,]*}}, %[[V:[^:]*]]: {{[^,]*}})
// CHECK-DAG: %[[Q3:.*]] = tensor.collapse_shape %[[Q]] {{\[}}[0, 1], [2], [3]]
// CHECK-DAG: %[[Q4:.*]] = tensor.expand_shape %[[Q3]] {{\[}}[0, 1], [2], [3]] output_shape [1, 4, 4, 8]
// CHECK: flt.kernel_attention %[[Q4]], %{{.*}}, %{{.*}} {temperature = 5.000000e-01 : f32} : tensor<1x4x4x8xf32>, tensor<1x4x4x8xf32>, tensor<1x4x4x3xf32> -> tensor<1x4x4x3xf32>
// CHECK-NOT: linalg.generic
// CHECK: return
#q = affine_map<(n, l, s, x) -> (n, l, x)>
#k = affine_map<(n, l, s, x) -> (n, s, x)>
#s = affine_map<(n, l, s, x) -> (n, l, s)>
#id = affine_map<(n, l, s) -> (n, l, s)>
#row = affine_map<(n, l, s) -> (n, l)>
#pp = affine_map<(n, l, e, s) -> (n, l, s)>
#pv = affine_map<(n, l, e, s) -> (n, s, e)>
#po = affine_map<(n, l, e, s) -> (n, l, e)>
#den = affine_map<(n, l, e) -> (n, l)>
func.func @softmax_merged_batch(%q4: tensor<2x2x4x8xf32>, %k4: tensor<2x2x4x8xf32>, %v4: tensor<2x2x4x3xf32>) -> tensor<4x4x3xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %q = tensor.collapse_shape %q4 [[0, 1], [2], [3]] : tensor<2x2x4x8xf32> into tensor<4x4x8xf32>
  %k = tensor.collapse_shape %k4 [[0, 1], [2], [3]] : tensor<2x2x4x8xf32> into tensor<4x4x8xf32>
  %v = tensor.collapse_shape %v4 [[0, 1], [2], [3]] : tensor<2x2x4x3xf32> into tensor<4x4x3xf32>
  %es = tensor.empty() : tensor<4x4x4xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<4x4x4xf32>) -> tensor<4x4x4xf32>
  %qk = linalg.generic {indexing_maps = [#q, #k, #s], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%q, %k : tensor<4x4x8xf32>, tensor<4x4x8xf32>) outs(%zs : tensor<4x4x4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %p = arith.mulf %a, %b : f32
    %r = arith.addf %o, %p : f32
    linalg.yield %r : f32
  } -> tensor<4x4x4xf32>
  %sc = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%qk : tensor<4x4x4xf32>) outs(%es : tensor<4x4x4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %half = arith.constant 0.5 : f32
    %r = arith.mulf %a, %half : f32
    linalg.yield %r : f32
  } -> tensor<4x4x4xf32>
  %er = tensor.empty() : tensor<4x4xf32>
  %lo = linalg.fill ins(%ninf : f32) outs(%er : tensor<4x4xf32>) -> tensor<4x4xf32>
  %max = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%sc : tensor<4x4x4xf32>) outs(%lo : tensor<4x4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.maximumf %o, %a : f32
    linalg.yield %r : f32
  } -> tensor<4x4xf32>
  %exp = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%sc, %max : tensor<4x4x4xf32>, tensor<4x4xf32>) outs(%es : tensor<4x4x4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %d = arith.subf %a, %b : f32
    %r = math.exp %d : f32
    linalg.yield %r : f32
  } -> tensor<4x4x4xf32>
  %zsum = linalg.fill ins(%zero : f32) outs(%er : tensor<4x4xf32>) -> tensor<4x4xf32>
  %sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%exp : tensor<4x4x4xf32>) outs(%zsum : tensor<4x4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.addf %o, %a : f32
    linalg.yield %r : f32
  } -> tensor<4x4xf32>
  %p = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%exp, %sum : tensor<4x4x4xf32>, tensor<4x4xf32>) outs(%es : tensor<4x4x4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.divf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<4x4x4xf32>
  %ev = tensor.empty() : tensor<4x4x3xf32>
  %zv = linalg.fill ins(%zero : f32) outs(%ev : tensor<4x4x3xf32>) -> tensor<4x4x3xf32>
  %out = linalg.generic {indexing_maps = [#pp, #pv, #po], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%p, %v : tensor<4x4x4xf32>, tensor<4x4x3xf32>) outs(%zv : tensor<4x4x3xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %o, %m : f32
    linalg.yield %r : f32
  } -> tensor<4x4x3xf32>
  return %out : tensor<4x4x3xf32>
}

// -----

// (relu(q) relu(k)^T) v / rowsum: the relu features computed on the merged
// [B * H, L, d], v collapsed from [B, H, S, e].
// CHECK-LABEL: func.func @linear_merged_batch
// CHECK-DAG: %[[FQ:.*]] = flt.feature_map %{{.*}} {is_query = true, kernel = #flt.kernel<relu>} : tensor<1x4x4x8xf32>
// CHECK-DAG: %[[FK:.*]] = flt.feature_map %{{.*}} {kernel = #flt.kernel<relu>} : tensor<1x4x4x8xf32>
// CHECK: flt.linear_attention %[[FQ]], %[[FK]], %{{.*}} {eps = 0.000000e+00 : f32} : tensor<1x4x4x8xf32>, tensor<1x4x4x8xf32>, tensor<1x4x4x3xf32> -> tensor<1x4x4x3xf32>
// CHECK-NOT: linalg.generic
// CHECK: return
#id3 = affine_map<(n, l, x) -> (n, l, x)>
#q = affine_map<(n, l, s, x) -> (n, l, x)>
#k = affine_map<(n, l, s, x) -> (n, s, x)>
#s = affine_map<(n, l, s, x) -> (n, l, s)>
#id = affine_map<(n, l, s) -> (n, l, s)>
#row = affine_map<(n, l, s) -> (n, l)>
#pp = affine_map<(n, l, e, s) -> (n, l, s)>
#pv = affine_map<(n, l, e, s) -> (n, s, e)>
#po = affine_map<(n, l, e, s) -> (n, l, e)>
#den = affine_map<(n, l, e) -> (n, l)>
func.func @linear_merged_batch(%q4: tensor<2x2x4x8xf32>, %k4: tensor<2x2x4x8xf32>, %v4: tensor<2x2x4x3xf32>) -> tensor<4x4x3xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %q = tensor.collapse_shape %q4 [[0, 1], [2], [3]] : tensor<2x2x4x8xf32> into tensor<4x4x8xf32>
  %k = tensor.collapse_shape %k4 [[0, 1], [2], [3]] : tensor<2x2x4x8xf32> into tensor<4x4x8xf32>
  %v = tensor.collapse_shape %v4 [[0, 1], [2], [3]] : tensor<2x2x4x3xf32> into tensor<4x4x3xf32>
  %es = tensor.empty() : tensor<4x4x4xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<4x4x4xf32>) -> tensor<4x4x4xf32>
  %e8 = tensor.empty() : tensor<4x4x8xf32>
  %fq = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%q : tensor<4x4x8xf32>) outs(%e8 : tensor<4x4x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.maximumf %a, %zero : f32
    linalg.yield %r : f32
  } -> tensor<4x4x8xf32>
  %fk = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%k : tensor<4x4x8xf32>) outs(%e8 : tensor<4x4x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.maximumf %a, %zero : f32
    linalg.yield %r : f32
  } -> tensor<4x4x8xf32>
  %qk = linalg.generic {indexing_maps = [#q, #k, #s], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%fq, %fk : tensor<4x4x8xf32>, tensor<4x4x8xf32>) outs(%zs : tensor<4x4x4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %p = arith.mulf %a, %b : f32
    %r = arith.addf %o, %p : f32
    linalg.yield %r : f32
  } -> tensor<4x4x4xf32>
  %ev = tensor.empty() : tensor<4x4x3xf32>
  %zv = linalg.fill ins(%zero : f32) outs(%ev : tensor<4x4x3xf32>) -> tensor<4x4x3xf32>
  %n = linalg.generic {indexing_maps = [#pp, #pv, #po], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%qk, %v : tensor<4x4x4xf32>, tensor<4x4x3xf32>) outs(%zv : tensor<4x4x3xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %o, %m : f32
    linalg.yield %r : f32
  } -> tensor<4x4x3xf32>
  %er = tensor.empty() : tensor<4x4xf32>
  %zd = linalg.fill ins(%zero : f32) outs(%er : tensor<4x4xf32>) -> tensor<4x4xf32>
  %d = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%qk : tensor<4x4x4xf32>) outs(%zd : tensor<4x4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.addf %o, %a : f32
    linalg.yield %r : f32
  } -> tensor<4x4xf32>
  %out = linalg.generic {indexing_maps = [#id3, #den, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%n, %d : tensor<4x4x3xf32>, tensor<4x4xf32>) outs(%ev : tensor<4x4x3xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.divf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<4x4x3xf32>
  return %out : tensor<4x4x3xf32>
}
