// The serving forms of flt.linear_attention (docs/Semantics.md section 5).
// Grouped heads: key tiles of query head h come from key/value head h / 4,
// no copy of fk or v per query head. State: T0's [m r, e] rows enter the
// loops' [m, r, columns] layout by reshapes and leave it the same way; a
// static one-token decoding step walks 1-token tiles. Packed sequences: one
// parallel iteration per (sequence, head, value slice) over its own token
// range, read from cu_seqlens and clamped to [0, L]. Padding: keys up to
// n_b, query rows up to min(n_b, L); the rest stays zero.
// RUN: flt-opt %p/../../Dialect/FLT/serving_operands.mlir --split-input-file --flt-select-algorithm --flt-convert-to-linalg | FileCheck %s

// CHECK-LABEL: func.func @grouped_heads
// CHECK:         scf.forall (%{{.+}}, %[[HEAD:.+]], %{{.+}}) = (0, 0, 0) to (2, 8, 32)
// CHECK:           arith.divui %[[HEAD]], %c4 : index
// CHECK-NOT:     tensor<2x8x?x16xf32>
// CHECK:         return

// CHECK-LABEL: func.func @decode_step
// CHECK:         scf.forall (%{{.+}}, %{{.+}}, %{{.+}}) in (1, 4, 1) shared_outs({{.+}}) -> (tensor<1x4x1x16xf32>, tensor<1x4x16x16xf32>, tensor<1x4x1x16xf32>)
// CHECK:           tensor.expand_shape %{{.+}} {{\[}}[0, 1], [2]] output_shape [8, 2, %{{.+}}] : tensor<16x?xf32> into tensor<8x2x?xf32>
// CHECK:           tensor.expand_shape %{{.+}} {{\[}}[0, 1]] output_shape [8, 2] : tensor<16xf32> into tensor<8x2xf32>
// CHECK:           scf.for %{{.+}} = %c0 to %c1 step %c1
// CHECK:           tensor.collapse_shape %{{.+}} {{\[}}[0, 1], [2]] : tensor<8x2x?xf32> into tensor<16x?xf32>
// CHECK:           tensor.collapse_shape %{{.+}} {{\[}}[0, 1]] : tensor<8x2xf32> into tensor<16xf32>
// CHECK:         tensor.extract_slice %{{.+}}#2[0, 0, 0, 0] [1, 4, 1, 16] [1, 1, 1, 1] : tensor<1x4x1x16xf32> to tensor<1x4x16xf32>

// CHECK-LABEL: func.func @packed
// CHECK:         scf.forall (%[[SEQ:.+]], %[[HEAD:.+]], %{{.+}}) in (%{{.+}}, 4, 1)
// CHECK:           tensor.extract %{{.+}}[%[[SEQ]]] : tensor<?xi32>
// CHECK:           %[[LOW:.+]] = arith.maxsi %{{.+}}, %c0
// CHECK:           %[[START:.+]] = arith.minsi %[[LOW]], %{{.+}}
// CHECK:           tensor.extract
// CHECK:           arith.maxsi %{{.+}}, %[[START]]
// CHECK:           %[[END:.+]] = arith.minsi
// CHECK:           scf.for %{{.+}} = %[[START]] to %[[END]] step %c64
// CHECK:             arith.divui %[[HEAD]], %c4 : index
// CHECK:           scf.for %{{.+}} = %[[START]] to %[[END]] step %c64

// CHECK-LABEL: func.func @padded
// CHECK:         scf.forall (%[[B:.+]], %{{.+}}, %{{.+}}) in (3, 4, 1)
// CHECK:           tensor.extract %{{.+}}[%[[B]]] : tensor<3xi64>
// CHECK:           %[[KEYS:.+]] = arith.minsi
// CHECK:           %[[ROWS:.+]] = arith.minsi %[[KEYS]]
// CHECK:           scf.for %{{.+}} = %c0 to %[[KEYS]] step %c64
// CHECK:           scf.for %{{.+}} = %c0 to %[[ROWS]] step %c64
