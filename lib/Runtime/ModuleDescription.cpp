//===- ModuleDescription.cpp - the strict parser of library descriptions --===//
//
// Reads the description of flt/Runtime/ModuleInfo.h line by line, in its
// fixed order, and checks every word: numbers are plain decimals within
// bounds (no sign, no leading zero, no overflow), names are C identifiers,
// element types and CPU features come from fixed lists. Anything else —
// an unknown or repeated item, a short or long shape, a stray space, a
// byte outside printable ASCII — is refused with its line number, so the
// runtime never builds a descriptor from a description it half understood.
// The host-CPU half (cpuid) of the feature check is here too.
//
//===----------------------------------------------------------------------===//

#include "flt/Runtime/ModuleDescription.h"

#include "flt/Runtime/ModuleInfo.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <set>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace flt {
namespace {

/// One line split into words at single spaces.
struct Line {
  size_t number = 0;
  std::string text;
  std::vector<std::string> words;
};

/// A line as it may appear in a message: at most 80 characters.
std::string quote(const std::string &text) {
  if (text.size() <= 80)
    return "'" + text + "'";
  return "'" + text.substr(0, 77) + "...'";
}

bool isIdentifier(const std::string &name) {
  if (name.empty() || name.size() > 1024 || (name[0] >= '0' && name[0] <= '9'))
    return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '_'))
      return false;
  return true;
}

/// A CPU name or version: letters, digits and . _ - +.
bool isToken(const std::string &word) {
  if (word.empty() || word.size() > 256)
    return false;
  for (char c : word)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' ||
          c == '+'))
      return false;
  return true;
}

/// A decimal in [0, max]: digits only, no leading zero (except "0").
bool parseDecimal(const std::string &word, int64_t max, int64_t &value) {
  if (word.empty() || word.size() > 19 || (word.size() > 1 && word[0] == '0'))
    return false;
  uint64_t result = 0;
  for (char c : word) {
    if (c < '0' || c > '9')
      return false;
    result = result * 10 + static_cast<uint64_t>(c - '0');
  }
  // 19 digits fit in uint64_t without overflow.
  if (result > static_cast<uint64_t>(max))
    return false;
  value = static_cast<int64_t>(result);
  return true;
}

class Parser {
public:
  Parser(const char *text, size_t size, std::string &error)
      : text(text), size(size), error(error) {}

  bool parse(ModuleDescription &description);

private:
  bool fail(const Line &line, const std::string &why) {
    error = "line " + std::to_string(line.number) + ": " + why;
    return false;
  }
  /// Splits the text into lines; false on a byte that has no place there.
  bool split();
  bool parseHeader(ModuleDescription &description);
  bool parseTensor(const Line &line, TensorType &tensor);
  bool expectWords(const Line &line, const char *key, size_t count,
                   const char *form);

  const char *text;
  size_t size;
  std::string &error;
  std::vector<Line> lines;
};

bool Parser::split() {
  if (size == 0) {
    error = "the description is empty";
    return false;
  }
  if (size > abi::kMaxDescriptionBytes) {
    error = "the description has " + std::to_string(size) +
            " bytes, more than the " +
            std::to_string(abi::kMaxDescriptionBytes) + " allowed";
    return false;
  }
  if (text[size - 1] != '\n') {
    error = "the description does not end with a newline";
    return false;
  }
  size_t start = 0;
  for (size_t i = 0; i < size; ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '\n') {
      Line line;
      line.number = lines.size() + 1;
      line.text.assign(text + start, i - start);
      lines.push_back(std::move(line));
      start = i + 1;
      continue;
    }
    if (c < 0x20 || c > 0x7e) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02x", c);
      error = "line " + std::to_string(lines.size() + 1) + ": byte " + hex +
              " at column " + std::to_string(i - start + 1) +
              " is not printable ASCII";
      return false;
    }
  }
  for (Line &line : lines) {
    if (line.text.empty())
      return fail(line, "empty line");
    if (line.text.front() == ' ' || line.text.back() == ' ' ||
        line.text.find("  ") != std::string::npos)
      return fail(line, "words must be separated by exactly one space: " +
                            quote(line.text));
    size_t from = 0;
    while (true) {
      size_t space = line.text.find(' ', from);
      line.words.push_back(line.text.substr(from, space - from));
      if (space == std::string::npos)
        break;
      from = space + 1;
    }
  }
  return true;
}

bool Parser::expectWords(const Line &line, const char *key, size_t count,
                         const char *form) {
  if (line.words[0] != key)
    return fail(line, std::string("expected '") + form + "', got " +
                          quote(line.text));
  if (line.words.size() != count)
    return fail(line, std::string("expected '") + form + "', got " +
                          quote(line.text));
  return true;
}

bool Parser::parseHeader(ModuleDescription &description) {
  if (lines.size() < 4) {
    error = "the description ends after " + std::to_string(lines.size()) +
            " line(s), before its first function";
    return false;
  }
  // The format first: an older or newer library gets a message about
  // versions, not about the first line it reads differently.
  const Line &format = lines[0];
  int64_t number = 0;
  if (!expectWords(format, "flt-module", 2, "flt-module <format>"))
    return false;
  if (!parseDecimal(format.words[1], 1000000, number))
    return fail(format, "bad format number " + quote(format.words[1]));
  description.format = static_cast<int>(number);
  if (number != abi::kFormatVersion)
    return fail(format, "format " + std::to_string(number) +
                            ", but this runtime reads format " +
                            std::to_string(abi::kFormatVersion) +
                            " (recompile the library with this flt-compile)");
  const Line &version = lines[1];
  if (!expectWords(version, "flt-version", 2, "flt-version <version>"))
    return false;
  if (!isToken(version.words[1]))
    return fail(version, "bad version " + quote(version.words[1]));
  description.version = version.words[1];
  const Line &target = lines[2];
  if (!expectWords(target, "target", 2, "target cpu|cuda"))
    return false;
  if (target.words[1] != "cpu" && target.words[1] != "cuda")
    return fail(target,
                "unknown target " + quote(target.words[1]) + " (cpu or cuda)");
  description.target = target.words[1];
  const Line &cpu = lines[3];
  if (cpu.words[0] != "cpu" || cpu.words.size() < 2)
    return fail(cpu,
                "expected 'cpu <name> <feature>...', got " + quote(cpu.text));
  if (!isToken(cpu.words[1]))
    return fail(cpu, "bad CPU name " + quote(cpu.words[1]));
  description.cpu = cpu.words[1];
  std::set<std::string> seen;
  for (size_t i = 2; i < cpu.words.size(); ++i) {
    const std::string &feature = cpu.words[i];
    if (!isCheckableCpuFeature(feature))
      return fail(cpu, "unknown CPU feature " + quote(feature));
    if (!seen.insert(feature).second)
      return fail(cpu, "CPU feature " + quote(feature) + " listed twice");
    description.cpuFeatures.push_back(feature);
  }
  return true;
}

bool Parser::parseTensor(const Line &line, TensorType &tensor) {
  const char *form = "<element> <rank> <size>...";
  if (line.words.size() < 3)
    return fail(line,
                line.words[0] + " needs " + form + ", got " + quote(line.text));
  std::optional<ElementType> element = parseElementType(line.words[1]);
  if (!element)
    return fail(line, "unknown element type " + quote(line.words[1]) +
                          " (f32, f16, bf16, f64, i32 or i64)");
  int64_t rank = 0;
  if (!parseDecimal(line.words[2], abi::kMaxRank, rank))
    return fail(line, "bad rank " + quote(line.words[2]) + " (0 to " +
                          std::to_string(abi::kMaxRank) + ")");
  if (line.words.size() != static_cast<size_t>(3 + rank))
    return fail(line, "rank " + std::to_string(rank) + " but " +
                          std::to_string(line.words.size() - 3) +
                          " size(s): " + quote(line.text));
  tensor.element = *element;
  tensor.shape.clear();
  for (int64_t i = 0; i < rank; ++i) {
    const std::string &word = line.words[3 + i];
    int64_t value = -1;
    if (word != "?" && !parseDecimal(word, INT64_MAX, value))
      return fail(line, "bad size " + quote(word) +
                            " (a non-negative decimal or '?')");
    tensor.shape.push_back(value);
  }
  return true;
}

bool Parser::parse(ModuleDescription &description) {
  if (!split() || !parseHeader(description))
    return false;
  std::set<std::string> names;
  size_t at = 4;
  if (at == lines.size()) {
    error = "the description has no function";
    return false;
  }
  while (at < lines.size()) {
    const Line &head = lines[at++];
    if (!expectWords(head, "function", 2, "function <name>"))
      return false;
    if (!isIdentifier(head.words[1]))
      return fail(head, "function name " + quote(head.words[1]) +
                            " is not a C identifier");
    if (!names.insert(head.words[1]).second)
      return fail(head, "function '" + head.words[1] + "' described twice");
    FunctionInfo function;
    function.name = head.words[1];
    // arg*, result*, constraint*, end: in this order.
    int stage = 0;
    bool ended = false;
    while (at < lines.size() && !ended) {
      const Line &line = lines[at++];
      const std::string &key = line.words[0];
      int lineStage = key == "arg"          ? 0
                      : key == "result"     ? 1
                      : key == "constraint" ? 2
                      : key == "end"        ? 3
                                            : -1;
      if (lineStage < 0)
        return fail(line, "unknown item " + quote(key) + " in function '" +
                              function.name + "'");
      if (lineStage < stage)
        return fail(line, "'" + key + "' after '" +
                              (stage == 1 ? "result" : "constraint") +
                              "' in function '" + function.name + "'");
      stage = lineStage;
      if (key == "end") {
        if (line.words.size() != 1)
          return fail(line, "expected 'end', got " + quote(line.text));
        ended = true;
      } else if (key == "constraint") {
        if (line.words.size() < 2)
          return fail(line, "a constraint needs a message");
        function.constraints.push_back(line.text.substr(11));
      } else {
        if (function.args.size() + function.results.size() >=
            static_cast<size_t>(abi::kMaxTensorsPerFunction))
          return fail(line, "function '" + function.name + "' has more than " +
                                std::to_string(abi::kMaxTensorsPerFunction) +
                                " tensors");
        TensorType tensor;
        if (!parseTensor(line, tensor))
          return false;
        (key == "arg" ? function.args : function.results).push_back(tensor);
      }
    }
    if (!ended) {
      error = "function '" + function.name + "' has no 'end' line";
      return false;
    }
    description.functions.push_back(std::move(function));
  }
  return true;
}

//===----------------------------------------------------------------------===//
// CPU features
//===----------------------------------------------------------------------===//

struct FeatureRow {
  const char *name;
  unsigned leaf, subleaf, reg;
  int bit;
  unsigned xcr0;
};

constexpr FeatureRow kFeatures[] = {
#define FLT_FEATURE_ROW(NAME, LEAF, SUBLEAF, REG, BIT, XCR0)                   \
  {NAME, LEAF, SUBLEAF, REG, BIT, XCR0},
    FLT_X86_FEATURES(FLT_FEATURE_ROW)
#undef FLT_FEATURE_ROW
};

#if defined(__x86_64__) || defined(__i386__)
std::vector<std::string> detectCpuFeatures() {
  unsigned maxBasic = __get_cpuid_max(0, nullptr);
  unsigned maxExtended = __get_cpuid_max(0x80000000, nullptr);
  auto query = [&](unsigned leaf, unsigned subleaf, unsigned regs[4]) {
    regs[0] = regs[1] = regs[2] = regs[3] = 0;
    unsigned max = leaf >= 0x80000000 ? maxExtended : maxBasic;
    if (leaf > max)
      return;
    __cpuid_count(leaf, subleaf, regs[0], regs[1], regs[2], regs[3]);
  };
  // The registers' state the operating system saves (XCR0), through
  // xgetbv, which exists where OSXSAVE (leaf 1, ECX bit 27) says so.
  unsigned leaf1[4];
  query(1, 0, leaf1);
  uint64_t xcr0 = 0;
  if (leaf1[2] & (1u << 27)) {
    unsigned low, high;
    __asm__ volatile("xgetbv" : "=a"(low), "=d"(high) : "c"(0));
    xcr0 = (static_cast<uint64_t>(high) << 32) | low;
  }
  unsigned leaf71[4];
  query(7, 1, leaf71);
  bool hasAVX10 = leaf71[3] & (1u << 19);
  std::vector<std::string> features;
  for (const FeatureRow &row : kFeatures) {
    unsigned regs[4];
    query(row.leaf, row.subleaf, regs);
    bool present =
        row.bit < 0
            ? hasAVX10 && static_cast<int>(regs[row.reg] & 0xff) >= -row.bit
            : (regs[row.reg] >> row.bit) & 1u;
    if (present && (xcr0 & row.xcr0) == row.xcr0)
      features.push_back(row.name);
  }
  return features;
}
#else
std::vector<std::string> detectCpuFeatures() { return {}; }
#endif

} // namespace

bool parseModuleDescription(const char *text, size_t size,
                            ModuleDescription &description,
                            std::string &error) {
  description = ModuleDescription();
  if (!text) {
    error = "no description";
    return false;
  }
  return Parser(text, size, error).parse(description);
}

bool isCheckableCpuFeature(const std::string &name) {
  for (const FeatureRow &row : kFeatures)
    if (name == row.name)
      return true;
  return false;
}

std::vector<std::string> hostCpuFeatures() {
  const char *simulated = std::getenv("FLT_TEST_CPU_FEATURES");
  if (!simulated)
    return detectCpuFeatures();
  std::vector<std::string> features;
  std::string word;
  for (const char *p = simulated;; ++p) {
    if (*p == '\0' || *p == ' ' || *p == ',') {
      if (!word.empty())
        features.push_back(word);
      word.clear();
      if (*p == '\0')
        break;
    } else {
      word += *p;
    }
  }
  return features;
}

std::vector<std::string>
missingCpuFeatures(const std::vector<std::string> &required) {
  std::vector<std::string> host = hostCpuFeatures();
  std::set<std::string> available(host.begin(), host.end());
  std::vector<std::string> missing;
  for (const std::string &feature : required)
    if (!available.count(feature))
      missing.push_back(feature);
  return missing;
}

} // namespace flt
