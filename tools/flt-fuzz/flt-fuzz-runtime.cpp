//===- flt-fuzz-runtime.cpp - libFuzzer targets for the runtime's readers -===//
//
// The two readers of untrusted bytes in libFLTRuntime, fuzzed without MLIR
// (this target compiles the runtime's sources in, with the sanitizers):
//
//   FLT_FUZZ_TARGET=npy        the .npy reader: each input is read from
//                              memory (readNpyBuffer) and as a file
//                              (readNpy on a memfd), which must agree —
//                              same verdict, same array;
//   FLT_FUZZ_TARGET=signature  the parser of library descriptions
//                              (parseModuleDescription): an accepted input
//                              must print back to exactly its own bytes,
//                              since the format has one spelling per
//                              description.
//
// A crash, a sanitizer report, a disagreement (trapped) or a hang is a
// finding. scripts/run-fuzzer.sh runs it long; test/fuzz/runtime_fuzzers.py
// runs a few thousand inputs of each in the test suite.
//
//===----------------------------------------------------------------------===//

#include "flt/Runtime/ModuleDescription.h"
#include "flt/Runtime/Npy.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

enum class Target { Npy, Signature };
Target target = Target::Npy;
int memoryFile = -1;

/// A description printed as flt-compile writes it (ModuleInfo.h).
std::string print(const flt::ModuleDescription &description) {
  std::string text = "flt-module " + std::to_string(description.format) +
                     "\nflt-version " + description.version + "\ntarget " +
                     description.target + "\ncpu " + description.cpu;
  for (const std::string &feature : description.cpuFeatures)
    text += " " + feature;
  text += "\n";
  auto tensor = [&](const char *key, const flt::TensorType &type) {
    text += std::string(key) + " " + flt::elementName(type.element) + " " +
            std::to_string(type.shape.size());
    for (int64_t size : type.shape)
      text += size < 0 ? " ?" : " " + std::to_string(size);
    text += "\n";
  };
  for (const flt::FunctionInfo &function : description.functions) {
    text += "function " + function.name + "\n";
    for (const flt::TensorType &type : function.args)
      tensor("arg", type);
    for (const flt::TensorType &type : function.results)
      tensor("result", type);
    for (const std::string &constraint : function.constraints)
      text += "constraint " + constraint + "\n";
    text += "end\n";
  }
  return text;
}

void fuzzSignature(const uint8_t *data, size_t size) {
  flt::ModuleDescription description;
  std::string error;
  if (!flt::parseModuleDescription(reinterpret_cast<const char *>(data), size,
                                   description, error)) {
    if (error.empty())
      __builtin_trap(); // a refusal always says why
    return;
  }
  if (print(description) !=
      std::string(reinterpret_cast<const char *>(data), size))
    __builtin_trap();
}

void fuzzNpy(const uint8_t *data, size_t size) {
  flt::HostTensor fromMemory, fromFile;
  std::string memoryError, fileError;
  bool memoryOk = flt::readNpyBuffer(data, size, fromMemory, memoryError);
  if (ftruncate(memoryFile, 0) != 0 ||
      pwrite(memoryFile, data, size, 0) != static_cast<ssize_t>(size))
    std::abort();
  std::string path = "/proc/self/fd/" + std::to_string(memoryFile);
  bool fileOk = flt::readNpy(path, fromFile, fileError);
  if (memoryOk != fileOk || (!memoryOk && memoryError.empty()) ||
      (!fileOk && fileError.empty()))
    __builtin_trap();
  if (memoryOk && (fromMemory.element() != fromFile.element() ||
                   fromMemory.shape() != fromFile.shape() ||
                   fromMemory.byteSize() != fromFile.byteSize() ||
                   (fromMemory.byteSize() > 0 &&
                    std::memcmp(fromMemory.data(), fromFile.data(),
                                fromMemory.byteSize()))))
    __builtin_trap();
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  const char *name = std::getenv("FLT_FUZZ_TARGET");
  std::string which = name ? name : "";
  if (which == "npy") {
    target = Target::Npy;
    memoryFile = memfd_create("flt-fuzz-npy", 0);
    if (memoryFile < 0) {
      std::perror("flt-fuzz-runtime: memfd_create");
      std::exit(1);
    }
  } else if (which == "signature") {
    target = Target::Signature;
  } else {
    std::fprintf(stderr, "flt-fuzz-runtime: set FLT_FUZZ_TARGET to npy or "
                         "signature\n");
    std::exit(1);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (target == Target::Npy)
    fuzzNpy(data, size);
  else
    fuzzSignature(data, size);
  return 0;
}
