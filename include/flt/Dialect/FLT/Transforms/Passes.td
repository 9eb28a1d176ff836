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

def FLTVectorize : Pass<"flt-vectorize"> {
  let summary = "Vectorize the static tile computations for the host CPU";
  let description = [{
    Two rewrites of static-shape `linalg.generic` ops on tensors (the flt
    lowerings pad their tiles so that the hot ones are static):

    Elementwise generics (all loops parallel, floats, the innermost size
    static and a multiple of `columns`, outer sizes possibly dynamic) are
    tiled to single rows of `columns` elements and
    vectorized with upstream linalg vectorization: contiguous vector loads and
    stores along rows. (Left to LLVM, the Kronecker-block products are fully
    unrolled along the row and then vectorized across rows with gathers.)
    Their bodies may use arith and math ops; f32 `math.exp` is then replaced
    by MLIR's polynomial approximation, which vectorizes (libm's expf would
    be called once per lane).

    Contractions: every generic that computes
    C[m, n] += Σ_k A[m, k] B[k, n] (A possibly stored transposed, [k, m])
    with static sizes, M a multiple of `rows` and N of `columns`, into a
    register-tiled loop nest: for each `rows` × `columns` tile of C the
    accumulators are read once into `rows` vectors of `columns` lanes, the
    reduction loop does one vector load of B's row and one broadcast +
    `vector.fma` per accumulator row, and the tile is written back once.
    With the default 4 × 16 tile that is 8 AVX2 accumulators and 8 FMAs per
    6 loads (see CPUTileConfig.h). Other generics are left to the loops
    lowering.

    ```mlir
    %c = linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (k, m)>,
                                          affine_map<(m, n, k) -> (k, n)>,
                                          affine_map<(m, n, k) -> (m, n)>],
                         iterator_types = ["parallel", "parallel", "reduction"]}
         ins(%w, %v : tensor<64x32xf32>, tensor<64x32xf32>)
         outs(%t : tensor<32x32xf32>) { ... mulf, addf ... }
    ```

    becomes

    ```mlir
    scf.for %m0 = %c0 to %c32 step %c4 iter_args(%t0 = %t) {
      scf.for %n0 = %c0 to %c32 step %c16 iter_args(%t1 = %t0) {
        %acc0 = vector.transfer_read %t1[%m0, %n0] ... : vector<16xf32>
        ...
        %r:4 = scf.for %k = %c0 to %c64 step %c1 iter_args(%a0 = %acc0, ...) {
          %b = vector.transfer_read %v[%k, %n0] ... : vector<16xf32>
          %x = tensor.extract %w[%k, %m0] : tensor<64x32xf32>
          %xb = vector.broadcast %x : f32 to vector<16xf32>
          %f0 = vector.fma %xb, %b, %a0 : vector<16xf32>
          ...
        }
        vector.transfer_write %r#0, %t1[%m0, %n0] ...
    ```
  }];
  let options = [
    Option<"rows", "rows", "int64_t", /*default=*/"4",
           "Accumulator rows per register tile">,
    Option<"columns", "columns", "int64_t", /*default=*/"16",
           "Lanes per accumulator row (vector width)">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect", "::mlir::vector::VectorDialect",
    "::mlir::affine::AffineDialect", "::mlir::math::MathDialect"
  ];
}

def FLTFuseIntoTiles : Pass<"flt-fuse-into-tiles"> {
  let summary = "Compute cheap producers tile by tile inside their consumers' loops";
  let description = [{
    For every `tensor.extract_slice` inside a loop whose source is produced
    by a `linalg.generic` without reduction loops (or with reductions only
    over static extents of at most `max-reduction`), replaces the slice by
    the producer computed on just that tile (TilingInterface:
    `tensor::replaceExtractSliceWithTiledProducer`), repeatedly, so chains
    fuse too. The flt lowerings slice feature maps and spectral features per
    tile of tokens: after this pass they are formed in the tile loops and the
    full [B, H, L, m] tensors are never written. Producers whose tile needs
    the whole input (the FAVOR+ key stabilizer, a max over all tokens) are
    not fused: recomputing them per tile would cost O(L²).

    ```mlir
    %fk = linalg.generic ... ins(%k : tensor<1x8x?x64xf32>) { relu }
    scf.for %j0 = ... {
      %tile = tensor.extract_slice %fk[0, %h, %j0, 0] [1, 1, %n, 64] [1, 1, 1, 1]
    ```

    becomes

    ```mlir
    scf.for %j0 = ... {
      %k_tile = tensor.extract_slice %k[0, %h, %j0, 0] [1, 1, %n, 64] [1, 1, 1, 1]
      %tile = linalg.generic ... ins(%k_tile : tensor<1x1x?x64xf32>) { relu }
    ```
  }];
  let options = [
    Option<"maxReduction", "max-reduction", "int64_t", /*default=*/"16",
           "Largest static reduction extent a fused producer may have">,
  ];
  let dependentDialects = ["::mlir::tensor::TensorDialect"];
}

#endif // FLT_DIALECT_FLT_TRANSFORMS_PASSES_TD
