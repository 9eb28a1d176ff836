//===- Compiler.h - flt module -> shared library ----------------*- C++ -*-===//

#ifndef FLT_COMPILER_COMPILER_H
#define FLT_COMPILER_COMPILER_H

#include "flt/Pipelines/CPUTileConfig.h"
#include "flt/Pipelines/GPUTileConfig.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

namespace mlir::flt {

/// What flt-compile writes.
enum class EmitKind { SharedLibrary, Object, LLVMIR, MLIR, PTX };

struct CompileOptions {
  /// "cpu" or "cuda".
  std::string target = "cpu";
  /// CUDA architecture for --target=cuda.
  std::string cudaChip = cuda::kDefaultChip;
  /// CUDA toolkit whose ptxas and libdevice build the cubin.
  std::string cudaToolkit = "/usr/local/cuda";
  /// flt-gpu-pipeline's block size and shared-memory budget (-1: the
  /// chip's default, cuda::defaultSharedMemoryBytes).
  int64_t threadsPerBlock = cuda::kThreadsPerBlock;
  int64_t sharedMemoryBytes = -1;
  /// f32 layers' matrix products on TF32 tensor cores (--target=cuda, and
  /// the warp tiling of the emulated mapping).
  bool allowTF32 = false;
  /// --target=cpu only: distribute the kernels to blocks and threads as
  /// flt-gpu-pipeline does, then run blocks and threads one after another
  /// on the CPU (checks the GPU mapping's arithmetic without a GPU).
  bool emulateGPUMapping = false;
  /// LLVM CPU name for --target=cpu ("native": this machine's CPU).
  std::string cpu = "native";
  EmitKind emit = EmitKind::SharedLibrary;
  // flt-cpu-pipeline options.
  bool raiseAttention = false;
  bool fuseKronecker = true;
  /// flt.linear_attention's form: "auto" (by the target's cost model),
  /// "linear" or "quadratic".
  std::string linearAttentionForm = "auto";
  /// Tile sizes; 0 picks the target's (CPUTileConfig.h, GPUTileConfig.h).
  int64_t tokenTile = 0;
  int64_t valueSlice = 0;
  /// Register-tile rows; 0 picks them from the target CPU (AVX-512: 8,
  /// otherwise 4).
  int64_t registerRows = 0;
  bool vectorize = true;
  bool parallel = true;
  int64_t threads = 0;
  /// Instrument the kernels with AddressSanitizer (they then only load into
  /// a process that carries the ASan runtime, such as a sanitizer build of
  /// flt-run). On by default when flt itself is built with FLT_SANITIZE
  /// containing `address`.
  bool sanitizeAddress = false;
};

/// Whether this flt was built with AddressSanitizer.
bool builtWithAddressSanitizer();

/// Compiles every public function of `module` (ranked tensor arguments and
/// results) and writes the requested artifact to `outputPath`. Diagnostics
/// go to the module's context; returns failure after reporting one.
LogicalResult compileModule(ModuleOp module, const CompileOptions &options,
                            StringRef outputPath);

} // namespace mlir::flt

#endif // FLT_COMPILER_COMPILER_H
