// fft-lanes sets the width of the FFT Toeplitz method's rows: with 4
// lanes (the GPU's), a group holds 2 * 4 - 1 = 7 value columns, so e = 8
// makes two groups per (batch, head), each transforming 4-lane f64 rows
// (canonicalization drops the unit batch dimension of the forall: heads,
// then groups).
// RUN: flt-opt %s --flt-select-algorithm --flt-convert-to-linalg=fft-lanes=4 --canonicalize | FileCheck %s
// RUN: flt-opt %s --flt-select-algorithm --flt-convert-to-linalg --canonicalize | FileCheck %s --check-prefix=CPU
// RUN: not flt-opt %s --flt-select-algorithm --flt-convert-to-linalg=fft-lanes=0 2>&1 | FileCheck %s --check-prefix=NEGATIVE

// NEGATIVE: error: flt-convert-to-linalg: {{.*}}fft-lanes must be positive

// CHECK-LABEL: func.func @fft
// CHECK: scf.forall ({{.*}}) in (2, 2)
// CHECK: vector.transfer_read {{.*}} : tensor<?x4xf64>, vector<4xf64>
// CHECK-NOT: vector<16xf64>
// CPU-LABEL: func.func @fft
// CPU: scf.forall ({{.*}}) in (2) shared_outs
// CPU: vector.transfer_read {{.*}} : tensor<?x16xf64>, vector<16xf64>
func.func @fft(%q: tensor<1x2x?x8xf32>, %v: tensor<1x2x?x8xf32>, %b: tensor<2x?xf32>) -> tensor<1x2x?x8xf32> {
  %o = flt.toeplitz_attention %q, %q, %v, %b {method = #flt.toeplitz_method<fft>} : tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32>, tensor<2x?xf32> -> tensor<1x2x?x8xf32>
  return %o : tensor<1x2x?x8xf32>
}
