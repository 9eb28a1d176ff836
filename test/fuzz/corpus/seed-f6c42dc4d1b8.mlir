func.func @feature_maps(%x: tensor<?x8x?x64xf32>, %w: tensor<8x128x64xf32>, %h: tensor<2x4x7x16xf16>, %b: tensor<1x2x3x8xbf16>)
    -> (tensor<?x8x?x64xf32>, tensor<?x8x?x64xf32>, tensor<?x8x?x128xf32>, tensor<?x8x?x128xf32>, tensor<2x4x7x16xf16>, tensor<1x2x3x8xbf16>, tensor<?x8x?x64xf32>) {
  %0 = flt.feature_map %x {kernel = #flt.kernel<identity>} : tensor<?x8x?x64xf32> -> tensor<?x8x?x64xf32>
  %1 = flt.feature_map %x {kernel = #flt.kernel<relu>, eps = 1.0e-3 : f32} : tensor<?x8x?x64xf32> -> tensor<?x8x?x64xf32>
  %2 = flt.feature_map %x, %w {kernel = #flt.kernel<relu>} : tensor<?x8x?x64xf32>, tensor<8x128x64xf32> -> tensor<?x8x?x128xf32>
  %3 = flt.feature_map %x, %w {kernel = #flt.kernel<favor_pos>, is_query = true} : tensor<?x8x?x64xf32>, tensor<8x128x64xf32> -> tensor<?x8x?x128xf32>
  %4 = flt.feature_map %h {kernel = #flt.kernel<elu_plus_one>, eps = 0.0 : f32, is_query = false} : tensor<2x4x7x16xf16> -> tensor<2x4x7x16xf16>
  %5 = flt.feature_map %b {kernel = #flt.kernel<relu>} : tensor<1x2x3x8xbf16> -> tensor<1x2x3x8xbf16>
  %6 = flt.feature_map %x {kernel = #flt.kernel<relu>} : tensor<?x8x?x64xf32> -> tensor<?x8x?x64xf32>
  return %0, %1, %2, %3, %4, %5, %6 : tensor<?x8x?x64xf32>, tensor<?x8x?x64xf32>, tensor<?x8x?x128xf32>, tensor<?x8x?x128xf32>, tensor<2x4x7x16xf16>, tensor<1x2x3x8xbf16>, tensor<?x8x?x64xf32>
}
