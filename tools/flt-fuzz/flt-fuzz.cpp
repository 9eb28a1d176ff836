//===- flt-fuzz.cpp - libFuzzer target for the flt parser and pipelines ---===//
//
// Feeds arbitrary bytes to the MLIR parser with the flt dialect registered
// (plus func and builtin, so that ops sit in functions) once they pass the
// input check every tool runs first (flt/Support/SourceInput.h: deeper
// nesting overflows the parser's stack, and the tools refuse it), verifies
// them, and
// for modules that verify runs flt-cpu-pipeline (flt-decompose and the rest)
// down to the LLVM dialect. Diagnostics are swallowed: only crashes,
// sanitizer reports and hangs are findings. Build with -DFLT_BUILD_FUZZER=ON
// (see scripts/run-fuzzer.sh).
//
// The environment picks what runs after verification:
//   FLT_FUZZ_PARSE_ONLY=1   nothing: parsing and verifying run at thousands
//                           of inputs per second, a pipeline at tens;
//   FLT_FUZZ_PIPELINE=gpu   flt-gpu-pipeline instead, down to PTX (format
//                           isa: the GPU mapping, NVVM and the NVPTX
//                           backend run in process; ptxas is not called).
//
//===----------------------------------------------------------------------===//

#include "flt/Codegen/CPU/Passes.h"
#include "flt/Codegen/GPU/Passes.h"
#include "flt/Dialect/FLT/IR/FLTDialect.h"
#include "flt/InitAll.h"
#include "flt/Support/SourceInput.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"

#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>

using namespace mlir;

namespace {

/// Everything the pipeline may load, registered once; only flt, func and
/// builtin are loaded for parsing, so other dialects' syntax is rejected
/// early (their parsers and verifiers are not what is being fuzzed).
DialectRegistry &registry() {
  static DialectRegistry *instance = [] {
    auto *r = new DialectRegistry();
    flt::registerAllFLTDialects(*r);
    return r;
  }();
  return *instance;
}

} // namespace

/// One context for every input (building one per input would dominate the
/// cost); what inputs leave behind is uniqued types and attributes.
MLIRContext &sharedContext() {
  static MLIRContext *context = [] {
    auto *c = new MLIRContext(registry(), MLIRContext::Threading::DISABLED);
    c->getOrLoadDialect<flt::FLTDialect>();
    c->getOrLoadDialect<func::FuncDialect>();
    c->getDiagEngine().registerHandler([](Diagnostic &) { return success(); });
    return c;
  }();
  return *context;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  MLIRContext &context = sharedContext();
  StringRef text(reinterpret_cast<const char *>(data), size);
  if (flt::checkSourceText(text, "fuzz"))
    return 0;

  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(
      llvm::MemoryBuffer::getMemBufferCopy(text, "fuzz"), llvm::SMLoc());
  ParserConfig config(&context, /*verifyAfterParse=*/true);
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sourceMgr, config);
  static const bool parseOnly = getenv("FLT_FUZZ_PARSE_ONLY") != nullptr;
  if (!module || parseOnly)
    return 0;

  static const bool gpuPipeline = [] {
    const char *pipeline = getenv("FLT_FUZZ_PIPELINE");
    return pipeline && StringRef(pipeline) == "gpu";
  }();
  PassManager pm(&context);
  static const flt::TargetConfig target = [] {
    flt::CompileOptions options;
    options.target = gpuPipeline ? "cuda" : "cpu";
    options.emit = gpuPipeline ? "ptx" : "so";
    std::string error;
    return *flt::TargetConfig::get(options, /*hasAVX512=*/false, error,
                                   flt::OptionSpelling::CLI);
  }();
  if (gpuPipeline)
    flt::buildGPUPipeline(pm, target);
  else
    flt::buildCPUPipeline(pm, target);
  (void)pm.run(*module);
  return 0;
}
