//===- Passes.td - target-independent codegen passes -------*- tablegen -*-===//

#ifndef FLT_CODEGEN_COMMON_PASSES_TD
#define FLT_CODEGEN_COMMON_PASSES_TD

include "mlir/Pass/PassBase.td"

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
    not fused: recomputing them per tile would cost O(L²). Nor are
    producers that call math functions (sin, cos, exp) when loops running
    one after another read them (the state, query and key passes of the
    fused linear-attention backward): each pass would recompute every
    tile, so they are materialized once.

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

def FLTMapForallToBlocks : Pass<"flt-map-forall-to-blocks"> {
  let summary = "Mark the lowerings' outermost scf.forall loops as GPU block loops";
  let description = [{
    Runs right after flt-convert-to-linalg in the GPU pipeline and the
    emulated GPU mapping, before any canonicalization. Every outermost
    `scf.forall` without a mapping gets `#gpu.block<linear_dim_i>` for its
    dimension i. Canonicalization keeps a mapped loop even when it has one
    iteration (B = H = 1), so its body stays one kernel instead of being
    folded into host code (where the FFT Toeplitz method could not run at
    all, and other ops became one grid per linalg op).

    ```mlir
    %o = scf.forall (%b, %h) in (1, 1) shared_outs(%out = %init) -> ... {
    ```

    becomes

    ```mlir
    %o = scf.forall (%b, %h) in (1, 1) shared_outs(%out = %init) -> ... {
      ...
    } {mapping = [#gpu.block<linear_dim_0>, #gpu.block<linear_dim_1>]}
    ```
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect", "::mlir::scf::SCFDialect"];
}

#endif // FLT_CODEGEN_COMMON_PASSES_TD
