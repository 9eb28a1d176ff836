//===- Passes.td - flt conversion passes ---------------------*- tablegen -*-===//

#ifndef FLT_CONVERSION_PASSES_TD
#define FLT_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def FLTConvertToLinalg : Pass<"flt-convert-to-linalg"> {
  let summary = "Lower the FLT ops to linalg, tensor and scf on tensors";
  let description = [{
    Lowers `flt.feature_map`, `flt.spectral_density`,
    `flt.spectral_features` and `flt.linear_attention` (run `flt-decompose`
    first for `flt.attention`) to linalg-on-tensors. Feature maps and
    spectral ops become linalg.generic ops (FAVOR+ key stabilizers a
    reduction of their own). `flt.linear_attention` becomes the fused form of
    docs/Design.md section 4: an `scf.forall` over (batch, head, slice of value
    columns) accumulates each slice's state over tiles of keys, one
    [tokens × g r] Kronecker block fk ⊗ psi of g features at a time
    (`feature-group`; or with `positional-group` one [tokens × G e] block
    psi ⊗ v of G positional features, and the queries weight fq · T by
    phi), and a second one over (batch, head, tile of queries, slice) reads
    the states out; causal attention walks chunks (state of earlier chunks
    plus the masked quadratic form inside the chunk) per (batch, head,
    slice). No [L, m r] or [L, S] tensor is created. (Run
    `flt-select-algorithm` first where the quadratic form may be cheaper:
    an `flt.linear_attention` that reaches this pass is lowered in the
    linear form.)

    `flt.kernel_attention` and `flt.toeplitz_attention` (method direct)
    become a tiled quadratic form: an `scf.forall` over (batch, head, tile of
    queries) walking tiles of keys with a running max and sum
    (FlashAttention-style; FourierFormer's sinc product in the log domain),
    never an [L, S] tensor. `flt.toeplitz_attention` with method fft uses our
    radix-2 FFT (f64, lengths padded to powers of two), and so does reverse
    mode's `flt.toeplitz_correlation` with method fft (one forward transform
    per two channel products, one inverse per head); method auto, and the
    correlation's direct form, are `flt-select-algorithm`'s (run it first). `flt.position_transform` becomes
    generics with f64 angles. With `fuse-kronecker=false` RPE attention instead materializes
    Q' = fq ⊗ phi and K' = fk ⊗ psi ([B, H, L, m r]) and runs the same loops
    on them as attention without rpe: the unfused reference that benchmarks
    compare against.

    ```mlir
    %o = flt.linear_attention %fq, %fk, %v rpe(%phi, %psi)
           : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>,
             tensor<1x8x?x32xf32>, tensor<1x8x?x32xf32> -> tensor<1x8x?x64xf32>
    ```

    becomes (abridged)

    ```mlir
    %o = scf.forall (%b, %h, %e0) = (0, 0, 0) to (1, 8, 64) step (1, 1, 32)
           shared_outs(%out = %empty) -> (tensor<1x8x?x64xf32>) {
      %state = scf.for %j0 = %c0 to %S step %c64 iter_args(%t = %zeros) {
        %fk = tensor.pad ... : tensor<?x64xf32> to tensor<64x64xf32>
        scf.for %p = %c0 to %c64 step %c1 iter_args(%tp = %t) {
          %w = linalg.generic ... // fk[:, p] * psi : tensor<64x32xf32>
          %blk = linalg.generic ... // T[p] += wᵀ v  : tensor<32x32xf32>
          ...
      }
      %rows = scf.for %i0 = %c0 to %L step %c64 ... // num, den, normalize
      scf.forall.in_parallel { tensor.parallel_insert_slice ... }
    }
    ```
  }];
  let options = [
    Option<"fuseKronecker", "fuse-kronecker", "bool", /*default=*/"true",
           "Form the Kronecker features tile by tile (false: materialize "
           "them, the unfused reference)">,
    Option<"tokenTile", "token-tile", "int64_t",
           /*default=*/"::mlir::flt::cpu::kTokenTile",
           "Tokens per tile and per causal chunk">,
    Option<"valueSlice", "value-slice", "int64_t",
           /*default=*/"::mlir::flt::cpu::kValueSlice",
           "Value columns per parallel slice of the state">,
    Option<"rowMultiple", "row-multiple", "int64_t",
           /*default=*/"::mlir::flt::cpu::kRegisterRowsAVX2",
           "Pad tile rows (state rows, r) to a multiple of this (the "
           "register tile's rows)">,
    Option<"keyBlocks", "key-blocks", "int64_t", /*default=*/"0",
           "Split the keys of linear attention into at most this many "
           "blocks processed in parallel (per-block states, then their sum, "
           "or for causal attention their prefix and every block's chunk "
           "walk); 0: one sequential pass over the keys per (batch, head, "
           "slice)">,
    Option<"featureGroup", "feature-group", "int64_t", /*default=*/"1",
           "Features of fk (fq) per Kronecker block of linear attention with "
           "rpe: each step of the feature loop forms [tokens, g r] and runs "
           "one contraction over it. The largest divisor of m up to this "
           "is used; 1 when m or r is dynamic">,
    Option<"positionalGroup", "positional-group", "int64_t",
           /*default=*/"0",
           "> 0: linear attention with rpe forms psi ⊗ v instead of "
           "fk ⊗ psi (value blocks): each step of the positional loop forms "
           "[tokens, G e] for G positional features, updates the state by "
           "fkᵀ times it and reads it out as fq times the state, weighted "
           "by phi (G: the largest divisor of r up to this; 1 when r is "
           "dynamic). 0: feature blocks (feature-group)">,
    Option<"fftLanes", "fft-lanes", "int64_t", /*default=*/"16",
           "Complex columns per row of the FFT Toeplitz method's transforms "
           "(their vector width; a group of value columns is 2 lanes - 1 "
           "of them plus the normalizer)">,
    Option<"columnMultiple", "column-multiple", "int64_t",
           /*default=*/"::mlir::flt::cpu::kRegisterColumns",
           "Pad value columns to a multiple of this (the CPU's vector "
           "width; the GPU's mma tile width)">,
  ];
  let dependentDialects = [
    "::mlir::affine::AffineDialect", "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect", "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect", "::mlir::vector::VectorDialect",
    "::mlir::LLVM::LLVMDialect"
  ];
}

def FLTRaiseAttention : Pass<"flt-raise-attention", "::mlir::func::FuncOp"> {
  let summary = "Rewrite attention written in linalg or TOSA into flt ops";
  let description = [{
    Recognizes attention in linalg-on-tensors, as torch-mlir emits it or as
    flt's Python frontends (`flt.frontends.torch`, `flt.frontends.onnx`)
    emit a whole model, and in TOSA (first legalized to linalg with
    upstream's tosa-to-linalg-named, tosa-to-linalg, tosa-to-arith and
    tosa-to-tensor), and rewrites it into flt ops:

    * softmax attention, softmax(c q k^T) v, with the softmax decomposed
      (max, subtract, exp, sum, divide or multiply by a reciprocal) or as
      `linalg.softmax` -> `flt.kernel_attention` with `temperature = c`
      (scales multiplied or divided in, also by splat tensor operands);
      a constant additive bias that per head depends only on j - i
      (ALiBi-like) becomes its Toeplitz `bias(b)`, and -inf above the
      diagonal (an additive mask, or a select of -inf by a constant mask:
      i1, or a float one compared with 0) becomes `causal = true`;
    * linear attention N / (D + eps), N = sum_s (fq_l . fk_s) v_s,
      D = sum_s fq_l . fk_s, in the quadratic form, the linear form
      fq (fk^T v) or with the scores normalized before the product with v
      -> `flt.linear_attention` (with that eps); elementwise relu and
      elu + 1 feature maps of q and k (elu as select(x > 0, x, exp(x) - 1)
      or expm1, of x or of min(x, 0)) become `flt.feature_map`;
    * an RPE mask multiplying the kernel scores -> the `rpe(phi, psi)`
      operands: given as factors phi psi^T, or as a constant [L, S] mask of
      low numerical rank (at most min(L, S) / 2 and 256; code that computed
      the mask from random Fourier features of fixed positions), factored
      back into constant phi [L, r] and psi [S, r] (entries within 1e-6 of
      the largest); a constant lower-triangular 0/1 mask -> `causal = true`,
      also as masked_fill(triu(ones, 1), 0), a select of 0 by a constant
      mask;
    * rotary embeddings x * cos + R(x) * sin, R = rotate_half (lane slices,
      negation as -x, x * -1, 0 - x or a vector of signs, concat or
      inserts into an empty tensor) or rotate_every_two (strided slices,
      stack along the last dim, or along the one before and transposed,
      collapse), with constant tables of cos / sin(l theta_t) ->
      `flt.position_transform` (rotary, halves or interleaved pairing),
      theta read back from the tables (RotaryMatch.h); the batch dims fold
      into H (or, with `fold-rotary-batch=false`, into [B, H] as for
      attention).

    A constant mask, bias or table may repeat along batch dims (it was
    broadcast before it was folded): it must not vary along them.

    Matching is algebraic: every chain of structured ops whose payloads are
    products (and sums over reduction loops) of their inputs, with
    transposes, broadcasts and collapse/expand reshapes of batch dims, is
    read into one canonical product-sum (TensorTerms.h), so any spelling of
    the same contraction matches (where batch dims are merged on one path,
    as in q.view(B * H, L, d), and apart on another, the operands keeping
    them apart are read whole). Batch dims fold into flt's [B, H]; the
    result is brought back to the original layout. Only exact identities
    are used (the softmax max shift cancels, a scale factors out of the
    division); everything else is left as it was. f32 only.

    A constant RPE mask (rank 2 here) in linalg, as the Python frontends
    emit `a = relu(q) @ relu(k).T * M; (a @ v) / (a.sum(-1) + 1e-6)`:

    ```mlir
    %m = arith.constant dense<...> : tensor<8x8xf32>   // cos(0.3 (l - s))
    %a = linalg.generic {indexing_maps = [#ls, #bls, #bls], ...}
           ins(%m, %scores : tensor<8x8xf32>, tensor<2x8x8xf32>) ... {
    ^bb0(%mask: f32, %x: f32, %o: f32):
      %r = arith.mulf %x, %mask : f32
      linalg.yield %r : f32
    } -> tensor<2x8x8xf32>
    ... // %n = %a @ %v, %d = rowsum(%a), %o = %n / (%d + 1e-6)
    ```

    becomes

    ```mlir
    %t = arith.constant dense<...> : tensor<8x2xf32>   // phi = psi here
    %phi = linalg.broadcast ins(%t : tensor<8x2xf32>) ... dimensions = [0]
    ...
    %o = flt.linear_attention %fq, %fk, %v rpe(%phi4, %psi4)
           : tensor<1x2x8x8xf32>, tensor<1x2x8x8xf32>, tensor<1x2x8x3xf32>,
             tensor<1x2x8x2xf32>, tensor<1x2x8x2xf32> -> tensor<1x2x8x3xf32>
    ```

    Softmax attention in TOSA:

    ```mlir
    %kt = tosa.transpose %k {perms = array<i32: 0, 2, 1>}
            : (tensor<8x16x32xf32>) -> tensor<8x32x16xf32>
    %s = tosa.matmul %q, %kt, %zp, %zp : (...) -> tensor<8x16x16xf32>
    %sc = tosa.mul %s, %c, %shift : (...) -> tensor<8x16x16xf32>   // c = 0.17677
    %m = tosa.reduce_max %sc {axis = 2 : i32} : (...) -> tensor<8x16x1xf32>
    %d = tosa.sub %sc, %m : (...) -> tensor<8x16x16xf32>
    %e = tosa.exp %d : (...) -> tensor<8x16x16xf32>
    %z = tosa.reduce_sum %e {axis = 2 : i32} : (...) -> tensor<8x16x1xf32>
    %r = tosa.reciprocal %z : (...) -> tensor<8x16x1xf32>
    %p = tosa.mul %e, %r, %shift : (...) -> tensor<8x16x16xf32>
    %o = tosa.matmul %p, %v, %zp, %zp : (...) -> tensor<8x16x32xf32>
    ```

    becomes

    ```mlir
    %v4 = tensor.expand_shape %v [[0, 1], [2], [3]] output_shape [1, 8, 16, 32]
            : tensor<8x16x32xf32> into tensor<1x8x16x32xf32>
    %q4 = tensor.expand_shape %q ...
    %k4 = tensor.expand_shape %k ...
    %a = flt.kernel_attention %q4, %k4, %v4 {temperature = 1.767700e-01 : f32}
           : tensor<1x8x16x32xf32>, tensor<1x8x16x32xf32>, tensor<1x8x16x32xf32>
          -> tensor<1x8x16x32xf32>
    %o = tensor.collapse_shape %a [[0, 1], [2], [3]]
           : tensor<1x8x16x32xf32> into tensor<8x16x32xf32>
    ```
  }];
  let options = [
    Option<"foldRotaryBatch", "fold-rotary-batch", "bool", /*default=*/"true",
           "Give a raised rotary embedding every batch dim as heads "
           "([1, N, L, d], N their product, theta repeated N times); false: "
           "the attention ops' layout [B, H, L, d] (the last batch dim is "
           "H, the leading ones fold into B), which flt's Python frontends "
           "ask for">,
  ];
  let dependentDialects = [
    "::mlir::flt::FLTDialect", "::mlir::linalg::LinalgDialect",
    "::mlir::tensor::TensorDialect", "::mlir::arith::ArithDialect",
    "::mlir::math::MathDialect", "::mlir::tosa::TosaDialect",
    "::mlir::scf::SCFDialect"
  ];
}

#endif // FLT_CONVERSION_PASSES_TD
