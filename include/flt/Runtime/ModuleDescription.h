//===- ModuleDescription.h - a library's description, parsed ---*- C++ -*-===//
//
// The one parser of the description a compiled library embeds
// (flt/Runtime/ModuleInfo.h) and the check of the CPU features it records
// against the host's. The parser is strict: it takes exactly what
// flt-compile writes and refuses anything else with the line and the
// reason, so that an edited or damaged description is never half-read
// (the runtime builds the kernels' descriptors from it).
//
//===----------------------------------------------------------------------===//

#ifndef FLT_RUNTIME_MODULEDESCRIPTION_H
#define FLT_RUNTIME_MODULEDESCRIPTION_H

#include "flt/Runtime/Runtime.h"

#include <string>
#include <vector>

namespace flt {

struct ModuleDescription {
  int format = 0;
  std::string version;
  /// "cpu" or "cuda".
  std::string target;
  /// The LLVM CPU name the host code was compiled for, and the
  /// FLT_X86_FEATURES it may use.
  std::string cpu;
  std::vector<std::string> cpuFeatures;
  std::vector<FunctionInfo> functions;
};

/// Parses `size` bytes of description. False, with the reason in `error`
/// ("line 4: ..."), unless the text is exactly in the form of ModuleInfo.h.
bool parseModuleDescription(const char *text, size_t size,
                            ModuleDescription &description, std::string &error);

/// Whether `name` is one of FLT_X86_FEATURES.
bool isCheckableCpuFeature(const std::string &name);

/// The FLT_X86_FEATURES this CPU (and its operating system) supports. The
/// environment variable FLT_TEST_CPU_FEATURES, a space- or comma-separated
/// list, replaces the detected set: tests use it to play an older CPU.
std::vector<std::string> hostCpuFeatures();

/// The features of `required` that hostCpuFeatures() lacks, in order.
std::vector<std::string>
missingCpuFeatures(const std::vector<std::string> &required);

} // namespace flt

#endif // FLT_RUNTIME_MODULEDESCRIPTION_H
