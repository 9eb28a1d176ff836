//===- Passes.td - GPU codegen passes ----------------------*- tablegen -*-===//

#ifndef FLT_CODEGEN_GPU_PASSES_TD
#define FLT_CODEGEN_GPU_PASSES_TD

include "mlir/Pass/PassBase.td"

def FLTTileContractionsToWarps : Pass<"flt-tile-contractions-to-warps",
                                      "::mlir::func::FuncOp"> {
  let summary = "Tile matrix products inside GPU blocks to warp tiles for tensor cores";
  let description = [{
    Runs before flt-distribute-to-threads, on buffers. Inside every
    outermost `scf.forall` (a future block loop), a linalg op that is a
    matrix product C(m, n) += A * B (A indexed by (m, k) or (k, m), B by
    (k, n) or (n, k), float operands, f32 accumulator) with static sizes
    that are multiples of the `mma.sync` shape becomes a loop over warps,
    `scf.forall (%w) in (W)` mapped to `#gpu.warp<linear_dim_0>`: warp w
    computes the 16 x 8 output tiles w, w + W, ... (W = min(threads / 32,
    tiles)), each the op on subviews, marked `flt.mma = "<type>"` for
    flt-contractions-to-mma. Other contractions keep the SIMT mapping.

    The operand type follows the layer's precision: "bf16" when an argument
    or result of the function is bf16, else "f16" when one is f16 (mma
    m16n8k16); "tf32" (m16n8k8) for f32 layers only with `allow-tf32`
    (off by default, as in PyTorch: TF32 keeps 10 mantissa bits). The
    accumulator is f32 in every case; f32 tiles are rounded to the operand
    type as fragments are loaded. With `emulate-operand-rounding` that
    rounding is written into each warp tile's body instead (bf16/f16: round
    to nearest even; tf32: the low 13 bits dropped), for CPU runs of the
    mapping.

    ```mlir
    scf.forall (%h) in (8) {
      linalg.generic {indexing_maps = [(m, n, k) -> (m, k), (k, n), (m, n)],
                      iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%q, %s : memref<32x64xf32>, memref<64x16xf32>)
        outs(%o : memref<32x16xf32>) { mulf, addf }
    }
    ```

    becomes (in a function with bf16 arguments)

    ```mlir
    scf.forall (%h) in (8) {
      scf.forall (%w) in (4) {
        scf.for %t = %w to %c4 step %c4 {
          %mn:2 = affine.delinearize_index %t into (2, 2) : index, index
          %qt = memref.subview %q[%mn#0 * 16, 0] [16, 64] [1, 1] ...
          %st = memref.subview %s[0, %mn#1 * 8] [64, 8] [1, 1] ...
          %ot = memref.subview %o[%mn#0 * 16, %mn#1 * 8] [16, 8] [1, 1] ...
          linalg.generic ... ins(%qt, %st ...) outs(%ot ...) {flt.mma = "bf16"}
        }
      } {mapping = [#gpu.warp<linear_dim_0>]}
    }
    ```
  }];
  let options = [
    Option<"threads", "threads", "int64_t", /*default=*/"256",
           "Threads per block (a multiple of 32: whole warps)">,
    Option<"allowTF32", "allow-tf32", "bool", /*default=*/"false",
           "Run f32 layers' matrix products on TF32 tensor cores">,
    Option<"emulateOperandRounding", "emulate-operand-rounding", "bool",
           /*default=*/"false",
           "Round the inputs inside each warp tile's body to the operand "
           "type, so that running the tiles on the CPU computes what the "
           "tensor cores do (for --emulate-gpu-mapping)">,
  ];
  let dependentDialects = [
    "::mlir::affine::AffineDialect", "::mlir::arith::ArithDialect",
    "::mlir::gpu::GPUDialect", "::mlir::linalg::LinalgDialect",
    "::mlir::memref::MemRefDialect", "::mlir::scf::SCFDialect"
  ];
}

def FLTDistributeToThreads : Pass<"flt-distribute-to-threads",
                                  "::mlir::func::FuncOp"> {
  let summary = "Distribute bufferized linalg ops over the threads of GPU blocks";
  let description = [{
    The first half of the GPU mapping (docs/Design.md section 3), on buffers.
    Every outermost `scf.forall` becomes a loop over thread blocks (mapping
    `#gpu.block<linear_dim_i>`), or is one already (flt-convert-to-linalg's
    `map-to-blocks`, which keeps one-iteration loops through
    canonicalization). Inside one, every linalg op becomes a
    thread loop, `scf.forall (%t) in (threads)` mapped to `#gpu.thread<x>`,
    whose thread t computes the points p = t, t + threads, ... of the op's
    parallel dimensions (consecutive threads take consecutive points of the
    innermost dimension, so global loads and stores coalesce) and runs the
    reduction dimensions sequentially; each point is the op tiled to one
    parallel point (TilingInterface). Other writes inside a block (a lone
    `memref.store`) run on one thread. A linalg op outside every forall
    (host level) becomes its own grid: blocks of `threads` points.
    `memref.copy` is rewritten to `linalg.copy` first, so copies are
    distributed too. flt-map-to-gpu then turns the foralls into a
    `gpu.launch` with a barrier after every thread loop.

    ```mlir
    scf.forall (%h) in (8) {
      linalg.generic {iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%a, %b : memref<64x64xf32>, memref<64x32xf32>)
        outs(%c : memref<64x32xf32>) { ... }
    }
    ```

    becomes

    ```mlir
    scf.forall (%h) in (8) {
      scf.forall (%t) in (256) {
        scf.for %p = %t to %c2048 step %c256 {
          %ij:2 = affine.delinearize_index %p into (64, 32) : index, index
          %sa = memref.subview %a[%ij#0, 0] [1, 64] [1, 1] ...
          ...
          linalg.generic ... ins(%sa, %sb ...) outs(%sc : memref<1x1xf32, ...>)
        }
      } {mapping = [#gpu.thread<x>]}
    } {mapping = [#gpu.block<linear_dim_0>]}
    ```
  }];
  let options = [
    Option<"threads", "threads", "int64_t", /*default=*/"256",
           "Threads per block">,
  ];
  let dependentDialects = [
    "::mlir::affine::AffineDialect", "::mlir::arith::ArithDialect",
    "::mlir::gpu::GPUDialect", "::mlir::linalg::LinalgDialect",
    "::mlir::memref::MemRefDialect", "::mlir::scf::SCFDialect"
  ];
}

def FLTMapToGPU : Pass<"flt-map-to-gpu", "::mlir::func::FuncOp"> {
  let summary = "Turn block and thread foralls into gpu.launch; stage tile buffers in shared memory";
  let description = [{
    The second half of the GPU mapping, after flt-distribute-to-threads.
    Each block-mapped `scf.forall` becomes one `gpu.launch` whose grid is
    the forall's iteration count (block id delinearized back into the
    induction variables) and whose blocks have `threads` threads. Each
    thread loop inside becomes the thread id (guarded when it has fewer
    iterations than threads), followed by a `gpu.barrier`, so every write
    of one loop is visible to the next.

    Buffers allocated inside a block are per-block scratch. They are carved
    out of the block's dynamic shared memory while `shared-memory-bytes`
    lasts (tiles of q, k, v and features: this is where operands are staged)
    and otherwise out of one global buffer of per-block slices allocated
    around the launch. Host-level `memref.alloc` / `memref.dealloc` become
    `gpu.alloc` / `gpu.dealloc`: every buffer of the function lives on the
    device. Host code that would read or write a device buffer directly is
    rejected with a diagnostic.

    ```mlir
    scf.forall (%h) in (8) {
      %tile = memref.alloc() : memref<32x64xf32>
      scf.forall (%t) in (256) { ... } {mapping = [#gpu.thread<x>]}
    } {mapping = [#gpu.block<linear_dim_0>]}
    ```

    becomes

    ```mlir
    gpu.launch blocks(%bx, %by, %bz) in (%gx = %c8, ...) threads(%tx, %ty, %tz)
        in (%x = %c256, ...) dynamic_shared_memory_size %c8192 {
      %smem = gpu.dynamic_shared_memory : memref<?xi8, #gpu.address_space<workgroup>>
      %view = memref.view %smem[%c0][] : ... to memref<32x64xf32, #gpu.address_space<workgroup>>
      %tile = memref.memory_space_cast %view : ... to memref<32x64xf32>
      ...
      gpu.barrier
      gpu.terminator
    }
    ```
  }];
  let options = [
    Option<"threads", "threads", "int64_t", /*default=*/"256",
           "Threads per block (as in flt-distribute-to-threads)">,
    Option<"sharedMemoryBytes", "shared-memory-bytes", "int64_t",
           /*default=*/"98304",
           "Dynamic shared memory per block for staged tiles">,
  ];
  let dependentDialects = [
    "::mlir::affine::AffineDialect", "::mlir::arith::ArithDialect",
    "::mlir::gpu::GPUDialect", "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect"
  ];
}

def FLTContractionsToMMA : Pass<"flt-contractions-to-mma",
                                "::mlir::func::FuncOp"> {
  let summary = "Lower warp tiles marked flt.mma to nvvm.mma.sync";
  let description = [{
    Runs after flt-map-to-gpu, inside `gpu.launch`. Each linalg op marked
    `flt.mma` by flt-tile-contractions-to-warps (a 16 x 8 x K warp tile of
    a matrix product) becomes, in every lane of the warp: loads of its four
    f32 accumulators, a loop over K in steps of 16 (f16, bf16) or 8 (tf32)
    that loads the lane's A and B fragments, rounds them to the operand
    type, packs them into 32-bit registers and issues `nvvm.mma.sync`
    (layouts row.col, f32 accumulate), and stores of the accumulators. The
    fragment layouts are those of the PTX ISA for mma.m16n8k16 and
    mma.m16n8k8: lane l = 4 g + t holds A(g, 2t..2t+1), A(g+8, ...),
    A(g, 2t+8..), A(g+8, 2t+8..); B(2t..2t+1, g), B(2t+8..2t+9, g);
    C(g, 2t..2t+1), C(g+8, 2t..2t+1) (tf32: A(g, t), A(g+8, t), A(g, t+4),
    A(g+8, t+4); B(t, g), B(t+4, g)).

    ```mlir
    linalg.generic ... ins(%a, %b : memref<16x32xf32, ...>, memref<32x8xf32, ...>)
      outs(%c : memref<16x8xf32, ...>) {flt.mma = "bf16"} { mulf, addf }
    ```

    becomes

    ```mlir
    %lane = gpu.lane_id
    %g = arith.divui %lane, %c4 : index
    %t = arith.remui %lane, %c4 : index
    %c0 = memref.load %c[%g, %2t] ...          // and c1, c2, c3
    %acc:4 = scf.for %k = %c0 to %c32 step %c16 iter_args(...) {
      %a0 = memref.load %a[%g, %k + %2t] ...   // 8 A and 4 B elements
      %r0 = vector.from_elements (truncf %a0, truncf %a1) : vector<2xbf16>
      ...                                      // bitcast to i32 registers
      %d = nvvm.mma.sync A[%r0, %r1, %r2, %r3] B[%r4, %r5] C[...]
             {shape = #nvvm.shape<m = 16, n = 8, k = 16>, ...}
      scf.yield (llvm.extractvalue %d[0..3])
    }
    memref.store %acc#0, %c[%g, %2t] ...       // and the other three
    ```
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::gpu::GPUDialect",
    "::mlir::LLVM::LLVMDialect", "::mlir::NVVM::NVVMDialect",
    "::mlir::memref::MemRefDialect", "::mlir::scf::SCFDialect",
    "::mlir::vector::VectorDialect"
  ];
}

def FLTMergeGPUModules : Pass<"flt-merge-gpu-modules", "::mlir::ModuleOp"> {
  let summary = "Move every outlined kernel into one gpu.module";
  let description = [{
    `gpu-kernel-outlining` makes one `gpu.module` per kernel. This pass
    moves every kernel into the first module and retargets the
    `gpu.launch_func` ops, so that the library embeds one binary (one
    `cuModuleLoadData` when it is loaded) and `--emit=ptx` writes one PTX
    module that `ptxas` accepts. Modules with different targets are an
    error.

    ```mlir
    gpu.module @f_kernel { gpu.func @f_kernel(...) kernel { ... } }
    gpu.module @f_kernel_0 { gpu.func @f_kernel_0(...) kernel { ... } }
    gpu.launch_func @f_kernel_0::@f_kernel_0 ...
    ```

    becomes

    ```mlir
    gpu.module @f_kernel {
      gpu.func @f_kernel(...) kernel { ... }
      gpu.func @f_kernel_0(...) kernel { ... }
    }
    gpu.launch_func @f_kernel::@f_kernel_0 ...
    ```
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
}

def FLTSetKernelOccupancy : Pass<"flt-set-kernel-occupancy",
                                 "::mlir::ModuleOp"> {
  let summary = "Give each CUDA kernel a register budget through its minimum blocks per SM";
  let description = [{
    Runs after outlining. A kernel launched with a known block size carries
    `.maxntid` in its PTX, and ptxas then sizes registers for as many
    resident blocks as it likes: with 256 threads it caps the linear
    attention walk at 80 registers and spills. This pass sets
    `nvvm.minctasm` (PTX `.minnctapersm`) on every kernel with a known
    block size to max(1, 65536 / (threads · registers-per-thread)) blocks,
    which lets ptxas use up to `registers-per-thread` registers per thread.
    The shared-memory tiles already limit a block of flt's kernels to about
    two per SM, so the default budget, 128, costs no occupancy.

    ```mlir
    gpu.func @k() kernel attributes {known_block_size = array<i32: 256, 1, 1>}
    ```

    becomes

    ```mlir
    gpu.func @k() kernel attributes {known_block_size = array<i32: 256, 1, 1>,
                                     nvvm.minctasm = 2 : i32}
    ```
  }];
  let options = [
    Option<"registersPerThread", "registers-per-thread", "int64_t",
           /*default=*/"128",
           "Registers per thread ptxas may use">,
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect",
                           "::mlir::NVVM::NVVMDialect"];
}

#endif // FLT_CODEGEN_GPU_PASSES_TD
