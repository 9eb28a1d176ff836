//===- FLTOps.td - flt dialect operations --------------------*- tablegen -*-===//
//
// The user-facing ops of docs/Semantics.md section 2. Operand order, attribute names,
// defaults and textual forms are the public contract; verifiers check every
// shape relation docs/Semantics.md states and name the operands involved.
//
//===----------------------------------------------------------------------===//

#ifndef FLT_DIALECT_FLT_IR_FLTOPS_TD
#define FLT_DIALECT_FLT_IR_FLTOPS_TD

include "flt/Dialect/FLT/IR/FLTBase.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

// Every flt op is pure, works on ranked tensors (rank and element types are
// checked by the C++ verifiers so that diagnostics can name the operand) and
// can reify its result shape from its operands, which is what lowerings use
// to materialize dynamic sizes.
class FLT_Op<string mnemonic, list<Trait> traits = []>
    : Op<FLT_Dialect, mnemonic, !listconcat(traits, [Pure,
        DeclareOpInterfaceMethods<ReifyRankedShapedTypeOpInterface,
          ["reifyResultShapes"]>])> {
  let hasVerifier = 1;
}

def FLT_F32Default0 : DefaultValuedAttr<F32Attr, "0.0f">;
def FLT_F32Default1em6 : DefaultValuedAttr<F32Attr, "1e-6f">;
def FLT_FalseDefault : DefaultValuedAttr<BoolAttr, "false">;
def FLT_NormalizeDivide
    : DefaultValuedAttr<FLT_NormalizeAttr, "::mlir::flt::Normalize::Divide">;

//===----------------------------------------------------------------------===//
// feature_map
//===----------------------------------------------------------------------===//

def FLT_FeatureMapOp : FLT_Op<"feature_map"> {
  let summary = "kernel feature map phi of queries or keys";
  let description = [{
    Maps every token `x [B, H, L, d]` to non-negative features
    `phi(x) [B, H, L, m]`, optionally through a per-head projection
    `w [H, m, d]` (m = d without `w`):

    | kernel         | phi(x)                                                  |
    |----------------|---------------------------------------------------------|
    | `identity`     | x (no `w`)                                              |
    | `relu`         | relu(x) + eps; with `w`: relu(m^-1/2 W x) + eps          |
    | `elu_plus_one` | elu(x) + 1 + eps (no `w`)                               |
    | `favor_pos`    | x~ = x d^-1/4, u = W x~ (`w` required),                  |
    |                | phi = m^-1/2 (exp(u - ‖x~‖²/2 - c) + eps)               |

    For `favor_pos`, the stabilizer c is the per-token max of u for queries
    (`is_query = true`) and the max of u over the whole (b, h) slice for keys;
    both cancel in normalized attention (up to eps). `key_stabilizer =
    global` takes the keys' c over the whole tensor (every b, h, l, k), as
    the official FAVOR+ code does (docs/Compatibility.md).

    ```mlir
    %f = flt.feature_map %x {kernel = #flt.kernel<relu>}
           : tensor<1x8x?x64xf32> -> tensor<1x8x?x64xf32>
    %g = flt.feature_map %x, %w {kernel = #flt.kernel<favor_pos>, is_query = true}
           : tensor<1x8x?x64xf32>, tensor<8x128x64xf32> -> tensor<1x8x?x128xf32>
    %h = flt.feature_map %x, %w {kernel = #flt.kernel<favor_pos>,
                                 key_stabilizer = #flt.key_stabilizer<global>}
           : tensor<1x8x?x64xf32>, tensor<8x128x64xf32> -> tensor<1x8x?x128xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$x, Optional<AnyRankedTensor>:$w,
                   FLT_KernelAttr:$kernel, FLT_F32Default0:$eps,
                   FLT_FalseDefault:$is_query,
                   DefaultValuedAttr<FLT_KeyStabilizerAttr,
                     "::mlir::flt::KeyStabilizer::PerHead">:$key_stabilizer);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $x (`,` $w^)? attr-dict `:` type(operands) `->` type($result)
  }];
  let builders = [
    // Infers the result type from x and w.
    OpBuilder<(ins "::mlir::Value":$x, "::mlir::Value":$w,
                   "::mlir::flt::Kernel":$kernel, "float":$eps,
                   "bool":$is_query,
                   CArg<"::mlir::flt::KeyStabilizer",
                        "::mlir::flt::KeyStabilizer::PerHead">:$key_stabilizer)>
  ];
  let extraClassDeclaration = [{
    /// The result type docs/Semantics.md determines: [B, H, L, m] with x's element type.
    static ::mlir::RankedTensorType inferResultType(::mlir::Value x,
                                                    ::mlir::Value w);
  }];
}

//===----------------------------------------------------------------------===//
// spectral_density
//===----------------------------------------------------------------------===//

def FLT_SpectralDensityOp : FLT_Op<"spectral_density"> {
  let summary = "importance weights g(xi) / P(xi) of the learned RPE spectrum";
  let description = [{
    Evaluates the learned spectrum g at the frequencies `xi [H, m_f, p]` and
    divides by the N(0, I_p) density they are drawn from,
    P(ξ) = (2π)^(-p/2) exp(-‖ξ‖²/2), giving `rho [H, m_f]`.

    * `gaussian_mixture`: `theta [H, (p + 2) K]` holds K weights, K means of
      p values and K log-variances; g(ξ) = Σ_i w_i exp(-‖ξ - mu_i‖² / exp(s_i)).
    * `local_window`: `theta [H, 2] = [C, v]`;
      g(ξ) = C Π_a sin(2π v ξ_a) / (π ξ_a) (each factor 2v at ξ_a = 0).

    `density = normal_1d_constant` divides by (2π)^(-1/2) exp(-‖ξ‖²/2) for
    every p instead, as the official FLT code does (the same for p = 1).

    ```mlir
    %rho = flt.spectral_density %theta, %xi {spectrum = #flt.spectrum<gaussian_mixture>}
             : tensor<8x75xf32>, tensor<8x16x1xf32> -> tensor<8x16xf32>
    %code = flt.spectral_density %theta, %xi {spectrum = #flt.spectrum<gaussian_mixture>,
                                              density = #flt.density<normal_1d_constant>}
              : tensor<8x15xf32>, tensor<8x16x3xf32> -> tensor<8x16xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$theta, AnyRankedTensor:$xi,
                   FLT_SpectrumAttr:$spectrum,
                   DefaultValuedAttr<FLT_DensityAttr,
                     "::mlir::flt::Density::Normal">:$density);
  let results = (outs AnyRankedTensor:$rho);
  let assemblyFormat = [{
    $theta `,` $xi attr-dict `:` type(operands) `->` type($rho)
  }];
  let builders = [
    OpBuilder<(ins "::mlir::Value":$theta, "::mlir::Value":$xi,
                   "::mlir::flt::Spectrum":$spectrum,
                   CArg<"::mlir::flt::Density",
                        "::mlir::flt::Density::Normal">:$density)>
  ];
  let extraClassDeclaration = [{
    /// [H, m_f] f32.
    static ::mlir::RankedTensorType inferResultType(::mlir::Value theta,
                                                    ::mlir::Value xi);
  }];
}

//===----------------------------------------------------------------------===//
// spectral_features
//===----------------------------------------------------------------------===//

def FLT_SpectralFeaturesOp : FLT_Op<"spectral_features"> {
  let summary = "random Fourier features of the positions";
  let description = [{
    With a_k = 2π xi_k · r_i, forms for every position `r [B, L, p]` the
    query-side features `phi [B, H, L, 2 m_f]` and key-side features
    `psi [B, H, L, 2 m_f]` (first m_f columns cosines, next m_f sines):

    * `query_side` (default): phi = m_f^-1/2 [rho cos a] ++ [rho sin a],
      psi = m_f^-1/2 [cos a] ++ [sin a], so phi_i · psi_j is an unbiased
      estimate of the RPE f(r_i - r_j).
    * `both_sides`: both are m_f^-1/2 [rho cos a] ++ [rho sin a].

    ```mlir
    %phi, %psi = flt.spectral_features %r, %xi, %rho
        : tensor<1x?x1xf32>, tensor<8x16x1xf32>, tensor<8x16xf32>
       -> tensor<1x8x?x32xf32>, tensor<1x8x?x32xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$r, AnyRankedTensor:$xi,
                   AnyRankedTensor:$rho,
                   DefaultValuedAttr<FLT_WeightingAttr,
                     "::mlir::flt::Weighting::QuerySide">:$weighting);
  let results = (outs AnyRankedTensor:$phi, AnyRankedTensor:$psi);
  let assemblyFormat = [{
    $r `,` $xi `,` $rho attr-dict `:` type(operands) `->` type($phi) `,` type($psi)
  }];
  let builders = [
    OpBuilder<(ins "::mlir::Value":$r, "::mlir::Value":$xi,
                   "::mlir::Value":$rho, "::mlir::flt::Weighting":$weighting)>
  ];
  let extraClassDeclaration = [{
    /// [B, H, L, 2 m_f] f32 (both results).
    static ::mlir::RankedTensorType inferResultType(::mlir::Value r,
                                                    ::mlir::Value xi);
  }];
}

//===----------------------------------------------------------------------===//
// linear_attention
//===----------------------------------------------------------------------===//

def FLT_LinearAttentionOp
    : FLT_Op<"linear_attention",
             [AttrSizedOperandSegments, AttrSizedResultSegments]> {
  let summary = "linear attention, optionally masked by a low-rank RPE";
  let description = [{
    With score_ij = (fq_i · fk_j) (phi_i · psi_j) (second factor 1 without
    `rpe`), num_i = Σ_j score_ij v_j and den_i = Σ_j score_ij (j ≤ i when
    `causal`, which needs S = L):

    * `divide` (default): out_i = num_i / (den_i + eps)
    * `guarded`: out_i = num_i / (den_i > 0 ? den_i : 1)
    * `none`: out_i = num_i

    Operands: `fq [B, H, L, m]`, `fk [B, H_kv, S, m]`, `v [B, H_kv, S, e]`,
    and optionally `rpe(phi [B, H, L, r], psi [B, H, S, r])`; result
    `[B, H, L, e]`. The score factors through the row-wise Kronecker products
    fq_i ⊗ phi_i and fk_j ⊗ psi_j, so the op costs O(L m r e) and a lowering
    never materializes those products or any L × S matrix.

    Serving (docs/Semantics.md §5):

    * Grouped heads: H_kv divides H; query head h reads key/value head
      h / (H / H_kv) (PyTorch's `repeat_interleave` order). No copy of fk or
      v per query head is made.
    * `state(T0 [B, H, m r, e], z0 [B, H, m r])`, both f32: the sums over
      keys start from (T0, z0) instead of zero (feature index a r + c for fk
      feature a and psi feature c; r = 1 without rpe), and two more results
      (T, z) are T0, z0 plus every key's term, so a sequence run in pieces
      (chunked prefill, one-token decoding steps) gives the rows of one run.
    * `packed(cu_seqlens [N + 1])` (i32 or i64; B = 1, S = L): tokens
      c_n ≤ i < c_{n+1} form sequence n and attend only inside it; states
      are then per sequence ([N, H, ...]).
    * `lengths(n [B])` (i32 or i64): in batch b only keys j < n_b exist and
      rows i ≥ n_b of the result are zero.

    cu_seqlens must rise strictly from 0 to L and lengths lie in [0, S]:
    flt-compile checks both before the kernel runs when they are function
    arguments; the lowering clamps them in any case, so no access leaves the
    tensors.

    ```mlir
    %o = flt.linear_attention %fq, %fk, %v
           : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>
          -> tensor<1x8x?x64xf32>
    %m = flt.linear_attention %fq, %fk, %v rpe(%phi, %psi) {causal = true}
           : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>,
             tensor<1x8x?x32xf32>, tensor<1x8x?x32xf32> -> tensor<1x8x?x64xf32>
    // One decoding step of a causal layer with 2 key/value heads for 8
    // query heads, from the state of the prefix.
    %s, %t, %z = flt.linear_attention %fq1, %fk1, %v1 state(%t0, %z0)
           {causal = true}
           : tensor<1x8x1x16xf32>, tensor<1x2x1x16xf32>, tensor<1x2x1x64xf32>,
             tensor<1x8x16x64xf32>, tensor<1x8x16xf32>
          -> tensor<1x8x1x64xf32>, tensor<1x8x16x64xf32>, tensor<1x8x16xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$fq, AnyRankedTensor:$fk,
                   AnyRankedTensor:$v, Optional<AnyRankedTensor>:$phi,
                   Optional<AnyRankedTensor>:$psi,
                   Optional<AnyRankedTensor>:$initial_state,
                   Optional<AnyRankedTensor>:$initial_normalizer,
                   Optional<AnyRankedTensor>:$cu_seqlens,
                   Optional<AnyRankedTensor>:$lengths,
                   FLT_FalseDefault:$causal,
                   FLT_NormalizeDivide:$normalize, FLT_F32Default1em6:$eps);
  let results = (outs AnyRankedTensor:$result,
                 Optional<AnyRankedTensor>:$final_state,
                 Optional<AnyRankedTensor>:$final_normalizer);
  let assemblyFormat = [{
    $fq `,` $fk `,` $v (`rpe` `(` $phi^ `,` $psi `)`)?
    (`state` `(` $initial_state^ `,` $initial_normalizer `)`)?
    (`packed` `(` $cu_seqlens^ `)`)? (`lengths` `(` $lengths^ `)`)?
    attr-dict `:` type(operands) `->` type($result)
    (`,` type($final_state)^ `,` type($final_normalizer))?
  }];
  let builders = [
    OpBuilder<(ins "::mlir::Value":$fq, "::mlir::Value":$fk,
                   "::mlir::Value":$v, "::mlir::Value":$phi,
                   "::mlir::Value":$psi, "bool":$causal,
                   "::mlir::flt::Normalize":$normalize, "float":$eps)>,
    // With the serving operands (any may be null).
    OpBuilder<(ins "::mlir::Value":$fq, "::mlir::Value":$fk,
                   "::mlir::Value":$v, "::mlir::Value":$phi,
                   "::mlir::Value":$psi, "::mlir::Value":$initialState,
                   "::mlir::Value":$initialNormalizer,
                   "::mlir::Value":$cuSeqlens, "::mlir::Value":$lengths,
                   "bool":$causal, "::mlir::flt::Normalize":$normalize,
                   "float":$eps)>
  ];
  let extraClassDeclaration = [{
    /// [B, H, L, e] with fq's element type.
    static ::mlir::RankedTensorType inferResultType(::mlir::Value fq,
                                                    ::mlir::Value v);
    /// Whether any §5 operand is there or fk has fewer heads than fq: the
    /// forms only the linear lowering computes.
    bool usesServingOperands();
    /// Whether fk and v have fewer heads than fq (possibly dynamic).
    bool mayGroupHeads();
  }];
}

//===----------------------------------------------------------------------===//
// linear_attention_grad (internal)
//===----------------------------------------------------------------------===//

def FLT_LinearAttentionGradOp
    : FLT_Op<"linear_attention_grad", [AttrSizedOperandSegments]> {
  let summary = "the vector-Jacobian product of flt.linear_attention (internal)";
  let description = [{
    Internal to reverse mode (flt-generate-vjp builds it; it is not part of
    the public semantics). Given the operands of an `flt.linear_attention`
    with the same attributes and the cotangent `g [B, H, L, e]` of its
    result, its results are the f32 cotangents of `fq`, `fk`, `v` and, with
    `rpe`, of `phi` and `psi` (docs/Semantics.md §4), each of its operand's
    shape. flt-select-algorithm keeps it for flt-convert-to-linalg's fused
    backward (the state T, z, then a query pass accumulating dT, dz and
    forming dfq, dphi tile by tile, then a key pass forming dfk, dpsi, dv;
    no L × m r buffer) where that applies and is the cheaper, and rewrites
    it into `flt.linear_attention` ops otherwise (`linear-attention-grad`
    forces either).

    ```mlir
    %dfq, %dfk, %dv, %dphi, %dpsi = flt.linear_attention_grad %fq, %fk, %v
        rpe(%phi, %psi) cotangent(%g) {normalize = #flt.normalize<guarded>}
        : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>,
          tensor<1x8x?x32xf32>, tensor<1x8x?x32xf32>, tensor<1x8x?x64xf32>
       -> tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>,
          tensor<1x8x?x32xf32>, tensor<1x8x?x32xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$fq, AnyRankedTensor:$fk,
                   AnyRankedTensor:$v, Optional<AnyRankedTensor>:$phi,
                   Optional<AnyRankedTensor>:$psi, AnyRankedTensor:$cotangent,
                   FLT_FalseDefault:$causal, FLT_NormalizeDivide:$normalize,
                   FLT_F32Default1em6:$eps);
  let results = (outs Variadic<AnyRankedTensor>:$grads);
  let assemblyFormat = [{
    $fq `,` $fk `,` $v (`rpe` `(` $phi^ `,` $psi `)`)? `cotangent` `(`
    $cotangent `)` attr-dict `:` type(operands) `->` type($grads)
  }];
  let builders = [
    OpBuilder<(ins "::mlir::Value":$fq, "::mlir::Value":$fk,
                   "::mlir::Value":$v, "::mlir::Value":$phi,
                   "::mlir::Value":$psi, "::mlir::Value":$cotangent,
                   "bool":$causal, "::mlir::flt::Normalize":$normalize,
                   "float":$eps)>
  ];
}

//===----------------------------------------------------------------------===//
// kernel_attention
//===----------------------------------------------------------------------===//

def FLT_KernelAttentionOp : FLT_Op<"kernel_attention", [AttrSizedOperandSegments]> {
  let summary = "exact quadratic attention with a pairwise kernel";
  let description = [{
    Operands `q [B, H, L, d]`, `k [B, H, S, d]`, `v [B, H, S, e]`; optional
    `scale(R [H, d])` (required by, and only for, `fourier_integral`),
    `bias(b [H, L + S - 1])` (b_{j-i} at column j - i + L - 1; not for
    `dot`) and `rpe(phi [B, H, L, r], psi [B, H, S, r])` (M_ij = phi_i · psi_j).

    | kernel             | s_ij                                              |
    |--------------------|---------------------------------------------------|
    | `softmax`          | exp(temperature q_i·k_j + b_{j-i}) · M_ij           |
    | `dot`              | (q_i·k_j) · M_ij, normalized as linear_attention    |
    | `fourier_integral` | Π_k sinc(R_hk (q_ik - k_jk))^power exp(b_{j-i}) M_ij |

    softmax and fourier_integral divide by Σ_j s_ij; `temperature` defaults
    to 1/sqrt(d), `power` to 4. fourier_integral is evaluated in the log
    domain; a row whose scores are all exactly zero yields zeros. `causal`
    keeps j ≤ i and needs S = L. `fourier_form = amplitude_eps` is the
    FourierFormer code's form: s_ij = Π_k (R_hk sinc(R_hk Δ_ijk))^power ·
    exp(b_{j-i}) · M_ij and out_i = Σ_j s_ij v_j / (Σ_j s_ij + eps), still
    evaluated in the log domain (the eps rescaled by the running max).

    Serving (docs/Semantics.md §5): k and v may have H_kv heads (H_kv
    divides H; query head h reads head h / (H / H_kv), never copied);
    `packed(cu_seqlens)` (B = 1, S = L) keeps each token's keys in its own
    sequence (bias indices are relative, so they count from the sequence's
    start); `lengths(n)` keeps keys j < n_b and zeroes rows i ≥ n_b. Both
    tables are i32 or i64, checked before the kernel runs when they are
    function arguments and clamped by the lowering in any case.

    ```mlir
    %p = flt.kernel_attention %q, %k, %v packed(%cu) {causal = true}
           : tensor<1x8x?x64xf32>, tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32>,
             tensor<?xi32> -> tensor<1x8x?x64xf32>
    %o = flt.kernel_attention %q, %k, %v {causal = true}
           : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>
          -> tensor<1x8x?x64xf32>
    %f = flt.kernel_attention %q, %k, %v scale(%R) {kernel = #flt.pair_kernel<fourier_integral>}
           : tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32>,
             tensor<8x64xf32> -> tensor<1x8x128x64xf32>
    %c = flt.kernel_attention %q, %k, %v scale(%R)
           {kernel = #flt.pair_kernel<fourier_integral>,
            fourier_form = #flt.fourier_form<amplitude_eps>, eps = 1.0e-06 : f32}
           : tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32>,
             tensor<8x64xf32> -> tensor<1x8x128x64xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$q, AnyRankedTensor:$k,
                   AnyRankedTensor:$v, Optional<AnyRankedTensor>:$scale,
                   Optional<AnyRankedTensor>:$bias,
                   Optional<AnyRankedTensor>:$phi,
                   Optional<AnyRankedTensor>:$psi,
                   Optional<AnyRankedTensor>:$cu_seqlens,
                   Optional<AnyRankedTensor>:$lengths,
                   DefaultValuedAttr<FLT_PairKernelAttr,
                     "::mlir::flt::PairKernel::Softmax">:$kernel,
                   FLT_FalseDefault:$causal,
                   OptionalAttr<F32Attr>:$temperature,
                   DefaultValuedAttr<I64Attr, "4">:$power,
                   FLT_NormalizeDivide:$normalize, FLT_F32Default1em6:$eps,
                   DefaultValuedAttr<FLT_FourierFormAttr,
                     "::mlir::flt::FourierForm::Normalized">:$fourier_form);
  let results = (outs AnyRankedTensor:$result);
  let builders = [
    // The attribute form without `fourier_form` (its default).
    OpBuilder<(ins "::mlir::Type":$result, "::mlir::Value":$q,
                   "::mlir::Value":$k, "::mlir::Value":$v,
                   "::mlir::Value":$scale, "::mlir::Value":$bias,
                   "::mlir::Value":$phi, "::mlir::Value":$psi,
                   "::mlir::flt::PairKernelAttr":$kernel,
                   "::mlir::BoolAttr":$causal,
                   "::mlir::FloatAttr":$temperature,
                   "::mlir::IntegerAttr":$power,
                   "::mlir::flt::NormalizeAttr":$normalize,
                   "::mlir::FloatAttr":$eps), [{
      build($_builder, $_state, result, q, k, v, scale, bias, phi, psi,
            /*cu_seqlens=*/::mlir::Value(), /*lengths=*/::mlir::Value(),
            kernel, causal, temperature, power, normalize, eps,
            ::mlir::flt::FourierFormAttr());
    }]>
  ];
  let assemblyFormat = [{
    $q `,` $k `,` $v (`scale` `(` $scale^ `)`)? (`bias` `(` $bias^ `)`)?
    (`rpe` `(` $phi^ `,` $psi `)`)? (`packed` `(` $cu_seqlens^ `)`)?
    (`lengths` `(` $lengths^ `)`)? attr-dict `:` type(operands) `->`
    type($result)
  }];
  let extraClassDeclaration = [{
    /// The softmax temperature in effect: the attribute, else 1/sqrt(d).
    float getEffectiveTemperature();
    /// [B, H, L, e] with q's element type.
    static ::mlir::RankedTensorType inferResultType(::mlir::Value q,
                                                    ::mlir::Value v);
  }];
}

//===----------------------------------------------------------------------===//
// position_transform
//===----------------------------------------------------------------------===//

def FLT_PositionTransformOp : FLT_Op<"position_transform", [AttrSizedOperandSegments]> {
  let summary = "LRPE unitary position transform of queries or keys";
  let description = [{
    First mixes every token, y = P x (`identity`; `householder`
    y = x - 2u(u·x) with u = v/(‖v‖ + mix_eps) from `mix(v [H, d])`;
    `odd_even` puts even features before odd ones; `odd_even_inverse`
    interleaves the halves, y_2t = x_t, y_2t+1 = x_{ceil(d/2)+t}), then
    rotates by the position s (explicit `positions(s [B, L])`, else
    s_l = l + offset):

    * `rotary` (d even, `theta [H, d/2]`): each pair (a, b), interleaved
      (y_2t, y_2t+1) or halves (y_t, y_t+d/2), becomes
      (a cos sθ_t - b sin sθ_t, b cos sθ_t + a sin sθ_t); result
      `[B, H, L, d]`. With `rotary_dims = n` (even, ≤ d; `theta [H, n/2]`)
      only the first n features pair up (halves: (y_t, y_t+n/2)) and the
      rest pass through (an odd d; LRPE's mixed core).
    * `complex` (`theta [H, d]`): result `[B, H, L, 2d]` =
      [y_t cos sθ_t]_t ++ [y_t sin sθ_t]_t.
    * `permutation` (`theta [H, P, d]` of i32 or i64, P ≥ L + offset):
      result_c = y_{theta[h, s, c]} (row s of the table holds π^s, LRPE's
      permutation core); no explicit positions.

    Applying the same transform to q and k makes their scores depend only on
    the position difference.

    `packed(cu_seqlens)` (docs/Semantics.md §5; B = 1): the default
    positions (and the permutation core's rows) count from the start of each
    token's packed sequence, s = l - c_n + offset; explicit positions are
    used as given.

    ```mlir
    %qr = flt.position_transform %q, %theta {core = #flt.lrpe_core<rotary>}
            : tensor<1x8x?x64xf32>, tensor<8x32xf32> -> tensor<1x8x?x64xf32>
    %qc = flt.position_transform %q, %theta mix(%hv)
            {core = #flt.lrpe_core<complex>, mix = #flt.lrpe_mix<householder>}
            : tensor<1x8x?x64xf32>, tensor<8x64xf32>, tensor<8x64xf32>
           -> tensor<1x8x?x128xf32>
    %qm = flt.position_transform %x, %theta16 {core = #flt.lrpe_core<rotary>, rotary_dims = 32}
            : tensor<1x8x?x65xf32>, tensor<8x16xf32> -> tensor<1x8x?x65xf32>
    %qp = flt.position_transform %q, %table
            {core = #flt.lrpe_core<permutation>, mix = #flt.lrpe_mix<odd_even_inverse>}
            : tensor<1x8x?x64xf32>, tensor<8x512x64xi32> -> tensor<1x8x?x64xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$x, AnyRankedTensor:$theta,
                   Optional<AnyRankedTensor>:$mix_vector,
                   Optional<AnyRankedTensor>:$positions,
                   Optional<AnyRankedTensor>:$cu_seqlens,
                   FLT_LrpeCoreAttr:$core,
                   DefaultValuedAttr<FLT_LrpeMixAttr,
                     "::mlir::flt::LrpeMix::Identity">:$mix,
                   DefaultValuedAttr<FLT_PairingAttr,
                     "::mlir::flt::Pairing::Interleaved">:$pairing,
                   DefaultValuedAttr<I64Attr, "0">:$offset,
                   FLT_F32Default0:$mix_eps,
                   DefaultValuedAttr<I64Attr, "0">:$rotary_dims);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $x `,` $theta (`mix` `(` $mix_vector^ `)`)?
    (`positions` `(` $positions^ `)`)? (`packed` `(` $cu_seqlens^ `)`)?
    attr-dict `:` type(operands) `->` type($result)
  }];
  let extraClassDeclaration = [{
    /// [B, H, L, d] for cores rotary and permutation, [B, H, L, 2d] for
    /// complex.
    static ::mlir::RankedTensorType
    inferResultType(::mlir::Value x, ::mlir::flt::LrpeCore core);
  }];
}

//===----------------------------------------------------------------------===//
// toeplitz_attention
//===----------------------------------------------------------------------===//

def FLT_ToeplitzAttentionOp
    : FLT_Op<"toeplitz_attention", [AttrSizedOperandSegments]> {
  let summary = "kernelized attention with a Toeplitz RPE mask (Luo et al.)";
  let description = [{
    score_ij = exp(b_{j-i}) (fq_i · fk_j) with b_{j-i} stored at column
    j - i + L - 1 of `b [H, 2L - 1]`, normalized as `flt.linear_attention`.
    Operands `fq [B, H, L, m]`, `fk [B, H, L, m]`, `v [B, H, L, e]`; result
    `[B, H, L, e]`. `method = fft` computes the Toeplitz products with FFTs of
    length ≥ 2L in O(L log L m e), `direct` as a tiled quadratic product,
    `auto` (default) lets the compiler choose by cost.

    Serving (docs/Semantics.md §5): fk and v may have H_kv heads (H_kv
    divides H); `packed(cu_seqlens)` (B = 1) keeps each token's keys in its
    own sequence; `lengths(n)` keeps keys j < n_b and zeroes rows i ≥ n_b.
    Grouped heads run in either method; packed and lengths in the direct
    one (`auto` picks it; `fft` is refused).

    ```mlir
    %l = flt.toeplitz_attention %fq, %fk, %v, %b lengths(%n)
           : tensor<4x8x?x64xf32>, tensor<4x8x?x64xf32>, tensor<4x8x?x64xf32>,
             tensor<8x?xf32>, tensor<4xi32> -> tensor<4x8x?x64xf32>
    %o = flt.toeplitz_attention %fq, %fk, %v, %b {method = #flt.toeplitz_method<fft>}
           : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>,
             tensor<8x?xf32> -> tensor<1x8x?x64xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$fq, AnyRankedTensor:$fk,
                   AnyRankedTensor:$v, AnyRankedTensor:$b,
                   Optional<AnyRankedTensor>:$cu_seqlens,
                   Optional<AnyRankedTensor>:$lengths,
                   FLT_FalseDefault:$causal, FLT_NormalizeDivide:$normalize,
                   FLT_F32Default1em6:$eps,
                   DefaultValuedAttr<FLT_ToeplitzMethodAttr,
                     "::mlir::flt::ToeplitzMethod::Auto">:$method);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $fq `,` $fk `,` $v `,` $b (`packed` `(` $cu_seqlens^ `)`)?
    (`lengths` `(` $lengths^ `)`)? attr-dict `:` type(operands) `->`
    type($result)
  }];
  let extraClassDeclaration = [{
    /// [B, H, L, e] with fq's element type.
    static ::mlir::RankedTensorType inferResultType(::mlir::Value fq,
                                                    ::mlir::Value v);
    /// Whether packed(...) or lengths(...) is there (the direct method's
    /// forms).
    bool packsOrPads();
  }];
}

//===----------------------------------------------------------------------===//
// toeplitz_correlation (internal)
//===----------------------------------------------------------------------===//

def FLT_ToeplitzCorrelationOp : FLT_Op<"toeplitz_correlation"> {
  let summary = "the token correlation behind a Toeplitz bias's gradient (internal)";
  let description = [{
    Internal to reverse mode (the gradient rule of `flt.toeplitz_attention`
    builds it; it is not part of the public semantics). With `fq`, `fk`
    `[B, H, L, m]` and `a`, `keys` `[B, H, L, c]` (f32), the result
    `[H, 2L - 1]` (f32) holds at column j - i + L - 1

      Σ_b Σ_i (fq_i · fk_j) (a_i · keys_j)

    over the pairs with that offset (j ≤ i when `causal`; i and j in one
    sequence with `packed(cu_seqlens)`, B = 1). The bias's cotangent is
    this times t_{j-i} (docs/Semantics.md §4).

    `method = direct` is O(L² (m + c)): flt-select-algorithm rewrites it
    into two matrix products per tile of the L × L plane and their diagonal
    sums. `fft` is O(m c L log L): each of the m·c products fq_p a_q and
    fk_p keys_q is transformed (two per complex FFT, zero-padded to
    N ≥ 2L - 1), the conjugate products are summed over channels and batch in
    the frequency domain and transformed back once per head
    (flt-convert-to-linalg). `auto` (default) lets flt-select-algorithm
    choose by cost; packed sequences take the direct method.

    ```mlir
    %acc = flt.toeplitz_correlation %fq, %a, %fk, %keys
             {causal = true, method = #flt.toeplitz_method<fft>}
           : tensor<1x8x?x64xf32>, tensor<1x8x?x65xf32>,
             tensor<1x8x?x64xf32>, tensor<1x8x?x65xf32> -> tensor<8x?xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$fq, AnyRankedTensor:$a,
                   AnyRankedTensor:$fk, AnyRankedTensor:$keys,
                   Optional<AnyRankedTensor>:$cu_seqlens,
                   FLT_FalseDefault:$causal,
                   DefaultValuedAttr<FLT_ToeplitzMethodAttr,
                     "::mlir::flt::ToeplitzMethod::Auto">:$method);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $fq `,` $a `,` $fk `,` $keys (`packed` `(` $cu_seqlens^ `)`)? attr-dict
    `:` type(operands) `->` type($result)
  }];
  let extraClassDeclaration = [{
    /// [H, 2L - 1] f32 for `fq` [B, H, L, m].
    static ::mlir::RankedTensorType inferResultType(::mlir::Value fq);
  }];
}

//===----------------------------------------------------------------------===//
// attention
//===----------------------------------------------------------------------===//

def FLT_AttentionOp
    : FLT_Op<"attention", [AttrSizedOperandSegments, AttrSizedResultSegments]> {
  let summary = "one FLT attention layer (composite)";
  let description = [{
    A whole FourierLearner-Transformer attention layer, exactly:

    ```
    fq = feature_map(q, w, is_query = true), fk = feature_map(k, w)
    rho = spectral_density(theta, xi); phi, psi = spectral_features(r, xi, rho)
    out = linear_attention(fq, fk, v, rpe(phi, psi))
    ```

    with the layer's `kernel` and `eps` for both feature maps, its
    `spectrum`, `density`, `weighting`, `causal` and `normalize` (default
    `guarded`, since an RPE can be negative), and `key_stabilizer` for the
    key feature map. The positions `r [B, L, p]` serve queries and keys, so
    keys have the queries' length. `flt-decompose` expands it.

    `rpe_form = concat` is the official FLT code's form instead: no mask;
    the positional features are concatenated to q and k before the feature
    map, q' = [q, d^1/4 phi], k' = [k, d^1/4 psi], fq = feature_map(q'),
    fk = feature_map(k'), out = linear_attention(fq, fk, v) (a projection
    `w` is then [H, m, d + 2 m_f]).

    docs/Semantics.md section 5 applies through the linear_attention: k and
    v may have H_kv heads (H_kv divides H; with `proj` or rpe_form concat
    the key features are per query head, so k and v are repeated to the
    query heads first; otherwise neither is), and `state(T0, z0)`
    ([B, H, m 2 m_f, e], [B, H, m 2 m_f]; m without the mask form's 2 m_f
    for rpe_form concat), `packed(cu_seqlens)` and `lengths(n)` are passed
    to it (the state then also is a result). With state, the kernel is not
    favor_pos: its key stabilizer is a maximum over the keys of one call,
    so the features of two calls would not share a scale.

    ```mlir
    %o = flt.attention %q, %k, %v, %r, %xi, %theta
           {kernel = #flt.kernel<relu>, spectrum = #flt.spectrum<gaussian_mixture>}
         : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>,
           tensor<1x?x1xf32>, tensor<8x16x1xf32>, tensor<8x75xf32>
        -> tensor<1x8x?x64xf32>
    %c = flt.attention %q, %k, %v, %r, %xi, %theta proj(%w)
           {kernel = #flt.kernel<favor_pos>, spectrum = #flt.spectrum<gaussian_mixture>,
            rpe_form = #flt.rpe_form<concat>, weighting = #flt.weighting<both_sides>,
            density = #flt.density<normal_1d_constant>,
            key_stabilizer = #flt.key_stabilizer<global>, eps = 1.0e-06 : f32}
         : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>,
           tensor<1x?x1xf32>, tensor<8x16x1xf32>, tensor<8x75xf32>,
           tensor<8x128x96xf32> -> tensor<1x8x?x64xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$q, AnyRankedTensor:$k,
                   AnyRankedTensor:$v, AnyRankedTensor:$r,
                   AnyRankedTensor:$xi, AnyRankedTensor:$theta,
                   Optional<AnyRankedTensor>:$w,
                   Optional<AnyRankedTensor>:$initial_state,
                   Optional<AnyRankedTensor>:$initial_normalizer,
                   Optional<AnyRankedTensor>:$cu_seqlens,
                   Optional<AnyRankedTensor>:$lengths, FLT_KernelAttr:$kernel,
                   FLT_F32Default0:$eps, FLT_SpectrumAttr:$spectrum,
                   DefaultValuedAttr<FLT_WeightingAttr,
                     "::mlir::flt::Weighting::QuerySide">:$weighting,
                   FLT_FalseDefault:$causal,
                   DefaultValuedAttr<FLT_NormalizeAttr,
                     "::mlir::flt::Normalize::Guarded">:$normalize,
                   DefaultValuedAttr<FLT_RpeFormAttr,
                     "::mlir::flt::RpeForm::Mask">:$rpe_form,
                   DefaultValuedAttr<FLT_DensityAttr,
                     "::mlir::flt::Density::Normal">:$density,
                   DefaultValuedAttr<FLT_KeyStabilizerAttr,
                     "::mlir::flt::KeyStabilizer::PerHead">:$key_stabilizer);
  let results = (outs AnyRankedTensor:$result,
                 Optional<AnyRankedTensor>:$final_state,
                 Optional<AnyRankedTensor>:$final_normalizer);
  let assemblyFormat = [{
    $q `,` $k `,` $v `,` $r `,` $xi `,` $theta (`proj` `(` $w^ `)`)?
    (`state` `(` $initial_state^ `,` $initial_normalizer `)`)?
    (`packed` `(` $cu_seqlens^ `)`)? (`lengths` `(` $lengths^ `)`)?
    attr-dict `:` type(operands) `->` type($result)
    (`,` type($final_state)^ `,` type($final_normalizer))?
  }];
  let extraClassDeclaration = [{
    /// [B, H, L, e] with q's element type.
    static ::mlir::RankedTensorType inferResultType(::mlir::Value q,
                                                    ::mlir::Value v);
  }];
}

#endif // FLT_DIALECT_FLT_IR_FLTOPS_TD
