//===- Passes.td - passes on flt ops -----------------------*- tablegen -*-===//

#ifndef FLT_DIALECT_FLT_TRANSFORMS_PASSES_TD
#define FLT_DIALECT_FLT_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def FLTDecompose : Pass<"flt-decompose"> {
  let summary = "Expand composite flt ops into flt primitives";
  let description = [{
    Rewrites every `flt.attention` into the primitives docs/Semantics.md section 2.8
    defines it by: the layer's kernel and eps for both feature maps (queries
    with `is_query = true`, the optional projection shared), its spectrum
    for `flt.spectral_density`, its weighting for `flt.spectral_features`,
    and its `causal` and `normalize` for `flt.linear_attention` (whose eps
    keeps its default). Intermediate shapes stay as dynamic as the inputs.

    ```mlir
    %o = flt.attention %q, %k, %v, %r, %xi, %theta
           {kernel = #flt.kernel<relu>, spectrum = #flt.spectrum<gaussian_mixture>}
         : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>,
           tensor<1x?x1xf32>, tensor<8x16x1xf32>, tensor<8x75xf32> -> tensor<1x8x?x64xf32>
    ```

    becomes

    ```mlir
    %fq = flt.feature_map %q {is_query = true, kernel = #flt.kernel<relu>}
            : tensor<1x8x?x64xf32> -> tensor<1x8x?x64xf32>
    %fk = flt.feature_map %k {kernel = #flt.kernel<relu>}
            : tensor<1x8x?x64xf32> -> tensor<1x8x?x64xf32>
    %rho = flt.spectral_density %theta, %xi {spectrum = #flt.spectrum<gaussian_mixture>}
             : tensor<8x75xf32>, tensor<8x16x1xf32> -> tensor<8x16xf32>
    %phi, %psi = flt.spectral_features %r, %xi, %rho
        : tensor<1x?x1xf32>, tensor<8x16x1xf32>, tensor<8x16xf32>
       -> tensor<1x8x?x32xf32>, tensor<1x8x?x32xf32>
    %o = flt.linear_attention %fq, %fk, %v rpe(%phi, %psi) {normalize = #flt.normalize<guarded>}
           : ... -> tensor<1x8x?x64xf32>
    ```

    With `rpe_form = #flt.rpe_form<concat>` (the official FLT code's form,
    docs/Compatibility.md) the positional features are scaled by d^1/4
    (`linalg.fill` + `linalg.mul`) and concatenated to q and k
    (`tensor.concat` along the feature dimension) before the feature maps,
    and `flt.linear_attention` has no `rpe`:

    ```mlir
    %qc = tensor.concat dim(3) %q, %sphi
            : (tensor<1x8x?x64xf32>, tensor<1x8x?x32xf32>) -> tensor<1x8x?x96xf32>
    %fq = flt.feature_map %qc, %w {is_query = true, kernel = #flt.kernel<favor_pos>}
            : tensor<1x8x?x96xf32>, tensor<8x128x96xf32> -> tensor<1x8x?x128xf32>
    %o = flt.linear_attention %fq, %fk, %v {normalize = #flt.normalize<guarded>}
           : ... -> tensor<1x8x?x64xf32>
    ```

    The layer's `density` goes to `flt.spectral_density` and its
    `key_stabilizer` to the keys' `flt.feature_map`.
  }];
  let dependentDialects = ["::mlir::flt::FLTDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::tensor::TensorDialect"];
}

def FLTSelectAlgorithm : Pass<"flt-select-algorithm"> {
  let summary = "Pick each op's cheaper exact algorithm by the target's cost model";
  let description = [{
    Several flt ops have more than one exact algorithm; this pass picks one
    per op by a cost model whose constants come from the target
    (flt/Codegen/TargetConfig.h), so that flt-convert-to-linalg only lowers.

    * `flt.linear_attention`: the linear form (the state, O((L + S) m r e))
      or the quadratic form ((fq fkᵀ) ⊙ (phi psiᵀ)) v, which is
      `flt.kernel_attention` with `kernel = dot` (O(L S (m + r + e))). By
      FLOPs (an FMA is 2), linear 2 (L + S) m r (e + 1) · walk and quadratic
      2 L S (m + r + e + 1) · quadratic (half of it when causal), where
      `walk` and `quadratic` are the target's cost per FLOP relative to the
      non-causal linear form. `linear-attention-form=linear|quadratic`
      forces a form; an op left as `flt.linear_attention` is lowered in the
      linear form. Ops with state, packed or lengths (docs/Semantics.md
      section 5) are lowered in the linear form only and are left as they
      are; grouped heads exist in both forms.
    * `flt.linear_attention_grad` (reverse mode): four to six
      `flt.linear_attention` ops (`decomposeLinearAttentionGrad`), which
      this pass then chooses forms for in turn; with
      `linear-attention-grad=fused` the op stays for flt-convert-to-linalg's
      fused backward lowering where that applies (static m, r and e, not
      causal). `auto` keeps it for the fused lowering where that applies,
      unless static sizes make the forward's cost model prefer the quadratic
      form: on such short sequences the decomposition's attentions run the
      quadratic form and cost less (at m = e = 64, r = 32 on the CPU: 0.16
      against 0.9 ms at L = 64, 36 against 21 ms at L = 1024; the FLT
      layer's whole backward at L = 16384: 707 against 254 ms). Run-time
      sizes take the fused backward: a run-time branch between the two
      measured slower than either.
    * `flt.toeplitz_attention` with `method = auto`: direct ≈ c_d · L² (m + e)
      (half when causal) or fft ≈ c_f · m ⌈e/31⌉ N log2 N (N = 2^⌈log2(2L - 1)⌉), with the
      target's seconds per unit c_d and c_f; with `packed` or `lengths`,
      direct (the only method that has them).
    * `flt.toeplitz_correlation` (reverse mode: the sum behind a Toeplitz
      bias's gradient) with `method = auto`: direct ≈ c_d · L² (m + c) (half
      when causal) or fft ≈ c_f · ⌈m c / 32⌉ N log2 N, the same units. The
      direct method is built here (`decomposeToeplitzCorrelation`: two
      matrix products per 64 × 64 tile of the L × L plane and their
      diagonal sums); `fft` stays for flt-convert-to-linalg. With `packed`,
      direct.

    The choice is made now when every size involved is static, else by an
    `scf.if` on the run-time sizes whose branches hold both algorithms:

    ```mlir
    %o = flt.linear_attention %fq, %fk, %v rpe(%phi, %psi)
           : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>,
             tensor<1x8x?x32xf32>, tensor<1x8x?x32xf32> -> tensor<1x8x?x64xf32>
    ```

    becomes

    ```mlir
    %cheaper = arith.cmpf olt, %quadratic_cost, %linear_cost : f64
    %o = scf.if %cheaper -> (tensor<1x8x?x64xf32>) {
      %q = flt.kernel_attention %fq, %fk, %v rpe(%phi, %psi)
             {kernel = #flt.pair_kernel<dot>} : ...
      scf.yield %q : tensor<1x8x?x64xf32>
    } else {
      %l = flt.linear_attention %fq, %fk, %v rpe(%phi, %psi) : ...
      scf.yield %l : tensor<1x8x?x64xf32>
    }
    ```
  }];
  let options = [
    Option<"linearAttentionForm", "linear-attention-form", "std::string",
           /*default=*/"\"auto\"",
           "flt.linear_attention as: auto (the cheaper form by the cost "
           "model, at run time for dynamic sizes), linear (the state) or "
           "quadratic (flt.kernel_attention with kernel = dot)">,
    Option<"quadraticFlopCost", "quadratic-flop-cost", "double",
           /*default=*/"1.0",
           "Cost per FLOP of the quadratic form relative to the linear one "
           "(the target's measured ratio; 1: count FLOPs)">,
    Option<"causalWalkFlopCost", "causal-walk-flop-cost", "double",
           /*default=*/"1.0",
           "Cost per FLOP of the causal chunk walk relative to the "
           "non-causal linear form">,
    Option<"linearAttentionGrad", "linear-attention-grad", "std::string",
           /*default=*/"\"auto\"",
           "flt.linear_attention_grad (reverse mode) as: auto (today: "
           "decomposed), fused (its own backward passes, where they apply) "
           "or decomposed (four to six flt.linear_attention ops, each then chosen by "
           "the cost model)">,
    Option<"toeplitzDirectCost", "toeplitz-direct-cost", "double",
           /*default=*/"::mlir::flt::cpu::kToeplitzDirectSecondsPerUnit",
           "Seconds per unit L² (m + e) of the direct Toeplitz method">,
    Option<"toeplitzFFTCost", "toeplitz-fft-cost", "double",
           /*default=*/"::mlir::flt::cpu::kToeplitzFFTSecondsPerUnit",
           "Seconds per unit m ⌈e/31⌉ N log2 N of the FFT Toeplitz method">,
  ];
  let dependentDialects = [
    "::mlir::flt::FLTDialect", "::mlir::arith::ArithDialect",
    "::mlir::math::MathDialect", "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

def FLTGenerateVJP : Pass<"flt-generate-vjp", "::mlir::ModuleOp"> {
  let summary = "Add the vector-Jacobian product @f_vjp of every public function @f";
  let description = [{
    Reverse mode (docs/Semantics.md §4). Beside every public function
    `@f(args) -> (results)` this pass adds
    `@f_vjp(args..., cotangents...) -> (grads...)`: one cotangent per result
    (the result's type), one gradient per argument (the argument's type, in
    argument order; zeros for an argument no result depends on, and for
    integer arguments). The body recomputes the forward values (composite
    ops decomposed first), then walks the ops backwards and asks each one on
    the path from the arguments to the results for its gradient rule
    (DifferentiableOpInterface; the rules are in lib/Dialect/FLT/Gradients),
    summing the cotangents of values used more than once. An op on that
    path without a rule is a diagnostic naming it.

    The rules build ordinary IR, flt ops included (the gradient of
    `flt.linear_attention` is five more linear attentions), so `@f_vjp` is
    lowered, fused and mapped to every target like any function, under the
    same memory rule (no L × m r and no L × S buffer).

    ```mlir
    func.func @f(%x: tensor<1x2x?x8xf32>) -> tensor<1x2x?x8xf32> {
      %y = flt.feature_map %x {kernel = #flt.kernel<relu>}
           : tensor<1x2x?x8xf32> -> tensor<1x2x?x8xf32>
      return %y : tensor<1x2x?x8xf32>
    }
    ```

    gains

    ```mlir
    func.func @f_vjp(%x: tensor<1x2x?x8xf32>, %dy: tensor<1x2x?x8xf32>)
        -> tensor<1x2x?x8xf32> {
      %y = flt.feature_map %x {kernel = #flt.kernel<relu>} : ...
      %dx = linalg.generic ... ins(%dy, %x : ...) {
        // dy if x > 0 else 0 (relu'(0) = 0)
      }
      return %dx : tensor<1x2x?x8xf32>
    }
    ```
  }];
  let dependentDialects = [
    "::mlir::flt::FLTDialect", "::mlir::affine::AffineDialect",
    "::mlir::arith::ArithDialect", "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect", "::mlir::tensor::TensorDialect"
  ];
}

#endif // FLT_DIALECT_FLT_TRANSFORMS_PASSES_TD
