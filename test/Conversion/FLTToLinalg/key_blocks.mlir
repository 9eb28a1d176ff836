// Causal linear attention with key-blocks: the sequence (L = 4096) in
// 16 blocks of 256 tokens (8 chunks of 32), three parallel phases: the
// states of every block of every (b, h, slice) in parallel, the exclusive
// prefix over blocks per (b, h, slice), then every block's chunk walk from
// its prefix in parallel. Without the option: one sequential walk per
// (b, h, slice), so a single head gives only e / slice parallel loops.
// RUN: flt-opt %s --flt-select-algorithm --flt-convert-to-linalg="key-blocks=16 token-tile=32 value-slice=8 column-multiple=8" | FileCheck %s --check-prefix=BLOCKS
// RUN: flt-opt %s --flt-select-algorithm --flt-convert-to-linalg="token-tile=32 value-slice=8 column-multiple=8" | FileCheck %s --check-prefix=WALK
// RUN: not flt-opt %s --flt-select-algorithm --flt-convert-to-linalg=key-blocks=-1 2>&1 | FileCheck %s --check-prefix=NEGATIVE

// NEGATIVE: error: flt-convert-to-linalg: token-tile, value-slice, row-multiple, column-multiple, feature-group and fft-lanes must be positive, key-blocks and positional-group non-negative

// BLOCKS-LABEL: func.func @full
// BLOCKS:       %[[OWN:.+]]:2 = scf.forall (%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}) in (1, 8, 8, 16) shared_outs({{.+}}) -> (tensor<1x8x8x16x64x32x8xf32>, tensor<1x8x8x16x64x32xf32>)
// BLOCKS:       %[[SUM:.+]]:2 = scf.forall (%{{.+}}, %{{.+}}, %{{.+}}) in (1, 8, 8) shared_outs({{.+}}) -> (tensor<1x8x8x64x32x8xf32>, tensor<1x8x8x64x32xf32>)
// BLOCKS:         scf.for %[[K:.+]] = %c0 to %c16 step %c1
// BLOCKS:           tensor.extract_slice %[[OWN]]#0[%{{.+}}, %{{.+}}, %{{.+}}, %[[K]], 0, 0, 0]
// BLOCKS:           linalg.add
// BLOCKS:           linalg.add
// BLOCKS:       scf.forall (%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}) = (0, 0, 0, 0) to (1, 8, 4096, 64) step (1, 1, 32, 8)
// BLOCKS:         tensor.extract_slice %[[SUM]]#0
// BLOCKS-NOT:   scf.forall (
// BLOCKS:       return

// BLOCKS-LABEL: func.func @causal
// Phase 1: per-block states [B, H, slices, blocks, m, r, columns] (and
// normalizer states), each the sum over the block's 256 keys.
// BLOCKS:       %[[STATES:.+]]:2 = scf.forall (%{{.+}}, %{{.+}}, %{{.+}}, %[[BLK:[a-z0-9]+]]) in (1, 8, 8, 16) shared_outs({{.+}}) -> (tensor<1x8x8x16x64x32x8xf32>, tensor<1x8x8x16x64x32xf32>)
// BLOCKS:         %[[START:.+]] = arith.muli %[[BLK]], %c256
// BLOCKS:         scf.for %{{.+}} = %[[START]] to %{{.+}} step %c32
// BLOCKS:       } {{.*}}
// Phase 2: the exclusive prefix, block by block.
// BLOCKS:       %[[PREFIX:.+]]:2 = scf.forall (%{{.+}}, %{{.+}}, %{{.+}}) in (1, 8, 8) shared_outs(
// BLOCKS:         scf.for %[[K:.+]] = %c0 to %c16 step %c1
// BLOCKS:           tensor.insert_slice
// BLOCKS:           %[[OWN:.+]] = tensor.extract_slice %[[STATES]]#0[%{{.+}}, %{{.+}}, %{{.+}}, %[[K]], 0, 0, 0]
// BLOCKS:           linalg.add ins(%[[ACC:.+]], %[[OWN]] : tensor<64x32x8xf32>, tensor<64x32x8xf32>) outs(%[[ACC]] : tensor<64x32x8xf32>)
// BLOCKS:           linalg.add ins(%{{.+}}, %{{.+}} : tensor<64x32xf32>, tensor<64x32xf32>)
// Phase 3: every block's walk from its prefix.
// BLOCKS:       scf.forall (%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}) in (1, 8, 8, 16) shared_outs(
// BLOCKS:         tensor.extract_slice %[[PREFIX]]#0
// BLOCKS:         tensor.extract_slice %[[PREFIX]]#1
// BLOCKS:         scf.for
// BLOCKS-NOT:   scf.forall (
// BLOCKS:       return

// WALK-LABEL: func.func @full
// WALK:         scf.forall (%{{.+}}, %{{.+}}, %{{.+}}) in (1, 8, 8)
// WALK:         scf.forall (%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}) = (0, 0, 0, 0) to (1, 8, 4096, 64) step (1, 1, 32, 8)
// WALK-NOT:     scf.forall (
// WALK:         return

// WALK-LABEL: func.func @causal
// WALK:         scf.forall (%{{.+}}, %{{.+}}, %{{.+}}) = (0, 0, 0) to (1, 8, 64) step (1, 1, 8)
// WALK-NOT:     scf.forall (
// WALK:         return

func.func @full(%fq: tensor<1x8x4096x64xf32>, %fk: tensor<1x8x4096x64xf32>, %v: tensor<1x8x4096x64xf32>, %phi: tensor<1x8x4096x32xf32>, %psi: tensor<1x8x4096x32xf32>) -> tensor<1x8x4096x64xf32> {
  %o = flt.linear_attention %fq, %fk, %v rpe(%phi, %psi) : tensor<1x8x4096x64xf32>, tensor<1x8x4096x64xf32>, tensor<1x8x4096x64xf32>, tensor<1x8x4096x32xf32>, tensor<1x8x4096x32xf32> -> tensor<1x8x4096x64xf32>
  return %o : tensor<1x8x4096x64xf32>
}

func.func @causal(%fq: tensor<1x8x4096x64xf32>, %fk: tensor<1x8x4096x64xf32>, %v: tensor<1x8x4096x64xf32>, %phi: tensor<1x8x4096x32xf32>, %psi: tensor<1x8x4096x32xf32>) -> tensor<1x8x4096x64xf32> {
  %o = flt.linear_attention %fq, %fk, %v rpe(%phi, %psi) {causal = true} : tensor<1x8x4096x64xf32>, tensor<1x8x4096x64xf32>, tensor<1x8x4096x64xf32>, tensor<1x8x4096x32xf32>, tensor<1x8x4096x32xf32> -> tensor<1x8x4096x64xf32>
  return %o : tensor<1x8x4096x64xf32>
}
