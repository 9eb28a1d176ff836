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

def FLTExpandStridedCopies : Pass<"flt-expand-strided-copies"> {
  let summary = "Turn memref.copy between strided buffers into linalg.copy";
  let description = [{
    The LLVM lowering of `memref.copy` calls `memrefCopy`, a function of
    MLIR's C runner utilities, whenever either side is not contiguous (tile
    slices of a padded buffer are not). Compiled flt kernels must not depend
    on any MLIR library, so this pass rewrites those copies into
    `linalg.copy`, which later becomes plain loops. Copies between two
    identity-layout buffers stay (they become `llvm.memcpy`).

    ```mlir
    memref.copy %a, %b : memref<?x8xf32, strided<[8, 1], offset: ?>>
                      to memref<?x8xf32, strided<[16, 1]>>
    ```

    becomes

    ```mlir
    linalg.copy ins(%a : memref<?x8xf32, strided<[8, 1], offset: ?>>)
                outs(%b : memref<?x8xf32, strided<[16, 1]>>)
    ```
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

#endif // FLT_DIALECT_FLT_TRANSFORMS_PASSES_TD
