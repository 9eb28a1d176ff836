// flt-select-algorithm: each op's cheaper exact algorithm, decided now for
// static sizes (no cost arithmetic left behind), by an scf.if on the run-time
// sizes otherwise.
// RUN: flt-opt %s --split-input-file --flt-select-algorithm | FileCheck %s
// RUN: flt-opt %s --split-input-file --flt-select-algorithm=linear-attention-form=linear | FileCheck %s --check-prefix=LINEAR
// RUN: flt-opt %s --split-input-file --flt-select-algorithm=linear-attention-grad=fused | FileCheck %s --check-prefix=GRAD-FUSED
// RUN: flt-opt %s --split-input-file --flt-select-algorithm=linear-attention-grad=decomposed | FileCheck %s --check-prefix=GRAD-DEC
// RUN: not flt-opt %s --flt-select-algorithm=quadratic-flop-cost=0 2>&1 | FileCheck %s --check-prefix=NEGATIVE

// NEGATIVE: error: flt-select-algorithm: the costs must be positive

// Short and static: the quadratic form (flt.kernel_attention, kernel dot).
// CHECK-LABEL: func.func @short
// CHECK-NOT:     arith.
// CHECK:         %[[O:.+]] = flt.kernel_attention %arg0, %arg1, %arg2 rpe(%arg3, %arg4) {kernel = #flt.pair_kernel<dot>}
// CHECK-NEXT:    return %[[O]]
// LINEAR-LABEL: func.func @short
// LINEAR:         flt.linear_attention
func.func @short(%fq: tensor<1x2x64x64xf32>, %fk: tensor<1x2x64x64xf32>, %v: tensor<1x2x64x64xf32>,
                 %phi: tensor<1x2x64x32xf32>, %psi: tensor<1x2x64x32xf32>) -> tensor<1x2x64x64xf32> {
  %o = flt.linear_attention %fq, %fk, %v rpe(%phi, %psi)
       : tensor<1x2x64x64xf32>, tensor<1x2x64x64xf32>, tensor<1x2x64x64xf32>, tensor<1x2x64x32xf32>, tensor<1x2x64x32xf32> -> tensor<1x2x64x64xf32>
  return %o : tensor<1x2x64x64xf32>
}

// -----

// Long and static: the linear form stays, nothing added.
// CHECK-LABEL: func.func @long
// CHECK-NEXT:    %[[O:.+]] = flt.linear_attention
// CHECK-NEXT:    return %[[O]]
func.func @long(%fq: tensor<1x2x8192x64xf32>, %fk: tensor<1x2x8192x64xf32>, %v: tensor<1x2x8192x64xf32>,
                %phi: tensor<1x2x8192x32xf32>, %psi: tensor<1x2x8192x32xf32>) -> tensor<1x2x8192x64xf32> {
  %o = flt.linear_attention %fq, %fk, %v rpe(%phi, %psi)
       : tensor<1x2x8192x64xf32>, tensor<1x2x8192x64xf32>, tensor<1x2x8192x64xf32>, tensor<1x2x8192x32xf32>, tensor<1x2x8192x32xf32> -> tensor<1x2x8192x64xf32>
  return %o : tensor<1x2x8192x64xf32>
}

// -----

// Dynamic L: both forms, chosen at run time.
// CHECK-LABEL: func.func @dynamic
// CHECK:         %[[CHEAPER:.+]] = arith.cmpf olt
// CHECK:         scf.if %[[CHEAPER]] -> (tensor<1x2x?x64xf32>) {
// CHECK:           flt.kernel_attention {{.*}}kernel = #flt.pair_kernel<dot>
// CHECK:         } else {
// CHECK:           flt.linear_attention
func.func @dynamic(%fq: tensor<1x2x?x64xf32>, %fk: tensor<1x2x?x64xf32>, %v: tensor<1x2x?x64xf32>) -> tensor<1x2x?x64xf32> {
  %o = flt.linear_attention %fq, %fk, %v : tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32> -> tensor<1x2x?x64xf32>
  return %o : tensor<1x2x?x64xf32>
}

// -----

// Toeplitz method auto: direct at L = 128, fft at L = 32768 (static), both
// behind an scf.if for dynamic L.
// CHECK-LABEL: func.func @toeplitz
// CHECK:         flt.toeplitz_attention {{.*}}method = #flt.toeplitz_method<direct>
// CHECK:         flt.toeplitz_attention {{.*}}method = #flt.toeplitz_method<fft>
// CHECK:         scf.if
// CHECK:           flt.toeplitz_attention {{.*}}method = #flt.toeplitz_method<fft>
// CHECK:         } else {
// CHECK:           flt.toeplitz_attention {{.*}}method = #flt.toeplitz_method<direct>
func.func @toeplitz(%a: tensor<1x1x128x16xf32>, %b: tensor<1x255xf32>,
                    %c: tensor<1x1x32768x16xf32>, %d: tensor<1x65535xf32>,
                    %e: tensor<1x1x?x16xf32>, %f: tensor<1x?xf32>) -> (tensor<1x1x128x16xf32>, tensor<1x1x32768x16xf32>, tensor<1x1x?x16xf32>) {
  %0 = flt.toeplitz_attention %a, %a, %a, %b : tensor<1x1x128x16xf32>, tensor<1x1x128x16xf32>, tensor<1x1x128x16xf32>, tensor<1x255xf32> -> tensor<1x1x128x16xf32>
  %1 = flt.toeplitz_attention %c, %c, %c, %d : tensor<1x1x32768x16xf32>, tensor<1x1x32768x16xf32>, tensor<1x1x32768x16xf32>, tensor<1x65535xf32> -> tensor<1x1x32768x16xf32>
  %2 = flt.toeplitz_attention %e, %e, %e, %f : tensor<1x1x?x16xf32>, tensor<1x1x?x16xf32>, tensor<1x1x?x16xf32>, tensor<1x?xf32> -> tensor<1x1x?x16xf32>
  return %0, %1, %2 : tensor<1x1x128x16xf32>, tensor<1x1x32768x16xf32>, tensor<1x1x?x16xf32>
}

// -----

// flt.toeplitz_correlation (a Toeplitz bias's gradient), method auto: the
// direct method's tiled form at L = 128, fft kept at L = 32768, an scf.if
// for dynamic L. The direct form, per head (an scf.forall) tile by tile of
// the L x L plane (64 x 64, tokens zero-padded to whole tiles; causal: key
// tiles up to the diagonal): P = fq_I fk_J^T and Q = a_I k_J^T as two
// matrix products per batch entry, R = sum P * Q masked to j <= i, and R's
// 127 diagonals added into the head's row.
// CHECK-LABEL: func.func @correlation(
// CHECK-SAME:      %[[FQ:[^:]+]]: tensor<1x2x128x4xf32>, %[[A:[^:]+]]: tensor<1x2x128x3xf32>
// CHECK:         %[[FQPAD:.+]] = tensor.insert_slice %[[FQ]] into
// CHECK:         %[[APAD:.+]] = tensor.insert_slice %[[A]] into
// CHECK:         %[[ACC:.+]] = scf.forall (%[[H:[^)]+]]) in (2) shared_outs(%[[SHARED:.+]] = %{{.+}}) -> (tensor<2x255xf32>)
// CHECK:           %[[ROW:.+]] = scf.for %[[I0:[^ ]+]] = %{{.+}} to %{{.+}} step %c64 iter_args
// CHECK:             %[[JEND:.+]] = arith.minui
// CHECK:             scf.for %[[J0:[^ ]+]] = %{{.+}} to %[[JEND]] step %c64 iter_args
// CHECK:               scf.for %[[BI:[^ ]+]] = {{.*}} -> (tensor<64x64xf32>)
// CHECK:                 %[[FQI:.+]] = tensor.extract_slice %[[FQPAD]][%[[BI]], %[[H]], %[[I0]], 0] [1, 1, 64, 4]
// CHECK:                 linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[FQI]], %{{.+}} : tensor<64x4xf32>, tensor<64x4xf32>)
// CHECK:                 %[[AI:.+]] = tensor.extract_slice %[[APAD]][%[[BI]], %[[H]], %[[I0]], 0] [1, 1, 64, 3]
// CHECK:                 linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[AI]], %{{.+}} : tensor<64x3xf32>, tensor<64x3xf32>)
// CHECK:               arith.cmpi ule
// CHECK:               linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%{{.+}} : tensor<64x190xf32>) outs(%{{.+}} : tensor<127xf32>)
// CHECK:           tensor.parallel_insert_slice %[[ROW]] into %[[SHARED]][%[[H]], 0]
// CHECK:         flt.toeplitz_correlation {{.*}}method = #flt.toeplitz_method<fft>{{.*}} -> tensor<2x65535xf32>
// CHECK:         scf.if
// CHECK:           flt.toeplitz_correlation {{.*}}method = #flt.toeplitz_method<fft>
// CHECK:         } else {
// CHECK:           scf.forall
// CHECK:         flt.toeplitz_correlation {{.*}}method = #flt.toeplitz_method<fft>{{.*}} -> tensor<2x255xf32>
// CHECK-NOT:     flt.toeplitz_correlation
// CHECK:         return
func.func @correlation(%fq: tensor<1x2x128x4xf32>, %a: tensor<1x2x128x3xf32>,
                       %fq2: tensor<1x2x32768x4xf32>, %a2: tensor<1x2x32768x3xf32>,
                       %fq3: tensor<1x2x?x4xf32>, %a3: tensor<1x2x?x3xf32>)
    -> (tensor<2x255xf32>, tensor<2x65535xf32>, tensor<2x?xf32>, tensor<2x255xf32>) {
  %0 = flt.toeplitz_correlation %fq, %a, %fq, %a {causal = true}
     : tensor<1x2x128x4xf32>, tensor<1x2x128x3xf32>, tensor<1x2x128x4xf32>, tensor<1x2x128x3xf32> -> tensor<2x255xf32>
  %1 = flt.toeplitz_correlation %fq2, %a2, %fq2, %a2
     : tensor<1x2x32768x4xf32>, tensor<1x2x32768x3xf32>, tensor<1x2x32768x4xf32>, tensor<1x2x32768x3xf32> -> tensor<2x65535xf32>
  %2 = flt.toeplitz_correlation %fq3, %a3, %fq3, %a3
     : tensor<1x2x?x4xf32>, tensor<1x2x?x3xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x3xf32> -> tensor<2x?xf32>
  // Forced: fft stays whatever the cost.
  %3 = flt.toeplitz_correlation %fq, %a, %fq, %a {method = #flt.toeplitz_method<fft>}
     : tensor<1x2x128x4xf32>, tensor<1x2x128x3xf32>, tensor<1x2x128x4xf32>, tensor<1x2x128x3xf32> -> tensor<2x255xf32>
  return %0, %1, %2, %3 : tensor<2x255xf32>, tensor<2x65535xf32>, tensor<2x?xf32>, tensor<2x255xf32>
}

// -----

// Packed sequences: the direct form whatever L, pairs masked to one
// sequence.
// CHECK-LABEL: func.func @correlation_packed
// CHECK:         scf.forall
// CHECK:           arith.cmpi eq
// CHECK-NOT:     flt.toeplitz_correlation
func.func @correlation_packed(%fq: tensor<1x2x32768x4xf32>, %a: tensor<1x2x32768x3xf32>, %cu: tensor<3xi32>) -> tensor<2x65535xf32> {
  %0 = flt.toeplitz_correlation %fq, %a, %fq, %a packed(%cu)
     : tensor<1x2x32768x4xf32>, tensor<1x2x32768x3xf32>, tensor<1x2x32768x4xf32>, tensor<1x2x32768x3xf32>, tensor<3xi32> -> tensor<2x65535xf32>
  return %0 : tensor<2x65535xf32>
}

// -----

// Reverse mode, long sequences: auto keeps the op for the fused backward
// (five passes of the linear form's size); decomposed, it is four linear
// attentions without rpe, each then given its form (long, so linear).
// CHECK-LABEL: func.func @grad_long
// CHECK-NEXT:    flt.linear_attention_grad
// CHECK-NOT:     flt.linear_attention
// CHECK:         return
// GRAD-FUSED-LABEL: func.func @grad_long
// GRAD-FUSED-NEXT:    flt.linear_attention_grad
// GRAD-FUSED-NOT:     flt.linear_attention
// GRAD-FUSED:         return
// GRAD-DEC-LABEL: func.func @grad_long
// GRAD-DEC-NOT:     flt.linear_attention_grad
// GRAD-DEC-COUNT-4: flt.linear_attention
// GRAD-DEC-NOT:     flt.linear_attention
// GRAD-DEC:         return
func.func @grad_long(%fq: tensor<1x2x8192x64xf32>, %fk: tensor<1x2x8192x64xf32>, %v: tensor<1x2x8192x64xf32>,
                     %g: tensor<1x2x8192x64xf32>)
    -> (tensor<1x2x8192x64xf32>, tensor<1x2x8192x64xf32>, tensor<1x2x8192x64xf32>) {
  %dfq, %dfk, %dv = flt.linear_attention_grad %fq, %fk, %v cotangent(%g)
       : tensor<1x2x8192x64xf32>, tensor<1x2x8192x64xf32>, tensor<1x2x8192x64xf32>, tensor<1x2x8192x64xf32>
      -> tensor<1x2x8192x64xf32>, tensor<1x2x8192x64xf32>, tensor<1x2x8192x64xf32>
  return %dfq, %dfk, %dv : tensor<1x2x8192x64xf32>, tensor<1x2x8192x64xf32>, tensor<1x2x8192x64xf32>
}

// -----

// Reverse mode, short sequences: where the forward would run the quadratic
// form, auto decomposes (the decomposition's attentions are quadratic too).
// CHECK-LABEL: func.func @grad_short
// CHECK-NOT:     flt.linear_attention_grad
// CHECK:         flt.kernel_attention
// GRAD-FUSED-LABEL: func.func @grad_short
// GRAD-FUSED-NEXT:    flt.linear_attention_grad
func.func @grad_short(%fq: tensor<1x2x16x64xf32>, %fk: tensor<1x2x16x64xf32>, %v: tensor<1x2x16x64xf32>,
                      %g: tensor<1x2x16x64xf32>)
    -> (tensor<1x2x16x64xf32>, tensor<1x2x16x64xf32>, tensor<1x2x16x64xf32>) {
  %dfq, %dfk, %dv = flt.linear_attention_grad %fq, %fk, %v cotangent(%g)
       : tensor<1x2x16x64xf32>, tensor<1x2x16x64xf32>, tensor<1x2x16x64xf32>, tensor<1x2x16x64xf32>
      -> tensor<1x2x16x64xf32>, tensor<1x2x16x64xf32>, tensor<1x2x16x64xf32>
  return %dfq, %dfk, %dv : tensor<1x2x16x64xf32>, tensor<1x2x16x64xf32>, tensor<1x2x16x64xf32>
}

// -----

// Reverse mode, run-time L: the fused backward, without a run-time branch
// (the branch costs more than short sequences lose).
// CHECK-LABEL: func.func @grad_dynamic
// CHECK-NEXT:    flt.linear_attention_grad
// CHECK-NOT:     scf.if
// CHECK-NOT:     flt.linear_attention
// CHECK:         return
func.func @grad_dynamic(%fq: tensor<1x2x?x64xf32>, %fk: tensor<1x2x?x64xf32>, %v: tensor<1x2x?x64xf32>,
                        %g: tensor<1x2x?x64xf32>)
    -> (tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32>) {
  %dfq, %dfk, %dv = flt.linear_attention_grad %fq, %fk, %v cotangent(%g)
       : tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32>
      -> tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32>
  return %dfq, %dfk, %dv : tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32>
}

// -----

// Reverse mode, causal: no fused backward, so decomposed even when fused is
// asked for.
// CHECK-LABEL: func.func @grad_causal
// CHECK-NOT:     flt.linear_attention_grad
// CHECK:         flt.linear_attention {{.*}}causal = true
// GRAD-FUSED-LABEL: func.func @grad_causal
// GRAD-FUSED-NOT:     flt.linear_attention_grad
// GRAD-FUSED:         flt.linear_attention {{.*}}causal = true
func.func @grad_causal(%fq: tensor<1x2x8192x64xf32>, %fk: tensor<1x2x8192x64xf32>, %v: tensor<1x2x8192x64xf32>,
                       %g: tensor<1x2x8192x64xf32>)
    -> (tensor<1x2x8192x64xf32>, tensor<1x2x8192x64xf32>, tensor<1x2x8192x64xf32>) {
  %dfq, %dfk, %dv = flt.linear_attention_grad %fq, %fk, %v cotangent(%g) {causal = true}
       : tensor<1x2x8192x64xf32>, tensor<1x2x8192x64xf32>, tensor<1x2x8192x64xf32>, tensor<1x2x8192x64xf32>
      -> tensor<1x2x8192x64xf32>, tensor<1x2x8192x64xf32>, tensor<1x2x8192x64xf32>
  return %dfq, %dfk, %dv : tensor<1x2x8192x64xf32>, tensor<1x2x8192x64xf32>, tensor<1x2x8192x64xf32>
}
