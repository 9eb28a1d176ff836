// Zero-size static shapes used to reach the CPU pipeline and fail inside
// upstream's tensor.extract_slice verifier ("offset 2 is out-of-bounds:
// 0 >= 0"): feature sizes of 0 are now rejected by the op verifiers, and
// statically empty results lower to an empty tensor.
// RUN: not flt-opt %s --split-input-file --flt-cpu-pipeline 2>&1 | FileCheck %s
// CHECK: 'flt.kernel_attention' op 'q' has d = 0; feature sizes must be positive
// CHECK-NOT: out-of-bounds
func.func @zero_features(%q: tensor<0x0x5x0xf32>) -> tensor<0x0x5x0xf32> {
  %o = flt.kernel_attention %q, %q, %q {temperature = 1.0 : f32} : tensor<0x0x5x0xf32>, tensor<0x0x5x0xf32>, tensor<0x0x5x0xf32> -> tensor<0x0x5x0xf32>
  return %o : tensor<0x0x5x0xf32>
}

// -----

// CHECK-NOT: error
// CHECK-NOT: out-of-bounds
func.func @empty_length(%q: tensor<1x1x0x4xf32>, %v: tensor<1x1x0x3xf32>) -> tensor<1x1x0x3xf32> {
  %o = flt.linear_attention %q, %q, %v {causal = true} : tensor<1x1x0x4xf32>, tensor<1x1x0x4xf32>, tensor<1x1x0x3xf32> -> tensor<1x1x0x3xf32>
  return %o : tensor<1x1x0x3xf32>
}
