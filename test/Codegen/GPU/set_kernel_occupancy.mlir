// RUN: flt-opt %s --split-input-file --flt-set-kernel-occupancy | FileCheck %s
// RUN: flt-opt %s --split-input-file --flt-set-kernel-occupancy=registers-per-thread=64 | FileCheck %s --check-prefix=R64
// RUN: not flt-opt %s --flt-set-kernel-occupancy=registers-per-thread=300 2>&1 | FileCheck %s --check-prefix=BAD

// 65536 registers / (256 threads x 128) = 2 blocks per SM; with 64
// registers per thread, 4. A function that is not a kernel, or a kernel
// of unknown block size, is left alone.
// CHECK-LABEL: gpu.func @k256
// CHECK-SAME:    nvvm.minctasm = 2 : i32
// CHECK-LABEL: gpu.func @k1024
// CHECK-SAME:    nvvm.minctasm = 1 : i32
// CHECK-LABEL: gpu.func @unknown_size
// CHECK-NOT:     nvvm.minctasm
// CHECK-LABEL: gpu.func @helper
// CHECK-NOT:     nvvm.minctasm
// R64-LABEL: gpu.func @k256
// R64-SAME:    nvvm.minctasm = 4 : i32
// BAD: flt-set-kernel-occupancy: registers-per-thread must be in [1, 255], got 300
gpu.module @kernels {
  gpu.func @k256() kernel attributes {known_block_size = array<i32: 256, 1, 1>} {
    gpu.return
  }
  gpu.func @k1024() kernel attributes {known_block_size = array<i32: 1024, 1, 1>} {
    gpu.return
  }
  gpu.func @unknown_size() kernel {
    gpu.return
  }
  gpu.func @helper() {
    gpu.return
  }
}
