//===- Pipelines.h - registered flt pipelines -------------------*- C++ -*-===//

#ifndef FLT_PIPELINES_PIPELINES_H
#define FLT_PIPELINES_PIPELINES_H

#include "flt/Pipelines/CPUTileConfig.h"
#include "flt/Pipelines/GPUTileConfig.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

namespace mlir::flt {

/// Options of flt-cpu-pipeline.
struct CPUPipelineOptions : public PassPipelineOptions<CPUPipelineOptions> {
  PassOptions::Option<bool> raiseAttention{
      *this, "raise-attention",
      llvm::cl::desc("First raise attention written in linalg or TOSA into "
                     "flt ops (flt-raise-attention)"),
      llvm::cl::init(false)};
  PassOptions::Option<bool> fuseKronecker{
      *this, "fuse-kronecker",
      llvm::cl::desc("Form the Kronecker features of linear attention tile "
                     "by tile (false: materialize them)"),
      llvm::cl::init(true)};
  PassOptions::Option<std::string> linearAttentionForm{
      *this, "linear-attention-form",
      llvm::cl::desc("flt.linear_attention as: auto (the cheaper form by the "
                     "target's cost model), linear or quadratic"),
      llvm::cl::init("auto")};
  PassOptions::Option<int64_t> tokenTile{
      *this, "token-tile", llvm::cl::desc("Tokens per tile / causal chunk"),
      llvm::cl::init(cpu::kTokenTile)};
  PassOptions::Option<int64_t> valueSlice{
      *this, "value-slice",
      llvm::cl::desc("Value columns per parallel slice of the state"),
      llvm::cl::init(cpu::kValueSlice)};
  PassOptions::Option<int64_t> registerRows{
      *this, "register-rows",
      llvm::cl::desc("Accumulator rows of the contraction register tile "
                     "(4 for AVX2, 8 for AVX-512; see CPUTileConfig.h)"),
      llvm::cl::init(cpu::kRegisterRowsAVX2)};
  PassOptions::Option<bool> vectorize{
      *this, "vectorize",
      llvm::cl::desc("Tile the contractions to registers and vectorize them"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> parallel{
      *this, "parallel",
      llvm::cl::desc("Run the (batch, head, slice) loops on OpenMP threads"),
      llvm::cl::init(true)};
  PassOptions::Option<int64_t> threads{
      *this, "threads",
      llvm::cl::desc("OpenMP threads per parallel loop (0: decided at run "
                     "time, e.g. by flt-run --threads or OMP_NUM_THREADS)"),
      llvm::cl::init(0)};
  PassOptions::Option<bool> emulateGPUMapping{
      *this, "emulate-gpu-mapping",
      llvm::cl::desc("Distribute to blocks and threads as flt-gpu-pipeline "
                     "does (flt-distribute-to-threads), then run them "
                     "sequentially: tests the GPU mapping on the CPU"),
      llvm::cl::init(false)};
  PassOptions::Option<int64_t> threadsPerBlock{
      *this, "threads-per-block",
      llvm::cl::desc("Threads per emulated block (emulate-gpu-mapping)"),
      llvm::cl::init(cuda::kThreadsPerBlock)};
  PassOptions::Option<bool> allowTF32{
      *this, "allow-tf32",
      llvm::cl::desc(
          "Run the matrix products of f32 layers on TF32 tensor "
          "cores (10 mantissa bits; off by default, as in "
          "PyTorch); with emulate-gpu-mapping, tiles them to warps as "
          "the GPU does"),
      llvm::cl::init(false)};
};

/// flt (tensors) -> LLVM dialect for the host CPU.
void buildCPUPipeline(OpPassManager &pm, const CPUPipelineOptions &options);

/// Options of flt-gpu-pipeline.
struct GPUPipelineOptions : public PassPipelineOptions<GPUPipelineOptions> {
  PassOptions::Option<bool> raiseAttention{
      *this, "raise-attention",
      llvm::cl::desc("First raise attention written in linalg or TOSA into "
                     "flt ops (flt-raise-attention)"),
      llvm::cl::init(false)};
  PassOptions::Option<bool> fuseKronecker{
      *this, "fuse-kronecker",
      llvm::cl::desc("Form the Kronecker features of linear attention tile "
                     "by tile (false: materialize them)"),
      llvm::cl::init(true)};
  PassOptions::Option<std::string> linearAttentionForm{
      *this, "linear-attention-form",
      llvm::cl::desc("flt.linear_attention as: auto (the cheaper form by the "
                     "target's cost model), linear or quadratic"),
      llvm::cl::init("auto")};
  PassOptions::Option<int64_t> tokenTile{
      *this, "token-tile", llvm::cl::desc("Tokens per tile / causal chunk"),
      llvm::cl::init(cuda::kTokenTile)};
  PassOptions::Option<int64_t> valueSlice{
      *this, "value-slice",
      llvm::cl::desc("Value columns per block of the state"),
      llvm::cl::init(cuda::kValueSlice)};
  PassOptions::Option<int64_t> threadsPerBlock{
      *this, "threads-per-block", llvm::cl::desc("Threads per block"),
      llvm::cl::init(cuda::kThreadsPerBlock)};
  PassOptions::Option<int64_t> sharedMemoryBytes{
      *this, "shared-memory-bytes",
      llvm::cl::desc("Dynamic shared memory per block for staged tiles "
                     "(-1: 112 KiB, or the chip's maximum where less)"),
      llvm::cl::init(-1)};
  PassOptions::Option<bool> allowTF32{
      *this, "allow-tf32",
      llvm::cl::desc("Run the matrix products of f32 layers on TF32 tensor "
                     "cores (10 mantissa bits; off by default, as in "
                     "PyTorch)"),
      llvm::cl::init(false)};
  PassOptions::Option<std::string> chip{
      *this, "chip", llvm::cl::desc("CUDA architecture (e.g. sm_90)"),
      llvm::cl::init(cuda::kDefaultChip)};
  PassOptions::Option<std::string> features{
      *this, "features", llvm::cl::desc("PTX features (e.g. +ptx80)"),
      llvm::cl::init(cuda::kPTXFeatures)};
  PassOptions::Option<std::string> binaryFormat{
      *this, "format",
      llvm::cl::desc("What gpu-module-to-binary embeds: bin (cubin), isa "
                     "(PTX) or fatbin"),
      llvm::cl::init("bin")};
  PassOptions::Option<std::string> toolkit{
      *this, "toolkit",
      llvm::cl::desc("CUDA toolkit (ptxas, libdevice) for the cubin"),
      llvm::cl::init("/usr/local/cuda")};
};

/// flt (tensors) -> host LLVM dialect with the kernels embedded as a CUDA
/// binary (gpu.binary).
void buildGPUPipeline(OpPassManager &pm, const GPUPipelineOptions &options);

/// The tile shapes and the cost model of the flt -> linalg lowering a target
/// asks for.
struct LinalgTiles {
  int64_t tokenTile;
  int64_t valueSlice;
  /// Padded tile rows and value columns are multiples of these.
  int64_t rowMultiple;
  int64_t columnMultiple;
  /// Linear attention's keys in at most this many parallel blocks (0: one
  /// sequential pass per batch, head and slice).
  int64_t keyBlocks = 0;
  /// Features per Kronecker block of linear attention with rpe, or (when
  /// positionalGroup > 0) positional features per value block.
  int64_t featureGroup = 1;
  int64_t positionalGroup = 0;
  /// Complex columns per row of the FFT Toeplitz transforms.
  int64_t fftLanes = 16;
  /// Linear attention's form ("auto", "linear", "quadratic") and the cost
  /// model of "auto".
  std::string linearAttentionForm = "auto";
  double quadraticFlopCost = 1.0;
  double causalWalkFlopCost = 1.0;
  /// The outermost loops of the lowerings are GPU block loops from the
  /// start (kept at one iteration).
  bool mapToBlocks = false;
};

/// The stages both pipelines share: flt -> fused linalg loop nests on
/// tensors (optionally raising linalg/TOSA attention first), and
/// tensors -> buffers with deallocation.
void addFLTToLinalgStage(OpPassManager &pm, bool raiseAttention,
                         bool fuseKronecker, const LinalgTiles &tiles);
void addBufferizationStage(OpPassManager &pm);

/// Registers flt-cpu-pipeline and flt-gpu-pipeline.
void registerFLTPipelines();

} // namespace mlir::flt

#endif // FLT_PIPELINES_PIPELINES_H
