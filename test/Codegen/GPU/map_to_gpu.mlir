// RUN: flt-opt %s --split-input-file --verify-diagnostics --flt-distribute-to-threads=threads=128 --flt-map-to-gpu="threads=128 shared-memory-bytes=4096" | FileCheck %s

// One launch per block loop: 8 blocks of 128 threads. The 32 x 16 tile
// (2 KiB) is staged in dynamic shared memory; the thread loops become the
// thread id, each followed by a barrier. Host buffers are device buffers.
// CHECK-LABEL: func.func @staged_tile
// CHECK:         %[[OUT:.+]] = gpu.alloc () : memref<8x32x16xf32>
// CHECK:         gpu.launch blocks({{.+}}) in (%{{.+}} = %c8{{.*}}, %{{.+}} = %c1{{.*}}, %{{.+}} = %c1{{.*}}) threads({{.+}}) in (%{{.+}} = %c128{{.*}}, {{.+}}) dynamic_shared_memory_size %c2048_i32
// CHECK:           %[[SMEM:.+]] = gpu.dynamic_shared_memory : memref<?xi8, #gpu.address_space<workgroup>>
// CHECK:           %[[VIEW:.+]] = memref.view %[[SMEM]][%{{.+}}][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<32x16xf32, #gpu.address_space<workgroup>>
// CHECK:           %[[TILE:.+]] = memref.memory_space_cast %[[VIEW]] : memref<32x16xf32, #gpu.address_space<workgroup>> to memref<32x16xf32>
// CHECK:           %[[T:.+]] = gpu.thread_id x
// CHECK:           scf.for %{{.+}} = %[[T]] to %c512 step %c128
// CHECK:             linalg.copy
// CHECK:           gpu.barrier
// CHECK:           gpu.thread_id x
// CHECK:           scf.for
// CHECK:             linalg.generic
// CHECK:           gpu.barrier
// CHECK:           gpu.terminator
// CHECK:         return %[[OUT]]
func.func @staged_tile(%x: memref<8x32x16xf32>) -> memref<8x32x16xf32> {
  %out = memref.alloc() : memref<8x32x16xf32>
  scf.forall (%h) in (8) {
    %tile = memref.alloc() : memref<32x16xf32>
    %xh = memref.subview %x[%h, 0, 0] [1, 32, 16] [1, 1, 1] : memref<8x32x16xf32> to memref<32x16xf32, strided<[16, 1], offset: ?>>
    memref.copy %xh, %tile : memref<32x16xf32, strided<[16, 1], offset: ?>> to memref<32x16xf32>
    %oh = memref.subview %out[%h, 0, 0] [1, 32, 16] [1, 1, 1] : memref<8x32x16xf32> to memref<32x16xf32, strided<[16, 1], offset: ?>>
    linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]}
        ins(%tile : memref<32x16xf32>) outs(%oh : memref<32x16xf32, strided<[16, 1], offset: ?>>) {
    ^bb0(%a: f32, %b: f32):
      %s = arith.mulf %a, %a : f32
      linalg.yield %s : f32
    }
    memref.dealloc %tile : memref<32x16xf32>
  }
  return %out : memref<8x32x16xf32>
}

// -----

// A per-block buffer larger than the shared-memory budget (4 KiB here) is
// a slice of one global buffer of (bytes per block) x (blocks), allocated
// around the launch; the partial tile min(32, n - i) reserves its upper
// bound, 32 rows.
// CHECK-LABEL: func.func @global_scratch
// CHECK:         %[[SCRATCH:.+]] = gpu.alloc (%{{.+}}) : memref<?xi8>
// CHECK:         gpu.launch
// CHECK-NOT:       dynamic_shared_memory_size
// CHECK:           %[[BYTE:.+]] = arith.muli %{{.+}}, %c8192
// CHECK:           memref.view %[[SCRATCH]][%{{.+}}][%{{.+}}] : memref<?xi8> to memref<?x64xf32>
// CHECK:           gpu.terminator
// CHECK:         gpu.dealloc %[[SCRATCH]] : memref<?xi8>
func.func @global_scratch(%x: memref<?x64xf32>) {
  %c0 = arith.constant 0 : index
  %n = memref.dim %x, %c0 : memref<?x64xf32>
  scf.forall (%i) = (0) to (%n) step (32) {
    %rows = affine.min affine_map<(d0)[s0] -> (32, s0 - d0)>(%i)[%n]
    %tile = memref.alloc(%rows) : memref<?x64xf32>
    %xi = memref.subview %x[%i, 0] [%rows, 64] [1, 1] : memref<?x64xf32> to memref<?x64xf32, strided<[64, 1], offset: ?>>
    memref.copy %xi, %tile : memref<?x64xf32, strided<[64, 1], offset: ?>> to memref<?x64xf32>
    memref.copy %tile, %xi : memref<?x64xf32> to memref<?x64xf32, strided<[64, 1], offset: ?>>
  }
  return
}

// -----

func.func @host_reads_device_memory(%x: memref<4xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  // expected-error @below {{flt-map-to-gpu: host code would access a device buffer directly (memref.load)}}
  %v = memref.load %x[%c0] : memref<4xf32>
  return %v : f32
}

// -----

// A warp loop (flt-tile-contractions-to-warps) runs its body on every lane
// of warps 0 .. 2 (tid / 32; 4 warps of 128 threads, the fourth idle),
// then a barrier.
// CHECK-LABEL: func.func @warp_loop
// CHECK:         gpu.launch
// CHECK:           %[[TID:.+]] = gpu.thread_id x
// CHECK:           %[[WARP:.+]] = arith.divui %[[TID]], %c32
// CHECK:           %[[ACTIVE:.+]] = arith.cmpi ult, %[[WARP]], %c3
// CHECK:           scf.if %[[ACTIVE]] {
// CHECK:             memref.store %{{.+}}, %{{.+}}[%{{.+}}, %[[WARP]]]
// CHECK:           }
// CHECK:           gpu.barrier
func.func @warp_loop(%x: memref<8x3xf32>) {
  %one = arith.constant 1.0 : f32
  scf.forall (%h) in (8) {
    scf.forall (%w) in (3) {
      memref.store %one, %x[%h, %w] : memref<8x3xf32>
    } {mapping = [#gpu.warp<linear_dim_0>]}
  }
  return
}

// -----

func.func @too_many_warps(%x: memref<8x5xf32>) {
  %one = arith.constant 1.0 : f32
  scf.forall (%h) in (8) {
    // expected-error @+1 {{flt-map-to-gpu: a warp loop must run 0 to at most 4 in steps of 1}}
    scf.forall (%w) in (5) {
      memref.store %one, %x[%h, %w] : memref<8x5xf32>
    } {mapping = [#gpu.warp<linear_dim_0>]}
  }
  return
}
