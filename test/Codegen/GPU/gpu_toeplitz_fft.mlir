// flt-compile --target=cuda on the FFT Toeplitz method: the transforms run
// on 4-lane rows (fft-lanes, GPUTileConfig.h), so that no kernel spills
// registers to local memory (with the CPU's 16-lane rows, the transform
// kernel spilled 824 bytes per thread at its 128-register budget).
// RUN: flt-compile %s --target=cuda --emit=ptx -o %t.ptx
// RUN: FileCheck %s --check-prefix=PTX < %t.ptx
// RUN: %if ptxas %{ %ptxas -arch=sm_90 -v %t.ptx -o %t.cubin 2>&1 | FileCheck %s --check-prefix=PTXAS %}

// PTX: .target sm_90
// PTX: .visible .entry __flt_fn_tz_kernel(
// PTXAS: 0 bytes spill stores
// PTXAS-NOT: {{[1-9][0-9]*}} bytes spill

func.func @tz(%q: tensor<1x8x?x64xf32>, %k: tensor<1x8x?x64xf32>, %v: tensor<1x8x?x64xf32>, %b: tensor<8x?xf32>) -> tensor<1x8x?x64xf32> {
  %o = flt.toeplitz_attention %q, %k, %v, %b {method = #flt.toeplitz_method<fft>} : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<8x?xf32> -> tensor<1x8x?x64xf32>
  return %o : tensor<1x8x?x64xf32>
}
