// Rotary embeddings in linalg-on-tensors (as torch-mlir writes rotate_half
// and rotate_every_two: lane slices, a negation, concat, products with
// constant cos / sin tables) are raised to flt.position_transform with the
// angles read back from the tables.
// RUN: flt-opt %s --split-input-file --flt-raise-attention | FileCheck %s

// LLaMA: x * cos + cat(-x2, x1) * sin, one generic per op, [B, H, L, d];
// theta_t = 10000^(-2t/d) = [1, 0.01] for each of the 2 heads.
// CHECK-LABEL: func.func @rotate_half
// CHECK-SAME: (%[[X:.*]]: tensor<1x2x4x4xf32>)
// CHECK: %[[T:.*]] = arith.constant dense<{{\[}}[1.000000e+00, 0.0{{[0-9]+}}], [1.000000e+00, 0.0{{[0-9]+}}]]> : tensor<2x2xf32>
// CHECK: %[[Y:.*]] = flt.position_transform %[[X]], %[[T]] {core = #flt.lrpe_core<rotary>, pairing = #flt.pairing<halves>} : tensor<1x2x4x4xf32>, tensor<2x2xf32> -> tensor<1x2x4x4xf32>
// CHECK-NOT: linalg.
// CHECK: return %[[Y]]
#id = affine_map<(b, h, l, t) -> (b, h, l, t)>
#table = affine_map<(b, h, l, t) -> (l, t)>
func.func @rotate_half(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %cos = arith.constant dense<[[1.0, 1.0, 1.0, 1.0], [0.540302277, 0.999949992, 0.540302277, 0.999949992], [-0.416146815, 0.999800026, -0.416146815, 0.999800026], [-0.989992499, 0.999550045, -0.989992499, 0.999550045]]> : tensor<4x4xf32>
  %sin = arith.constant dense<[[0.0, 0.0, 0.0, 0.0], [0.841471016, 0.00999983307, 0.841471016, 0.00999983307], [0.909297407, 0.0199986659, 0.909297407, 0.0199986659], [0.141120002, 0.0299954992, 0.141120002, 0.0299954992]]> : tensor<4x4xf32>
  %x1 = tensor.extract_slice %x[0, 0, 0, 0] [1, 2, 4, 2] [1, 1, 1, 1] : tensor<1x2x4x4xf32> to tensor<1x2x4x2xf32>
  %x2 = tensor.extract_slice %x[0, 0, 0, 2] [1, 2, 4, 2] [1, 1, 1, 1] : tensor<1x2x4x4xf32> to tensor<1x2x4x2xf32>
  %e2 = tensor.empty() : tensor<1x2x4x2xf32>
  %n = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x2 : tensor<1x2x4x2xf32>) outs(%e2 : tensor<1x2x4x2xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.negf %a : f32
    linalg.yield %r : f32
  } -> tensor<1x2x4x2xf32>
  %rot = tensor.concat dim(3) %n, %x1 : (tensor<1x2x4x2xf32>, tensor<1x2x4x2xf32>) -> tensor<1x2x4x4xf32>
  %e = tensor.empty() : tensor<1x2x4x4xf32>
  %xc = linalg.generic {indexing_maps = [#id, #table, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x, %cos : tensor<1x2x4x4xf32>, tensor<4x4xf32>) outs(%e : tensor<1x2x4x4xf32>) {
  ^bb0(%a: f32, %c: f32, %o: f32):
    %r = arith.mulf %a, %c : f32
    linalg.yield %r : f32
  } -> tensor<1x2x4x4xf32>
  %rs = linalg.generic {indexing_maps = [#id, #table, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%rot, %sin : tensor<1x2x4x4xf32>, tensor<4x4xf32>) outs(%e : tensor<1x2x4x4xf32>) {
  ^bb0(%a: f32, %s: f32, %o: f32):
    %r = arith.mulf %a, %s : f32
    linalg.yield %r : f32
  } -> tensor<1x2x4x4xf32>
  %y = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%xc, %rs : tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>) outs(%e : tensor<1x2x4x4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.addf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<1x2x4x4xf32>
  return %y : tensor<1x2x4x4xf32>
}

// -----

// GPT-J: stack(-x[..., 1::2], x[..., ::2], -1).flatten(-2) (interleaved
// pairs, the default) on a [B, L, H, d] tensor, fused into one generic:
// moved to [1, B * H, L, d] for the op and back.
// CHECK-LABEL: func.func @rotate_every_two_token_major
// CHECK-SAME: (%[[X:.*]]: tensor<2x4x3x4xf32>)
// CHECK: %[[XT:.*]] = linalg.transpose ins(%[[X]] : tensor<2x4x3x4xf32>) outs(%{{.*}} : tensor<2x3x4x4xf32>) permutation = [0, 2, 1, 3]
// CHECK: %[[X3:.*]] = tensor.collapse_shape %[[XT]] {{\[}}[0, 1], [2], [3]] : tensor<2x3x4x4xf32> into tensor<6x4x4xf32>
// CHECK: %[[X4:.*]] = tensor.expand_shape %[[X3]] {{\[}}[0, 1], [2], [3]] output_shape [1, 6, 4, 4]
// CHECK: %[[Y:.*]] = flt.position_transform %[[X4]], %{{.*}} {core = #flt.lrpe_core<rotary>} : tensor<1x6x4x4xf32>, tensor<6x2xf32> -> tensor<1x6x4x4xf32>
// CHECK: %[[Y3:.*]] = tensor.collapse_shape %[[Y]]
// CHECK: %[[YT:.*]] = tensor.expand_shape %[[Y3]]
// CHECK: %[[R:.*]] = linalg.transpose ins(%[[YT]] : tensor<2x3x4x4xf32>) outs(%{{.*}} : tensor<2x4x3x4xf32>) permutation = [0, 2, 1, 3]
// CHECK: return %[[R]]
#id = affine_map<(b, l, h, t) -> (b, l, h, t)>
#table = affine_map<(b, l, h, t) -> (l, t)>
func.func @rotate_every_two_token_major(%x: tensor<2x4x3x4xf32>) -> tensor<2x4x3x4xf32> {
  %cos = arith.constant dense<[[1.0, 1.0, 1.0, 1.0], [0.540302277, 0.540302277, 0.999949992, 0.999949992], [-0.416146815, -0.416146815, 0.999800026, 0.999800026], [-0.989992499, -0.989992499, 0.999550045, 0.999550045]]> : tensor<4x4xf32>
  %sin = arith.constant dense<[[0.0, 0.0, 0.0, 0.0], [0.841471016, 0.841471016, 0.00999983307, 0.00999983307], [0.909297407, 0.909297407, 0.0199986659, 0.0199986659], [0.141120002, 0.141120002, 0.0299954992, 0.0299954992]]> : tensor<4x4xf32>
  %even = tensor.extract_slice %x[0, 0, 0, 0] [2, 4, 3, 2] [1, 1, 1, 2] : tensor<2x4x3x4xf32> to tensor<2x4x3x2xf32>
  %odd = tensor.extract_slice %x[0, 0, 0, 1] [2, 4, 3, 2] [1, 1, 1, 2] : tensor<2x4x3x4xf32> to tensor<2x4x3x2xf32>
  %e2 = tensor.empty() : tensor<2x4x3x2xf32>
  %n = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%odd : tensor<2x4x3x2xf32>) outs(%e2 : tensor<2x4x3x2xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.negf %a : f32
    linalg.yield %r : f32
  } -> tensor<2x4x3x2xf32>
  %n5 = tensor.expand_shape %n [[0], [1], [2], [3, 4]] output_shape [2, 4, 3, 2, 1] : tensor<2x4x3x2xf32> into tensor<2x4x3x2x1xf32>
  %e5 = tensor.expand_shape %even [[0], [1], [2], [3, 4]] output_shape [2, 4, 3, 2, 1] : tensor<2x4x3x2xf32> into tensor<2x4x3x2x1xf32>
  %stack = tensor.concat dim(4) %n5, %e5 : (tensor<2x4x3x2x1xf32>, tensor<2x4x3x2x1xf32>) -> tensor<2x4x3x2x2xf32>
  %rot = tensor.collapse_shape %stack [[0], [1], [2], [3, 4]] : tensor<2x4x3x2x2xf32> into tensor<2x4x3x4xf32>
  %e = tensor.empty() : tensor<2x4x3x4xf32>
  %y = linalg.generic {indexing_maps = [#id, #table, #id, #table, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x, %cos, %rot, %sin : tensor<2x4x3x4xf32>, tensor<4x4xf32>, tensor<2x4x3x4xf32>, tensor<4x4xf32>) outs(%e : tensor<2x4x3x4xf32>) {
  ^bb0(%a: f32, %c: f32, %b: f32, %s: f32, %o: f32):
    %ac = arith.mulf %a, %c : f32
    %bs = arith.mulf %b, %s : f32
    %r = arith.addf %ac, %bs : f32
    linalg.yield %r : f32
  } -> tensor<2x4x3x4xf32>
  return %y : tensor<2x4x3x4xf32>
}

// -----

// Tables that are not cos / sin of one angle (cos scaled by 2): left alone.
// CHECK-LABEL: func.func @not_a_rotation
// CHECK-NOT: flt.
// CHECK: return
#id = affine_map<(l, t) -> (l, t)>
func.func @not_a_rotation(%x: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %cos = arith.constant dense<[[2.0, 2.0, 2.0, 2.0], [1.08060455, 1.99989998, 1.08060455, 1.99989998], [-0.83229363, 1.99960005, -0.83229363, 1.99960005], [-1.979985, 1.99910009, -1.979985, 1.99910009]]> : tensor<4x4xf32>
  %sin = arith.constant dense<[[0.0, 0.0, 0.0, 0.0], [0.841471016, 0.00999983307, 0.841471016, 0.00999983307], [0.909297407, 0.0199986659, 0.909297407, 0.0199986659], [0.141120002, 0.0299954992, 0.141120002, 0.0299954992]]> : tensor<4x4xf32>
  %x1 = tensor.extract_slice %x[0, 0] [4, 2] [1, 1] : tensor<4x4xf32> to tensor<4x2xf32>
  %x2 = tensor.extract_slice %x[0, 2] [4, 2] [1, 1] : tensor<4x4xf32> to tensor<4x2xf32>
  %e2 = tensor.empty() : tensor<4x2xf32>
  %n = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x2 : tensor<4x2xf32>) outs(%e2 : tensor<4x2xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.negf %a : f32
    linalg.yield %r : f32
  } -> tensor<4x2xf32>
  %rot = tensor.concat dim(1) %n, %x1 : (tensor<4x2xf32>, tensor<4x2xf32>) -> tensor<4x4xf32>
  %e = tensor.empty() : tensor<4x4xf32>
  %y = linalg.generic {indexing_maps = [#id, #id, #id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %cos, %rot, %sin : tensor<4x4xf32>, tensor<4x4xf32>, tensor<4x4xf32>, tensor<4x4xf32>) outs(%e : tensor<4x4xf32>) {
  ^bb0(%a: f32, %c: f32, %b: f32, %s: f32, %o: f32):
    %ac = arith.mulf %a, %c : f32
    %bs = arith.mulf %b, %s : f32
    %r = arith.addf %ac, %bs : f32
    linalg.yield %r : f32
  } -> tensor<4x4xf32>
  return %y : tensor<4x4xf32>
}
