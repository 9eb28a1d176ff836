func.func @fft(%q: tensor<1x2x?x8xf32>, %v: tensor<1x2x?x8xf32>, %b: tensor<2x?xf32>) -> tensor<1x2x?x8xf32> {
  %o = flt.toeplitz_attention %q, %q, %v, %b {method = #flt.toeplitz_method<fft>} : tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32>, tensor<2x?xf32> -> tensor<1x2x?x8xf32>
  return %o : tensor<1x2x?x8xf32>
}
