func.func @attention(%q: tensor<1x8x?x64xf32>, %v: tensor<1x8x?x64xf32>, %r: tensor<1x?x1xf32>, %xi: tensor<8x16x1xf32>, %theta: tensor<8x75xf32>, %w: tensor<8x32x64xf32>,
                     %q3: tensor<?x2x?x16xbf16>, %v3: tensor<?x2x?x8xbf16>, %r3: tensor<?x?x3xf32>, %xi3: tensor<2x4x3xf32>, %box: tensor<2x2xf32>)
    -> (tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<?x2x?x8xbf16>) {
  %0 = flt.attention %q, %q, %v, %r, %xi, %theta {kernel = #flt.kernel<relu>, spectrum = #flt.spectrum<gaussian_mixture>, causal = false} : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x?x1xf32>, tensor<8x16x1xf32>, tensor<8x75xf32> -> tensor<1x8x?x64xf32>
  %1 = flt.attention %q, %q, %v, %r, %xi, %theta proj(%w) {kernel = #flt.kernel<favor_pos>, spectrum = #flt.spectrum<gaussian_mixture>, causal = true, eps = 1.0e-3 : f32, normalize = #flt.normalize<divide>, weighting = #flt.weighting<both_sides>} : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x?x1xf32>, tensor<8x16x1xf32>, tensor<8x75xf32>, tensor<8x32x64xf32> -> tensor<1x8x?x64xf32>
  %2 = flt.attention %q3, %q3, %v3, %r3, %xi3, %box {kernel = #flt.kernel<elu_plus_one>, spectrum = #flt.spectrum<local_window>} : tensor<?x2x?x16xbf16>, tensor<?x2x?x16xbf16>, tensor<?x2x?x8xbf16>, tensor<?x?x3xf32>, tensor<2x4x3xf32>, tensor<2x2xf32> -> tensor<?x2x?x8xbf16>
  return %0, %1, %2 : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<?x2x?x8xbf16>
}
