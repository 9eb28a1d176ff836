// RUN: flt-opt %s --split-input-file --verify-diagnostics --flt-contractions-to-mma --cse | FileCheck %s

// The fragment layouts below are the PTX ISA's; for f16 and tf32 they are
// the same (lane by lane, element by element) as upstream MLIR's
// convert-vector-to-gpu=use-nvgpu produces, and bf16 shares f16's layout.

#a = affine_map<(m, n, k) -> (m, k)>
#aT = affine_map<(m, n, k) -> (k, m)>
#b = affine_map<(m, n, k) -> (k, n)>
#c = affine_map<(m, n, k) -> (m, n)>

// bf16, m16n8k16, K = 32 (two steps). Lane l = 4g + t. Accumulators
// C(g, 2t), C(g, 2t+1), C(g+8, 2t), C(g+8, 2t+1); A registers (g, k+2t),
// (g+8, k+2t), (g, k+2t+8), (g+8, k+2t+8), each with the next column,
// rounded to bf16 and packed into an i32 (first element low); B registers
// (k+2t, g), (k+2t+8, g), each with the next row.
// CHECK-LABEL: func.func @bf16_tile
// CHECK:         %[[LANE:.+]] = gpu.lane_id
// CHECK:         %[[G:.+]] = arith.divui %[[LANE]], %c4
// CHECK:         %[[T:.+]] = arith.remui %[[LANE]], %c4
// CHECK:         %[[T2:.+]] = arith.muli %[[T]], %c2
// CHECK:         %[[T21:.+]] = arith.addi %[[T2]], %c1
// CHECK:         %[[G8:.+]] = arith.addi %[[G]], %c8
// CHECK:         %[[C0:.+]] = memref.load %[[CM:.+]][%[[G]], %[[T2]]]
// CHECK:         %[[C1:.+]] = memref.load %[[CM]][%[[G]], %[[T21]]]
// CHECK:         %[[C2:.+]] = memref.load %[[CM]][%[[G8]], %[[T2]]]
// CHECK:         %[[C3:.+]] = memref.load %[[CM]][%[[G8]], %[[T21]]]
// CHECK:         %[[D:.+]]:4 = scf.for %[[K:.+]] = %c0 to %c32 step %c16 iter_args(%[[X0:.+]] = %[[C0]], %[[X1:.+]] = %[[C1]], %[[X2:.+]] = %[[C2]], %[[X3:.+]] = %[[C3]])
// CHECK:           %[[COL:.+]] = arith.addi %[[T2]], %[[K]]
// CHECK:           %[[A00:.+]] = memref.load %[[AM:.+]][%[[G]], %[[COL]]]
// CHECK:           %[[COL1:.+]] = arith.addi %[[COL]], %c1
// CHECK:           %[[A01:.+]] = memref.load %[[AM]][%[[G]], %[[COL1]]]
// CHECK:           %[[A00B:.+]] = arith.truncf %[[A00]] : f32 to bf16
// CHECK:           %[[A01B:.+]] = arith.truncf %[[A01]] : f32 to bf16
// CHECK:           %[[PAIR:.+]] = vector.from_elements %[[A00B]], %[[A01B]] : vector<2xbf16>
// CHECK:           %[[WORD:.+]] = vector.bitcast %[[PAIR]] : vector<2xbf16> to vector<1xi32>
// CHECK:           %[[R0:.+]] = vector.extract %[[WORD]][0] : i32 from vector<1xi32>
// CHECK:           memref.load %[[AM]][%[[G8]], %[[COL]]]
// CHECK:           memref.load %[[AM]][%[[G8]], %[[COL1]]]
// CHECK:           %[[R1:.+]] = vector.extract
// CHECK:           %[[COL8:.+]] = arith.addi %[[COL]], %c8
// CHECK:           memref.load %[[AM]][%[[G]], %[[COL8]]]
// CHECK:           %[[COL9:.+]] = arith.addi %[[COL8]], %c1
// CHECK:           memref.load %[[AM]][%[[G]], %[[COL9]]]
// CHECK:           %[[R2:.+]] = vector.extract
// CHECK:           memref.load %[[AM]][%[[G8]], %[[COL8]]]
// CHECK:           memref.load %[[AM]][%[[G8]], %[[COL9]]]
// CHECK:           %[[R3:.+]] = vector.extract
// CHECK:           memref.load %[[BM:.+]][%[[COL]], %[[G]]]
// CHECK:           memref.load %[[BM]][%[[COL1]], %[[G]]]
// CHECK:           %[[R4:.+]] = vector.extract
// CHECK:           memref.load %[[BM]][%[[COL8]], %[[G]]]
// CHECK:           memref.load %[[BM]][%[[COL9]], %[[G]]]
// CHECK:           %[[R5:.+]] = vector.extract
// CHECK:           %[[MMA:.+]] = nvvm.mma.sync A[%[[R0]], %[[R1]], %[[R2]], %[[R3]]] B[%[[R4]], %[[R5]]] C[%[[X0]], %[[X1]], %[[X2]], %[[X3]]]
// CHECK-SAME:        layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>
// CHECK-SAME:        multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>
// CHECK-SAME:        shape = #nvvm.shape<m = 16, n = 8, k = 16>
// CHECK-SAME:        (i32, i32, f32) -> !llvm.struct<(f32, f32, f32, f32)>
// CHECK:           %[[E0:.+]] = llvm.extractvalue %[[MMA]][0]
// CHECK:           %[[E1:.+]] = llvm.extractvalue %[[MMA]][1]
// CHECK:           %[[E2:.+]] = llvm.extractvalue %[[MMA]][2]
// CHECK:           %[[E3:.+]] = llvm.extractvalue %[[MMA]][3]
// CHECK:           scf.yield %[[E0]], %[[E1]], %[[E2]], %[[E3]]
// CHECK:         memref.store %[[D]]#0, %[[CM]][%[[G]], %[[T2]]]
// CHECK:         memref.store %[[D]]#1, %[[CM]][%[[G]], %[[T21]]]
// CHECK:         memref.store %[[D]]#2, %[[CM]][%[[G8]], %[[T2]]]
// CHECK:         memref.store %[[D]]#3, %[[CM]][%[[G8]], %[[T21]]]
// CHECK-NOT:     linalg.generic
func.func @bf16_tile(%x: memref<16x32xf32>, %y: memref<32x8xf32>, %z: memref<16x8xf32>) {
  %c1 = arith.constant 1 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1) threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%x, %y : memref<16x32xf32>, memref<32x8xf32>) outs(%z : memref<16x8xf32>) attrs = {flt.mma = "bf16"} {
    ^bb0(%p: f32, %q: f32, %acc: f32):
      %m = arith.mulf %p, %q : f32
      %s = arith.addf %acc, %m : f32
      linalg.yield %s : f32
    }
    gpu.terminator
  }
  return
}

// -----

#aT = affine_map<(m, n, k) -> (k, m)>
#b = affine_map<(m, n, k) -> (k, n)>
#c = affine_map<(m, n, k) -> (m, n)>

// f16 operands of an f16 buffer read transposed: A(m, k) is loaded from
// x[k][m]; the registers are vector<2xf16>, not converted.
// CHECK-LABEL: func.func @f16_transposed_tile
// CHECK:         %[[G:.+]] = arith.divui
// CHECK:         scf.for %[[K:.+]] = %c0 to %c16 step %c16
// CHECK:           %[[COL:.+]] = arith.addi %{{.+}}, %[[K]]
// CHECK:           %[[A00:.+]] = memref.load %{{.+}}[%[[COL]], %[[G]]] : memref<16x16xf16>
// CHECK-NOT:       arith.truncf
// CHECK:           vector.from_elements %[[A00]], %{{.+}} : vector<2xf16>
// CHECK:           nvvm.mma.sync
// CHECK-SAME:        shape = #nvvm.shape<m = 16, n = 8, k = 16>
// CHECK-SAME:        (vector<2xf16>, vector<2xf16>, f32) -> !llvm.struct<(f32, f32, f32, f32)>
func.func @f16_transposed_tile(%x: memref<16x16xf16>, %y: memref<16x8xf16>, %z: memref<16x8xf32>) {
  %c1 = arith.constant 1 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1) threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    linalg.generic {indexing_maps = [#aT, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%x, %y : memref<16x16xf16>, memref<16x8xf16>) outs(%z : memref<16x8xf32>) attrs = {flt.mma = "f16"} {
    ^bb0(%p: f16, %q: f16, %acc: f32):
      %pe = arith.extf %p : f16 to f32
      %qe = arith.extf %q : f16 to f32
      %m = arith.mulf %pe, %qe : f32
      %s = arith.addf %acc, %m : f32
      linalg.yield %s : f32
    }
    gpu.terminator
  }
  return
}

// -----

#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#c = affine_map<(m, n, k) -> (m, n)>

// tf32, m16n8k8: A (g, k+t), (g+8, k+t), (g, k+t+4), (g+8, k+t+4); B
// (k+t, g), (k+t+4, g); each f32 bitcast to the i32 register.
// CHECK-LABEL: func.func @tf32_tile
// CHECK:         %[[G:.+]] = arith.divui
// CHECK:         %[[T:.+]] = arith.remui
// CHECK:         %[[G8:.+]] = arith.addi %[[G]], %c8
// CHECK:         scf.for %[[K:.+]] = %c0 to %c16 step %c8
// CHECK:           %[[COL:.+]] = arith.addi %[[T]], %[[K]]
// CHECK:           %[[A0:.+]] = memref.load %{{.+}}[%[[G]], %[[COL]]]
// CHECK:           arith.bitcast %[[A0]] : f32 to i32
// CHECK:           memref.load %{{.+}}[%[[G8]], %[[COL]]]
// CHECK:           %[[COL4:.+]] = arith.addi %[[COL]], %c4
// CHECK:           memref.load %{{.+}}[%[[G]], %[[COL4]]]
// CHECK:           memref.load %{{.+}}[%[[G8]], %[[COL4]]]
// CHECK:           memref.load %[[BM:.+]][%[[COL]], %[[G]]]
// CHECK:           memref.load %[[BM]][%[[COL4]], %[[G]]]
// CHECK:           nvvm.mma.sync
// CHECK-SAME:        multiplicandAPtxType = #nvvm.mma_type<tf32>
// CHECK-SAME:        shape = #nvvm.shape<m = 16, n = 8, k = 8>
func.func @tf32_tile(%x: memref<16x16xf32>, %y: memref<16x8xf32>, %z: memref<16x8xf32>) {
  %c1 = arith.constant 1 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1) threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%x, %y : memref<16x16xf32>, memref<16x8xf32>) outs(%z : memref<16x8xf32>) attrs = {flt.mma = "tf32"} {
    ^bb0(%p: f32, %q: f32, %acc: f32):
      %m = arith.mulf %p, %q : f32
      %s = arith.addf %acc, %m : f32
      linalg.yield %s : f32
    }
    gpu.terminator
  }
  return
}

// -----

#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#c = affine_map<(m, n, k) -> (m, n)>

func.func @not_a_warp_tile(%x: memref<32x16xf32>, %y: memref<16x8xf32>, %z: memref<32x8xf32>) {
  %c1 = arith.constant 1 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1) threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    // expected-error @+1 {{flt-contractions-to-mma: expects a 16 x 8 x (multiple of 16) warp tile of a contraction (flt-tile-contractions-to-warps)}}
    linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%x, %y : memref<32x16xf32>, memref<16x8xf32>) outs(%z : memref<32x8xf32>) attrs = {flt.mma = "bf16"} {
    ^bb0(%p: f32, %q: f32, %acc: f32):
      %m = arith.mulf %p, %q : f32
      %s = arith.addf %acc, %m : f32
      linalg.yield %s : f32
    }
    gpu.terminator
  }
  return
}

// -----

#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#c = affine_map<(m, n, k) -> (m, n)>

func.func @unknown_type(%x: memref<16x16xf32>, %y: memref<16x8xf32>, %z: memref<16x8xf32>) {
  %c1 = arith.constant 1 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1) threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    // expected-error @+1 {{flt-contractions-to-mma: 'flt.mma' must be "bf16", "f16" or "tf32"}}
    linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%x, %y : memref<16x16xf32>, memref<16x8xf32>) outs(%z : memref<16x8xf32>) attrs = {flt.mma = "fp8"} {
    ^bb0(%p: f32, %q: f32, %acc: f32):
      %m = arith.mulf %p, %q : f32
      %s = arith.addf %acc, %m : f32
      linalg.yield %s : f32
    }
    gpu.terminator
  }
  return
}

// -----

#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#c = affine_map<(m, n, k) -> (m, n)>

func.func @outside_a_kernel(%x: memref<16x16xf32>, %y: memref<16x8xf32>, %z: memref<16x8xf32>) {
  // expected-error @+1 {{flt-contractions-to-mma: warp tiles must be inside a GPU kernel (run flt-map-to-gpu first)}}
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %y : memref<16x16xf32>, memref<16x8xf32>) outs(%z : memref<16x8xf32>) attrs = {flt.mma = "bf16"} {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  return
}
