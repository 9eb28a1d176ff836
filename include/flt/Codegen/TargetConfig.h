//===- TargetConfig.h - everything a target decides, built once -*- C++ -*-===//
//
// The tiles, cost-model constants and launch limits of one compilation,
// built once from the user's options and the target (the CPU's features or
// the CUDA chip) and passed down to every stage as one struct. The numbers
// themselves, each with the measurement or arithmetic behind it, live in
// CPU/CPUTileConfig.h and GPU/GPUTileConfig.h; an option of 0 (token-tile,
// value-slice, register-rows) means "the target's".
//
//   CompileOptions (Options.def)  --TargetConfig::get-->  TargetConfig
//     --> addFLTToLinalgStage (select-algorithm, convert-to-linalg)
//     --> buildCPUPipeline / buildGPUPipeline
//
//===----------------------------------------------------------------------===//

#ifndef FLT_CODEGEN_TARGETCONFIG_H
#define FLT_CODEGEN_TARGETCONFIG_H

#include "flt/Codegen/Options.h"

#include "mlir/Support/LLVM.h"

#include <string>

namespace mlir::flt {

/// What flt-convert-to-linalg is asked to build (its pass options).
struct LoweringTiles {
  /// Form the Kronecker features tile by tile (false: the unfused reference).
  bool fuseKronecker = true;
  int64_t tokenTile = 0;
  int64_t valueSlice = 0;
  /// Padded tile rows and value columns are multiples of these.
  int64_t rowMultiple = 1;
  int64_t columnMultiple = 1;
  /// Linear attention's keys in at most this many parallel blocks (0: one
  /// sequential pass per batch, head and slice).
  int64_t keyBlocks = 0;
  /// Features per Kronecker block of linear attention with rpe, or (when
  /// positionalGroup > 0) positional features per value block.
  int64_t featureGroup = 1;
  int64_t positionalGroup = 0;
  /// Complex columns per row of the FFT Toeplitz transforms.
  int64_t fftLanes = 16;
};

/// What flt-select-algorithm decides with (its pass options): the form of
/// linear attention ("auto", "linear", "quadratic"), the target's cost per
/// FLOP of the quadratic form and of the causal chunk walk relative to the
/// non-causal linear form, and the seconds per unit of work of the two
/// Toeplitz methods.
struct AlgorithmCosts {
  std::string linearAttentionForm = "auto";
  /// Reverse mode's flt.linear_attention_grad: "auto" (fused where the
  /// linear form is cheaper) or "decomposed" (targets without the fused
  /// backward lowering).
  std::string linearAttentionGrad = "auto";
  double quadraticFlopCost = 1.0;
  double causalWalkFlopCost = 1.0;
  double toeplitzDirectCost = 0.0;
  double toeplitzFFTCost = 0.0;
};

struct TargetConfig {
  enum class Kind {
    CPU,         ///< --target=cpu
    CUDA,        ///< --target=cuda
    EmulatedGPU, ///< --target=cpu --emulate-gpu-mapping: the GPU's blocks,
                 ///< warps and threads run one after another on the CPU
  };
  Kind kind = Kind::CPU;

  /// First raise attention written in linalg/TOSA (flt-raise-attention).
  bool raiseAttention = false;
  LoweringTiles tiles;
  AlgorithmCosts costs;
  /// The lowerings' outermost loops are GPU block loops from the start
  /// (flt-map-forall-to-blocks), so a loop of one iteration stays a kernel.
  bool mapToBlocks = false;

  //--- CPU code generation ---------------------------------------------//
  bool vectorize = true;
  bool parallel = true;
  /// OpenMP threads per parallel loop (0: decided at run time).
  int64_t threads = 0;
  /// The contraction register tile (flt-vectorize).
  int64_t registerRows = 0;
  int64_t registerColumns = 0;
  int64_t registerColumnVectors = 1;

  //--- GPU code generation and launch limits ------------------------------//
  int64_t threadsPerBlock = 0;
  /// Dynamic shared memory per block for staged tiles.
  int64_t sharedMemoryBytes = 0;
  /// Matrix products on tensor cores (sm_80+); f32 ones only with TF32.
  bool tensorCores = false;
  bool allowTF32 = false;
  std::string chip, ptxFeatures, binaryFormat, toolkit;

  bool isGPU() const { return kind != Kind::CPU; }

  /// The configuration `options` ask for. `hasAVX512`: the CPU the kernels
  /// are compiled for has AVX-512 (register tiles; --target=cpu only).
  /// Failure (with `error` set) when an option is out of its range or the
  /// target cannot give what is asked (a shared-memory budget above the
  /// chip's maximum, --emulate-gpu-mapping with --target=cuda).
  static FailureOr<TargetConfig> get(const CompileOptions &options,
                                     bool hasAVX512, std::string &error,
                                     OptionSpelling spelling);
};

} // namespace mlir::flt

#endif // FLT_CODEGEN_TARGETCONFIG_H
