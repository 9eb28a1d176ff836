// Kronecker blocks of several features (feature-group): with m = 64 and
// groups of 4, every step of the feature loops forms fk[:, 4q .. 4q+4) ⊗ psi
// as one [32, 4 r] = [32, 128] block and updates the 128 state rows of group
// q with one contraction; the state is laid out as [m / 4, 4 r, columns].
// The group is the largest divisor of m up to the option (m = 6: 3), and
// one feature per block when m is dynamic.
// RUN: flt-opt %s --flt-select-algorithm=linear-attention-form=linear --flt-convert-to-linalg="feature-group=4 token-tile=32 value-slice=8 column-multiple=8 row-multiple=1" | FileCheck %s
// RUN: not flt-opt %s --flt-select-algorithm --flt-convert-to-linalg=feature-group=0 2>&1 | FileCheck %s --check-prefix=NEGATIVE

// NEGATIVE: error: flt-convert-to-linalg: token-tile, value-slice, row-multiple, column-multiple, feature-group and fft-lanes must be positive

// CHECK-LABEL: func.func @groups_of_four
// The state pass: 16 groups per tile of keys.
// CHECK:         scf.forall ({{.+}}) in (1, 2, 2) shared_outs({{.+}}) -> (tensor<1x2x2x16x128x8xf32>, tensor<1x2x2x64x32xf32>)
// CHECK:           scf.for %[[Q:.+]] = %c0 to %c16 step %c1 iter_args(%[[T:.+]] = %{{.+}}) -> (tensor<16x128x8xf32>)
// CHECK:             %[[FIRST:.+]] = affine.apply #{{.+}}(%[[Q]])
// CHECK:             %[[FK:.+]] = tensor.extract_slice %{{.+}}[0, %[[FIRST]]] [32, 4] [1, 1] : tensor<32x64xf32> to tensor<32x4xf32>
// CHECK:             %[[W:.+]] = linalg.generic {{.+}} ins(%[[FK]], %{{.+}} : tensor<32x4xf32>, tensor<32x32xf32>) outs(%{{.+}} : tensor<32x4x32xf32>)
// CHECK:             %[[FLAT:.+]] = tensor.collapse_shape %[[W]] {{\[}}[0], [1, 2]] : tensor<32x4x32xf32> into tensor<32x128xf32>
// CHECK:             %[[ROWS:.+]] = tensor.extract_slice %[[T]][%[[Q]], 0, 0] [1, 128, 8] [1, 1, 1] : tensor<16x128x8xf32> to tensor<128x8xf32>
// CHECK:             %[[NEW:.+]] = linalg.generic {{.+}} ins(%[[FLAT]], %{{.+}} : tensor<32x128xf32>, tensor<32x8xf32>) outs(%[[ROWS]] : tensor<128x8xf32>)
// CHECK:             tensor.insert_slice %[[NEW]] into %[[T]][%[[Q]], 0, 0] [1, 128, 8]
// The query pass: num += [32, 128] block · the group's [128, 8] state rows.
// CHECK:         scf.forall
// CHECK:           scf.for %[[P:.+]] = %c0 to %c16 step %c1 iter_args(%{{.+}} = %{{.+}}) -> (tensor<32x8xf32>)
// CHECK:             tensor.collapse_shape %{{.+}} {{\[}}[0], [1, 2]] : tensor<32x4x32xf32> into tensor<32x128xf32>
// CHECK:             %[[TQ:.+]] = tensor.extract_slice %{{.+}}[%[[P]], 0, 0] [1, 128, 8] [1, 1, 1] : tensor<16x128x8xf32> to tensor<128x8xf32>
// CHECK:             linalg.generic {{.+}} ins(%{{.+}}, %[[TQ]] : tensor<32x128xf32>, tensor<128x8xf32>) outs(%{{.+}} : tensor<32x8xf32>)
func.func @groups_of_four(%fq: tensor<1x2x100x64xf32>, %fk: tensor<1x2x100x64xf32>, %v: tensor<1x2x100x16xf32>, %phi: tensor<1x2x100x32xf32>, %psi: tensor<1x2x100x32xf32>) -> tensor<1x2x100x16xf32> {
  %o = flt.linear_attention %fq, %fk, %v rpe(%phi, %psi) : tensor<1x2x100x64xf32>, tensor<1x2x100x64xf32>, tensor<1x2x100x16xf32>, tensor<1x2x100x32xf32>, tensor<1x2x100x32xf32> -> tensor<1x2x100x16xf32>
  return %o : tensor<1x2x100x16xf32>
}

// CHECK-LABEL: func.func @causal_groups_of_three
// Causal: the chunk walk reads out and updates with groups too; m = 6 gives
// groups of 3 features (r = 32: 96 state rows per group).
// CHECK:         scf.forall ({{.+}}) = (0, 0, 0) to (1, 2, 16) step (1, 1, 8) shared_outs({{.+}}) -> (tensor<1x2x100x16xf32>)
// CHECK:           scf.for {{.+}} iter_args({{.+}}) -> (tensor<2x96x8xf32>, tensor<100x?xf32>, tensor<6x32xf32>)
// CHECK:             scf.for %{{.+}} = %c0 to %c2 step %c1 {{.+}} -> (tensor<32x8xf32>)
// CHECK:               tensor.collapse_shape %{{.+}} {{\[}}[0], [1, 2]] : tensor<32x3x32xf32> into tensor<32x96xf32>
// CHECK:             scf.for %{{.+}} = %c0 to %c2 step %c1 {{.+}} -> (tensor<2x96x8xf32>)
// CHECK:               tensor.collapse_shape %{{.+}} {{\[}}[0], [1, 2]] : tensor<32x3x32xf32> into tensor<32x96xf32>
func.func @causal_groups_of_three(%fq: tensor<1x2x100x6xf32>, %fk: tensor<1x2x100x6xf32>, %v: tensor<1x2x100x16xf32>, %phi: tensor<1x2x100x32xf32>, %psi: tensor<1x2x100x32xf32>) -> tensor<1x2x100x16xf32> {
  %o = flt.linear_attention %fq, %fk, %v rpe(%phi, %psi) {causal = true} : tensor<1x2x100x6xf32>, tensor<1x2x100x6xf32>, tensor<1x2x100x16xf32>, tensor<1x2x100x32xf32>, tensor<1x2x100x32xf32> -> tensor<1x2x100x16xf32>
  return %o : tensor<1x2x100x16xf32>
}

// CHECK-LABEL: func.func @dynamic_features
// A dynamic m: one feature per block, the state [m, r, columns].
// CHECK-NOT:     tensor.collapse_shape
// CHECK:         scf.for {{.+}} -> (tensor<?x32x8xf32>)
// CHECK-NOT:     tensor.collapse_shape
// CHECK:         return
func.func @dynamic_features(%fq: tensor<1x2x100x?xf32>, %fk: tensor<1x2x100x?xf32>, %v: tensor<1x2x100x16xf32>, %phi: tensor<1x2x100x32xf32>, %psi: tensor<1x2x100x32xf32>) -> tensor<1x2x100x16xf32> {
  %o = flt.linear_attention %fq, %fk, %v rpe(%phi, %psi) : tensor<1x2x100x?xf32>, tensor<1x2x100x?xf32>, tensor<1x2x100x16xf32>, tensor<1x2x100x32xf32>, tensor<1x2x100x32xf32> -> tensor<1x2x100x16xf32>
  return %o : tensor<1x2x100x16xf32>
}
