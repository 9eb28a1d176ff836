func.func @auto_long(%q: tensor<1x2x32768x64xf32>, %v: tensor<1x2x32768x64xf32>, %b: tensor<2x65535xf32>) -> tensor<1x2x32768x64xf32> {
  %o = flt.toeplitz_attention %q, %q, %v, %b : tensor<1x2x32768x64xf32>, tensor<1x2x32768x64xf32>, tensor<1x2x32768x64xf32>, tensor<2x65535xf32> -> tensor<1x2x32768x64xf32>
  return %o : tensor<1x2x32768x64xf32>
}
