func.func @favor_layer(%q: tensor<?x2x?x8xf32>, %k: tensor<?x2x?x8xf32>, %v: tensor<?x2x?x4xf32>, %r: tensor<?x?x3xf32>, %xi: tensor<2x4x3xf32>, %theta: tensor<2x2xf32>, %w: tensor<2x16x8xf32>) -> tensor<?x2x?x4xf32> {
  %o = flt.attention %q, %k, %v, %r, %xi, %theta proj(%w) {kernel = #flt.kernel<favor_pos>, spectrum = #flt.spectrum<local_window>, weighting = #flt.weighting<both_sides>, causal = true, eps = 1.0e-3 : f32, normalize = #flt.normalize<divide>}
       : tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>, tensor<?x2x?x4xf32>, tensor<?x?x3xf32>, tensor<2x4x3xf32>, tensor<2x2xf32>, tensor<2x16x8xf32> -> tensor<?x2x?x4xf32>
  return %o : tensor<?x2x?x4xf32>
}
