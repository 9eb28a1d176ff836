// One batch and one head (B = H = 1, static): the per-(batch, head) loops
// of the lowerings have one iteration and still become one kernel each.
// Canonicalization folds a one-iteration scf.forall into its parent unless
// it is mapped; the GPU pipeline's flt-convert-to-linalg maps them to
// blocks (map-to-blocks). Before, the FFT Toeplitz method's transforms were
// left on the host and the pipeline stopped ("host code would access a
// device buffer directly"), and softmax attention at L = 7 ran as 23 small
// kernels instead of one.
// RUN: flt-opt %s --flt-gpu-pipeline=format=isa | FileCheck %s

// The twiddle table, the bias maximum, the per-head bias transform, then
// one kernel for the transforms, products and inverse transform.
// CHECK-LABEL: llvm.func @toeplitz_fft(
// CHECK-COUNT-4: gpu.launch_func
// CHECK-NOT: gpu.launch_func
// CHECK: llvm.return
func.func @toeplitz_fft(%fq: tensor<1x1x7x8xf32>, %fk: tensor<1x1x7x8xf32>, %v: tensor<1x1x7x4xf32>, %b: tensor<1x13xf32>) -> tensor<1x1x7x4xf32> {
  %o = flt.toeplitz_attention %fq, %fk, %v, %b {causal = true, method = #flt.toeplitz_method<fft>} : tensor<1x1x7x8xf32>, tensor<1x1x7x8xf32>, tensor<1x1x7x4xf32>, tensor<1x13xf32> -> tensor<1x1x7x4xf32>
  return %o : tensor<1x1x7x4xf32>
}

// CHECK-LABEL: llvm.func @softmax_one_tile(
// CHECK: gpu.launch_func
// CHECK-NOT: gpu.launch_func
// CHECK: llvm.return
func.func @softmax_one_tile(%q: tensor<1x1x7x16xf32>, %k: tensor<1x1x7x16xf32>, %v: tensor<1x1x7x8xf32>) -> tensor<1x1x7x8xf32> {
  %o = flt.kernel_attention %q, %k, %v {kernel = #flt.pair_kernel<softmax>, causal = true} : tensor<1x1x7x16xf32>, tensor<1x1x7x16xf32>, tensor<1x1x7x8xf32> -> tensor<1x1x7x8xf32>
  return %o : tensor<1x1x7x8xf32>
}
