// Linear attention in linalg-on-tensors is raised to flt.feature_map and
// flt.linear_attention, with the RPE factors and the causal mask.
// RUN: flt-opt %s --split-input-file --flt-raise-attention | FileCheck %s

// The quadratic FLT layer of researchers' code: elu + 1 features (one
// spelled with exp - 1, one with expm1), kernel scores times the RPE mask
// phi psi^T, (A v) / (rowsum(A) + 1e-6).
// CHECK-LABEL: func.func @flt_quadratic
// CHECK-SAME: (%[[Q:[^:]*]]: {{[^,]*}}, %[[K:[^:]*]]: {{[^,]*}}, %[[V:[^:]*]]: {{[^,]*}}, %[[PHI:[^:]*]]: {{[^,]*}}, %[[PSI:[^:]*]]: {{[^,]*}})
// CHECK-NEXT: %[[FQ:.*]] = flt.feature_map %[[Q]] {is_query = true, kernel = #flt.kernel<elu_plus_one>}
// CHECK-NEXT: %[[FK:.*]] = flt.feature_map %[[K]] {kernel = #flt.kernel<elu_plus_one>}
// CHECK-NEXT: %[[O:.*]] = flt.linear_attention %[[FQ]], %[[FK]], %[[V]] rpe(%[[PHI]], %[[PSI]]) :
// CHECK-NEXT: return %[[O]]
#x4 = affine_map<(b, h, l, d) -> (b, h, l, d)>
#qk_q = affine_map<(b, h, l, s, x) -> (b, h, l, x)>
#qk_k = affine_map<(b, h, l, s, x) -> (b, h, s, x)>
#qk_o = affine_map<(b, h, l, s, x) -> (b, h, l, s)>
#av_a = affine_map<(b, h, l, e, s) -> (b, h, l, s)>
#av_v = affine_map<(b, h, l, e, s) -> (b, h, s, e)>
#av_o = affine_map<(b, h, l, e, s) -> (b, h, l, e)>
#ls = affine_map<(b, h, l, s) -> (b, h, l, s)>
#l1 = affine_map<(b, h, l, s) -> (b, h, l, 0)>
#le = affine_map<(b, h, l, e) -> (b, h, l, e)>
func.func @flt_quadratic(%q: tensor<1x2x16x8xf32>, %k: tensor<1x2x16x8xf32>, %v: tensor<1x2x16x4xf32>,
                         %phi: tensor<1x2x16x6xf32>, %psi: tensor<1x2x16x6xf32>) -> tensor<1x2x16x4xf32> {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %eps = arith.constant 1.0e-6 : f32
  %e8 = tensor.empty() : tensor<1x2x16x8xf32>
  %fq = linalg.generic {indexing_maps = [#x4, #x4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%q : tensor<1x2x16x8xf32>) outs(%e8 : tensor<1x2x16x8xf32>) {
  ^bb0(%x: f32, %o: f32):
    %pos = arith.cmpf ogt, %x, %zero : f32
    %ex = math.exp %x : f32
    %em1 = arith.subf %ex, %one : f32
    %elu = arith.select %pos, %x, %em1 : f32
    %r = arith.addf %elu, %one : f32
    linalg.yield %r : f32
  } -> tensor<1x2x16x8xf32>
  %fk = linalg.generic {indexing_maps = [#x4, #x4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%k : tensor<1x2x16x8xf32>) outs(%e8 : tensor<1x2x16x8xf32>) {
  ^bb0(%x: f32, %o: f32):
    %pos = arith.cmpf ogt, %x, %zero : f32
    %ex = math.expm1 %x : f32
    %elu = arith.select %pos, %x, %ex : f32
    %r = arith.addf %elu, %one : f32
    linalg.yield %r : f32
  } -> tensor<1x2x16x8xf32>
  %e16 = tensor.empty() : tensor<1x2x16x16xf32>
  %z16 = linalg.fill ins(%zero : f32) outs(%e16 : tensor<1x2x16x16xf32>) -> tensor<1x2x16x16xf32>
  %kern = linalg.generic {indexing_maps = [#qk_q, #qk_k, #qk_o], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%fq, %fk : tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) outs(%z16 : tensor<1x2x16x16xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<1x2x16x16xf32>
  %mask = linalg.generic {indexing_maps = [#qk_q, #qk_k, #qk_o], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%phi, %psi : tensor<1x2x16x6xf32>, tensor<1x2x16x6xf32>) outs(%z16 : tensor<1x2x16x16xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<1x2x16x16xf32>
  %a = linalg.generic {indexing_maps = [#ls, #ls, #ls], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%kern, %mask : tensor<1x2x16x16xf32>, tensor<1x2x16x16xf32>) outs(%e16 : tensor<1x2x16x16xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %p = arith.mulf %x, %y : f32
    linalg.yield %p : f32
  } -> tensor<1x2x16x16xf32>
  %e1 = tensor.empty() : tensor<1x2x16x1xf32>
  %z1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<1x2x16x1xf32>) -> tensor<1x2x16x1xf32>
  %den = linalg.generic {indexing_maps = [#ls, #l1], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%a : tensor<1x2x16x16xf32>) outs(%z1 : tensor<1x2x16x1xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %s = arith.addf %x, %acc : f32
    linalg.yield %s : f32
  } -> tensor<1x2x16x1xf32>
  %e4 = tensor.empty() : tensor<1x2x16x4xf32>
  %z4 = linalg.fill ins(%zero : f32) outs(%e4 : tensor<1x2x16x4xf32>) -> tensor<1x2x16x4xf32>
  %num = linalg.generic {indexing_maps = [#av_a, #av_v, #av_o], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%a, %v : tensor<1x2x16x16xf32>, tensor<1x2x16x4xf32>) outs(%z4 : tensor<1x2x16x4xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<1x2x16x4xf32>
  %o = linalg.generic {indexing_maps = [#le, #l1, #le], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%num, %den : tensor<1x2x16x4xf32>, tensor<1x2x16x1xf32>) outs(%e4 : tensor<1x2x16x4xf32>) {
  ^bb0(%x: f32, %y: f32, %out: f32):
    %d = arith.addf %y, %eps : f32
    %r = arith.divf %x, %d : f32
    linalg.yield %r : f32
  } -> tensor<1x2x16x4xf32>
  return %o : tensor<1x2x16x4xf32>
}

// -----

// The einsum (linear) form with torch-mlir's relu (cmpf ugt + select),
// [heads, tokens, d] operands with dynamic tokens, no eps:
//   num = einsum('hlx,hxe->hle', fq, einsum('hsx,hse->hxe', fk, v))
//   den = einsum('hlx,hx->hl', fq, fk.sum(1)),  out = num / den
// CHECK-LABEL: func.func @einsum_relu
// CHECK-SAME: (%[[Q:.*]]: tensor<4x?x8xf32>, %[[K:.*]]: tensor<4x?x8xf32>, %[[V:.*]]: tensor<4x?x6xf32>)
// CHECK-DAG: %[[Q4:.*]] = tensor.expand_shape %[[Q]] {{\[}}[0, 1], [2], [3]]
// CHECK-DAG: %[[K4:.*]] = tensor.expand_shape %[[K]] {{\[}}[0, 1], [2], [3]]
// CHECK-DAG: %[[FQ:.*]] = flt.feature_map %[[Q4]] {is_query = true, kernel = #flt.kernel<relu>} : tensor<1x4x?x8xf32>
// CHECK-DAG: %[[FK:.*]] = flt.feature_map %[[K4]] {kernel = #flt.kernel<relu>}
// CHECK: %[[O:.*]] = flt.linear_attention %[[FQ]], %[[FK]], %{{.*}} {eps = 0.000000e+00 : f32} : {{.*}} -> tensor<1x4x?x6xf32>
// CHECK: %[[R:.*]] = tensor.collapse_shape %[[O]]
// CHECK-NOT: linalg.
// CHECK: return %[[R]]
#hlx = affine_map<(h, l, x) -> (h, l, x)>
#kv_k = affine_map<(h, x, e, s) -> (h, s, x)>
#kv_v = affine_map<(h, x, e, s) -> (h, s, e)>
#kv_o = affine_map<(h, x, e, s) -> (h, x, e)>
#n_q = affine_map<(h, l, e, x) -> (h, l, x)>
#n_kv = affine_map<(h, l, e, x) -> (h, x, e)>
#n_o = affine_map<(h, l, e, x) -> (h, l, e)>
#z_k = affine_map<(h, x, s) -> (h, s, x)>
#z_o = affine_map<(h, x, s) -> (h, x)>
#d_q = affine_map<(h, l, x) -> (h, l, x)>
#d_z = affine_map<(h, l, x) -> (h, x)>
#d_o = affine_map<(h, l, x) -> (h, l)>
#o_n = affine_map<(h, l, e) -> (h, l, e)>
#o_d = affine_map<(h, l, e) -> (h, l)>
func.func @einsum_relu(%q: tensor<4x?x8xf32>, %k: tensor<4x?x8xf32>, %v: tensor<4x?x6xf32>) -> tensor<4x?x6xf32> {
  %zero = arith.constant 0.0 : f32
  %c1 = arith.constant 1 : index
  %n = tensor.dim %q, %c1 : tensor<4x?x8xf32>
  %s = tensor.dim %k, %c1 : tensor<4x?x8xf32>
  %eq = tensor.empty(%n) : tensor<4x?x8xf32>
  %fq = linalg.generic {indexing_maps = [#hlx, #hlx], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%q : tensor<4x?x8xf32>) outs(%eq : tensor<4x?x8xf32>) {
  ^bb0(%x: f32, %o: f32):
    %p = arith.cmpf ugt, %x, %zero : f32
    %r = arith.select %p, %x, %zero : f32
    linalg.yield %r : f32
  } -> tensor<4x?x8xf32>
  %ek = tensor.empty(%s) : tensor<4x?x8xf32>
  %fk = linalg.generic {indexing_maps = [#hlx, #hlx], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%k : tensor<4x?x8xf32>) outs(%ek : tensor<4x?x8xf32>) {
  ^bb0(%x: f32, %o: f32):
    %p = arith.cmpf ugt, %x, %zero : f32
    %r = arith.select %p, %x, %zero : f32
    linalg.yield %r : f32
  } -> tensor<4x?x8xf32>
  %ekv = tensor.empty() : tensor<4x8x6xf32>
  %zkv = linalg.fill ins(%zero : f32) outs(%ekv : tensor<4x8x6xf32>) -> tensor<4x8x6xf32>
  %kv = linalg.generic {indexing_maps = [#kv_k, #kv_v, #kv_o], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%fk, %v : tensor<4x?x8xf32>, tensor<4x?x6xf32>) outs(%zkv : tensor<4x8x6xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %p : f32
    linalg.yield %r : f32
  } -> tensor<4x8x6xf32>
  %en = tensor.empty(%n) : tensor<4x?x6xf32>
  %zn = linalg.fill ins(%zero : f32) outs(%en : tensor<4x?x6xf32>) -> tensor<4x?x6xf32>
  %num = linalg.generic {indexing_maps = [#n_q, #n_kv, #n_o], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%fq, %kv : tensor<4x?x8xf32>, tensor<4x8x6xf32>) outs(%zn : tensor<4x?x6xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %p : f32
    linalg.yield %r : f32
  } -> tensor<4x?x6xf32>
  %ez = tensor.empty() : tensor<4x8xf32>
  %zz = linalg.fill ins(%zero : f32) outs(%ez : tensor<4x8xf32>) -> tensor<4x8xf32>
  %z = linalg.generic {indexing_maps = [#z_k, #z_o], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%fk : tensor<4x?x8xf32>) outs(%zz : tensor<4x8xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.addf %acc, %a : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  %ed = tensor.empty(%n) : tensor<4x?xf32>
  %zd = linalg.fill ins(%zero : f32) outs(%ed : tensor<4x?xf32>) -> tensor<4x?xf32>
  %den = linalg.generic {indexing_maps = [#d_q, #d_z, #d_o], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%fq, %z : tensor<4x?x8xf32>, tensor<4x8xf32>) outs(%zd : tensor<4x?xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %p : f32
    linalg.yield %r : f32
  } -> tensor<4x?xf32>
  %o = linalg.generic {indexing_maps = [#o_n, #o_d, #o_n], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%num, %den : tensor<4x?x6xf32>, tensor<4x?xf32>) outs(%en : tensor<4x?x6xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %r = arith.divf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<4x?x6xf32>
  return %o : tensor<4x?x6xf32>
}
