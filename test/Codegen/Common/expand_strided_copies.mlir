// flt-expand-strided-copies: copies between strided buffers become
// linalg.copy (plain loops later, no call to MLIR's memrefCopy); contiguous
// ones stay memref.copy (llvm.memcpy).
// RUN: flt-opt %s --flt-expand-strided-copies | FileCheck %s

// CHECK-LABEL: func.func @copies
// CHECK: linalg.copy ins(%{{.*}} : memref<?x8xf32, strided<[8, 1], offset: ?>>) outs(%{{.*}} : memref<?x8xf32, strided<[16, 1]>>)
// CHECK: memref.copy %{{.*}}, %{{.*}} : memref<4x8xf32> to memref<4x8xf32>
func.func @copies(%a: memref<?x8xf32, strided<[8, 1], offset: ?>>, %b: memref<?x8xf32, strided<[16, 1]>>,
                  %c: memref<4x8xf32>, %d: memref<4x8xf32>) {
  memref.copy %a, %b : memref<?x8xf32, strided<[8, 1], offset: ?>> to memref<?x8xf32, strided<[16, 1]>>
  memref.copy %c, %d : memref<4x8xf32> to memref<4x8xf32>
  return
}
