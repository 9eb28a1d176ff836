// Softmax attention in linalg-on-tensors, spelled as torch-mlir emits it, is
// raised to flt.kernel_attention.
// RUN: flt-opt %s --split-input-file --flt-raise-attention | FileCheck %s

// aten.transpose (a permuting generic), aten.matmul on 4-D operands
// (collapse the batch dims, batch_matmul, expand), / sqrt(d), softmax
// decomposed into max, exp(x - max), sum and divide, then @ v.
// CHECK-LABEL: func.func @softmax_4d
// CHECK-SAME: (%[[Q:.*]]: tensor<2x4x16x32xf32>, %[[K:.*]]: tensor<2x4x16x32xf32>, %[[V:.*]]: tensor<2x4x16x8xf32>)
// CHECK-NEXT: %[[O:.*]] = flt.kernel_attention %[[Q]], %[[K]], %[[V]] {temperature = 0.176776692 : f32}
// CHECK-NEXT: return %[[O]]

#id = affine_map<(b, h, l, s) -> (b, h, l, s)>
#kt = affine_map<(b, h, s, d) -> (b, h, d, s)>
#row = affine_map<(b, h, l, s) -> (b, h, l, 0)>
func.func @softmax_4d(%q: tensor<2x4x16x32xf32>, %k: tensor<2x4x16x32xf32>, %v: tensor<2x4x16x8xf32>) -> tensor<2x4x16x8xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %c = arith.constant 5.656854 : f32
  // k^T as torch-mlir's aten.transpose.int
  %e0 = tensor.empty() : tensor<2x4x32x16xf32>
  %kt = linalg.generic {indexing_maps = [#kt, affine_map<(b, h, s, d) -> (b, h, s, d)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%k : tensor<2x4x16x32xf32>) outs(%e0 : tensor<2x4x32x16xf32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  } -> tensor<2x4x32x16xf32>
  // aten.matmul on 4-D: collapse batch dims, batch_matmul, expand
  %q3 = tensor.collapse_shape %q [[0, 1], [2], [3]] : tensor<2x4x16x32xf32> into tensor<8x16x32xf32>
  %kt3 = tensor.collapse_shape %kt [[0, 1], [2], [3]] : tensor<2x4x32x16xf32> into tensor<8x32x16xf32>
  %e1 = tensor.empty() : tensor<8x16x16xf32>
  %z1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<8x16x16xf32>) -> tensor<8x16x16xf32>
  %s3 = linalg.batch_matmul ins(%q3, %kt3 : tensor<8x16x32xf32>, tensor<8x32x16xf32>) outs(%z1 : tensor<8x16x16xf32>) -> tensor<8x16x16xf32>
  %s = tensor.expand_shape %s3 [[0, 1], [2], [3]] output_shape [2, 4, 16, 16] : tensor<8x16x16xf32> into tensor<2x4x16x16xf32>
  // / sqrt(d)
  %e2 = tensor.empty() : tensor<2x4x16x16xf32>
  %x = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%s : tensor<2x4x16x16xf32>) outs(%e2 : tensor<2x4x16x16xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.divf %a, %c : f32
    linalg.yield %r : f32
  } -> tensor<2x4x16x16xf32>
  // softmax(-1), decomposed: max (keepdim), exp(x - max), sum (keepdim), divide
  %e3 = tensor.empty() : tensor<2x4x16x1xf32>
  %m0 = linalg.fill ins(%ninf : f32) outs(%e3 : tensor<2x4x16x1xf32>) -> tensor<2x4x16x1xf32>
  %m = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x : tensor<2x4x16x16xf32>) outs(%m0 : tensor<2x4x16x1xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.maximumf %a, %acc : f32
    linalg.yield %r : f32
  } -> tensor<2x4x16x1xf32>
  %ex = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x, %m : tensor<2x4x16x16xf32>, tensor<2x4x16x1xf32>) outs(%e2 : tensor<2x4x16x16xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %d = arith.subf %a, %b : f32
    %r = math.exp %d : f32
    linalg.yield %r : f32
  } -> tensor<2x4x16x16xf32>
  %z0 = linalg.fill ins(%zero : f32) outs(%e3 : tensor<2x4x16x1xf32>) -> tensor<2x4x16x1xf32>
  %z = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%ex : tensor<2x4x16x16xf32>) outs(%z0 : tensor<2x4x16x1xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.addf %a, %acc : f32
    linalg.yield %r : f32
  } -> tensor<2x4x16x1xf32>
  %p = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%ex, %z : tensor<2x4x16x16xf32>, tensor<2x4x16x1xf32>) outs(%e2 : tensor<2x4x16x16xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.divf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<2x4x16x16xf32>
  // @ v
  %p3 = tensor.collapse_shape %p [[0, 1], [2], [3]] : tensor<2x4x16x16xf32> into tensor<8x16x16xf32>
  %v3 = tensor.collapse_shape %v [[0, 1], [2], [3]] : tensor<2x4x16x8xf32> into tensor<8x16x8xf32>
  %e4 = tensor.empty() : tensor<8x16x8xf32>
  %z4 = linalg.fill ins(%zero : f32) outs(%e4 : tensor<8x16x8xf32>) -> tensor<8x16x8xf32>
  %o3 = linalg.batch_matmul ins(%p3, %v3 : tensor<8x16x16xf32>, tensor<8x16x8xf32>) outs(%z4 : tensor<8x16x8xf32>) -> tensor<8x16x8xf32>
  %o = tensor.expand_shape %o3 [[0, 1], [2], [3]] output_shape [2, 4, 16, 8] : tensor<8x16x8xf32> into tensor<2x4x16x8xf32>
  return %o : tensor<2x4x16x8xf32>
}

// -----

// linalg.softmax with the scale folded into q, 3-D [batch, tokens, d]
// operands and a dynamic token count; k is read transposed by the matmul.
// CHECK-LABEL: func.func @named_softmax_dynamic
// CHECK-SAME: (%[[Q:.*]]: tensor<4x?x16xf32>, %[[K:.*]]: tensor<4x?x16xf32>, %[[V:.*]]: tensor<4x?x16xf32>)
// CHECK: %[[Q4:.*]] = tensor.expand_shape %[[Q]] {{\[}}[0, 1], [2], [3]] output_shape [1, 4, %{{.*}}, 16]
// CHECK: %[[K4:.*]] = tensor.expand_shape %[[K]]
// CHECK: %[[O:.*]] = flt.kernel_attention %[[Q4]], %[[K4]], %{{.*}} {temperature = 2.500000e-01 : f32} : tensor<1x4x?x16xf32>, tensor<1x4x?x16xf32>, tensor<1x4x?x16xf32> -> tensor<1x4x?x16xf32>
// CHECK: %[[R:.*]] = tensor.collapse_shape %[[O]] {{\[}}[0, 1], [2], [3]] : tensor<1x4x?x16xf32> into tensor<4x?x16xf32>
// CHECK-NOT: linalg.
// CHECK: return %[[R]]
#x3 = affine_map<(b, l, d) -> (b, l, d)>
func.func @named_softmax_dynamic(%q: tensor<4x?x16xf32>, %k: tensor<4x?x16xf32>, %v: tensor<4x?x16xf32>) -> tensor<4x?x16xf32> {
  %zero = arith.constant 0.0 : f32
  %c = arith.constant 0.25 : f32
  %c1 = arith.constant 1 : index
  %n = tensor.dim %q, %c1 : tensor<4x?x16xf32>
  %eq = tensor.empty(%n) : tensor<4x?x16xf32>
  %qs = linalg.generic {indexing_maps = [#x3, #x3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%q : tensor<4x?x16xf32>) outs(%eq : tensor<4x?x16xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.mulf %c, %a : f32
    linalg.yield %r : f32
  } -> tensor<4x?x16xf32>
  %es = tensor.empty(%n, %n) : tensor<4x?x?xf32>
  %zs = linalg.fill ins(%zero : f32) outs(%es : tensor<4x?x?xf32>) -> tensor<4x?x?xf32>
  %s = linalg.batch_matmul indexing_maps = [
         affine_map<(b, l, s, d) -> (b, l, d)>,
         affine_map<(b, l, s, d) -> (b, s, d)>,
         affine_map<(b, l, s, d) -> (b, l, s)>]
       ins(%qs, %k : tensor<4x?x16xf32>, tensor<4x?x16xf32>) outs(%zs : tensor<4x?x?xf32>) -> tensor<4x?x?xf32>
  %p = linalg.softmax dimension(2) ins(%s : tensor<4x?x?xf32>) outs(%es : tensor<4x?x?xf32>) -> tensor<4x?x?xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eq : tensor<4x?x16xf32>) -> tensor<4x?x16xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<4x?x?xf32>, tensor<4x?x16xf32>) outs(%zo : tensor<4x?x16xf32>) -> tensor<4x?x16xf32>
  return %o : tensor<4x?x16xf32>
}
