//===- Passes.td - CPU codegen passes ----------------------*- tablegen -*-===//

#ifndef FLT_CODEGEN_CPU_PASSES_TD
#define FLT_CODEGEN_CPU_PASSES_TD

include "mlir/Pass/PassBase.td"

def FLTVectorize : Pass<"flt-vectorize"> {
  let summary = "Vectorize the static tile computations for the host CPU";
  let description = [{
    Two rewrites of static-shape `linalg.generic` ops on tensors (the flt
    lowerings pad their tiles so that the hot ones are static):

    Elementwise generics (floats, the innermost loop parallel, its size
    static and a multiple of `columns`, outer sizes possibly dynamic; outer
    loops may be reductions, as in acc[t] += Σ_c x[c, t] y[c, t]) are tiled
    to rows of up to four vectors of `columns` elements, with static
    reduction loops of up to 64 steps kept whole, vectorized with upstream
    linalg vectorization and unrolled into single vectors: contiguous
    vector loads and stores along rows, and sums that stay in registers as
    independent chains of vector adds. (Left to LLVM, the Kronecker-block products are fully
    unrolled along the row and then vectorized across rows with gathers.)
    Their bodies may use arith and math ops; f32 `math.exp` is then replaced
    by MLIR's polynomial approximation, which vectorizes (libm's expf would
    be called once per lane).

    Contractions: every generic that computes
    C[m, n] += Σ_k A[m, k] B[k, n] (A possibly stored transposed, [k, m])
    with static sizes, M a multiple of `rows` and N of `columns`, into a
    register-tiled loop nest: for each tile of `rows` × `column-vectors`
    vectors of `columns` lanes of C (fewer vectors where N is not a
    multiple of that many) the
    accumulators are read once into vectors of `columns` lanes, the
    reduction loop does one vector load of B's row per column vector and one
    broadcast per accumulator row feeding one `vector.fma` per column
    vector, and the tile is written back once. With AVX-512's 8 × (2 × 16)
    tile
    that is 16 accumulators (enough to cover the FMA latency on both pipes)
    and 16 FMAs per 10 loads (see CPUTileConfig.h). A C that is a
    `linalg.fill` of a constant is never read: the accumulators start at
    the constant and the loops write into the fill's destination (a zero
    tile created outside a loop would otherwise be copied into a fresh
    buffer on every iteration). Other generics are left to the loops
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
      scf.for %n0 = %c0 to %c32 step %c32 iter_args(%t1 = %t0) {
        %acc0 = vector.transfer_read %t1[%m0, %n0] ... : vector<16xf32>
        %acc1 = vector.transfer_read %t1[%m0, %n16] ... : vector<16xf32>
        ...
        %r:8 = scf.for %k = %c0 to %c64 step %c1 iter_args(%a0 = %acc0, ...) {
          %b0 = vector.transfer_read %v[%k, %n0] ... : vector<16xf32>
          %b1 = vector.transfer_read %v[%k, %n16] ... : vector<16xf32>
          %x = tensor.extract %w[%k, %m0] : tensor<64x32xf32>
          %xb = vector.broadcast %x : f32 to vector<16xf32>
          %f0 = vector.fma %xb, %b0, %a0 : vector<16xf32>
          %f1 = vector.fma %xb, %b1, %a1 : vector<16xf32>
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
    Option<"columnVectors", "column-vectors", "int64_t", /*default=*/"1",
           "Vectors of `columns` lanes per accumulator row, where a "
           "product's N is a multiple">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect", "::mlir::vector::VectorDialect",
    "::mlir::affine::AffineDialect", "::mlir::math::MathDialect"
  ];
}

#endif // FLT_CODEGEN_CPU_PASSES_TD
