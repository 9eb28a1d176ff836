//===- GPUTileConfig.h - the GPU tile configuration -------------*- C++ -*-===//
//
// Every tile size and launch parameter the GPU pipeline uses, in one place,
// with the reason for it. Target: an sm_90 SM (H100: 228 KiB of shared
// memory and L1 per SM, up to 227 KiB of it per block, 64 K registers,
// 4 warp schedulers).
//
//===----------------------------------------------------------------------===//

#ifndef FLT_CODEGEN_GPU_GPUTILECONFIG_H
#define FLT_CODEGEN_GPU_GPUTILECONFIG_H

#include <algorithm>
#include <cstdint>
#include <string_view>

namespace mlir::flt::cuda {

/// Tokens per tile (and per causal chunk). A block stages one tile of keys
/// (32 × m), of positional features (32 × r) and of values in shared
/// memory; 32 tokens keep those at 8 + 4 KiB for m = 64, r = 32, so that
/// the state slice below fits next to them.
constexpr int64_t kTokenTile = 32;

/// Value columns per block of the linear-attention state. The state slice
/// is m·r × slice floats: 64 KiB at m = 64, r = 32 and 8 columns, which
/// with the staged tiles fits the shared-memory budget below, and e = 64
/// gives B·H·8 independent blocks (docs/Design.md: split the state by the value
/// dimension, never by m·r).
constexpr int64_t kValueSlice = 8;

/// Value columns are padded to a multiple of this: the n of one tensor-core
/// tile (mma m16n8k*). Padding to the CPU's 16-lane vectors instead would
/// double the state of an 8-column slice (and push it out of shared
/// memory).
constexpr int64_t kColumnMultiple = 8;

/// The oldest chip flt compiles for (Volta): CUDA 13's ptxas has dropped
/// the older ones.
constexpr int64_t kFirstSupportedChip = 70;

/// Tensor cores for f16/bf16 and TF32 (mma.sync m16n8k16 / m16n8k8) need
/// sm_80 or newer; older chips keep the SIMT mapping.
constexpr int64_t kFirstTensorCoreChip = 80;

/// Linear attention splits its keys into at most this many blocks whose
/// states are computed in parallel (then summed, or for causal attention
/// prefixed, with every block's chunk walk in parallel too): the state pass
/// runs B·H·(e / slice)·16 thread blocks, 128 at B·H = 1 and e = 64, about
/// one per SM of an H100, while the per-block states stay bounded
/// (16 × 64 KiB per head and slice at m = 64, r = 32, 8 columns).
constexpr int64_t kKeyBlocks = 16;

/// Positional features per value block of linear attention with rpe (the
/// value-block form, LinearAttention.cpp): every step of the positional
/// loop forms W = psi[:, 16] ⊗ v, [32 tokens, 16 · 8 columns] (16 KiB), in
/// shared memory and runs one product into the state, fkᵀ W: [64 × 128],
/// 64 tiles of 16 × 8, 8 per warp; the query pass runs fq · T[:, 16]
/// ([32 × 128], 4 tiles per warp) and weights it by phi. A block forms
/// 16 · 8 products per token and group where the feature-block form (fk ⊗
/// psi in [32, 4 r] blocks) formed 4 r = 128 per group of 4 features: per
/// token and value slice 256 instead of m · r = 2048, and it has 2 loop
/// steps (4 barriers) per tile of tokens instead of 16 (32 barriers), with
/// all 8 warps busy in the query pass instead of 2. r = 32 in one group
/// (32 KiB) would not leave room for two blocks per SM.
constexpr int64_t kPositionalGroup = 16;

/// Complex columns per row of the FFT Toeplitz transforms. A thread holds
/// the two rows of a butterfly (real and imaginary planes, f64) in
/// registers: 4 lanes make 32 registers, where the CPU's 16 lanes (128
/// registers) spilled 824 bytes per thread at the 128-register budget. The
/// narrower groups (7 value columns) also give e = 64 ten blocks per
/// (batch, head) instead of three.
constexpr int64_t kFFTLanes = 4;

/// The cost model that picks linear attention's form (see CPUTileConfig.h):
/// the plain FLOP model, not yet measured on a GPU. Both forms run their
/// products on tensor cores.
constexpr double kQuadraticFlopCost = 1.0;
constexpr double kCausalWalkFlopCost = 1.0;

/// The Toeplitz method's cost model: the CPU's constants (CPUTileConfig.h),
/// whose ratio is what decides; not yet measured on a GPU.
constexpr double kToeplitzDirectSecondsPerUnit = 4.7e-11;
constexpr double kToeplitzFFTSecondsPerUnit = 1.2e-8;

/// Threads per warp: blocks are whole warps (threads-per-block is a
/// multiple), the unit the warp tiles of matrix products are given to.
constexpr int64_t kWarpSize = 32;

/// Threads per block: 8 warps, enough to hide shared-memory latency while
/// several blocks share an SM.
constexpr int64_t kThreadsPerBlock = 256;

/// Dynamic shared memory a block may use for staged tiles and its state
/// slice; per-block buffers beyond it go to global memory (L2). Two blocks
/// of 112 KiB (plus the 1 KiB the hardware reserves per block) still share
/// an SM's 228 KiB; the state kernel needs 101 KiB at m = 64, r = 32 in
/// f32 (state slice 64, value block 16, staged tiles 21), 110 KiB with
/// bf16/f16 inputs (their key tile is widened to f32 once more).
/// On chips whose blocks may use less (sm_86/89: 99 KiB), the budget is
/// their maximum (defaultSharedMemoryBytes).
constexpr int64_t kSharedMemoryBytes = 112 * 1024;

/// The compute capability of `chip` as a number ("sm_90", "sm_90a": 90;
/// "sm_120": 120), or -1 if it is not sm_ followed by digits.
inline int chipVersion(std::string_view chip) {
  if (chip.substr(0, 3) != "sm_")
    return -1;
  int version = 0, digits = 0;
  for (char c : chip.substr(3)) {
    if (c < '0' || c > '9' || digits == 4)
      break;
    version = version * 10 + (c - '0');
    ++digits;
  }
  return digits ? version : -1;
}

/// The dynamic shared memory one block may opt into on `chip` ("sm_90",
/// "sm_86", ...; the CUDA C Programming Guide's table of compute
/// capabilities), or -1 for a chip this table does not know.
inline int64_t maxSharedMemoryPerBlock(std::string_view chip) {
  switch (chipVersion(chip)) {
  case 70:
  case 72:
    return 96 * 1024;
  case 75:
    return 64 * 1024;
  case 80:
  case 87:
    return 163 * 1024;
  case 86:
  case 89:
  case 120:
  case 121:
    return 99 * 1024;
  case 90:
  case 100:
  case 101:
  case 103:
  case 110:
    return 227 * 1024;
  default:
    return -1;
  }
}

/// Static shared memory of every kernel, which counts against the same
/// per-block maximum: MLIR's NVVM lowering declares the base of dynamic
/// shared memory as a 1-byte static variable, and the dynamic part starts
/// at the next 16-byte boundary.
constexpr int64_t kStaticSharedMemoryBytes = 16;

/// The budget when none is given: kSharedMemoryBytes, or what the chip's
/// maximum leaves next to the static part where that is less.
inline int64_t defaultSharedMemoryBytes(std::string_view chip) {
  int64_t maximum = maxSharedMemoryPerBlock(chip);
  if (maximum < 0)
    return kSharedMemoryBytes;
  return std::min(kSharedMemoryBytes, maximum - kStaticSharedMemoryBytes);
}

/// The default CUDA architecture (H100) and the PTX ISA CUDA 13 needs.
constexpr const char *kDefaultChip = "sm_90";
constexpr const char *kPTXFeatures = "+ptx80";

} // namespace mlir::flt::cuda

#endif // FLT_CODEGEN_GPU_GPUTILECONFIG_H
