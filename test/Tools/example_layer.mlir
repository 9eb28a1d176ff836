// The bundled example layer verifies and decomposes into the primitives.
// RUN: flt-opt %S/../../examples/flt_layer.mlir --flt-decompose | FileCheck %s
// CHECK-LABEL: func.func @flt_layer
// CHECK-COUNT-2: flt.feature_map
// CHECK: flt.spectral_density
// CHECK: flt.spectral_features
// CHECK: flt.linear_attention {{.+}} rpe(
// CHECK-NOT: flt.attention
