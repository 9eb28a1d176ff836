func.func @toeplitz_attention(%fq: tensor<1x8x?x64xf32>, %v: tensor<1x8x?x32xf32>, %b: tensor<8x?xf32>, %q7: tensor<2x1x7x4xf16>, %v7: tensor<2x1x7x4xf16>, %b13: tensor<1x13xf32>)
    -> (tensor<1x8x?x32xf32>, tensor<1x8x?x32xf32>, tensor<2x1x7x4xf16>) {
  %0 = flt.toeplitz_attention %fq, %fq, %v, %b {causal = false} : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x32xf32>, tensor<8x?xf32> -> tensor<1x8x?x32xf32>
  %1 = flt.toeplitz_attention %fq, %fq, %v, %b {causal = true, method = #flt.toeplitz_method<fft>, normalize = #flt.normalize<guarded>} : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x32xf32>, tensor<8x?xf32> -> tensor<1x8x?x32xf32>
  %2 = flt.toeplitz_attention %q7, %q7, %v7, %b13 {method = #flt.toeplitz_method<direct>} : tensor<2x1x7x4xf16>, tensor<2x1x7x4xf16>, tensor<2x1x7x4xf16>, tensor<1x13xf32> -> tensor<2x1x7x4xf16>
  return %0, %1, %2 : tensor<1x8x?x32xf32>, tensor<1x8x?x32xf32>, tensor<2x1x7x4xf16>
}
