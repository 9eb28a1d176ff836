func.func @refined_result(%q: tensor<?x1x?x4xf16>, %v: tensor<?x1x?x4xf16>, %r: tensor<?x?x1xf32>, %xi: tensor<1x2x1xf32>, %theta: tensor<1x3xf32>) -> tensor<2x1x5x4xf16> {
  %o = flt.attention %q, %q, %v, %r, %xi, %theta {kernel = #flt.kernel<elu_plus_one>, spectrum = #flt.spectrum<gaussian_mixture>}
       : tensor<?x1x?x4xf16>, tensor<?x1x?x4xf16>, tensor<?x1x?x4xf16>, tensor<?x?x1xf32>, tensor<1x2x1xf32>, tensor<1x3xf32> -> tensor<2x1x5x4xf16>
  return %o : tensor<2x1x5x4xf16>
}
