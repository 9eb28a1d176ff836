//===- Passes.td - flt dialect passes ------------------------*- tablegen -*-===//

#ifndef FLT_DIALECT_FLT_TRANSFORMS_PASSES_TD
#define FLT_DIALECT_FLT_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def FLTDecompose : Pass<"flt-decompose"> {
  let summary = "Expand composite flt ops into flt primitives";
  let description = [{
    Rewrites every `flt.attention` into the primitives SPEC.md section 2.8
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
  }];
  let dependentDialects = ["::mlir::flt::FLTDialect"];
}

#endif // FLT_DIALECT_FLT_TRANSFORMS_PASSES_TD
