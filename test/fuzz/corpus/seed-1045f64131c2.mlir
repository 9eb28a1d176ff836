func.func @softmax(%q: tensor<1x8x4096x64xf32>, %b: tensor<8x8191xf32>, %phi: tensor<1x8x4096x32xf32>) -> tensor<1x8x4096x64xf32> {
  %o = flt.kernel_attention %q, %q, %q bias(%b) rpe(%phi, %phi) {causal = true} : tensor<1x8x4096x64xf32>, tensor<1x8x4096x64xf32>, tensor<1x8x4096x64xf32>, tensor<8x8191xf32>, tensor<1x8x4096x32xf32>, tensor<1x8x4096x32xf32> -> tensor<1x8x4096x64xf32>
  return %o : tensor<1x8x4096x64xf32>
}
