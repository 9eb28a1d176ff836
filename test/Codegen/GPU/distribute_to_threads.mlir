// RUN: flt-opt %s --split-input-file --flt-distribute-to-threads=threads=128 | FileCheck %s

// A forall is a block loop; the contraction inside becomes a thread loop in
// which thread t takes points t, t + 128, ... of the 64 x 32 parallel
// points, each a one-point linalg op with the whole reduction.
// CHECK-LABEL: func.func @contraction_in_block
// CHECK:         scf.forall (%{{.+}}) in (8) {
// CHECK:           %[[C2048:.+]] = arith.constant 2048 : index
// CHECK:           scf.forall (%[[T:.+]]) in (128) {
// CHECK:             %[[C128:.+]] = arith.constant 128 : index
// CHECK:             scf.for %[[P:.+]] = %[[T]] to %[[C2048]] step %[[C128]] {
// CHECK:               %[[IJ:.+]]:2 = affine.delinearize_index %[[P]] into (64, 32)
// CHECK:               %[[A:.+]] = memref.subview %{{.+}}[%[[IJ]]#0, 0] [1, 64] [1, 1]
// CHECK:               %[[B:.+]] = memref.subview %{{.+}}[0, %[[IJ]]#1] [64, 1] [1, 1]
// CHECK:               %[[C:.+]] = memref.subview %{{.+}}[%[[IJ]]#0, %[[IJ]]#1] [1, 1] [1, 1]
// CHECK:               linalg.matmul ins(%[[A]], %[[B]] : {{.+}}) outs(%[[C]] : memref<1x1xf32, strided<[32, 1], offset: ?>>)
// CHECK:           } {mapping = [#gpu.thread<x>]}
// CHECK:         } {mapping = [#gpu.block<linear_dim_0>]}
func.func @contraction_in_block(%a: memref<8x64x64xf32>, %b: memref<64x32xf32>, %c: memref<8x64x32xf32>) {
  scf.forall (%h) in (8) {
    %ah = memref.subview %a[%h, 0, 0] [1, 64, 64] [1, 1, 1] : memref<8x64x64xf32> to memref<64x64xf32, strided<[64, 1], offset: ?>>
    %ch = memref.subview %c[%h, 0, 0] [1, 64, 32] [1, 1, 1] : memref<8x64x32xf32> to memref<64x32xf32, strided<[32, 1], offset: ?>>
    linalg.matmul ins(%ah, %b : memref<64x64xf32, strided<[64, 1], offset: ?>>, memref<64x32xf32>) outs(%ch : memref<64x32xf32, strided<[32, 1], offset: ?>>)
  }
  return
}

// -----

// A linalg op outside every forall gets its own grid of 128-point blocks,
// guarded at the end; a copy is a linalg.copy first.
// CHECK-LABEL: func.func @host_level
// CHECK-SAME:    (%[[X:.+]]: memref<?xf32>, %[[Y:.+]]: memref<?xf32>)
// CHECK:         %[[N:.+]] = memref.dim %[[X]]
// CHECK:         %[[BLOCKS:.+]] = arith.ceildivui %{{.+}}, %{{.+}} : index
// CHECK:         scf.forall (%[[B:.+]]) in (%[[BLOCKS]]) {
// CHECK:           scf.forall (%[[T:.+]]) in (128) {
// CHECK:             %[[FIRST:.+]] = arith.muli %[[B]], %{{.+}} : index
// CHECK:             %[[P:.+]] = arith.addi %[[FIRST]], %[[T]] : index
// CHECK:             %[[IN:.+]] = arith.cmpi ult, %[[P]], %{{.+}} : index
// CHECK:             scf.if %[[IN]] {
// CHECK:               linalg.copy
// CHECK:           } {mapping = [#gpu.thread<x>]}
// CHECK:         } {mapping = [#gpu.block<linear_dim_0>]}
func.func @host_level(%x: memref<?xf32>, %y: memref<?xf32>) {
  memref.copy %x, %y : memref<?xf32> to memref<?xf32>
  return
}

// -----

// A write that is no linalg op runs on one thread.
// CHECK-LABEL: func.func @lonely_store
// CHECK:         scf.forall (%{{.+}}, %{{.+}}) in (4, 2) {
// CHECK:           scf.forall (%{{.+}}) in (1) {
// CHECK-NEXT:        memref.store
// CHECK:           } {mapping = [#gpu.thread<x>]}
// CHECK:         } {mapping = [#gpu.block<linear_dim_0>, #gpu.block<linear_dim_1>]}
func.func @lonely_store(%m: memref<4x2xf32>, %v: f32) {
  scf.forall (%i, %j) in (4, 2) {
    memref.store %v, %m[%i, %j] : memref<4x2xf32>
  }
  return
}
