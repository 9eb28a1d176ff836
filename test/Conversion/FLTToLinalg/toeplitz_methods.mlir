// method = fft lowers to our FFT (bit reversal, f64 butterflies on 16-lane
// rows), direct to the tiled quadratic form; auto folds to one of them for
// static L and becomes a run-time choice for dynamic L.
// RUN: flt-opt %s --split-input-file --flt-select-algorithm --flt-convert-to-linalg --canonicalize | FileCheck %s

// CHECK-LABEL: func.func @fft
// CHECK: llvm.intr.ctlz
// CHECK: scf.forall
// CHECK: llvm.intr.bitreverse
// CHECK: vector.transfer_read {{.*}} : tensor<?x16xf64>, vector<16xf64>
// CHECK-NOT: flt.toeplitz_attention
func.func @fft(%q: tensor<1x2x?x8xf32>, %v: tensor<1x2x?x8xf32>, %b: tensor<2x?xf32>) -> tensor<1x2x?x8xf32> {
  %o = flt.toeplitz_attention %q, %q, %v, %b {method = #flt.toeplitz_method<fft>} : tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32>, tensor<2x?xf32> -> tensor<1x2x?x8xf32>
  return %o : tensor<1x2x?x8xf32>
}

// -----

// CHECK-LABEL: func.func @direct
// CHECK-NOT: llvm.intr.bitreverse
// CHECK: scf.forall
// CHECK: math.exp
// CHECK-NOT: llvm.intr.bitreverse
func.func @direct(%q: tensor<1x2x?x8xf32>, %v: tensor<1x2x?x8xf32>, %b: tensor<2x?xf32>) -> tensor<1x2x?x8xf32> {
  %o = flt.toeplitz_attention %q, %q, %v, %b {method = #flt.toeplitz_method<direct>} : tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32>, tensor<2x?xf32> -> tensor<1x2x?x8xf32>
  return %o : tensor<1x2x?x8xf32>
}

// -----

// Short static sequences: direct, no FFT code at all.
// CHECK-LABEL: func.func @auto_short
// CHECK-NOT: scf.if
// CHECK-NOT: llvm.intr.bitreverse
// CHECK: return
func.func @auto_short(%q: tensor<1x2x128x64xf32>, %v: tensor<1x2x128x64xf32>, %b: tensor<2x255xf32>) -> tensor<1x2x128x64xf32> {
  %o = flt.toeplitz_attention %q, %q, %v, %b : tensor<1x2x128x64xf32>, tensor<1x2x128x64xf32>, tensor<1x2x128x64xf32>, tensor<2x255xf32> -> tensor<1x2x128x64xf32>
  return %o : tensor<1x2x128x64xf32>
}

// -----

// Long static sequences: the FFT only.
// CHECK-LABEL: func.func @auto_long
// CHECK-NOT: scf.if
// CHECK: llvm.intr.bitreverse
func.func @auto_long(%q: tensor<1x2x32768x64xf32>, %v: tensor<1x2x32768x64xf32>, %b: tensor<2x65535xf32>) -> tensor<1x2x32768x64xf32> {
  %o = flt.toeplitz_attention %q, %q, %v, %b : tensor<1x2x32768x64xf32>, tensor<1x2x32768x64xf32>, tensor<1x2x32768x64xf32>, tensor<2x65535xf32> -> tensor<1x2x32768x64xf32>
  return %o : tensor<1x2x32768x64xf32>
}

// -----

// Dynamic L: both, chosen at run time by the cost comparison.
// CHECK-LABEL: func.func @auto_dynamic
// CHECK: %[[USE_FFT:.+]] = arith.cmpf olt
// CHECK: scf.if %[[USE_FFT]]
// CHECK: llvm.intr.bitreverse
// CHECK: } else {
// CHECK: math.exp
func.func @auto_dynamic(%q: tensor<1x2x?x64xf32>, %v: tensor<1x2x?x64xf32>, %b: tensor<2x?xf32>) -> tensor<1x2x?x64xf32> {
  %o = flt.toeplitz_attention %q, %q, %v, %b : tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32>, tensor<2x?xf32> -> tensor<1x2x?x64xf32>
  return %o : tensor<1x2x?x64xf32>
}

// -----

// flt.toeplitz_correlation (a Toeplitz bias's gradient) by FFT: per head, per
// batch entry, per transform (m c channel products, two per complex column):
// the planes packed in bit-reversed row order (column blocks of one feature,
// or for the columns left over, feature blocks of one column), two forward
// transforms, conj(X) Y summed in place; one inverse per head whose lanes'
// real parts, at each offset's bit-reversed row, are the result.
// CHECK-LABEL: func.func @correlation_fft
// CHECK: scf.forall
// CHECK:   scf.for
// CHECK:     scf.for
// CHECK:       scf.if
// CHECK:         llvm.intr.bitreverse
// CHECK:         vector.transfer_read {{.*}} : tensor<2x2x?x40xf32>, vector<16xf32>
// CHECK:       } else {
// CHECK:         vector.transfer_read {{.*}} : tensor<2x2x?x3xf32>, vector<16xf32>
// CHECK:       linalg.generic
// CHECK:         arith.mulf {{.*}} : f64
// CHECK:   llvm.intr.bitreverse
// CHECK:   arith.truncf {{.*}} : f64 to f32
// CHECK:   tensor.parallel_insert_slice
// CHECK-NOT: flt.toeplitz_correlation
func.func @correlation_fft(%fq: tensor<2x2x?x3xf32>, %a: tensor<2x2x?x40xf32>) -> tensor<2x?xf32> {
  %o = flt.toeplitz_correlation %fq, %a, %fq, %a {method = #flt.toeplitz_method<fft>} : tensor<2x2x?x3xf32>, tensor<2x2x?x40xf32>, tensor<2x2x?x3xf32>, tensor<2x2x?x40xf32> -> tensor<2x?xf32>
  return %o : tensor<2x?xf32>
}
