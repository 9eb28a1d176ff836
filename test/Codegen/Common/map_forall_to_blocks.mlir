// flt-map-forall-to-blocks (the GPU pipeline's, right after the lowering):
// the outermost scf.forall of every lowering is a loop over GPU blocks from
// the start, so canonicalization keeps it when it has one iteration
// (B = H = 1 here) instead of folding its body into the function, where the
// GPU mapping could only run it as host code. Without the pass (the CPU's)
// the loop folds away.
// RUN: flt-opt %s --flt-select-algorithm=linear-attention-form=linear --flt-convert-to-linalg --flt-map-forall-to-blocks --canonicalize | FileCheck %s --check-prefix=GPU
// RUN: flt-opt %s --flt-select-algorithm=linear-attention-form=linear --flt-convert-to-linalg --canonicalize | FileCheck %s --check-prefix=CPU

// GPU-LABEL: func.func @toeplitz_fft(
// GPU: scf.forall (%{{.*}}, %{{.*}}, %{{.*}}) in (1, 1, 1) shared_outs
// The transforms' stage loops stay inside it.
// GPU: scf.for
// GPU: } {mapping = [#gpu.block<linear_dim_0>, #gpu.block<linear_dim_1>, #gpu.block<linear_dim_2>]}
// CPU-LABEL: func.func @toeplitz_fft(
// CPU-NOT: scf.forall
// CPU: return
func.func @toeplitz_fft(%fq: tensor<1x1x7x8xf32>, %fk: tensor<1x1x7x8xf32>, %v: tensor<1x1x7x4xf32>, %b: tensor<1x13xf32>) -> tensor<1x1x7x4xf32> {
  %o = flt.toeplitz_attention %fq, %fk, %v, %b {method = #flt.toeplitz_method<fft>} : tensor<1x1x7x8xf32>, tensor<1x1x7x8xf32>, tensor<1x1x7x4xf32>, tensor<1x13xf32> -> tensor<1x1x7x4xf32>
  return %o : tensor<1x1x7x4xf32>
}

// Linear attention at B = H = 1, one slice of values: the state loop has
// one iteration, the read-out loop two tiles of queries.
// GPU-LABEL: func.func @linear(
// GPU: scf.forall (%{{.*}}, %{{.*}}, %{{.*}}) in (1, 1, 1) shared_outs
// GPU: } {mapping = [#gpu.block<linear_dim_0>, #gpu.block<linear_dim_1>, #gpu.block<linear_dim_2>]}
// GPU: scf.forall (%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) = (0, 0, 0, 0) to (1, 1, 100, 16) step (1, 1, 64, 32)
// GPU: } {mapping = [#gpu.block<linear_dim_0>, #gpu.block<linear_dim_1>, #gpu.block<linear_dim_2>, #gpu.block<linear_dim_3>]}
// CPU-LABEL: func.func @linear(
// CPU-NOT: mapping
// CPU: scf.forall (%{{.*}}) = (0) to (100) step (64)
// CPU-NOT: mapping
// CPU: return
func.func @linear(%fq: tensor<1x1x100x16xf32>, %fk: tensor<1x1x100x16xf32>, %v: tensor<1x1x100x16xf32>) -> tensor<1x1x100x16xf32> {
  %o = flt.linear_attention %fq, %fk, %v {causal = false} : tensor<1x1x100x16xf32>, tensor<1x1x100x16xf32>, tensor<1x1x100x16xf32> -> tensor<1x1x100x16xf32>
  return %o : tensor<1x1x100x16xf32>
}
