// flt-generate-vjp: @f_vjp(args..., cotangents...) -> (one gradient per
// argument) beside every public function, from the ops' gradient rules.
// RUN: flt-opt %s --split-input-file --verify-diagnostics --flt-generate-vjp | FileCheck %s
// RUN: flt-opt %s --split-input-file --verify-diagnostics --flt-generate-vjp --flt-select-algorithm="linear-attention-grad=decomposed linear-attention-form=linear" | FileCheck %s --check-prefix=DECOMPOSED

// relu: dx = dy where x > 0, else 0; w gets nothing (unused): zeros.
// CHECK-LABEL: func.func @relu(
// CHECK-LABEL: func.func @relu_vjp(
// CHECK-SAME:      %[[X:.+]]: tensor<1x2x?x8xf32>, %[[W:.+]]: tensor<2x3xf32>, %[[DY:.+]]: tensor<1x2x?x8xf32>) -> (tensor<1x2x?x8xf32>, tensor<2x3xf32>)
// CHECK:         flt.feature_map %[[X]]
// CHECK:         %[[DX:.+]] = linalg.generic {{.*}} ins(%[[DY]], %[[X]] :
// CHECK:           arith.cmpf ogt
// CHECK:           arith.select
// CHECK:         %[[DW:.+]] = linalg.fill {{.*}} -> tensor<2x3xf32>
// CHECK:         return %[[DX]], %[[DW]]
func.func @relu(%x: tensor<1x2x?x8xf32>, %w: tensor<2x3xf32>) -> tensor<1x2x?x8xf32> {
  %y = flt.feature_map %x {kernel = #flt.kernel<relu>} : tensor<1x2x?x8xf32> -> tensor<1x2x?x8xf32>
  return %y : tensor<1x2x?x8xf32>
}

// -----

// Linear attention's gradient is one flt.linear_attention_grad, which
// flt-select-algorithm keeps (the fused backward) or decomposes into more
// linear attention (normalize none): [n, D] recomputed, then dfq, dfk (on
// the reversed sequence when causal) and dv.
// CHECK-LABEL: func.func @la_vjp(
// CHECK-SAME:      %[[FQ:[^:]+]]: tensor<1x2x?x4xf32>, %[[FK:[^:]+]]: tensor<1x2x?x4xf32>, %[[V:[^:]+]]: tensor<1x2x?x3xf32>, %[[G:[^:]+]]: tensor<1x2x?x3xf32>)
// CHECK:         %[[GRADS:.+]]:3 = flt.linear_attention_grad %[[FQ]], %[[FK]], %[[V]] cotangent(%[[G]]) {causal = true}
// CHECK:         return %[[GRADS]]#0, %[[GRADS]]#1, %[[GRADS]]#2
// DECOMPOSED-LABEL: func.func @la_vjp(
// DECOMPOSED-NOT:     flt.linear_attention_grad
// DECOMPOSED:         flt.linear_attention {{.*}}causal = true, normalize = #flt.normalize<none>
// DECOMPOSED-COUNT-3: flt.linear_attention {{.*}}causal = true, normalize = #flt.normalize<none>
// DECOMPOSED-NOT:     flt.linear_attention
// DECOMPOSED:         return
func.func @la(%fq: tensor<1x2x?x4xf32>, %fk: tensor<1x2x?x4xf32>, %v: tensor<1x2x?x3xf32>) -> tensor<1x2x?x3xf32> {
  %o = flt.linear_attention %fq, %fk, %v {causal = true} : tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x3xf32> -> tensor<1x2x?x3xf32>
  return %o : tensor<1x2x?x3xf32>
}

// -----

// With state(T0, z0) the rule is the adjoint linear attentions themselves,
// each from a state: [n, D] from [T0 | z0]; dfq from it regrouped; dfk from
// the results' cotangents [G_T | G_z] on the reversed sequence; dv from G_T;
// then dT0 and dz0 as the final state of one more, from [G_T | G_z].
// CHECK-LABEL: func.func @la_state_vjp(
// CHECK-SAME:      %[[FQ:[^:]+]]: tensor<1x2x?x4xf32>, %[[FK:[^:]+]]: tensor<1x2x?x4xf32>, %[[V:[^:]+]]: tensor<1x2x?x3xf32>, %[[T0:[^:]+]]: tensor<1x2x4x3xf32>, %[[Z0:[^:]+]]: tensor<1x2x4xf32>, %[[G:[^:]+]]: tensor<1x2x?x3xf32>, %[[GT:[^:]+]]: tensor<1x2x4x3xf32>, %[[GZ:[^:]+]]: tensor<1x2x4xf32>)
// CHECK-NOT:     flt.linear_attention_grad
// CHECK:         %[[Z0COL:.+]] = tensor.expand_shape %[[Z0]]
// CHECK:         %[[S0:.+]] = tensor.insert_slice %[[Z0COL]]
// CHECK:         %[[GZCOL:.+]] = tensor.expand_shape %[[GZ]]
// CHECK:         %[[GHAT:.+]] = tensor.insert_slice %[[GZCOL]]
// CHECK:         flt.linear_attention %[[FQ]], %[[FK]], %{{.+}} state(%[[S0]], %{{.+}}) {causal = true, normalize = #flt.normalize<none>}
// CHECK-SAME:      -> tensor<1x2x?x4xf32>, tensor<1x2x4x4xf32>, tensor<1x2x4xf32>
// CHECK:         flt.linear_attention {{.*}} state(%{{.+}}, %{{.+}}) {causal = true, normalize = #flt.normalize<none>}
// CHECK-SAME:      -> tensor<1x2x?x4xf32>, tensor<1x2x4x4xf32>, tensor<1x2x4xf32>
// CHECK:         flt.linear_attention {{.*}} state(%{{.+}}, %{{.+}}) {causal = true, normalize = #flt.normalize<none>}
// CHECK:         flt.linear_attention {{.*}} state(%[[GT]], %{{.+}}) {causal = true, normalize = #flt.normalize<none>}
// CHECK:         %{{.+}}, %[[TOTAL:.+]], %{{.+}} = flt.linear_attention %[[FQ]], %[[FQ]], %{{.+}} state(%[[GHAT]], %{{.+}}) {normalize = #flt.normalize<none>}
// CHECK:         %[[DT0:.+]] = tensor.extract_slice %[[TOTAL]][0, 0, 0, 0] [1, 2, 4, 3]
// CHECK:         return {{.*}}, %[[DT0]], %{{.+}} : {{.*}}tensor<1x2x4x3xf32>, tensor<1x2x4xf32>
func.func @la_state(%fq: tensor<1x2x?x4xf32>, %fk: tensor<1x2x?x4xf32>, %v: tensor<1x2x?x3xf32>, %t0: tensor<1x2x4x3xf32>, %z0: tensor<1x2x4xf32>) -> (tensor<1x2x?x3xf32>, tensor<1x2x4x3xf32>, tensor<1x2x4xf32>) {
  %o, %t, %z = flt.linear_attention %fq, %fk, %v state(%t0, %z0) {causal = true} : tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x3xf32>, tensor<1x2x4x3xf32>, tensor<1x2x4xf32> -> tensor<1x2x?x3xf32>, tensor<1x2x4x3xf32>, tensor<1x2x4xf32>
  return %o, %t, %z : tensor<1x2x?x3xf32>, tensor<1x2x4x3xf32>, tensor<1x2x4xf32>
}

// -----

// packed(cu_seqlens), causal: the adjoint attentions over later tokens run
// on the reversed tokens with the reversed offsets L - c_{N-k}.
// CHECK-LABEL: func.func @la_packed_vjp(
// CHECK-SAME:      %[[FQ:[^:]+]]: tensor<1x2x?x4xf32>, %[[FK:[^:]+]]: tensor<1x2x?x4xf32>, %[[V:[^:]+]]: tensor<1x2x?x3xf32>, %[[CU:[^:]+]]: tensor<?xi32>, %[[G:[^:]+]]: tensor<1x2x?x3xf32>)
// CHECK-NOT:     flt.linear_attention_grad
// CHECK:         %[[REV:.+]] = linalg.generic {{.*}} ins(%{{.+}} : tensor<?xi32>) outs(%{{.+}} : tensor<?xi32>)
// CHECK:           arith.subi
// CHECK:         flt.linear_attention %[[FQ]], %[[FK]], %{{.+}} packed(%[[CU]]) {causal = true, normalize = #flt.normalize<none>}
// CHECK:         flt.linear_attention {{.*}} packed(%[[CU]]) {causal = true, normalize = #flt.normalize<none>}
// CHECK:         flt.linear_attention {{.*}} packed(%[[REV]]) {causal = true, normalize = #flt.normalize<none>}
// CHECK:         flt.linear_attention {{.*}} packed(%[[REV]]) {causal = true, normalize = #flt.normalize<none>}
// CHECK:         return
func.func @la_packed(%fq: tensor<1x2x?x4xf32>, %fk: tensor<1x2x?x4xf32>, %v: tensor<1x2x?x3xf32>, %cu: tensor<?xi32>) -> tensor<1x2x?x3xf32> {
  %o = flt.linear_attention %fq, %fk, %v packed(%cu) {causal = true} : tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x3xf32>, tensor<?xi32> -> tensor<1x2x?x3xf32>
  return %o : tensor<1x2x?x3xf32>
}

// -----

// toeplitz_attention with grouped heads and packed sequences: fk and v
// repeated to the query heads, the products over later tokens on the
// reversed offsets, db's correlation masked to pairs of one sequence, and
// dfk, dv summed back over each group of heads.
// CHECK-LABEL: func.func @toeplitz_packed_vjp(
// CHECK-SAME:      %[[FQ:[^:]+]]: tensor<1x4x?x3xf32>, %[[FK:[^:]+]]: tensor<1x2x?x3xf32>, %[[V:[^:]+]]: tensor<1x2x?x2xf32>, %[[B:[^:]+]]: tensor<4x?xf32>, %[[CU:[^:]+]]: tensor<?xi32>, %[[G:[^:]+]]: tensor<1x4x?x2xf32>)
// CHECK:         flt.toeplitz_attention {{.*}} packed(%[[CU]]) {normalize = #flt.normalize<none>}
// CHECK:         flt.toeplitz_attention {{.*}} packed(%[[CU]]) {normalize = #flt.normalize<none>}
// CHECK:         flt.toeplitz_attention {{.*}} packed(%[[REV:.+]]) {normalize = #flt.normalize<none>}
// CHECK:         tensor.expand_shape {{.*}} into tensor<1x2x2x?x3xf32>
// CHECK:         flt.toeplitz_attention {{.*}} packed(%[[REV]]) {normalize = #flt.normalize<none>}
// CHECK:         flt.toeplitz_correlation {{.*}} packed(%[[CU]]) :
// CHECK:         return {{.*}} : tensor<1x4x?x3xf32>, tensor<1x2x?x3xf32>, tensor<1x2x?x2xf32>, tensor<4x?xf32>, tensor<?xi32>
func.func @toeplitz_packed(%fq: tensor<1x4x?x3xf32>, %fk: tensor<1x2x?x3xf32>, %v: tensor<1x2x?x2xf32>, %b: tensor<4x?xf32>, %cu: tensor<?xi32>) -> tensor<1x4x?x2xf32> {
  %o = flt.toeplitz_attention %fq, %fk, %v, %b packed(%cu) : tensor<1x4x?x3xf32>, tensor<1x2x?x3xf32>, tensor<1x2x?x2xf32>, tensor<4x?xf32>, tensor<?xi32> -> tensor<1x4x?x2xf32>
  return %o : tensor<1x4x?x2xf32>
}

// -----

// A value used twice sums both cotangents; flt.attention is decomposed
// into the primitives first.
// CHECK-LABEL: func.func @layer_vjp(
// CHECK-NOT:     flt.attention
// CHECK:         flt.spectral_density
// CHECK:         flt.spectral_features
// CHECK:         return
func.func @layer(%q: tensor<1x2x?x4xf32>, %r: tensor<1x?x1xf32>, %xi: tensor<2x3x1xf32>, %theta: tensor<2x3xf32>) -> tensor<1x2x?x4xf32> {
  %o = flt.attention %q, %q, %q, %r, %xi, %theta {kernel = #flt.kernel<relu>, spectrum = #flt.spectrum<gaussian_mixture>}
     : tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x?x1xf32>, tensor<2x3x1xf32>, tensor<2x3xf32> -> tensor<1x2x?x4xf32>
  return %o : tensor<1x2x?x4xf32>
}

// -----

// position_transform, rotary: dy = Rᵀ g is the rotation of g by -θ (a
// position_transform with mix identity, the same pairing and positions),
// then the Householder reflection (the mix's transpose, applied last); dθ and
// ds from W = g_b z_a - g_a z_b over the pairs (t, t + d/2) of the forward's
// result z, dv from α = v·x and β = v·dy.
// CHECK-LABEL: func.func @rotary_vjp(
// CHECK-SAME:      %[[X:[^:]+]]: tensor<1x2x?x6xf32>, %[[TH:[^:]+]]: tensor<2x3xf32>, %[[HV:[^:]+]]: tensor<2x6xf32>, %[[S:[^:]+]]: tensor<1x?xf32>, %[[G:[^:]+]]: tensor<1x2x?x6xf32>)
// CHECK:         %[[Z:.+]] = flt.position_transform %[[X]], %[[TH]] mix(%[[HV]]) positions(%[[S]])
// CHECK:         %[[NEG:.+]] = linalg.generic {{.*}} ins(%[[TH]] : tensor<2x3xf32>)
// CHECK-NEXT:    ^bb0
// CHECK-NEXT:      arith.negf
// CHECK:         %[[DY:.+]] = flt.position_transform %[[G]], %[[NEG]] positions(%[[S]]) {core = #flt.lrpe_core<rotary>, pairing = #flt.pairing<halves>} : tensor<1x2x?x6xf32>, tensor<2x3xf32>, tensor<1x?xf32> -> tensor<1x2x?x6xf32>
// CHECK:         %[[NORMS:.+]] = linalg.generic {{.*}} ins(%[[HV]] : tensor<2x6xf32>) outs({{.*}} : tensor<2xf32>)
// CHECK:         %[[BETA:.+]] = linalg.generic {{.*}} ins(%[[DY]], %[[HV]] : {{.*}}) outs({{.*}} : tensor<1x2x?xf32>)
// CHECK:         %[[DX:.+]] = linalg.generic {{.*}} ins(%[[DY]], %[[HV]], %[[BETA]], %[[NORMS]] :
// CHECK:         %[[ALPHA:.+]] = linalg.generic {{.*}} ins(%[[X]], %[[HV]] : {{.*}}) outs({{.*}} : tensor<1x2x?xf32>)
// CHECK:         %[[DV:.+]] = linalg.generic {{.*}} ins(%[[ALPHA]], %[[BETA]], %[[DY]], %[[X]], %[[HV]], %[[NORMS]] : {{.*}}) outs({{.*}} : tensor<2x6xf32>)
// CHECK:         %[[ZA:.+]] = tensor.extract_slice %[[Z]][0, 0, 0, 0] [1, 2, %{{.+}}, 3] [1, 1, 1, 1]
// CHECK:         %[[ZB:.+]] = tensor.extract_slice %[[Z]][0, 0, 0, 3] [1, 2, %{{.+}}, 3] [1, 1, 1, 1]
// CHECK:         %[[GA:.+]] = tensor.extract_slice %[[G]][0, 0, 0, 0] [1, 2, %{{.+}}, 3] [1, 1, 1, 1]
// CHECK:         %[[GB:.+]] = tensor.extract_slice %[[G]][0, 0, 0, 3] [1, 2, %{{.+}}, 3] [1, 1, 1, 1]
// CHECK:         %[[W:.+]] = linalg.generic {{.*}} ins(%[[GA]], %[[GB]], %[[ZA]], %[[ZB]] :
// CHECK:         %[[DTH:.+]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction", "reduction"]} ins(%[[W]], %[[S]] : {{.*}}) outs({{.*}} : tensor<2x3xf32>)
// CHECK:         %[[DS:.+]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction", "reduction"]} ins(%[[W]], %[[TH]] : {{.*}}) outs({{.*}} : tensor<1x?xf32>)
// CHECK:         return %[[DX]], %[[DTH]], %[[DV]], %[[DS]]
func.func @rotary(%x: tensor<1x2x?x6xf32>, %th: tensor<2x3xf32>, %hv: tensor<2x6xf32>, %s: tensor<1x?xf32>) -> tensor<1x2x?x6xf32> {
  %o = flt.position_transform %x, %th mix(%hv) positions(%s) {core = #flt.lrpe_core<rotary>, mix = #flt.lrpe_mix<householder>, pairing = #flt.pairing<halves>}
     : tensor<1x2x?x6xf32>, tensor<2x3xf32>, tensor<2x6xf32>, tensor<1x?xf32> -> tensor<1x2x?x6xf32>
  return %o : tensor<1x2x?x6xf32>
}

// -----

// position_transform, complex, f16, odd_even, offset: dy_t = g_t cos + g_{t+d}
// sin is the first half of g [.., 2d] rotated by -θ with pairing halves
// (in f32); the inverse of odd_even's gather comes after it; z is
// recomputed in f32 for dθ, with s = l + offset.
// CHECK-LABEL: func.func @complex_vjp(
// CHECK-SAME:      %[[X:[^:]+]]: tensor<1x2x?x5xf16>, %[[TH:[^:]+]]: tensor<2x5xf32>, %[[G:[^:]+]]: tensor<1x2x?x10xf16>)
// CHECK:         %[[G32:.+]] = linalg.generic {{.*}} ins(%[[G]] : tensor<1x2x?x10xf16>)
// CHECK:         %[[NEG:.+]] = linalg.generic {{.*}} ins(%[[TH]] : tensor<2x5xf32>)
// CHECK:         %[[R:.+]] = flt.position_transform %[[G32]], %[[NEG]] {core = #flt.lrpe_core<rotary>, offset = 3 : i64, pairing = #flt.pairing<halves>} : tensor<1x2x?x10xf32>, tensor<2x5xf32> -> tensor<1x2x?x10xf32>
// CHECK:         %[[DY:.+]] = tensor.extract_slice %[[R]][0, 0, 0, 0] [1, 2, %{{.+}}, 5] [1, 1, 1, 1]
// CHECK:         %[[DX32:.+]] = linalg.generic
// CHECK:           tensor.extract %[[DY]]
// CHECK:         %[[DX:.+]] = linalg.generic {{.*}} ins(%[[DX32]] : tensor<1x2x?x5xf32>) outs({{.*}} : tensor<1x2x?x5xf16>)
// CHECK:         %[[X32:.+]] = linalg.generic {{.*}} ins(%[[X]] : tensor<1x2x?x5xf16>)
// CHECK:         flt.position_transform %[[X32]], %[[TH]] {core = #flt.lrpe_core<complex>, mix = #flt.lrpe_mix<odd_even>, offset = 3 : i64} : tensor<1x2x?x5xf32>, tensor<2x5xf32> -> tensor<1x2x?x10xf32>
// CHECK:         %[[POS:.+]] = linalg.generic {{.*}} outs({{.*}} : tensor<?xf32>)
// CHECK:           arith.constant 3 : i64
// CHECK:         %[[DTH:.+]] = linalg.generic {{.*}} ins(%{{.+}}, %[[POS]] : tensor<1x2x?x5xf32>, tensor<?xf32>) outs({{.*}} : tensor<2x5xf32>)
// CHECK:         return %[[DX]], %[[DTH]]
func.func @complex(%x: tensor<1x2x?x5xf16>, %th: tensor<2x5xf32>) -> tensor<1x2x?x10xf16> {
  %o = flt.position_transform %x, %th {core = #flt.lrpe_core<complex>, mix = #flt.lrpe_mix<odd_even>, offset = 3} : tensor<1x2x?x5xf16>, tensor<2x5xf32> -> tensor<1x2x?x10xf16>
  return %o : tensor<1x2x?x10xf16>
}

// -----

// position_transform, rotary interleaved: the pairs (2t, 2t + 1) of z and g
// are stride-2 slices.
// CHECK-LABEL: func.func @interleaved_vjp(
// CHECK-SAME:      %[[X:[^:]+]]: tensor<1x2x?x4xf32>, %[[TH:[^:]+]]: tensor<2x2xf32>, %[[G:[^:]+]]: tensor<1x2x?x4xf32>)
// CHECK:         %[[Z:.+]] = flt.position_transform %[[X]], %[[TH]]
// CHECK:         %[[DX:.+]] = flt.position_transform %[[G]], %{{.+}} {core = #flt.lrpe_core<rotary>} : tensor<1x2x?x4xf32>, tensor<2x2xf32> -> tensor<1x2x?x4xf32>
// CHECK:         tensor.extract_slice %[[Z]][0, 0, 0, 0] [1, 2, %{{.+}}, 2] [1, 1, 1, 2]
// CHECK:         tensor.extract_slice %[[Z]][0, 0, 0, 1] [1, 2, %{{.+}}, 2] [1, 1, 1, 2]
// CHECK:         tensor.extract_slice %[[G]][0, 0, 0, 0] [1, 2, %{{.+}}, 2] [1, 1, 1, 2]
// CHECK:         tensor.extract_slice %[[G]][0, 0, 0, 1] [1, 2, %{{.+}}, 2] [1, 1, 1, 2]
// CHECK:         return %[[DX]], %{{.+}} : tensor<1x2x?x4xf32>, tensor<2x2xf32>
func.func @interleaved(%x: tensor<1x2x?x4xf32>, %th: tensor<2x2xf32>) -> tensor<1x2x?x4xf32> {
  %o = flt.position_transform %x, %th {core = #flt.lrpe_core<rotary>} : tensor<1x2x?x4xf32>, tensor<2x2xf32> -> tensor<1x2x?x4xf32>
  return %o : tensor<1x2x?x4xf32>
}

// -----

// toeplitz_attention: [n, D] and the three gradients are more Toeplitz
// products with normalize none (same bias, causal and method): dfq = T(a, b,
// fk) forward, dfk = T(b, a, fq) and dv = T(fk, fq, dn) on the
// token-reversed sequence; db = t * flt.toeplitz_correlation(fq, a, fk, b)
// with b = [v, 1], by the op's method (select_algorithm.mlir and
// toeplitz_methods.mlir show its forms).
// CHECK-LABEL: func.func @toeplitz_vjp(
// CHECK-SAME:      %[[FQ:[^:]+]]: tensor<1x2x?x4xf32>, %[[FK:[^:]+]]: tensor<1x2x?x4xf32>, %[[V:[^:]+]]: tensor<1x2x?x3xf32>, %[[B:[^:]+]]: tensor<2x?xf32>, %[[G:[^:]+]]: tensor<1x2x?x3xf32>)
// CHECK:         flt.toeplitz_attention %[[FQ]], %[[FK]], %[[V]], %[[B]] {causal = true, method = #flt.toeplitz_method<fft>}
// CHECK:         %[[VONE:.+]] = tensor.insert_slice {{.*}}[0, 0, 0, 3] [1, 2, %{{.+}}, 1] [1, 1, 1, 1] : tensor<1x2x?x1xf32> into tensor<1x2x?x4xf32>
// CHECK:         flt.toeplitz_attention %[[FQ]], %[[FK]], %[[VONE]], %[[B]] {causal = true, method = #flt.toeplitz_method<fft>, normalize = #flt.normalize<none>}
// CHECK:         %[[A:.+]] = tensor.insert_slice {{.*}}[0, 0, 0, 3] [1, 2, %{{.+}}, 1] [1, 1, 1, 1] : tensor<1x2x?x1xf32> into tensor<1x2x?x4xf32>
// CHECK:         %[[DFQ:.+]] = flt.toeplitz_attention %[[A]], %[[VONE]], %[[FK]], %[[B]] {causal = true, method = #flt.toeplitz_method<fft>, normalize = #flt.normalize<none>}
// CHECK:         flt.toeplitz_attention {{.*}}, %[[B]] {causal = true, method = #flt.toeplitz_method<fft>, normalize = #flt.normalize<none>}
// CHECK:         flt.toeplitz_attention {{.*}}, %[[B]] {causal = true, method = #flt.toeplitz_method<fft>, normalize = #flt.normalize<none>}
// CHECK:         %[[ACC:.+]] = flt.toeplitz_correlation %[[FQ]], %[[A]], %[[FK]], %[[VONE]] {causal = true, method = #flt.toeplitz_method<fft>} : {{.*}} -> tensor<2x?xf32>
// CHECK:         %[[DB:.+]] = linalg.generic {{.*}} ins(%[[ACC]], %[[B]], %{{.+}} : tensor<2x?xf32>, tensor<2x?xf32>, tensor<2xf32>)
// CHECK:           math.exp
// CHECK:         return %[[DFQ]], %{{.+}}, %{{.+}}, %[[DB]]
func.func @toeplitz(%fq: tensor<1x2x?x4xf32>, %fk: tensor<1x2x?x4xf32>, %v: tensor<1x2x?x3xf32>, %b: tensor<2x?xf32>) -> tensor<1x2x?x3xf32> {
  %o = flt.toeplitz_attention %fq, %fk, %v, %b {causal = true, method = #flt.toeplitz_method<fft>}
     : tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x3xf32>, tensor<2x?xf32> -> tensor<1x2x?x3xf32>
  return %o : tensor<1x2x?x3xf32>
}

// -----

// An op on the path from the arguments to the results without a rule.
func.func @no_rule(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{flt-generate-vjp: no gradient rule for 'math.sin'}}
  %y = math.sin %x : tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

// expected-error @+1 {{flt-generate-vjp: @taken_vjp exists already}}
func.func @taken(%x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}
func.func private @taken_vjp(%x: tensor<4xf32>, %d: tensor<4xf32>) -> tensor<4xf32>

// -----

// FourierFormer's code form (amplitude_eps): the same tiles as the
// normalized form, each row's lse being log(sum s + eps) (a log1p).
// CHECK-LABEL: func.func @fourier_amplitude_eps_vjp(
// CHECK:         scf.forall
// CHECK:           math.log1p
// CHECK:           math.sin
// CHECK:         return
func.func @fourier_amplitude_eps(%q: tensor<1x2x?x8xf32>, %v: tensor<1x2x?x4xf32>, %R: tensor<2x8xf32>) -> tensor<1x2x?x4xf32> {
  %o = flt.kernel_attention %q, %q, %v scale(%R) {kernel = #flt.pair_kernel<fourier_integral>, fourier_form = #flt.fourier_form<amplitude_eps>, eps = 1.0e-06 : f32}
       : tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32>, tensor<1x2x?x4xf32>, tensor<2x8xf32> -> tensor<1x2x?x4xf32>
  return %o : tensor<1x2x?x4xf32>
}

// -----

// LRPE's permutation core and odd-even inverse: refused.
func.func @no_rule_permutation_core(%x: tensor<1x2x?x8xf32>, %t: tensor<2x64x8xi32>) -> tensor<1x2x?x8xf32> {
  // expected-error @+1 {{flt-generate-vjp: no gradient rule for 'flt.position_transform'}}
  %y = flt.position_transform %x, %t {core = #flt.lrpe_core<permutation>, mix = #flt.lrpe_mix<odd_even_inverse>}
       : tensor<1x2x?x8xf32>, tensor<2x64x8xi32> -> tensor<1x2x?x8xf32>
  return %y : tensor<1x2x?x8xf32>
}

// -----

// kernel_attention, softmax: FlashAttention's backward. Per (batch, head) an
// scf.forall iteration walks 64-row query tiles: one pass over the key tiles
// (up to the diagonal when causal) for each row's running max and sum, a
// second recomputing P = exp(s - lse) for dv += P^T g, dS = P (g v^T - delta),
// dq += dS k, dk += dS^T q and db's 127 diagonals of dS.
// CHECK-LABEL: func.func @softmax_bias_vjp(
// CHECK:         flt.kernel_attention %{{.+}}, %{{.+}}, %{{.+}} bias(%{{.+}}) {causal = true}
// CHECK:         %[[G:.+]]:4 = scf.forall (%[[BI:[^,]+]], %[[H:[^)]+]]) in (1, 2) shared_outs({{.*}}) -> (tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?xf32>)
// CHECK:           scf.for {{.*}} step %c64 iter_args({{.*}}) -> (tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x4xf32>, tensor<?xf32>)
// CHECK:             %[[END:.+]] = arith.minui
// CHECK:             scf.for {{.*}} to %[[END]] step %c64 iter_args({{.*}}) -> (tensor<64xf32>, tensor<64xf32>)
// CHECK:             math.log
// CHECK:             scf.for {{.*}} to %[[END]] step %c64 iter_args({{.*}}) -> (tensor<64x8xf32>, tensor<?x8xf32>, tensor<?x4xf32>, tensor<?xf32>)
// CHECK:               math.exp
// CHECK:               linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%{{.+}} : tensor<64x190xf32>) outs(%{{.+}} : tensor<127xf32>)
// CHECK:           tensor.parallel_insert_slice {{.*}} into {{.*}}[%[[BI]], %[[H]], 0, 0]
// CHECK-NOT:     tensor<?x?xf32>
// CHECK:         return
func.func @softmax_bias(%q: tensor<1x2x?x8xf32>, %k: tensor<1x2x?x8xf32>, %v: tensor<1x2x?x4xf32>, %b: tensor<2x?xf32>) -> tensor<1x2x?x4xf32> {
  %o = flt.kernel_attention %q, %k, %v bias(%b) {causal = true}
       : tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32>, tensor<1x2x?x4xf32>, tensor<2x?xf32> -> tensor<1x2x?x4xf32>
  return %o : tensor<1x2x?x4xf32>
}

// -----

// kernel_attention, dot: flt.linear_attention's rule, on a linear attention
// with the same operands.
// CHECK-LABEL: func.func @dot_rpe_vjp(
// CHECK:         flt.linear_attention %{{.+}}, %{{.+}}, %{{.+}} rpe(%{{.+}}, %{{.+}})
// CHECK:         return
func.func @dot_rpe(%q: tensor<1x2x?x8xf32>, %v: tensor<1x2x?x4xf32>, %phi: tensor<1x2x?x3xf32>) -> tensor<1x2x?x4xf32> {
  %o = flt.kernel_attention %q, %q, %v rpe(%phi, %phi) {kernel = #flt.pair_kernel<dot>}
       : tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x3xf32>, tensor<1x2x?x3xf32> -> tensor<1x2x?x4xf32>
  return %o : tensor<1x2x?x4xf32>
}
