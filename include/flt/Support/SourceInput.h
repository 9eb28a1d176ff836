//===- SourceInput.h - limits on the IR text flt's tools read ---*- C++ -*-===//
//
// Every entry point that hands text to the MLIR parser (flt-compile,
// flt-opt, the Python module) reads and checks it here first, so that no
// input makes them read forever or overflow their stack:
//
//  * only regular files (or stdin, "-", or /dev/null) are read, and at
//    most kMaxSourceBytes of them: a device (/dev/zero, /dev/urandom), a
//    FIFO or a directory is one error, and so is a longer file or stream;
//  * brackets ( [ { < (and runs of unary minus signs) may nest at most
//    kMaxSourceNesting deep: the MLIR parser, verifier, printer and passes
//    recurse once or more per nested type, attribute, region or
//    parenthesized expression, and 30,000 levels overflow an 8 MiB stack
//    (nested regions: about 2,000). The limit is far above anything real
//    (flt's tests and lowered kernels nest at most 7 deep) and 256 nested
//    regions go through mlir-opt's parser, canonicalizer and printer on a
//    1 MiB stack (512 do not).
//
//===----------------------------------------------------------------------===//

#ifndef FLT_SUPPORT_SOURCEINPUT_H
#define FLT_SUPPORT_SOURCEINPUT_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace mlir::flt {

/// The largest input the tools read (256 MiB).
constexpr uint64_t kMaxSourceBytes = 256ull << 20;
/// The deepest bracket nesting the tools accept.
constexpr unsigned kMaxSourceNesting = 256;

/// Reads `path` ("-": stdin), which must be a regular file (or stdin, or
/// /dev/null) of at most kMaxSourceBytes. On failure returns null and sets
/// `error` to a message that names the file.
std::unique_ptr<llvm::MemoryBuffer> readSourceFile(llvm::StringRef path,
                                                   std::string &error);

/// Checks `text` (MLIR) against kMaxSourceBytes and kMaxSourceNesting,
/// outside comments and string literals. Returns the violation as
/// "NAME:LINE:COL: ..." or nothing.
std::optional<std::string> checkSourceText(llvm::StringRef text,
                                           llvm::StringRef name);

/// readSourceFile, then checkSourceText on its contents.
std::unique_ptr<llvm::MemoryBuffer> openSource(llvm::StringRef path,
                                               std::string &error);

} // namespace mlir::flt

#endif // FLT_SUPPORT_SOURCEINPUT_H
