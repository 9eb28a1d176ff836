func.func @spectral(%theta1: tensor<8x75xf32>, %xi1: tensor<8x16x1xf32>, %theta3: tensor<4x10xf32>, %xi3: tensor<4x?x3xf32>, %box: tensor<4x2xf32>, %r1: tensor<?x?x1xf32>, %r3: tensor<2x?x3xf32>)
    -> (tensor<?x8x?x32xf32>, tensor<?x8x?x32xf32>, tensor<2x4x?x?xf32>, tensor<2x4x?x?xf32>) {
  %rho1 = flt.spectral_density %theta1, %xi1 {spectrum = #flt.spectrum<gaussian_mixture>} : tensor<8x75xf32>, tensor<8x16x1xf32> -> tensor<8x16xf32>
  %rho3 = flt.spectral_density %theta3, %xi3 {spectrum = #flt.spectrum<gaussian_mixture>} : tensor<4x10xf32>, tensor<4x?x3xf32> -> tensor<4x?xf32>
  %box3 = flt.spectral_density %box, %xi3 {spectrum = #flt.spectrum<local_window>} : tensor<4x2xf32>, tensor<4x?x3xf32> -> tensor<4x?xf32>
  %phi1, %psi1 = flt.spectral_features %r1, %xi1, %rho1 : tensor<?x?x1xf32>, tensor<8x16x1xf32>, tensor<8x16xf32> -> tensor<?x8x?x32xf32>, tensor<?x8x?x32xf32>
  %phi3, %psi3 = flt.spectral_features %r3, %xi3, %box3 {weighting = #flt.weighting<both_sides>} : tensor<2x?x3xf32>, tensor<4x?x3xf32>, tensor<4x?xf32> -> tensor<2x4x?x?xf32>, tensor<2x4x?x?xf32>
  %phi4, %psi4 = flt.spectral_features %r3, %xi3, %rho3 {weighting = #flt.weighting<query_side>} : tensor<2x?x3xf32>, tensor<4x?x3xf32>, tensor<4x?xf32> -> tensor<2x4x?x?xf32>, tensor<2x4x?x?xf32>
  return %phi1, %psi1, %phi3, %psi4 : tensor<?x8x?x32xf32>, tensor<?x8x?x32xf32>, tensor<2x4x?x?xf32>, tensor<2x4x?x?xf32>
}
