func.func @relu_layer(%q: tensor<1x8x?x64xf32>, %k: tensor<1x8x?x64xf32>, %v: tensor<1x8x?x64xf32>, %r: tensor<1x?x1xf32>, %xi: tensor<8x16x1xf32>, %theta: tensor<8x75xf32>) -> tensor<1x8x?x64xf32> {
  %o = flt.attention %q, %k, %v, %r, %xi, %theta {kernel = #flt.kernel<relu>, spectrum = #flt.spectrum<gaussian_mixture>}
       : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x?x1xf32>, tensor<8x16x1xf32>, tensor<8x75xf32> -> tensor<1x8x?x64xf32>
  return %o : tensor<1x8x?x64xf32>
}
