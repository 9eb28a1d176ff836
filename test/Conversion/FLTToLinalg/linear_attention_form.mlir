// The form of flt.linear_attention (LinearAttentionForm.cpp): the cost model
// picks the quadratic form, flt.kernel_attention with kernel = dot (whose
// lowering has [tokens × tokens] score tiles), below the crossover and the
// linear form (the [m, r, columns] state) above it; at run time when a
// length is dynamic. At m = 64, r = 32, e = 64 and the default costs the
// crossover is L ≈ 1654 without and ≈ 3307 with causal masking (half the
// quadratic work); a quadratic form twice as costly per FLOP halves them.
// RUN: flt-opt %s --split-input-file --flt-select-algorithm --flt-convert-to-linalg="token-tile=32 value-slice=8 column-multiple=8 row-multiple=1" | FileCheck %s
// RUN: flt-opt %s --split-input-file --flt-select-algorithm=quadratic-flop-cost=2 --flt-convert-to-linalg="token-tile=32 value-slice=8 column-multiple=8 row-multiple=1" | FileCheck %s --check-prefix=COSTLY
// RUN: flt-opt %s --split-input-file --flt-select-algorithm=linear-attention-form=quadratic --flt-convert-to-linalg="token-tile=32 value-slice=8 column-multiple=8 row-multiple=1" | FileCheck %s --check-prefix=QUADRATIC
// RUN: not flt-opt %s --split-input-file --flt-select-algorithm=linear-attention-form=fast --flt-convert-to-linalg 2>&1 | FileCheck %s --check-prefix=NEGATIVE

// NEGATIVE: error: flt-select-algorithm: linear-attention-form must be auto, linear or quadratic (got 'fast')

// CHECK-LABEL: func.func @full_2000
// CHECK:         tensor<1x8x8x64x32x8xf32>
// COSTLY-LABEL:  func.func @full_2000
// COSTLY:        tensor<1x8x8x64x32x8xf32>
// QUADRATIC-LABEL: func.func @full_2000
// QUADRATIC-NOT: x64x32x8xf32>
// QUADRATIC:     return
func.func @full_2000(%fq: tensor<1x8x2000x64xf32>, %fk: tensor<1x8x2000x64xf32>, %v: tensor<1x8x2000x64xf32>, %phi: tensor<1x8x2000x32xf32>, %psi: tensor<1x8x2000x32xf32>) -> tensor<1x8x2000x64xf32> {
  %o = flt.linear_attention %fq, %fk, %v rpe(%phi, %psi) : tensor<1x8x2000x64xf32>, tensor<1x8x2000x64xf32>, tensor<1x8x2000x64xf32>, tensor<1x8x2000x32xf32>, tensor<1x8x2000x32xf32> -> tensor<1x8x2000x64xf32>
  return %o : tensor<1x8x2000x64xf32>
}

// -----

// CHECK-LABEL: func.func @causal_3000
// CHECK-NOT:     x64x32x8xf32>
// CHECK:         return
// COSTLY-LABEL:  func.func @causal_3000
// COSTLY:        tensor<64x32x8xf32>
func.func @causal_3000(%fq: tensor<1x8x3000x64xf32>, %fk: tensor<1x8x3000x64xf32>, %v: tensor<1x8x3000x64xf32>, %phi: tensor<1x8x3000x32xf32>, %psi: tensor<1x8x3000x32xf32>) -> tensor<1x8x3000x64xf32> {
  %o = flt.linear_attention %fq, %fk, %v rpe(%phi, %psi) {causal = true} : tensor<1x8x3000x64xf32>, tensor<1x8x3000x64xf32>, tensor<1x8x3000x64xf32>, tensor<1x8x3000x32xf32>, tensor<1x8x3000x32xf32> -> tensor<1x8x3000x64xf32>
  return %o : tensor<1x8x3000x64xf32>
}

// -----

// A dynamic length: both forms behind a run-time comparison of the costs
// 2 (L + S) m r (e + 1) and 2 L S (m + r + e + 1) (constants folded).
// CHECK-LABEL: func.func @dynamic
// CHECK-DAG:     %[[TOKEN_COST:.+]] = arith.constant 2.662400e+05 : f64
// CHECK-DAG:     %[[PAIR_COST:.+]] = arith.constant 3.220000e+02 : f64
// CHECK:         %[[L:.+]] = arith.sitofp %{{.+}} : i64 to f64
// CHECK:         %[[S:.+]] = arith.sitofp %{{.+}} : i64 to f64
// CHECK:         %[[SUM:.+]] = arith.addf %[[L]], %[[S]] : f64
// CHECK:         %[[BY_TOKENS:.+]] = arith.mulf %[[SUM]], %[[TOKEN_COST]] : f64
// CHECK:         %[[PAIRS:.+]] = arith.mulf %[[L]], %[[S]] : f64
// CHECK:         %[[BY_PAIRS:.+]] = arith.mulf %[[PAIRS]], %[[PAIR_COST]] : f64
// CHECK:         %[[CHEAPER:.+]] = arith.cmpf olt, %[[BY_PAIRS]], %[[BY_TOKENS]] : f64
// CHECK:         scf.if %[[CHEAPER]] -> (tensor<1x8x?x64xf32>) {
// CHECK-NOT:       x64x32x8xf32>
// CHECK:         } else {
// CHECK:           x64x32x8xf32>
// CHECK:         }
func.func @dynamic(%fq: tensor<1x8x?x64xf32>, %fk: tensor<1x8x?x64xf32>, %v: tensor<1x8x?x64xf32>, %phi: tensor<1x8x?x32xf32>, %psi: tensor<1x8x?x32xf32>) -> tensor<1x8x?x64xf32> {
  %o = flt.linear_attention %fq, %fk, %v rpe(%phi, %psi) : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x32xf32>, tensor<1x8x?x32xf32> -> tensor<1x8x?x64xf32>
  return %o : tensor<1x8x?x64xf32>
}
