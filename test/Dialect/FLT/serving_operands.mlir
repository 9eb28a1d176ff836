// Round trip of flt.linear_attention's serving operands (docs/Semantics.md
// section 5): grouped key/value heads, state in and out, packed sequences,
// padding, and all of them together; pretty and generic.
// RUN: flt-opt %s --split-input-file | flt-opt --split-input-file | FileCheck %s
// RUN: flt-opt %s --split-input-file --mlir-print-op-generic | flt-opt --split-input-file | FileCheck %s

// CHECK-LABEL: func.func @grouped_heads
// CHECK: flt.linear_attention %{{.+}}, %{{.+}}, %{{.+}} rpe(%{{.+}}, %{{.+}}) {causal = true} : tensor<2x8x?x16xf32>, tensor<2x2x?x16xf32>, tensor<2x2x?x32xf32>, tensor<2x8x?x4xf32>, tensor<2x8x?x4xf32> -> tensor<2x8x?x32xf32>
func.func @grouped_heads(%fq: tensor<2x8x?x16xf32>, %fk: tensor<2x2x?x16xf32>, %v: tensor<2x2x?x32xf32>, %phi: tensor<2x8x?x4xf32>, %psi: tensor<2x8x?x4xf32>) -> tensor<2x8x?x32xf32> {
  %o = flt.linear_attention %fq, %fk, %v rpe(%phi, %psi) {causal = true} : tensor<2x8x?x16xf32>, tensor<2x2x?x16xf32>, tensor<2x2x?x32xf32>, tensor<2x8x?x4xf32>, tensor<2x8x?x4xf32> -> tensor<2x8x?x32xf32>
  return %o : tensor<2x8x?x32xf32>
}

// -----

// One decoding step: L = 1 from the state of the prefix.
// CHECK-LABEL: func.func @decode_step
// CHECK: %{{.+}}, %{{.+}}, %{{.+}} = flt.linear_attention %{{.+}}, %{{.+}}, %{{.+}} rpe(%{{.+}}, %{{.+}}) state(%{{.+}}, %{{.+}}) {causal = true} : tensor<1x4x1x8xf32>, tensor<1x4x1x8xf32>, tensor<1x4x1x16xf32>, tensor<1x4x1x2xf32>, tensor<1x4x1x2xf32>, tensor<1x4x16x16xf32>, tensor<1x4x16xf32> -> tensor<1x4x1x16xf32>, tensor<1x4x16x16xf32>, tensor<1x4x16xf32>
func.func @decode_step(%fq: tensor<1x4x1x8xf32>, %fk: tensor<1x4x1x8xf32>, %v: tensor<1x4x1x16xf32>, %phi: tensor<1x4x1x2xf32>, %psi: tensor<1x4x1x2xf32>, %t0: tensor<1x4x16x16xf32>, %z0: tensor<1x4x16xf32>) -> (tensor<1x4x1x16xf32>, tensor<1x4x16x16xf32>, tensor<1x4x16xf32>) {
  %o, %t, %z = flt.linear_attention %fq, %fk, %v rpe(%phi, %psi) state(%t0, %z0) {causal = true} : tensor<1x4x1x8xf32>, tensor<1x4x1x8xf32>, tensor<1x4x1x16xf32>, tensor<1x4x1x2xf32>, tensor<1x4x1x2xf32>, tensor<1x4x16x16xf32>, tensor<1x4x16xf32> -> tensor<1x4x1x16xf32>, tensor<1x4x16x16xf32>, tensor<1x4x16xf32>
  return %o, %t, %z : tensor<1x4x1x16xf32>, tensor<1x4x16x16xf32>, tensor<1x4x16xf32>
}

// -----

// Packed sequences with one state per sequence, grouped heads (MQA).
// CHECK-LABEL: func.func @packed
// CHECK: %{{.+}}, %{{.+}}, %{{.+}} = flt.linear_attention %{{.+}}, %{{.+}}, %{{.+}} state(%{{.+}}, %{{.+}}) packed(%{{.+}}) : tensor<1x4x?x8xf32>, tensor<1x1x?x8xf32>, tensor<1x1x?x16xf32>, tensor<?x4x8x16xf32>, tensor<?x4x8xf32>, tensor<?xi32> -> tensor<1x4x?x16xf32>, tensor<?x4x8x16xf32>, tensor<?x4x8xf32>
func.func @packed(%fq: tensor<1x4x?x8xf32>, %fk: tensor<1x1x?x8xf32>, %v: tensor<1x1x?x16xf32>, %t0: tensor<?x4x8x16xf32>, %z0: tensor<?x4x8xf32>, %cu: tensor<?xi32>) -> (tensor<1x4x?x16xf32>, tensor<?x4x8x16xf32>, tensor<?x4x8xf32>) {
  %o, %t, %z = flt.linear_attention %fq, %fk, %v state(%t0, %z0) packed(%cu) : tensor<1x4x?x8xf32>, tensor<1x1x?x8xf32>, tensor<1x1x?x16xf32>, tensor<?x4x8x16xf32>, tensor<?x4x8xf32>, tensor<?xi32> -> tensor<1x4x?x16xf32>, tensor<?x4x8x16xf32>, tensor<?x4x8xf32>
  return %o, %t, %z : tensor<1x4x?x16xf32>, tensor<?x4x8x16xf32>, tensor<?x4x8xf32>
}

// -----

// Padding, with i64 lengths.
// CHECK-LABEL: func.func @padded
// CHECK: flt.linear_attention %{{.+}}, %{{.+}}, %{{.+}} lengths(%{{.+}}) {normalize = #flt.normalize<guarded>} : tensor<3x4x?x8xf32>, tensor<3x4x?x8xf32>, tensor<3x4x?x16xf32>, tensor<3xi64> -> tensor<3x4x?x16xf32>
func.func @padded(%fq: tensor<3x4x?x8xf32>, %fk: tensor<3x4x?x8xf32>, %v: tensor<3x4x?x16xf32>, %n: tensor<3xi64>) -> tensor<3x4x?x16xf32> {
  %o = flt.linear_attention %fq, %fk, %v lengths(%n) {normalize = #flt.normalize<guarded>} : tensor<3x4x?x8xf32>, tensor<3x4x?x8xf32>, tensor<3x4x?x16xf32>, tensor<3xi64> -> tensor<3x4x?x16xf32>
  return %o : tensor<3x4x?x16xf32>
}
