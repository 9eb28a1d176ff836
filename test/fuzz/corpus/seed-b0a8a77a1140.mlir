func.func @kernel_attention(%q: tensor<1x8x?x64xf32>, %k: tensor<1x8x?x64xf32>, %v: tensor<1x8x?x64xf32>, %b: tensor<8x?xf32>, %R: tensor<8x64xf32>,
                            %phi: tensor<1x8x?x32xf32>, %psi: tensor<1x8x?x32xf32>,
                            %q7: tensor<1x2x7x16xbf16>, %k5: tensor<1x2x5x16xbf16>, %v5: tensor<1x2x5x8xbf16>, %b11: tensor<2x11xf32>)
    -> (tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x2x7x8xbf16>, tensor<1x8x?x64xf32>) {
  %0 = flt.kernel_attention %q, %k, %v {kernel = #flt.pair_kernel<softmax>, causal = true} : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32> -> tensor<1x8x?x64xf32>
  %1 = flt.kernel_attention %q, %k, %v bias(%b) {temperature = 0.5 : f32} : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<8x?xf32> -> tensor<1x8x?x64xf32>
  %2 = flt.kernel_attention %q, %k, %v scale(%R) bias(%b) {kernel = #flt.pair_kernel<fourier_integral>, power = 2} : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<8x64xf32>, tensor<8x?xf32> -> tensor<1x8x?x64xf32>
  %3 = flt.kernel_attention %q, %k, %v rpe(%phi, %psi) {kernel = #flt.pair_kernel<dot>, normalize = #flt.normalize<none>} : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x32xf32>, tensor<1x8x?x32xf32> -> tensor<1x8x?x64xf32>
  %4 = flt.kernel_attention %q7, %k5, %v5 bias(%b11) : tensor<1x2x7x16xbf16>, tensor<1x2x5x16xbf16>, tensor<1x2x5x8xbf16>, tensor<2x11xf32> -> tensor<1x2x7x8xbf16>
  %5 = flt.kernel_attention %q, %k, %v scale(%R) rpe(%phi, %psi) {kernel = #flt.pair_kernel<fourier_integral>, causal = true, power = 4} : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<8x64xf32>, tensor<1x8x?x32xf32>, tensor<1x8x?x32xf32> -> tensor<1x8x?x64xf32>
  return %0, %1, %2, %3, %4, %5 : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x2x7x8xbf16>, tensor<1x8x?x64xf32>
}
