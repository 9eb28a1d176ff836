// flt-select-algorithm: each op's cheaper exact algorithm, decided now for
// static sizes (no cost arithmetic left behind), by an scf.if on the run-time
// sizes otherwise.
// RUN: flt-opt %s --split-input-file --flt-select-algorithm | FileCheck %s
// RUN: flt-opt %s --split-input-file --flt-select-algorithm=linear-attention-form=linear | FileCheck %s --check-prefix=LINEAR
// RUN: flt-opt %s --split-input-file --flt-select-algorithm=linear-attention-grad=decomposed | FileCheck %s --check-prefix=GRAD-DECOMPOSED
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

// Reverse mode, long and static: the fused backward stays.
// CHECK-LABEL: func.func @grad_long
// CHECK-NEXT:    flt.linear_attention_grad
// CHECK-NOT:     flt.linear_attention
// GRAD-DECOMPOSED-LABEL: func.func @grad_long
// GRAD-DECOMPOSED-NOT:     flt.linear_attention_grad
// GRAD-DECOMPOSED-COUNT-4: flt.linear_attention
// GRAD-DECOMPOSED-NOT:     flt.linear_attention
// GRAD-DECOMPOSED:         return
func.func @grad_long(%fq: tensor<1x2x8192x64xf32>, %fk: tensor<1x2x8192x64xf32>, %v: tensor<1x2x8192x64xf32>,
                     %g: tensor<1x2x8192x64xf32>)
    -> (tensor<1x2x8192x64xf32>, tensor<1x2x8192x64xf32>, tensor<1x2x8192x64xf32>) {
  %dfq, %dfk, %dv = flt.linear_attention_grad %fq, %fk, %v cotangent(%g)
       : tensor<1x2x8192x64xf32>, tensor<1x2x8192x64xf32>, tensor<1x2x8192x64xf32>, tensor<1x2x8192x64xf32>
      -> tensor<1x2x8192x64xf32>, tensor<1x2x8192x64xf32>, tensor<1x2x8192x64xf32>
  return %dfq, %dfk, %dv : tensor<1x2x8192x64xf32>, tensor<1x2x8192x64xf32>, tensor<1x2x8192x64xf32>
}

// -----

// Reverse mode, causal: no fused backward yet, so linear attentions, each
// then given its own form (long: linear).
// CHECK-LABEL: func.func @grad_causal
// CHECK-NOT:     flt.linear_attention_grad
// CHECK:         flt.linear_attention {{.*}}causal = true
// CHECK-NOT:     flt.kernel_attention
func.func @grad_causal(%fq: tensor<1x2x8192x64xf32>, %fk: tensor<1x2x8192x64xf32>, %v: tensor<1x2x8192x64xf32>,
                       %g: tensor<1x2x8192x64xf32>)
    -> (tensor<1x2x8192x64xf32>, tensor<1x2x8192x64xf32>, tensor<1x2x8192x64xf32>) {
  %dfq, %dfk, %dv = flt.linear_attention_grad %fq, %fk, %v cotangent(%g) {causal = true}
       : tensor<1x2x8192x64xf32>, tensor<1x2x8192x64xf32>, tensor<1x2x8192x64xf32>, tensor<1x2x8192x64xf32>
      -> tensor<1x2x8192x64xf32>, tensor<1x2x8192x64xf32>, tensor<1x2x8192x64xf32>
  return %dfq, %dfk, %dv : tensor<1x2x8192x64xf32>, tensor<1x2x8192x64xf32>, tensor<1x2x8192x64xf32>
}

// -----

// Reverse mode, dynamic L: the fused backward or the decomposition, chosen
// at run time.
// CHECK-LABEL: func.func @grad_dynamic
// CHECK:         %[[Q:.+]] = arith.cmpf
// CHECK:         scf.if %[[Q]]
// CHECK:           flt.linear_attention
// CHECK:           flt.linear_attention_grad
// CHECK-NEXT:      scf.yield
func.func @grad_dynamic(%fq: tensor<1x2x?x64xf32>, %fk: tensor<1x2x?x64xf32>, %v: tensor<1x2x?x64xf32>,
                        %g: tensor<1x2x?x64xf32>)
    -> (tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32>) {
  %dfq, %dfk, %dv = flt.linear_attention_grad %fq, %fk, %v cotangent(%g)
       : tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32>
      -> tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32>
  return %dfq, %dfk, %dv : tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32>
}
