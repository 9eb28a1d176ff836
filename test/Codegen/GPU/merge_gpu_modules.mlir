// RUN: flt-opt %s --split-input-file --verify-diagnostics --flt-merge-gpu-modules | FileCheck %s

// Every kernel moves into the first gpu.module; launches follow them.
// CHECK-LABEL: module attributes {gpu.container_module}
// CHECK:         gpu.launch_func @f_kernel::@f_kernel
// CHECK:         gpu.launch_func @f_kernel::@f_kernel_0
// CHECK:       gpu.module @f_kernel {
// CHECK:         gpu.func @f_kernel() kernel
// CHECK:         gpu.func @f_kernel_0() kernel
// CHECK-NOT:   gpu.module
module attributes {gpu.container_module} {
  func.func @f() {
    %c1 = arith.constant 1 : index
    gpu.launch_func @f_kernel::@f_kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
    gpu.launch_func @f_kernel_0::@f_kernel_0 blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
    return
  }
  gpu.module @f_kernel {
    gpu.func @f_kernel() kernel { gpu.return }
  }
  gpu.module @f_kernel_0 {
    gpu.func @f_kernel_0() kernel { gpu.return }
  }
}

// -----

module attributes {gpu.container_module} {
  gpu.module @a [#nvvm.target<chip = "sm_90">] {
    gpu.func @a() kernel { gpu.return }
  }
  // expected-error @below {{flt-merge-gpu-modules: GPU modules with different targets or attributes cannot be merged}}
  gpu.module @b [#nvvm.target<chip = "sm_80">] {
    gpu.func @b() kernel { gpu.return }
  }
}
