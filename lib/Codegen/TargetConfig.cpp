//===- TargetConfig.cpp - CompileOptions + target -> TargetConfig ---------===//
//
// The only place where a target's numbers (CPUTileConfig.h, GPUTileConfig.h)
// meet the user's options. The emulated GPU mapping takes the GPU's tiles and
// cost model (it tests the GPU's arithmetic) but runs on the CPU, unvectorized.
//
//===----------------------------------------------------------------------===//

#include "flt/Codegen/TargetConfig.h"

#include "flt/Codegen/CPU/CPUTileConfig.h"
#include "flt/Codegen/GPU/GPUTileConfig.h"

using namespace mlir;
using namespace mlir::flt;

/// The row of Options.def of the field `field`.
static const OptionInfo &optionInfo(llvm::StringRef field) {
  for (const OptionInfo &info : getOptionTable())
    if (info.field == field)
      return info;
  llvm_unreachable("no such option");
}

/// The user's value, or the target's where the option is 0.
static int64_t orTarget(int64_t value, int64_t target) {
  return value > 0 ? value : target;
}

FailureOr<TargetConfig> TargetConfig::get(const CompileOptions &options,
                                          bool hasAVX512, std::string &error,
                                          OptionSpelling spelling) {
  if (std::optional<std::string> violation =
          validateOptions(options, spelling)) {
    error = *violation;
    return failure();
  }
  bool cuda = options.target == "cuda";
  if (options.emit == "ptx" && !cuda) {
    error = "--emit=ptx needs --target=cuda";
    return failure();
  }
  if (options.emulateGPUMapping && cuda) {
    error = "--emulate-gpu-mapping is for --target=cpu";
    return failure();
  }

  if (options.threadsPerBlock % cuda::kWarpSize != 0) {
    error = spell(optionInfo("threadsPerBlock"), spelling).str() +
            " must be a multiple of " + std::to_string(cuda::kWarpSize) +
            " (whole warps), got " + std::to_string(options.threadsPerBlock);
    if (spelling == OptionSpelling::CLI)
      error = "--" + error;
    return failure();
  }

  TargetConfig config;
  config.kind = cuda                        ? Kind::CUDA
                : options.emulateGPUMapping ? Kind::EmulatedGPU
                                            : Kind::CPU;
  config.raiseAttention = options.raiseAttention;
  config.costs.linearAttentionForm = options.linearAttentionForm;
  config.costs.linearAttentionGrad = options.linearAttentionGrad;
  config.tiles.fuseKronecker = options.fuseKronecker;
  config.threadsPerBlock = options.threadsPerBlock;
  config.allowTF32 = options.allowTF32;

  if (config.isGPU()) {
    // No register tiling on the GPU: rows are not padded; value columns are
    // padded to the tensor-core tile width.
    config.tiles.tokenTile = orTarget(options.tokenTile, cuda::kTokenTile);
    config.tiles.valueSlice = orTarget(options.valueSlice, cuda::kValueSlice);
    config.tiles.rowMultiple = 1;
    config.tiles.columnMultiple = cuda::kColumnMultiple;
    config.tiles.keyBlocks = cuda::kKeyBlocks;
    config.tiles.featureGroup = 1;
    config.tiles.positionalGroup = cuda::kPositionalGroup;
    config.tiles.fftLanes = cuda::kFFTLanes;
    config.costs.quadraticFlopCost = cuda::kQuadraticFlopCost;
    config.costs.causalWalkFlopCost = cuda::kCausalWalkFlopCost;
    config.costs.toeplitzDirectCost = cuda::kToeplitzDirectSecondsPerUnit;
    config.costs.toeplitzFFTCost = cuda::kToeplitzFFTSecondsPerUnit;
    // The fused backward of linear attention has no GPU mapping yet: its
    // per-(batch, head) state passes would run as one block each. The
    // decomposition's linear attentions map like any other.
    if (options.linearAttentionGrad == "fused") {
      error = "--linear-attention-grad=fused is for --target=cpu (without "
              "--emulate-gpu-mapping)";
      return failure();
    }
    config.costs.linearAttentionGrad = "decomposed";
    config.mapToBlocks = true;
  } else {
    config.tiles.tokenTile = orTarget(options.tokenTile, cpu::kTokenTile);
    config.tiles.valueSlice = orTarget(options.valueSlice, cpu::kValueSlice);
    config.costs.quadraticFlopCost = cpu::kQuadraticFlopCost;
    config.costs.causalWalkFlopCost = cpu::kCausalWalkFlopCost;
    config.costs.toeplitzDirectCost = cpu::kToeplitzDirectSecondsPerUnit;
    config.costs.toeplitzFFTCost = cpu::kToeplitzFFTSecondsPerUnit;
  }

  // The CPU's register tile (also the padding of the CPU's tiles).
  config.registerRows =
      orTarget(options.registerRows,
               hasAVX512 ? cpu::kRegisterRowsAVX512 : cpu::kRegisterRowsAVX2);
  config.registerColumns = cpu::kRegisterColumns;
  config.registerColumnVectors = hasAVX512 ? cpu::kRegisterColumnVectorsAVX512
                                           : cpu::kRegisterColumnVectorsAVX2;
  if (config.kind == Kind::CPU) {
    config.tiles.rowMultiple = config.registerRows;
    config.tiles.columnMultiple = cpu::kRegisterColumns;
  }
  config.vectorize = options.vectorize && config.kind == Kind::CPU;
  config.parallel = options.parallel;
  config.threads = options.threads;

  if (cuda) {
    // sm_70 or newer (docs/Options.md), as "sm_" digits and an optional
    // "a" or "f" variant: anything else only fails later, in LLVM's NVPTX
    // target or in ptxas, with less to go on.
    llvm::StringRef chip = options.cudaChip;
    llvm::StringRef variant = chip.drop_front(
        std::min<size_t>(chip.size(), chip.find_first_not_of("0123456789", 3)));
    if (cuda::chipVersion(chip) < cuda::kFirstSupportedChip ||
        !(variant.empty() || variant == "a" || variant == "f")) {
      error = "unknown " + spell(optionInfo("cudaChip"), spelling).str() +
              " '" + chip.str() +
              "' (a CUDA architecture sm_70 or newer, e.g. " +
              cuda::kDefaultChip + ")";
      return failure();
    }
    config.chip = options.cudaChip;
    config.ptxFeatures = options.cudaFeatures;
    config.toolkit = options.cudaToolkit;
    config.binaryFormat = options.emit == "ptx" ? "isa" : options.binaryFormat;
    config.tensorCores =
        cuda::chipVersion(options.cudaChip) >= cuda::kFirstTensorCoreChip;
    // A budget the chip cannot give would compile, then fail every launch.
    int64_t maximum = cuda::maxSharedMemoryPerBlock(options.cudaChip);
    if (maximum >= 0) // what the kernels' static part leaves
      maximum -= cuda::kStaticSharedMemoryBytes;
    if (maximum >= 0 && options.sharedMemoryBytes > maximum) {
      error = "a block can use at most " + std::to_string(maximum) +
              " bytes of shared memory on " + options.cudaChip + ", not " +
              std::to_string(options.sharedMemoryBytes);
      return failure();
    }
    config.sharedMemoryBytes =
        options.sharedMemoryBytes >= 0
            ? options.sharedMemoryBytes
            : cuda::defaultSharedMemoryBytes(options.cudaChip);
  }
  return config;
}
