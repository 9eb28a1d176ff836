func.func @position_transform(%q: tensor<1x8x?x64xf32>, %half: tensor<8x32xf32>, %full: tensor<8x64xf32>, %hv: tensor<8x64xf32>, %s: tensor<1x?xf32>, %h: tensor<?x2x5x6xf16>, %h3: tensor<2x3xf32>)
    -> (tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x128xf32>, tensor<1x8x?x64xf32>, tensor<?x2x5x6xf16>, tensor<1x8x?x128xf32>) {
  %0 = flt.position_transform %q, %half {core = #flt.lrpe_core<rotary>} : tensor<1x8x?x64xf32>, tensor<8x32xf32> -> tensor<1x8x?x64xf32>
  %1 = flt.position_transform %q, %half {core = #flt.lrpe_core<rotary>, pairing = #flt.pairing<halves>, offset = 3} : tensor<1x8x?x64xf32>, tensor<8x32xf32> -> tensor<1x8x?x64xf32>
  %2 = flt.position_transform %q, %full mix(%hv) {core = #flt.lrpe_core<complex>, mix = #flt.lrpe_mix<householder>} : tensor<1x8x?x64xf32>, tensor<8x64xf32>, tensor<8x64xf32> -> tensor<1x8x?x128xf32>
  %3 = flt.position_transform %q, %half positions(%s) {core = #flt.lrpe_core<rotary>, mix = #flt.lrpe_mix<odd_even>} : tensor<1x8x?x64xf32>, tensor<8x32xf32>, tensor<1x?xf32> -> tensor<1x8x?x64xf32>
  %4 = flt.position_transform %h, %h3 {core = #flt.lrpe_core<rotary>, mix = #flt.lrpe_mix<identity>, pairing = #flt.pairing<interleaved>} : tensor<?x2x5x6xf16>, tensor<2x3xf32> -> tensor<?x2x5x6xf16>
  %5 = flt.position_transform %q, %full mix(%hv) positions(%s) {core = #flt.lrpe_core<complex>, mix = #flt.lrpe_mix<householder>} : tensor<1x8x?x64xf32>, tensor<8x64xf32>, tensor<8x64xf32>, tensor<1x?xf32> -> tensor<1x8x?x128xf32>
  return %0, %1, %2, %3, %4, %5 : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x128xf32>, tensor<1x8x?x64xf32>, tensor<?x2x5x6xf16>, tensor<1x8x?x128xf32>
}
