func.func @layer(%q: tensor<1x2x?x8xf32>, %k: tensor<1x2x?x8xf32>,
                 %v: tensor<1x2x?x4xf32>) -> tensor<1x2x?x4xf32> {
  %fq = flt.feature_map %q {kernel = #flt.kernel<elu_plus_one>, is_query = true}
      : tensor<1x2x?x8xf32> -> tensor<1x2x?x8xf32>
  %fk = flt.feature_map %k {kernel = #flt.kernel<elu_plus_one>}
      : tensor<1x2x?x8xf32> -> tensor<1x2x?x8xf32>
  %o = flt.linear_attention %fq, %fk, %v {causal = true}
      : tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32>, tensor<1x2x?x4xf32> -> tensor<1x2x?x4xf32>
  return %o : tensor<1x2x?x4xf32>
}
