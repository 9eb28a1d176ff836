// Value blocks (positional-group, the GPU's form of linear attention with
// rpe): with r = 32 and groups of 16, every step of the positional loops
// forms psi[:, 16q .. 16q+16) ⊗ v as one [32, 16 · 8] = [32, 128] block and
// updates the state's group q, T[:, q] += fkᵀ W ([64, 128]); the queries
// form P = fq T[:, q] ([32, 128]) and add Σ_c phi[:, 16q + c] P[:, c]. The
// state is [m, r / 16, 16 · columns]. The group is the largest divisor of r
// up to the option (r = 24: 12), one positional feature per block when r
// is dynamic; feature-group is then not used.
// RUN: flt-opt %s --flt-select-algorithm=linear-attention-form=linear --flt-convert-to-linalg="positional-group=16 feature-group=4 token-tile=32 value-slice=8 column-multiple=8 row-multiple=1" | FileCheck %s
// RUN: not flt-opt %s --flt-select-algorithm --flt-convert-to-linalg=positional-group=-1 2>&1 | FileCheck %s --check-prefix=NEGATIVE

// NEGATIVE: error: flt-convert-to-linalg: {{.*}} key-blocks and positional-group non-negative

// CHECK-LABEL: func.func @groups_of_sixteen
// The state pass: 2 groups per tile of keys.
// CHECK:         scf.forall ({{.+}}) in (1, 2, 2) shared_outs({{.+}}) -> (tensor<1x2x2x64x2x128xf32>, tensor<1x2x2x64x32xf32>)
// CHECK:           %[[FK:.+]] = tensor.pad
// CHECK:           %[[PSI:.+]] = tensor.pad
// CHECK:           %[[V:.+]] = tensor.pad
// CHECK:           scf.for %[[Q:.+]] = %c0 to %c2 step %c1 iter_args(%[[T:.+]] = %{{.+}}) -> (tensor<64x2x128xf32>)
// CHECK:             %[[FIRST:.+]] = affine.apply #{{.+}}(%[[Q]])
// CHECK:             %[[COLS:.+]] = tensor.extract_slice %[[PSI]][0, %[[FIRST]]] [32, 16] [1, 1] : tensor<32x32xf32> to tensor<32x16xf32>
// CHECK:             %[[W:.+]] = linalg.generic {{.+}} ins(%[[COLS]], %[[V]] : tensor<32x16xf32>, tensor<32x8xf32>) outs(%{{.+}} : tensor<32x16x8xf32>)
// CHECK:               arith.mulf
// CHECK:             %[[FLAT:.+]] = tensor.collapse_shape %[[W]] {{\[}}[0], [1, 2]] : tensor<32x16x8xf32> into tensor<32x128xf32>
// CHECK:             %[[ROWS:.+]] = tensor.extract_slice %[[T]][0, %[[Q]], 0] [64, 1, 128] [1, 1, 1] : tensor<64x2x128xf32> to tensor<64x128xf32>
// CHECK:             %[[NEW:.+]] = linalg.generic {{.+}} iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[FK]], %[[FLAT]] : tensor<32x64xf32>, tensor<32x128xf32>) outs(%[[ROWS]] : tensor<64x128xf32>)
// CHECK:             tensor.insert_slice %[[NEW]] into %[[T]][0, %[[Q]], 0] [64, 1, 128]
// The query pass: P = fq · the group's [64, 128] state, weighted by phi.
// CHECK:         scf.forall
// CHECK:           scf.for %[[P:.+]] = %c0 to %c2 step %c1 iter_args(%[[NUM:.+]] = %{{.+}}) -> (tensor<32x8xf32>)
// CHECK:             %[[TQ:.+]] = tensor.extract_slice %{{.+}}[0, %[[P]], 0] [64, 1, 128] [1, 1, 1] : tensor<64x2x128xf32> to tensor<64x128xf32>
// CHECK:             %[[PROJ:.+]] = linalg.generic {{.+}} ins(%{{.+}}, %[[TQ]] : tensor<32x64xf32>, tensor<64x128xf32>) outs(%{{.+}} : tensor<32x128xf32>)
// CHECK:             %[[P3:.+]] = tensor.expand_shape %[[PROJ]] {{\[}}[0], [1, 2]] output_shape [32, 16, 8] : tensor<32x128xf32> into tensor<32x16x8xf32>
// CHECK:             %[[PHI:.+]] = tensor.extract_slice %{{.+}}[0, %{{.+}}] [32, 16] [1, 1] : tensor<32x32xf32> to tensor<32x16xf32>
// CHECK:             linalg.generic {{.+}} iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[PHI]], %[[P3]] : tensor<32x16xf32>, tensor<32x16x8xf32>) outs(%[[NUM]] : tensor<32x8xf32>)
func.func @groups_of_sixteen(%fq: tensor<1x2x100x64xf32>, %fk: tensor<1x2x100x64xf32>, %v: tensor<1x2x100x16xf32>, %phi: tensor<1x2x100x32xf32>, %psi: tensor<1x2x100x32xf32>) -> tensor<1x2x100x16xf32> {
  %o = flt.linear_attention %fq, %fk, %v rpe(%phi, %psi) : tensor<1x2x100x64xf32>, tensor<1x2x100x64xf32>, tensor<1x2x100x16xf32>, tensor<1x2x100x32xf32>, tensor<1x2x100x32xf32> -> tensor<1x2x100x16xf32>
  return %o : tensor<1x2x100x16xf32>
}

// CHECK-LABEL: func.func @causal_groups_of_twelve
// Causal: the chunk walk reads out and updates with groups too; r = 24
// gives groups of 12 (96 state columns per group).
// CHECK:         scf.forall ({{.+}}) = (0, 0, 0) to (1, 2, 16) step (1, 1, 8) shared_outs({{.+}}) -> (tensor<1x2x100x16xf32>)
// CHECK:           scf.for {{.+}} iter_args({{.+}}) -> (tensor<6x2x96xf32>, tensor<100x?xf32>, tensor<6x24xf32>)
// CHECK:             scf.for %{{.+}} = %c0 to %c2 step %c1 {{.+}} -> (tensor<32x8xf32>)
// CHECK:               tensor.expand_shape %{{.+}} {{\[}}[0], [1, 2]] output_shape [32, 12, 8] : tensor<32x96xf32> into tensor<32x12x8xf32>
// CHECK:             scf.for %{{.+}} = %c0 to %c2 step %c1 {{.+}} -> (tensor<6x2x96xf32>)
// CHECK:               tensor.collapse_shape %{{.+}} {{\[}}[0], [1, 2]] : tensor<32x12x8xf32> into tensor<32x96xf32>
func.func @causal_groups_of_twelve(%fq: tensor<1x2x100x6xf32>, %fk: tensor<1x2x100x6xf32>, %v: tensor<1x2x100x16xf32>, %phi: tensor<1x2x100x24xf32>, %psi: tensor<1x2x100x24xf32>) -> tensor<1x2x100x16xf32> {
  %o = flt.linear_attention %fq, %fk, %v rpe(%phi, %psi) {causal = true} : tensor<1x2x100x6xf32>, tensor<1x2x100x6xf32>, tensor<1x2x100x16xf32>, tensor<1x2x100x24xf32>, tensor<1x2x100x24xf32> -> tensor<1x2x100x16xf32>
  return %o : tensor<1x2x100x16xf32>
}

// CHECK-LABEL: func.func @dynamic_positional
// A dynamic r: one positional feature per block, the state [m, r, columns],
// the loops r steps long.
// CHECK:         %[[R:.+]] = tensor.dim %{{.+}}, %c3 : tensor<1x2x100x?xf32>
// CHECK:         scf.for {{.+}} -> (tensor<64x?x8xf32>, tensor<64x?xf32>)
// CHECK:           scf.for %{{.+}} = %c0 to %[[R]] step %c1 {{.+}} -> (tensor<64x?x8xf32>)
// CHECK:             tensor.collapse_shape %{{.+}} {{\[}}[0], [1, 2]] : tensor<32x1x8xf32> into tensor<32x8xf32>
// CHECK:         scf.forall
// CHECK:           scf.for %{{.+}} = %c0 to %[[R]] step %c1 {{.+}} -> (tensor<32x8xf32>)
// CHECK:             tensor.expand_shape %{{.+}} {{\[}}[0], [1, 2]] output_shape [32, 1, 8] : tensor<32x8xf32> into tensor<32x1x8xf32>
func.func @dynamic_positional(%fq: tensor<1x2x100x64xf32>, %fk: tensor<1x2x100x64xf32>, %v: tensor<1x2x100x16xf32>, %phi: tensor<1x2x100x?xf32>, %psi: tensor<1x2x100x?xf32>) -> tensor<1x2x100x16xf32> {
  %o = flt.linear_attention %fq, %fk, %v rpe(%phi, %psi) : tensor<1x2x100x64xf32>, tensor<1x2x100x64xf32>, tensor<1x2x100x16xf32>, tensor<1x2x100x?xf32>, tensor<1x2x100x?xf32> -> tensor<1x2x100x16xf32>
  return %o : tensor<1x2x100x16xf32>
}
