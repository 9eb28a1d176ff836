func.func @fourier(%q: tensor<1x8x4096x64xf32>, %r: tensor<8x64xf32>) -> tensor<1x8x4096x64xf32> {
  %o = flt.kernel_attention %q, %q, %q scale(%r) {kernel = #flt.pair_kernel<fourier_integral>} : tensor<1x8x4096x64xf32>, tensor<1x8x4096x64xf32>, tensor<1x8x4096x64xf32>, tensor<8x64xf32> -> tensor<1x8x4096x64xf32>
  return %o : tensor<1x8x4096x64xf32>
}
