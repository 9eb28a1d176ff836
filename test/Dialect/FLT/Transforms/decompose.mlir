// flt-decompose expands flt.attention exactly as docs/Semantics.md 2.8 defines it.
// RUN: flt-opt %s --split-input-file --flt-decompose | FileCheck %s

// The bundled example layer: relu features, Gaussian-mixture spectrum,
// dynamic L. Defaults: query_side weighting, guarded normalization, and
// linear_attention's own eps.
// CHECK-LABEL: func.func @relu_layer
// CHECK-SAME: (%[[Q:.+]]: tensor<1x8x?x64xf32>, %[[K:.+]]: tensor<1x8x?x64xf32>, %[[V:.+]]: tensor<1x8x?x64xf32>, %[[R:.+]]: tensor<1x?x1xf32>, %[[XI:.+]]: tensor<8x16x1xf32>, %[[TH:.+]]: tensor<8x75xf32>)
// CHECK-NOT: flt.attention
// CHECK-DAG: %[[FQ:.+]] = flt.feature_map %[[Q]] {is_query = true, kernel = #flt.kernel<relu>} : tensor<1x8x?x64xf32> -> tensor<1x8x?x64xf32>
// CHECK-DAG: %[[FK:.+]] = flt.feature_map %[[K]] {kernel = #flt.kernel<relu>} : tensor<1x8x?x64xf32> -> tensor<1x8x?x64xf32>
// CHECK-DAG: %[[RHO:.+]] = flt.spectral_density %[[TH]], %[[XI]] {spectrum = #flt.spectrum<gaussian_mixture>} : tensor<8x75xf32>, tensor<8x16x1xf32> -> tensor<8x16xf32>
// CHECK: %[[PHI:.+]], %[[PSI:.+]] = flt.spectral_features %[[R]], %[[XI]], %[[RHO]] : tensor<1x?x1xf32>, tensor<8x16x1xf32>, tensor<8x16xf32> -> tensor<1x8x?x32xf32>, tensor<1x8x?x32xf32>
// CHECK: %[[O:.+]] = flt.linear_attention %[[FQ]], %[[FK]], %[[V]] rpe(%[[PHI]], %[[PSI]]) {normalize = #flt.normalize<guarded>} : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x32xf32>, tensor<1x8x?x32xf32> -> tensor<1x8x?x64xf32>
// CHECK: return %[[O]]
func.func @relu_layer(%q: tensor<1x8x?x64xf32>, %k: tensor<1x8x?x64xf32>, %v: tensor<1x8x?x64xf32>, %r: tensor<1x?x1xf32>, %xi: tensor<8x16x1xf32>, %theta: tensor<8x75xf32>) -> tensor<1x8x?x64xf32> {
  %o = flt.attention %q, %k, %v, %r, %xi, %theta {kernel = #flt.kernel<relu>, spectrum = #flt.spectrum<gaussian_mixture>}
       : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x?x1xf32>, tensor<8x16x1xf32>, tensor<8x75xf32> -> tensor<1x8x?x64xf32>
  return %o : tensor<1x8x?x64xf32>
}

// -----

// FAVOR+ with a shared projection: both feature maps read w; the layer's eps
// goes to the feature maps; causal, weighting and normalize to their ops.
// CHECK-LABEL: func.func @favor_layer
// CHECK-SAME: %[[W:[^:]+]]: tensor<2x16x8xf32>
// CHECK-DAG: %[[FQ:.+]] = flt.feature_map %{{.+}}, %[[W]] {eps = 1.000000e-03 : f32, is_query = true, kernel = #flt.kernel<favor_pos>} : tensor<?x2x?x8xf32>, tensor<2x16x8xf32> -> tensor<?x2x?x16xf32>
// CHECK-DAG: %[[FK:.+]] = flt.feature_map %{{.+}}, %[[W]] {eps = 1.000000e-03 : f32, kernel = #flt.kernel<favor_pos>} : tensor<?x2x?x8xf32>, tensor<2x16x8xf32> -> tensor<?x2x?x16xf32>
// CHECK-DAG: flt.spectral_density %{{.+}}, %{{.+}} {spectrum = #flt.spectrum<local_window>} : tensor<2x2xf32>, tensor<2x4x3xf32> -> tensor<2x4xf32>
// CHECK: flt.spectral_features %{{.+}}, %{{.+}}, %{{.+}} {weighting = #flt.weighting<both_sides>} : tensor<?x?x3xf32>, tensor<2x4x3xf32>, tensor<2x4xf32> -> tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>
// CHECK: flt.linear_attention %[[FQ]], %[[FK]], %{{.+}} rpe(%{{.+}}, %{{.+}}) {causal = true} : tensor<?x2x?x16xf32>, tensor<?x2x?x16xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32> -> tensor<?x2x?x4xf32>
func.func @favor_layer(%q: tensor<?x2x?x8xf32>, %k: tensor<?x2x?x8xf32>, %v: tensor<?x2x?x4xf32>, %r: tensor<?x?x3xf32>, %xi: tensor<2x4x3xf32>, %theta: tensor<2x2xf32>, %w: tensor<2x16x8xf32>) -> tensor<?x2x?x4xf32> {
  %o = flt.attention %q, %k, %v, %r, %xi, %theta proj(%w) {kernel = #flt.kernel<favor_pos>, spectrum = #flt.spectrum<local_window>, weighting = #flt.weighting<both_sides>, causal = true, eps = 1.0e-3 : f32, normalize = #flt.normalize<divide>}
       : tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>, tensor<?x2x?x4xf32>, tensor<?x?x3xf32>, tensor<2x4x3xf32>, tensor<2x2xf32>, tensor<2x16x8xf32> -> tensor<?x2x?x4xf32>
  return %o : tensor<?x2x?x4xf32>
}

// -----

// A declared result more static than the operands imply keeps its type
// through a tensor.cast; f16 activations stay f16, spectral features f32.
// CHECK-LABEL: func.func @refined_result
// CHECK: %[[O:.+]] = flt.linear_attention {{.+}} -> tensor<?x1x?x4xf16>
// CHECK: %[[C:.+]] = tensor.cast %[[O]] : tensor<?x1x?x4xf16> to tensor<2x1x5x4xf16>
// CHECK: return %[[C]]
func.func @refined_result(%q: tensor<?x1x?x4xf16>, %v: tensor<?x1x?x4xf16>, %r: tensor<?x?x1xf32>, %xi: tensor<1x2x1xf32>, %theta: tensor<1x3xf32>) -> tensor<2x1x5x4xf16> {
  %o = flt.attention %q, %q, %v, %r, %xi, %theta {kernel = #flt.kernel<elu_plus_one>, spectrum = #flt.spectrum<gaussian_mixture>}
       : tensor<?x1x?x4xf16>, tensor<?x1x?x4xf16>, tensor<?x1x?x4xf16>, tensor<?x?x1xf32>, tensor<1x2x1xf32>, tensor<1x3xf32> -> tensor<2x1x5x4xf16>
  return %o : tensor<2x1x5x4xf16>
}

// -----

// Primitive ops are left alone.
// CHECK-LABEL: func.func @primitives_untouched
// CHECK: flt.linear_attention
func.func @primitives_untouched(%fq: tensor<1x1x3x2xf32>, %v: tensor<1x1x3x2xf32>) -> tensor<1x1x3x2xf32> {
  %o = flt.linear_attention %fq, %fq, %v : tensor<1x1x3x2xf32>, tensor<1x1x3x2xf32>, tensor<1x1x3x2xf32> -> tensor<1x1x3x2xf32>
  return %o : tensor<1x1x3x2xf32>
}

// -----

// rpe_form concat (the official FLT code's form): the positional features,
// scaled by d^1/4 (a fill and a linalg.mul), are concatenated to q and k
// before the feature maps; the layer's density goes to spectral_density,
// its key stabilizer to the keys' feature map; linear_attention has no rpe.
// CHECK-LABEL: func.func @concat_layer
// CHECK-SAME: (%[[Q:[^:]+]]: tensor<?x2x?x8xf32>, %[[K:[^:]+]]: tensor<?x2x?x8xf32>, %[[V:[^:]+]]: tensor<?x2x?x4xf32>, %[[R:[^:]+]]: tensor<?x?x1xf32>, %[[XI:[^:]+]]: tensor<2x3x1xf32>, %[[TH:[^:]+]]: tensor<2x6xf32>, %[[W:[^:]+]]: tensor<2x5x14xf32>)
// CHECK-NOT: flt.attention
// d^1/4 = 8^1/4, folded for a static d:
// CHECK: %[[SCALE:.+]] = arith.constant 1.68179286 : f32
// CHECK: %[[RHO:.+]] = flt.spectral_density %[[TH]], %[[XI]] {density = #flt.density<normal_1d_constant>, spectrum = #flt.spectrum<gaussian_mixture>}
// CHECK: %[[PHI:.+]], %[[PSI:.+]] = flt.spectral_features %[[R]], %[[XI]], %[[RHO]] {weighting = #flt.weighting<both_sides>}
// CHECK: %[[FILL:.+]] = linalg.fill ins(%[[SCALE]] : f32)
// CHECK: %[[SPHI:.+]] = linalg.mul ins(%[[PHI]], %[[FILL]] : tensor<?x2x?x6xf32>, tensor<?x2x?x6xf32>)
// CHECK: %[[QC:.+]] = tensor.concat dim(3) %[[Q]], %[[SPHI]] : (tensor<?x2x?x8xf32>, tensor<?x2x?x6xf32>) -> tensor<?x2x?x14xf32>
// CHECK: %[[SPSI:.+]] = linalg.mul ins(%[[PSI]], %{{.+}} : tensor<?x2x?x6xf32>, tensor<?x2x?x6xf32>)
// CHECK: %[[KC:.+]] = tensor.concat dim(3) %[[K]], %[[SPSI]] : (tensor<?x2x?x8xf32>, tensor<?x2x?x6xf32>) -> tensor<?x2x?x14xf32>
// CHECK: %[[FQ:.+]] = flt.feature_map %[[QC]], %[[W]] {eps = 9.99999997E-7 : f32, is_query = true, kernel = #flt.kernel<favor_pos>} : tensor<?x2x?x14xf32>, tensor<2x5x14xf32> -> tensor<?x2x?x5xf32>
// CHECK: %[[FK:.+]] = flt.feature_map %[[KC]], %[[W]] {eps = 9.99999997E-7 : f32, kernel = #flt.kernel<favor_pos>, key_stabilizer = #flt.key_stabilizer<global>} : tensor<?x2x?x14xf32>, tensor<2x5x14xf32> -> tensor<?x2x?x5xf32>
// CHECK: %[[O:.+]] = flt.linear_attention %[[FQ]], %[[FK]], %[[V]] {causal = true, normalize = #flt.normalize<guarded>} : tensor<?x2x?x5xf32>, tensor<?x2x?x5xf32>, tensor<?x2x?x4xf32> -> tensor<?x2x?x4xf32>
// CHECK: return %[[O]]
func.func @concat_layer(%q: tensor<?x2x?x8xf32>, %k: tensor<?x2x?x8xf32>, %v: tensor<?x2x?x4xf32>, %r: tensor<?x?x1xf32>, %xi: tensor<2x3x1xf32>, %theta: tensor<2x6xf32>, %w: tensor<2x5x14xf32>) -> tensor<?x2x?x4xf32> {
  %o = flt.attention %q, %k, %v, %r, %xi, %theta proj(%w) {kernel = #flt.kernel<favor_pos>, spectrum = #flt.spectrum<gaussian_mixture>, rpe_form = #flt.rpe_form<concat>, weighting = #flt.weighting<both_sides>, density = #flt.density<normal_1d_constant>, key_stabilizer = #flt.key_stabilizer<global>, eps = 1.0e-6 : f32, causal = true}
       : tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>, tensor<?x2x?x4xf32>, tensor<?x?x1xf32>, tensor<2x3x1xf32>, tensor<2x6xf32>, tensor<2x5x14xf32> -> tensor<?x2x?x4xf32>
  return %o : tensor<?x2x?x4xf32>
}
