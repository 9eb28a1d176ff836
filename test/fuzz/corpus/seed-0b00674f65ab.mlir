func.func @linear_attention(%fq: tensor<1x8x?x64xf32>, %fk: tensor<1x8x?x64xf32>, %v: tensor<1x8x?x32xf32>, %phi: tensor<1x8x?x32xf32>, %psi: tensor<1x8x?x32xf32>,
                            %fq7: tensor<2x2x7x16xf32>, %fk5: tensor<2x2x5x16xf32>, %v5: tensor<2x2x5x24xf32>,
                            %hq: tensor<?x2x?x8xf16>, %hv: tensor<?x2x?x4xf16>)
    -> (tensor<1x8x?x32xf32>, tensor<1x8x?x32xf32>, tensor<2x2x7x24xf32>, tensor<?x2x?x4xf16>, tensor<1x8x?x32xf32>) {
  %0 = flt.linear_attention %fq, %fk, %v : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x32xf32> -> tensor<1x8x?x32xf32>
  %1 = flt.linear_attention %fq, %fk, %v rpe(%phi, %psi) {causal = true} : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x32xf32>, tensor<1x8x?x32xf32>, tensor<1x8x?x32xf32> -> tensor<1x8x?x32xf32>
  %2 = flt.linear_attention %fq7, %fk5, %v5 {normalize = #flt.normalize<guarded>, eps = 1.0e-4 : f32} : tensor<2x2x7x16xf32>, tensor<2x2x5x16xf32>, tensor<2x2x5x24xf32> -> tensor<2x2x7x24xf32>
  %3 = flt.linear_attention %hq, %hq, %hv {normalize = #flt.normalize<none>} : tensor<?x2x?x8xf16>, tensor<?x2x?x8xf16>, tensor<?x2x?x4xf16> -> tensor<?x2x?x4xf16>
  %4 = flt.linear_attention %fq, %fk, %v rpe(%phi, %psi) {normalize = #flt.normalize<divide>, causal = false} : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x32xf32>, tensor<1x8x?x32xf32>, tensor<1x8x?x32xf32> -> tensor<1x8x?x32xf32>
  return %0, %1, %2, %3, %4 : tensor<1x8x?x32xf32>, tensor<1x8x?x32xf32>, tensor<2x2x7x24xf32>, tensor<?x2x?x4xf16>, tensor<1x8x?x32xf32>
}
