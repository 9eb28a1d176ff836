//===- flt-compile.cpp - compile an flt module to a shared library --------===//
//
//   flt-compile IN.mlir -o OUT.so [--target=cpu] [--emit=so|obj|llvm|mlir]
//               [--cpu=native] [--token-tile=N] [--value-slice=N]
//               [--register-rows=N]
//               [--raise-attention]
//               [--no-fusion] [--no-vectorize] [--no-parallel]
//               [--kernel-threads=N]
//
// Every public func.func (ranked tensor arguments and results, static or
// dynamic sizes) becomes an entry point that libFLTRuntime and flt-run call.
//
//===----------------------------------------------------------------------===//

#include "flt/Compiler/Compiler.h"
#include "flt/Dialect/FLT/IR/FLTDialect.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Support/FileUtilities.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
namespace cl = llvm::cl;

static cl::OptionCategory category("flt-compile options");
static cl::opt<std::string> inputPath(cl::Positional, cl::desc("<input.mlir>"),
                                      cl::init("-"), cl::cat(category));
static cl::opt<std::string> outputPath("o", cl::desc("Output file"),
                                       cl::value_desc("path"), cl::Required,
                                       cl::cat(category));
static cl::opt<std::string> target("target",
                                   cl::desc("Target: cpu (default) or cuda"),
                                   cl::init("cpu"), cl::cat(category));
static cl::opt<std::string>
    cudaChip("cuda-chip", cl::desc("CUDA architecture for --target=cuda"),
             cl::init("sm_90"), cl::cat(category));
static cl::opt<flt::EmitKind> emit(
    "emit", cl::desc("What to write"), cl::init(flt::EmitKind::SharedLibrary),
    cl::values(clEnumValN(flt::EmitKind::SharedLibrary, "so",
                          "a shared library (default)"),
               clEnumValN(flt::EmitKind::Object, "obj", "an object file"),
               clEnumValN(flt::EmitKind::LLVMIR, "llvm", "optimized LLVM IR"),
               clEnumValN(flt::EmitKind::MLIR, "mlir",
                          "the fully lowered MLIR module"),
               clEnumValN(flt::EmitKind::PTX, "ptx",
                          "the kernels' PTX (--target=cuda)")),
    cl::cat(category));
static cl::opt<std::string>
    cpu("cpu", cl::desc("LLVM CPU for --target=cpu (default: this machine's)"),
        cl::init("native"), cl::cat(category));
static cl::opt<int64_t> tokenTile(
    "token-tile",
    cl::desc("Tokens per tile / causal chunk (default: 64 on the CPU, 32 "
             "with CUDA)"),
    cl::init(0), cl::cat(category));
static cl::opt<int64_t>
    valueSlice("value-slice",
               cl::desc("Value columns per parallel slice of the state "
                        "(default: 32 on the CPU, 8 with CUDA)"),
               cl::init(0), cl::cat(category));
static cl::opt<int64_t> registerRows(
    "register-rows",
    cl::desc("Accumulator rows of the contraction register tile (default: 8 "
             "with AVX-512, else 4)"),
    cl::init(0), cl::cat(category));
static cl::opt<bool>
    noFusion("no-fusion",
             cl::desc("Materialize the Kronecker features of linear "
                      "attention (the unfused reference pipeline)"),
             cl::init(false), cl::cat(category));
static cl::opt<bool>
    raiseAttention("raise-attention",
                   cl::desc("Raise attention written in linalg or TOSA "
                            "(torch-mlir output) into flt ops first"),
                   cl::init(false), cl::cat(category));
static cl::opt<std::string> linearAttentionForm(
    "linear-attention-form",
    cl::desc("flt.linear_attention as: auto (default; the cheaper form by "
             "the target's cost model, decided at run time for dynamic "
             "sizes), linear (the state) or quadratic (tile by tile)"),
    cl::init("auto"));
static cl::opt<bool> noVectorize("no-vectorize",
                                 cl::desc("Keep the contractions scalar"),
                                 cl::init(false), cl::cat(category));
static cl::opt<bool> noParallel("no-parallel",
                                cl::desc("No OpenMP threads in the kernels"),
                                cl::init(false), cl::cat(category));
static cl::opt<bool> sanitizeAddress(
    "sanitize-address",
    cl::desc("Instrument the kernels with AddressSanitizer (default: on when "
             "flt itself is built with it)"),
    cl::init(flt::builtWithAddressSanitizer()), cl::cat(category));
static cl::opt<int64_t>
    threads("kernel-threads",
            cl::desc("OpenMP threads per parallel loop, fixed at compile time "
                     "(0: chosen at run time)"),
            cl::init(0), cl::cat(category));

static cl::opt<int64_t>
    threadsPerBlock("threads-per-block",
                    cl::desc("Threads per block with --target=cuda"),
                    cl::init(flt::cuda::kThreadsPerBlock), cl::cat(category));
static cl::opt<int64_t> sharedMemory(
    "shared-memory",
    cl::desc("Bytes of shared memory per block for staged tiles with "
             "--target=cuda (default: 112 KiB, or the chip's maximum where "
             "less)"),
    cl::init(-1), cl::cat(category));
static cl::opt<bool> allowTF32(
    "allow-tf32",
    cl::desc("--target=cuda: run the matrix products of f32 layers on TF32 "
             "tensor cores (10 mantissa bits; off by default, as in "
             "PyTorch). f16/bf16 layers always use f16/bf16 tensor cores"),
    cl::init(false), cl::cat(category));
static cl::opt<std::string>
    cudaToolkit("cuda-toolkit",
                cl::desc("CUDA toolkit with ptxas and libdevice"),
                cl::init("/usr/local/cuda"), cl::cat(category));
static cl::opt<bool> emulateGPUMapping(
    "emulate-gpu-mapping",
    cl::desc("--target=cpu: map the kernels to blocks and threads as for "
             "CUDA, then run them one after another on the CPU (a test of "
             "the GPU mapping without a GPU)"),
    cl::init(false), cl::cat(category));

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(argc, argv,
                              "flt-compile: flt module -> shared library\n");

  if (tokenTile < 0 || valueSlice < 0 || threads < 0 || registerRows < 0 ||
      threadsPerBlock < 1 || threadsPerBlock > 1024 || sharedMemory < -1) {
    llvm::errs() << "flt-compile: error: --token-tile, --value-slice, "
                    "--kernel-threads and --register-rows must be "
                    "non-negative, --threads-per-block in [1, 1024] and "
                    "--shared-memory non-negative\n";
    return 1;
  }

  DialectRegistry registry;
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registry.insert<flt::FLTDialect>();
  MLIRContext context(registry);
  context.disableMultithreading();

  std::string error;
  std::unique_ptr<llvm::MemoryBuffer> input = openInputFile(inputPath, &error);
  if (!input) {
    llvm::errs() << "flt-compile: error: " << error << "\n";
    return 1;
  }
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(std::move(input), llvm::SMLoc());
  SourceMgrDiagnosticHandler diagnostics(sourceMgr, &context);
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sourceMgr, &context);
  if (!module)
    return 1;

  flt::CompileOptions options;
  options.target = target;
  options.cpu = cpu;
  options.cudaChip = cudaChip;
  options.cudaToolkit = cudaToolkit;
  options.threadsPerBlock = threadsPerBlock;
  options.sharedMemoryBytes = sharedMemory;
  options.allowTF32 = allowTF32;
  options.emulateGPUMapping = emulateGPUMapping;
  options.emit = emit;
  options.raiseAttention = raiseAttention;
  options.fuseKronecker = !noFusion;
  options.linearAttentionForm = linearAttentionForm;
  options.tokenTile = tokenTile;
  options.valueSlice = valueSlice;
  options.vectorize = !noVectorize;
  options.registerRows = registerRows;
  options.sanitizeAddress = sanitizeAddress;
  options.parallel = !noParallel;
  options.threads = threads;
  if (failed(flt::compileModule(*module, options, outputPath)))
    return 1;
  return 0;
}
