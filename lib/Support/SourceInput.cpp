//===- SourceInput.cpp - limits on the IR text flt's tools read -----------===//

#include "flt/Support/SourceInput.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/Errc.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/FileSystem.h"

using namespace mlir;
using namespace mlir::flt;

namespace {

std::string tooLarge(llvm::StringRef name) {
  return (name + ": the input is larger than " +
          std::to_string(kMaxSourceBytes >> 20) + " MiB, flt's limit")
      .str();
}

/// stdin, at most kMaxSourceBytes of it (it may be endless: `< /dev/zero`).
std::unique_ptr<llvm::MemoryBuffer> readStdin(std::string &error) {
  llvm::SmallVector<char, 0> data;
  llvm::sys::fs::file_t handle = llvm::sys::fs::getStdinHandle();
  constexpr size_t kChunk = 1 << 16;
  while (true) {
    size_t used = data.size();
    data.resize_for_overwrite(used + kChunk);
    llvm::Expected<size_t> read = llvm::sys::fs::readNativeFile(
        handle, llvm::MutableArrayRef<char>(data.data() + used, kChunk));
    if (!read) {
      error = "<stdin>: " + llvm::toString(read.takeError());
      return nullptr;
    }
    data.truncate(used + *read);
    if (*read == 0)
      break;
    if (data.size() > kMaxSourceBytes) {
      error = tooLarge("<stdin>");
      return nullptr;
    }
  }
  return llvm::MemoryBuffer::getMemBufferCopy(
      llvm::StringRef(data.data(), data.size()), "<stdin>");
}

} // namespace

std::unique_ptr<llvm::MemoryBuffer>
mlir::flt::readSourceFile(llvm::StringRef path, std::string &error) {
  if (path == "-")
    return readStdin(error);
  llvm::sys::fs::file_status status;
  if (std::error_code ec = llvm::sys::fs::status(path, status)) {
    error = ("cannot open input file '" + path + "': " + ec.message()).str();
    return nullptr;
  }
  // A device or FIFO may never end; a directory is no source. /dev/null is
  // an empty file.
  bool devNull = false;
  if (status.type() == llvm::sys::fs::file_type::character_file) {
    llvm::sys::fs::file_status null;
    devNull = !llvm::sys::fs::status("/dev/null", null) &&
              llvm::sys::fs::equivalent(status, null);
  }
  if (devNull)
    return llvm::MemoryBuffer::getMemBuffer("", path);
  if (status.type() != llvm::sys::fs::file_type::regular_file) {
    error =
        (path + ": not a regular file (flt reads files or stdin, '-')").str();
    return nullptr;
  }
  if (status.getSize() > kMaxSourceBytes) {
    error = tooLarge(path);
    return nullptr;
  }
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buffer =
      llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                  /*RequiresNullTerminator=*/true);
  if (!buffer) {
    error = ("cannot open input file '" + path +
             "': " + buffer.getError().message())
                .str();
    return nullptr;
  }
  // It grew between the two looks.
  if ((*buffer)->getBufferSize() > kMaxSourceBytes) {
    error = tooLarge(path);
    return nullptr;
  }
  return std::move(*buffer);
}

std::optional<std::string> mlir::flt::checkSourceText(llvm::StringRef text,
                                                      llvm::StringRef name) {
  if (text.size() > kMaxSourceBytes)
    return tooLarge(name);
  // A stack of open brackets. '>' closes only a '<' on top ("->" and ">="
  // are no brackets); another closer drops the unclosed '<' above its
  // opener, so a stray '<' does not count for long.
  llvm::SmallVector<char, 64> open;
  // Consecutive unary minus signs nest too (the affine expression parser
  // recurses once per sign: "- - - d0").
  unsigned minusRun = 0;
  unsigned line = 1;
  size_t lineStart = 0;
  auto tooDeep = [&](size_t i) {
    return (name + ":" + llvm::Twine(line) + ":" +
            llvm::Twine(i - lineStart + 1) +
            ": brackets or signs nest deeper than " +
            llvm::Twine(kMaxSourceNesting) +
            " levels, flt's limit (nested types, attributes, regions or "
            "expressions)")
        .str();
  };
  for (size_t i = 0, e = text.size(); i < e; ++i) {
    char c = text[i];
    if (c != '-' && c != ' ' && c != '\t' && c != '\n' && c != '\r')
      minusRun = 0;
    switch (c) {
    case '\n':
      ++line;
      lineStart = i + 1;
      break;
    case '/':
      if (i + 1 < e && text[i + 1] == '/')
        while (i + 1 < e && text[i + 1] != '\n')
          ++i;
      break;
    case '"':
      // To the closing quote; escapes skip a character. A string does not
      // span lines in MLIR, but a newline inside one is still counted.
      for (++i; i < e && text[i] != '"'; ++i) {
        if (text[i] == '\\')
          ++i;
        else if (text[i] == '\n') {
          ++line;
          lineStart = i + 1;
        }
      }
      break;
    case '-':
      if (i + 1 < e && text[i + 1] == '>') {
        ++i;
        minusRun = 0;
      } else if (open.size() + ++minusRun > kMaxSourceNesting) {
        return tooDeep(i);
      }
      break;
    case '<':
      if (i + 1 < e && text[i + 1] == '=') {
        ++i;
        break;
      }
      [[fallthrough]];
    case '(':
    case '[':
    case '{':
      open.push_back(c);
      if (open.size() > kMaxSourceNesting)
        return tooDeep(i);
      break;
    case '>':
      if (!open.empty() && open.back() == '<')
        open.pop_back();
      break;
    case ')':
    case ']':
    case '}': {
      char opener = c == ')' ? '(' : c == ']' ? '[' : '{';
      size_t at = open.size();
      while (at > 0 && open[at - 1] == '<')
        --at;
      if (at > 0 && open[at - 1] == opener)
        open.truncate(at - 1);
      break;
    }
    default:
      break;
    }
  }
  return std::nullopt;
}

std::unique_ptr<llvm::MemoryBuffer> mlir::flt::openSource(llvm::StringRef path,
                                                          std::string &error) {
  std::unique_ptr<llvm::MemoryBuffer> buffer = readSourceFile(path, error);
  if (!buffer)
    return nullptr;
  if (std::optional<std::string> violation =
          checkSourceText(buffer->getBuffer(), buffer->getBufferIdentifier())) {
    error = *violation;
    return nullptr;
  }
  return buffer;
}
