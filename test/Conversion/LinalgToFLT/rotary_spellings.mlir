// Rotary embeddings as flt's Python frontends (and other producers) write
// them: torch.cat as a chain of tensor.insert_slice into a tensor.empty,
// negation as x * -1 (a splat operand), 0 - x or a vector of signs,
// torch.stack as unit-dim expands inserted along a new dim, and cos / sin
// tables repeated along batch dims (a table broadcast before it was folded
// into a constant).
// With fold-rotary-batch=false (the Python frontends' option) the batch
// dims fold as for the attention ops: [B, H, L, d], theta [H, d/2].
// RUN: flt-opt %s --split-input-file --flt-raise-attention | FileCheck %s
// RUN: flt-opt %s --split-input-file --flt-raise-attention=fold-rotary-batch=false | FileCheck %s --check-prefix=HEADS

// LLaMA's rotate_half, cat(-x2, x1) with -x2 = x2 * -1, on [B, H, L, d]
// with [B, 1, L, d] tables.
// CHECK-LABEL: func.func @rotate_half_inserted
// CHECK-SAME: (%[[X:.*]]: tensor<2x2x4x4xf32>)
// CHECK: %[[T:.*]] = arith.constant dense<{{.*}}> : tensor<4x2xf32>
// CHECK: %[[X3:.*]] = tensor.collapse_shape %[[X]] {{\[}}[0, 1], [2], [3]] : tensor<2x2x4x4xf32> into tensor<4x4x4xf32>
// CHECK: %[[X4:.*]] = tensor.expand_shape %[[X3]] {{\[}}[0, 1], [2], [3]] output_shape [1, 4, 4, 4]
// CHECK: flt.position_transform %[[X4]], %[[T]] {core = #flt.lrpe_core<rotary>, pairing = #flt.pairing<halves>} : tensor<1x4x4x4xf32>, tensor<4x2xf32> -> tensor<1x4x4x4xf32>
// CHECK-NOT: linalg.generic
// CHECK: return
// HEADS-LABEL: func.func @rotate_half_inserted
// HEADS-SAME: (%[[X:.*]]: tensor<2x2x4x4xf32>)
// HEADS: %[[T:.*]] = arith.constant dense<{{\[}}[1.000000e+00, 0.0{{[0-9]+}}], [1.000000e+00, 0.0{{[0-9]+}}]]> : tensor<2x2xf32>
// HEADS: %[[Y:.*]] = flt.position_transform %[[X]], %[[T]] {core = #flt.lrpe_core<rotary>, pairing = #flt.pairing<halves>} : tensor<2x2x4x4xf32>, tensor<2x2xf32> -> tensor<2x2x4x4xf32>
// HEADS-NOT: linalg.
// HEADS: return %[[Y]]
#id = affine_map<(b, h, l, t) -> (b, h, l, t)>
#one = affine_map<(b, h, l, t) -> (0)>
#table = affine_map<(b, h, l, t) -> (b, 0, l, t)>
func.func @rotate_half_inserted(%x: tensor<2x2x4x4xf32>) -> tensor<2x2x4x4xf32> {
  %cos = arith.constant dense<[[[[1.0, 1.0, 1.0, 1.0], [0.540302277, 0.999949992, 0.540302277, 0.999949992], [-0.416146815, 0.999800026, -0.416146815, 0.999800026], [-0.989992499, 0.999550045, -0.989992499, 0.999550045]]], [[[1.0, 1.0, 1.0, 1.0], [0.540302277, 0.999949992, 0.540302277, 0.999949992], [-0.416146815, 0.999800026, -0.416146815, 0.999800026], [-0.989992499, 0.999550045, -0.989992499, 0.999550045]]]]> : tensor<2x1x4x4xf32>
  %sin = arith.constant dense<[[[[0.0, 0.0, 0.0, 0.0], [0.841471016, 0.00999983307, 0.841471016, 0.00999983307], [0.909297407, 0.0199986659, 0.909297407, 0.0199986659], [0.141120002, 0.0299954992, 0.141120002, 0.0299954992]]], [[[0.0, 0.0, 0.0, 0.0], [0.841471016, 0.00999983307, 0.841471016, 0.00999983307], [0.909297407, 0.0199986659, 0.909297407, 0.0199986659], [0.141120002, 0.0299954992, 0.141120002, 0.0299954992]]]]> : tensor<2x1x4x4xf32>
  %minus = arith.constant dense<-1.0> : tensor<1xf32>
  %x1 = tensor.extract_slice %x[0, 0, 0, 0] [2, 2, 4, 2] [1, 1, 1, 1] : tensor<2x2x4x4xf32> to tensor<2x2x4x2xf32>
  %x2 = tensor.extract_slice %x[0, 0, 0, 2] [2, 2, 4, 2] [1, 1, 1, 1] : tensor<2x2x4x4xf32> to tensor<2x2x4x2xf32>
  %e2 = tensor.empty() : tensor<2x2x4x2xf32>
  %n = linalg.generic {indexing_maps = [#id, #one, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x2, %minus : tensor<2x2x4x2xf32>, tensor<1xf32>) outs(%e2 : tensor<2x2x4x2xf32>) {
  ^bb0(%a: f32, %m: f32, %o: f32):
    %r = arith.mulf %a, %m : f32
    linalg.yield %r : f32
  } -> tensor<2x2x4x2xf32>
  %e = tensor.empty() : tensor<2x2x4x4xf32>
  %i0 = tensor.insert_slice %n into %e[0, 0, 0, 0] [2, 2, 4, 2] [1, 1, 1, 1] : tensor<2x2x4x2xf32> into tensor<2x2x4x4xf32>
  %rot = tensor.insert_slice %x1 into %i0[0, 0, 0, 2] [2, 2, 4, 2] [1, 1, 1, 1] : tensor<2x2x4x2xf32> into tensor<2x2x4x4xf32>
  %xc = linalg.generic {indexing_maps = [#id, #table, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x, %cos : tensor<2x2x4x4xf32>, tensor<2x1x4x4xf32>) outs(%e : tensor<2x2x4x4xf32>) {
  ^bb0(%a: f32, %c: f32, %o: f32):
    %r = arith.mulf %a, %c : f32
    linalg.yield %r : f32
  } -> tensor<2x2x4x4xf32>
  %rs = linalg.generic {indexing_maps = [#id, #table, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%rot, %sin : tensor<2x2x4x4xf32>, tensor<2x1x4x4xf32>) outs(%e : tensor<2x2x4x4xf32>) {
  ^bb0(%a: f32, %s: f32, %o: f32):
    %r = arith.mulf %a, %s : f32
    linalg.yield %r : f32
  } -> tensor<2x2x4x4xf32>
  %y = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%xc, %rs : tensor<2x2x4x4xf32>, tensor<2x2x4x4xf32>) outs(%e : tensor<2x2x4x4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.addf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<2x2x4x4xf32>
  return %y : tensor<2x2x4x4xf32>
}

// -----

// GPT-J's rotate_every_two, stack(0 - x[..., 1::2], x[..., ::2], -1)
// .flatten(-2) with the stack as inserts of [..., 2, 1] expands into
// [..., 2, 2], on a [B, L, H, d] tensor.
// CHECK-LABEL: func.func @rotate_every_two_inserted
// CHECK: flt.position_transform %{{.*}}, %{{.*}} {core = #flt.lrpe_core<rotary>} : tensor<1x6x4x4xf32>, tensor<6x2xf32> -> tensor<1x6x4x4xf32>
// CHECK: return
// HEADS-LABEL: func.func @rotate_every_two_inserted
// HEADS-SAME: (%[[X:.*]]: tensor<2x4x3x4xf32>)
// HEADS: %[[XT:.*]] = linalg.transpose ins(%[[X]] : tensor<2x4x3x4xf32>) outs(%{{.*}} : tensor<2x3x4x4xf32>) permutation = [0, 2, 1, 3]
// HEADS: %[[Y:.*]] = flt.position_transform %[[XT]], %{{.*}} {core = #flt.lrpe_core<rotary>} : tensor<2x3x4x4xf32>, tensor<3x2xf32> -> tensor<2x3x4x4xf32>
// HEADS: %[[R:.*]] = linalg.transpose ins(%[[Y]] : tensor<2x3x4x4xf32>) outs(%{{.*}} : tensor<2x4x3x4xf32>) permutation = [0, 2, 1, 3]
// HEADS-NOT: linalg.generic
// HEADS: return %[[R]]
#id = affine_map<(b, l, h, t) -> (b, l, h, t)>
#table = affine_map<(b, l, h, t) -> (l, t)>
func.func @rotate_every_two_inserted(%x: tensor<2x4x3x4xf32>) -> tensor<2x4x3x4xf32> {
  %cos = arith.constant dense<[[1.0, 1.0, 1.0, 1.0], [0.540302277, 0.540302277, 0.999949992, 0.999949992], [-0.416146815, -0.416146815, 0.999800026, 0.999800026], [-0.989992499, -0.989992499, 0.999550045, 0.999550045]]> : tensor<4x4xf32>
  %sin = arith.constant dense<[[0.0, 0.0, 0.0, 0.0], [0.841471016, 0.841471016, 0.00999983307, 0.00999983307], [0.909297407, 0.909297407, 0.0199986659, 0.0199986659], [0.141120002, 0.141120002, 0.0299954992, 0.0299954992]]> : tensor<4x4xf32>
  %zero = arith.constant 0.0 : f32
  %even = tensor.extract_slice %x[0, 0, 0, 0] [2, 4, 3, 2] [1, 1, 1, 2] : tensor<2x4x3x4xf32> to tensor<2x4x3x2xf32>
  %odd = tensor.extract_slice %x[0, 0, 0, 1] [2, 4, 3, 2] [1, 1, 1, 2] : tensor<2x4x3x4xf32> to tensor<2x4x3x2xf32>
  %e2 = tensor.empty() : tensor<2x4x3x2xf32>
  %n = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%odd : tensor<2x4x3x2xf32>) outs(%e2 : tensor<2x4x3x2xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.subf %zero, %a : f32
    linalg.yield %r : f32
  } -> tensor<2x4x3x2xf32>
  %n5 = tensor.expand_shape %n [[0], [1], [2], [3, 4]] output_shape [2, 4, 3, 2, 1] : tensor<2x4x3x2xf32> into tensor<2x4x3x2x1xf32>
  %e5 = tensor.expand_shape %even [[0], [1], [2], [3, 4]] output_shape [2, 4, 3, 2, 1] : tensor<2x4x3x2xf32> into tensor<2x4x3x2x1xf32>
  %es = tensor.empty() : tensor<2x4x3x2x2xf32>
  %s0 = tensor.insert_slice %n5 into %es[0, 0, 0, 0, 0] [2, 4, 3, 2, 1] [1, 1, 1, 1, 1] : tensor<2x4x3x2x1xf32> into tensor<2x4x3x2x2xf32>
  %stack = tensor.insert_slice %e5 into %s0[0, 0, 0, 0, 1] [2, 4, 3, 2, 1] [1, 1, 1, 1, 1] : tensor<2x4x3x2x1xf32> into tensor<2x4x3x2x2xf32>
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

// rotate_half as cat(x2, x1) * [-1, -1, 1, 1]: the signs of a constant
// vector over the lanes.
// CHECK-LABEL: func.func @rotate_half_sign_vector
// CHECK: flt.position_transform %{{.*}}, %{{.*}} {core = #flt.lrpe_core<rotary>, pairing = #flt.pairing<halves>} : tensor<1x1x4x4xf32>, tensor<1x2xf32>
// CHECK-NOT: linalg.generic
// CHECK: return
// HEADS-LABEL: func.func @rotate_half_sign_vector
// HEADS: flt.position_transform %{{.*}}, %{{.*}} {core = #flt.lrpe_core<rotary>, pairing = #flt.pairing<halves>} : tensor<1x1x4x4xf32>, tensor<1x2xf32>
#id = affine_map<(l, t) -> (l, t)>
#lane = affine_map<(l, t) -> (t)>
func.func @rotate_half_sign_vector(%x: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %cos = arith.constant dense<[[1.0, 1.0, 1.0, 1.0], [0.540302277, 0.999949992, 0.540302277, 0.999949992], [-0.416146815, 0.999800026, -0.416146815, 0.999800026], [-0.989992499, 0.999550045, -0.989992499, 0.999550045]]> : tensor<4x4xf32>
  %sin = arith.constant dense<[[0.0, 0.0, 0.0, 0.0], [0.841471016, 0.00999983307, 0.841471016, 0.00999983307], [0.909297407, 0.0199986659, 0.909297407, 0.0199986659], [0.141120002, 0.0299954992, 0.141120002, 0.0299954992]]> : tensor<4x4xf32>
  %signs = arith.constant dense<[-1.0, -1.0, 1.0, 1.0]> : tensor<4xf32>
  %x1 = tensor.extract_slice %x[0, 0] [4, 2] [1, 1] : tensor<4x4xf32> to tensor<4x2xf32>
  %x2 = tensor.extract_slice %x[0, 2] [4, 2] [1, 1] : tensor<4x4xf32> to tensor<4x2xf32>
  %cat = tensor.concat dim(1) %x2, %x1 : (tensor<4x2xf32>, tensor<4x2xf32>) -> tensor<4x4xf32>
  %e = tensor.empty() : tensor<4x4xf32>
  %rot = linalg.generic {indexing_maps = [#id, #lane, #id], iterator_types = ["parallel", "parallel"]}
      ins(%cat, %signs : tensor<4x4xf32>, tensor<4xf32>) outs(%e : tensor<4x4xf32>) {
  ^bb0(%a: f32, %s: f32, %o: f32):
    %r = arith.mulf %a, %s : f32
    linalg.yield %r : f32
  } -> tensor<4x4xf32>
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

// -----

// rotate_every_two as stack((-x[..., 1::2], x[..., ::2]), -2)
// .transpose(-1, -2).flatten(-2): the parts stacked along dim -2, the last
// two dims swapped by a generic, then merged.
// CHECK-LABEL: func.func @rotate_every_two_stacked_swapped
// CHECK: flt.position_transform %{{.*}}, %{{.*}} {core = #flt.lrpe_core<rotary>} : tensor<1x1x4x4xf32>, tensor<1x2xf32>
// CHECK-NOT: linalg.generic
// CHECK: return
// HEADS-LABEL: func.func @rotate_every_two_stacked_swapped
// HEADS: flt.position_transform
#id = affine_map<(l, t) -> (l, t)>
#id3 = affine_map<(l, t, p) -> (l, t, p)>
#swap = affine_map<(l, t, p) -> (l, p, t)>
func.func @rotate_every_two_stacked_swapped(%x: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %cos = arith.constant dense<[[1.0, 1.0, 1.0, 1.0], [0.540302277, 0.540302277, 0.999949992, 0.999949992], [-0.416146815, -0.416146815, 0.999800026, 0.999800026], [-0.989992499, -0.989992499, 0.999550045, 0.999550045]]> : tensor<4x4xf32>
  %sin = arith.constant dense<[[0.0, 0.0, 0.0, 0.0], [0.841471016, 0.841471016, 0.00999983307, 0.00999983307], [0.909297407, 0.909297407, 0.0199986659, 0.0199986659], [0.141120002, 0.141120002, 0.0299954992, 0.0299954992]]> : tensor<4x4xf32>
  %even = tensor.extract_slice %x[0, 0] [4, 2] [1, 2] : tensor<4x4xf32> to tensor<4x2xf32>
  %odd = tensor.extract_slice %x[0, 1] [4, 2] [1, 2] : tensor<4x4xf32> to tensor<4x2xf32>
  %e2 = tensor.empty() : tensor<4x2xf32>
  %n = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%odd : tensor<4x2xf32>) outs(%e2 : tensor<4x2xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.negf %a : f32
    linalg.yield %r : f32
  } -> tensor<4x2xf32>
  %n3 = tensor.expand_shape %n [[0], [1, 2]] output_shape [4, 1, 2] : tensor<4x2xf32> into tensor<4x1x2xf32>
  %e3 = tensor.expand_shape %even [[0], [1, 2]] output_shape [4, 1, 2] : tensor<4x2xf32> into tensor<4x1x2xf32>
  %es = tensor.empty() : tensor<4x2x2xf32>
  %s0 = tensor.insert_slice %n3 into %es[0, 0, 0] [4, 1, 2] [1, 1, 1] : tensor<4x1x2xf32> into tensor<4x2x2xf32>
  %stack = tensor.insert_slice %e3 into %s0[0, 1, 0] [4, 1, 2] [1, 1, 1] : tensor<4x1x2xf32> into tensor<4x2x2xf32>
  %et = tensor.empty() : tensor<4x2x2xf32>
  %swapped = linalg.generic {indexing_maps = [#swap, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%stack : tensor<4x2x2xf32>) outs(%et : tensor<4x2x2xf32>) {
  ^bb0(%a: f32, %o: f32):
    linalg.yield %a : f32
  } -> tensor<4x2x2xf32>
  %rot = tensor.collapse_shape %swapped [[0], [1, 2]] : tensor<4x2x2xf32> into tensor<4x4xf32>
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

// -----

// Tables that vary along a batch dim (one rotation per batch) are not one
// flt.position_transform.
// CHECK-LABEL: func.func @tables_varying_over_batch
// CHECK-NOT: flt.
// CHECK: return
// HEADS-LABEL: func.func @tables_varying_over_batch
// HEADS-NOT: flt.
// HEADS: return
#id = affine_map<(b, h, l, t) -> (b, h, l, t)>
#table = affine_map<(b, h, l, t) -> (b, 0, l, t)>
func.func @tables_varying_over_batch(%x: tensor<2x2x4x4xf32>) -> tensor<2x2x4x4xf32> {
  %cos = arith.constant dense<[[[[1.0, 1.0, 1.0, 1.0], [0.540302277, 0.999949992, 0.540302277, 0.999949992], [-0.416146815, 0.999800026, -0.416146815, 0.999800026], [-0.989992499, 0.999550045, -0.989992499, 0.999550045]]], [[[1.0, 1.0, 1.0, 1.0], [-0.416146815, 0.999800026, -0.416146815, 0.999800026], [-0.653643608, 0.999200106, -0.653643608, 0.999200106], [0.960170269, 0.998200536, 0.960170269, 0.998200536]]]]> : tensor<2x1x4x4xf32>
  %sin = arith.constant dense<[[[[0.0, 0.0, 0.0, 0.0], [0.841471016, 0.00999983307, 0.841471016, 0.00999983307], [0.909297407, 0.0199986659, 0.909297407, 0.0199986659], [0.141120002, 0.0299954992, 0.141120002, 0.0299954992]]], [[[0.0, 0.0, 0.0, 0.0], [0.909297407, 0.0199986659, 0.909297407, 0.0199986659], [-0.756802499, 0.0399893336, -0.756802499, 0.0399893336], [-0.279415488, 0.0599640049, -0.279415488, 0.0599640049]]]]> : tensor<2x1x4x4xf32>
  %x1 = tensor.extract_slice %x[0, 0, 0, 0] [2, 2, 4, 2] [1, 1, 1, 1] : tensor<2x2x4x4xf32> to tensor<2x2x4x2xf32>
  %x2 = tensor.extract_slice %x[0, 0, 0, 2] [2, 2, 4, 2] [1, 1, 1, 1] : tensor<2x2x4x4xf32> to tensor<2x2x4x2xf32>
  %e2 = tensor.empty() : tensor<2x2x4x2xf32>
  %n = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x2 : tensor<2x2x4x2xf32>) outs(%e2 : tensor<2x2x4x2xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.negf %a : f32
    linalg.yield %r : f32
  } -> tensor<2x2x4x2xf32>
  %e = tensor.empty() : tensor<2x2x4x4xf32>
  %i0 = tensor.insert_slice %n into %e[0, 0, 0, 0] [2, 2, 4, 2] [1, 1, 1, 1] : tensor<2x2x4x2xf32> into tensor<2x2x4x4xf32>
  %rot = tensor.insert_slice %x1 into %i0[0, 0, 0, 2] [2, 2, 4, 2] [1, 1, 1, 1] : tensor<2x2x4x2xf32> into tensor<2x2x4x4xf32>
  %y = linalg.generic {indexing_maps = [#id, #table, #id, #table, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x, %cos, %rot, %sin : tensor<2x2x4x4xf32>, tensor<2x1x4x4xf32>, tensor<2x2x4x4xf32>, tensor<2x1x4x4xf32>) outs(%e : tensor<2x2x4x4xf32>) {
  ^bb0(%a: f32, %c: f32, %b: f32, %s: f32, %o: f32):
    %ac = arith.mulf %a, %c : f32
    %bs = arith.mulf %b, %s : f32
    %r = arith.addf %ac, %bs : f32
    linalg.yield %r : f32
  } -> tensor<2x2x4x4xf32>
  return %y : tensor<2x2x4x4xf32>
}
