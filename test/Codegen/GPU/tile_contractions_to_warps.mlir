// RUN: flt-opt %s --split-input-file --verify-diagnostics --flt-tile-contractions-to-warps=threads=128 | FileCheck %s
// RUN: flt-opt %s --split-input-file --verify-diagnostics --flt-tile-contractions-to-warps="threads=128 allow-tf32" | FileCheck %s --check-prefix=TF32
// RUN: flt-opt %s --split-input-file --verify-diagnostics --flt-tile-contractions-to-warps="threads=128 emulate-operand-rounding" | FileCheck %s --check-prefix=ROUND
// RUN: not flt-opt %s --split-input-file --flt-tile-contractions-to-warps=threads=100 2>&1 | FileCheck %s --check-prefix=THREADS

// THREADS: flt-tile-contractions-to-warps: threads must be a positive multiple of 32, got 100

#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#c = affine_map<(m, n, k) -> (m, n)>


// A bf16 layer: the 32 x 16 product (4 warp tiles of 16 x 8) inside the
// block loop runs on 4 warps (128 threads), each tile the op on subviews
// marked for bf16 tensor cores; the f32 buffers are rounded to bf16 only
// when fragments are loaded (or, emulated, inside the tile's body).
// CHECK-DAG: #[[ROWS:.+]] = affine_map<(d0) -> (d0 * 16)>
// CHECK-DAG: #[[COLUMNS:.+]] = affine_map<(d0) -> (d0 * 8)>
// CHECK-LABEL: func.func @bf16_layer
// CHECK:         scf.forall (%{{.+}}) in (8) {
// CHECK:           scf.forall (%[[W:.+]]) in (4) {
// CHECK:             scf.for %[[T:.+]] = %[[W]] to %c4{{.*}} step %c4{{.*}} {
// CHECK:               %[[MN:.+]]:2 = affine.delinearize_index %[[T]] into (2, 2)
// CHECK:               %[[M0:.+]] = affine.apply #[[ROWS]](%[[MN]]#0)
// CHECK:               %[[N0:.+]] = affine.apply #[[COLUMNS]](%[[MN]]#1)
// CHECK:               %[[A:.+]] = memref.subview %{{.+}}[%{{.+}}, 0] [16, 64] [1, 1]
// CHECK:               %[[B:.+]] = memref.subview %{{.+}}[0, %{{.+}}] [64, 8] [1, 1]
// CHECK:               %[[C:.+]] = memref.subview %{{.+}}[%{{.+}}, %{{.+}}] [16, 8] [1, 1]
// CHECK:               linalg.generic {{.+}} ins(%[[A]], %[[B]] : memref<16x64xf32, {{.+}}>, memref<64x8xf32, {{.+}}>) outs(%[[C]] : memref<16x8xf32, {{.+}}>) attrs = {flt.mma = "bf16"}
// CHECK:           } {mapping = [#gpu.warp<linear_dim_0>]}
// ROUND-LABEL: func.func @bf16_layer
// ROUND:         linalg.generic {{.+}} attrs = {flt.mma = "bf16"}
// ROUND-NEXT:    ^bb0(%[[X:.+]]: f32, %[[Y:.+]]: f32, %[[ACC:.+]]: f32):
// ROUND-DAG:       %[[YB:.+]] = arith.truncf %[[Y]] : f32 to bf16
// ROUND-DAG:       %[[YR:.+]] = arith.extf %[[YB]] : bf16 to f32
// ROUND-DAG:       %[[XB:.+]] = arith.truncf %[[X]] : f32 to bf16
// ROUND-DAG:       %[[XR:.+]] = arith.extf %[[XB]] : bf16 to f32
// ROUND:           %[[P:.+]] = arith.mulf %[[XR]], %[[YR]] : f32
// ROUND:           arith.addf %[[ACC]], %[[P]] : f32
func.func @bf16_layer(%x: memref<8x32x64xbf16>, %q: memref<32x64xf32>, %s: memref<64x16xf32>, %o: memref<32x16xf32>) {
  scf.forall (%h) in (8) {
    linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%q, %s : memref<32x64xf32>, memref<64x16xf32>) outs(%o : memref<32x16xf32>) {
    ^bb0(%x0: f32, %y0: f32, %acc: f32):
      %p = arith.mulf %x0, %y0 : f32
      %r = arith.addf %acc, %p : f32
      linalg.yield %r : f32
    }
  }
  return
}

// -----

#aT = affine_map<(m, n, k) -> (k, m)>
#b = affine_map<(m, n, k) -> (k, n)>
#c = affine_map<(m, n, k) -> (m, n)>

// An f16 layer, A read transposed (k, m), the product inside a sequential
// loop of the block; 64 x 32 = 16 tiles over 4 warps.
// CHECK-LABEL: func.func @f16_transposed
// CHECK:         scf.for
// CHECK:           scf.forall (%[[W:.+]]) in (4) {
// CHECK:             scf.for %{{.+}} = %[[W]] to %c16{{.*}} step %c4{{.*}} {
// CHECK:               affine.delinearize_index %{{.+}} into (4, 4)
// CHECK:               memref.subview %{{.+}}[0, %{{.+}}] [32, 16] [1, 1]
// CHECK:               linalg.generic {{.+}} attrs = {flt.mma = "f16"}
// CHECK:           } {mapping = [#gpu.warp<linear_dim_0>]}
func.func @f16_transposed(%x: memref<4x4xf16>, %k: memref<32x64xf32>, %v: memref<32x32xf32>, %z: memref<64x32xf32>) {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %c1 = arith.constant 1 : index
  scf.forall (%h) in (8) {
    scf.for %i = %c0 to %c2 step %c1 {
      linalg.generic {indexing_maps = [#aT, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
          ins(%k, %v : memref<32x64xf32>, memref<32x32xf32>) outs(%z : memref<64x32xf32>) {
      ^bb0(%x0: f32, %y0: f32, %acc: f32):
        %p = arith.mulf %y0, %x0 : f32
        %r = arith.addf %p, %acc : f32
        linalg.yield %r : f32
      }
    }
  }
  return
}

// -----

#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#c = affine_map<(m, n, k) -> (m, n)>

// An f32 layer keeps the SIMT mapping unless TF32 is allowed (m16n8k8:
// the reduction, 8, is one step).
// CHECK-LABEL: func.func @f32_layer
// CHECK-NOT:     gpu.warp
// CHECK-NOT:     flt.mma
// TF32-LABEL: func.func @f32_layer
// TF32:         scf.forall (%{{.+}}) in (2) {
// TF32:           linalg.generic {{.+}} ins(%{{.+}}, %{{.+}} : memref<16x8xf32, {{.+}}>, memref<8x8xf32, {{.+}}>) {{.+}} attrs = {flt.mma = "tf32"}
// TF32:         } {mapping = [#gpu.warp<linear_dim_0>]}
// ROUND-LABEL: func.func @f32_layer
// ROUND-NOT:     flt.mma
func.func @f32_layer(%a: memref<32x8xf32>, %b: memref<8x8xf32>, %c: memref<32x8xf32>) {
  scf.forall (%h) in (8) {
    linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%a, %b : memref<32x8xf32>, memref<8x8xf32>) outs(%c : memref<32x8xf32>) {
    ^bb0(%x0: f32, %y0: f32, %acc: f32):
      %p = arith.mulf %x0, %y0 : f32
      %r = arith.addf %acc, %p : f32
      linalg.yield %r : f32
    }
  }
  return
}

// -----

#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#c = affine_map<(m, n, k) -> (m, n)>

// Not for tensor cores: a reduction that is not a multiple of 16 (bf16),
// a dynamic size, a body that is not a multiply-accumulate, a product at
// host level (flt-distribute-to-threads gives it a grid).
// CHECK-LABEL: func.func @keeps_simt
// CHECK-NOT:     gpu.warp
// CHECK-NOT:     flt.mma
// CHECK:         return
func.func @keeps_simt(%x: memref<bf16>, %a: memref<32x24xf32>, %b: memref<24x8xf32>, %c: memref<32x8xf32>, %d: memref<?x16xf32>, %e: memref<16x8xf32>, %f: memref<?x8xf32>, %g: memref<32x16xf32>, %h16: memref<16x8xf32>) {
  scf.forall (%h) in (8) {
    linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%a, %b : memref<32x24xf32>, memref<24x8xf32>) outs(%c : memref<32x8xf32>) {
    ^bb0(%x0: f32, %y0: f32, %acc: f32):
      %p = arith.mulf %x0, %y0 : f32
      %r = arith.addf %acc, %p : f32
      linalg.yield %r : f32
    }
    linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%d, %e : memref<?x16xf32>, memref<16x8xf32>) outs(%f : memref<?x8xf32>) {
    ^bb0(%x0: f32, %y0: f32, %acc: f32):
      %p = arith.mulf %x0, %y0 : f32
      %r = arith.addf %acc, %p : f32
      linalg.yield %r : f32
    }
    linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%g, %h16 : memref<32x16xf32>, memref<16x8xf32>) outs(%c : memref<32x8xf32>) {
    ^bb0(%x0: f32, %y0: f32, %acc: f32):
      %p = arith.mulf %x0, %y0 : f32
      %r = arith.maximumf %acc, %p : f32
      linalg.yield %r : f32
    }
  }
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%g, %h16 : memref<32x16xf32>, memref<16x8xf32>) outs(%c : memref<32x8xf32>) {
  ^bb0(%x0: f32, %y0: f32, %acc: f32):
    %p = arith.mulf %x0, %y0 : f32
    %r = arith.addf %acc, %p : f32
    linalg.yield %r : f32
  }
  return
}
