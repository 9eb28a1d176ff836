// RPE-masked linear attention with a dynamic length, for the runtime tests.
func.func @la(%fq: tensor<1x2x?x16xf32>, %fk: tensor<1x2x?x16xf32>, %v: tensor<1x2x?x16xf32>, %phi: tensor<1x2x?x8xf32>, %psi: tensor<1x2x?x8xf32>) -> tensor<1x2x?x16xf32> {
  %o = flt.linear_attention %fq, %fk, %v rpe(%phi, %psi) : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32> -> tensor<1x2x?x16xf32>
  return %o : tensor<1x2x?x16xf32>
}
