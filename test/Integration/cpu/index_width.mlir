// Offsets are 64-bit everywhere: index is i64 in the lowered module, every
// address computation (getelementptr) indexes with i64, and sizes read from
// descriptors are never truncated to 32 bits. A tensor of more than 2^31
// elements therefore addresses correctly (the arithmetic has no 32-bit
// step to overflow).
// RUN: flt-compile %s -o - --emit=mlir | FileCheck %s
// CHECK-NOT: llvm.getelementptr {{.*}}, i32)
// CHECK-NOT: llvm.trunc {{.*}} : i64 to i32
// CHECK: llvm.getelementptr {{.*}} : (!llvm.ptr, i64) -> !llvm.ptr, f32
func.func @layer(%q: tensor<?x?x?x64xf32>, %v: tensor<?x?x?x64xf32>,
                 %phi: tensor<?x?x?x32xf32>, %b: tensor<?x?xf32>)
    -> (tensor<?x?x?x64xf32>, tensor<?x?x?x64xf32>) {
  %f = flt.feature_map %q {kernel = #flt.kernel<relu>} : tensor<?x?x?x64xf32> -> tensor<?x?x?x64xf32>
  %o = flt.linear_attention %f, %f, %v rpe(%phi, %phi) {causal = true} : tensor<?x?x?x64xf32>, tensor<?x?x?x64xf32>, tensor<?x?x?x64xf32>, tensor<?x?x?x32xf32>, tensor<?x?x?x32xf32> -> tensor<?x?x?x64xf32>
  %s = flt.kernel_attention %q, %q, %v bias(%b) : tensor<?x?x?x64xf32>, tensor<?x?x?x64xf32>, tensor<?x?x?x64xf32>, tensor<?x?xf32> -> tensor<?x?x?x64xf32>
  return %o, %s : tensor<?x?x?x64xf32>, tensor<?x?x?x64xf32>
}
