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

// The compatibility forms without reverse rules (docs/Compatibility.md):
// FourierFormer's amplitude_eps form is refused, not differentiated as the
// normalized form.
func.func @no_rule_fourier_amplitude_eps(%q: tensor<1x2x?x8xf32>, %v: tensor<1x2x?x4xf32>, %R: tensor<2x8xf32>) -> tensor<1x2x?x4xf32> {
  // expected-error @+1 {{flt-generate-vjp: no gradient rule for 'flt.kernel_attention'}}
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
