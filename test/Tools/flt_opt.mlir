// flt-opt lists the flt passes, and bad input ends in one error and exit 1.
// RUN: flt-opt --help | FileCheck %s --check-prefix=HELP
// HELP: --flt-decompose
// RUN: not flt-opt %t.does-not-exist.mlir 2>&1 | FileCheck %s --check-prefix=MISSING
// MISSING: cannot open input file
// RUN: not flt-opt %s --split-input-file 2>&1 | FileCheck %s --check-prefix=MALFORMED
// MALFORMED: error: expected ':'
// MALFORMED-NOT: Stack dump

func.func @malformed(%x: tensor<1x1x1x1xf32>) {
  %0 = flt.feature_map %x {kernel = #flt.kernel<relu>} tensor<1x1x1x1xf32>
  return
}

// -----

// MALFORMED: error: expected ::mlir::flt::Kernel to be one of: identity, relu, elu_plus_one, favor_pos
func.func @unknown_kernel(%x: tensor<1x1x1x1xf32>) {
  %0 = flt.feature_map %x {kernel = #flt.kernel<softplus>} : tensor<1x1x1x1xf32> -> tensor<1x1x1x1xf32>
  return
}
