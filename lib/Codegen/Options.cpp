//===- Options.cpp - the option table and what is made from it ------------===//
//
// Options.def is expanded once here into the table of OptionInfo rows;
// flt-compile's flags, the pipelines' pass options, the range checks and the
// Markdown reference all walk that table.
//
//===----------------------------------------------------------------------===//

#include "flt/Codegen/Options.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"

using namespace mlir;
using namespace mlir::flt;
namespace cl = llvm::cl;

bool mlir::flt::builtWithAddressSanitizer() {
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
  return true;
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
  return true;
#endif
  return false;
}

llvm::ArrayRef<OptionInfo> mlir::flt::getOptionTable() {
  static const std::vector<OptionInfo> table = [] {
    std::vector<OptionInfo> rows;
#define FLT_BOOL_OPTION(SCOPES, FIELD, CLI, PIPELINE, PYTHON, DEFAULT, HELP)   \
  {                                                                            \
    OptionInfo info{                                                           \
        OptionInfo::Kind::Bool, SCOPES, #FIELD, CLI, PIPELINE, PYTHON};        \
    info.help = HELP;                                                          \
    info.boolField = &CompileOptions::FIELD;                                   \
    rows.push_back(info);                                                      \
  }
#define FLT_INT_OPTION(SCOPES, FIELD, CLI, PIPELINE, PYTHON, DEFAULT, MIN,     \
                       MAX, HELP)                                              \
  {                                                                            \
    OptionInfo info{                                                           \
        OptionInfo::Kind::Int, SCOPES, #FIELD, CLI, PIPELINE, PYTHON};         \
    info.min = MIN;                                                            \
    info.max = MAX;                                                            \
    info.help = HELP;                                                          \
    info.intField = &CompileOptions::FIELD;                                    \
    rows.push_back(info);                                                      \
  }
#define FLT_STRING_OPTION(SCOPES, FIELD, CLI, PIPELINE, PYTHON, DEFAULT,       \
                          CHOICES, HELP)                                       \
  {                                                                            \
    OptionInfo info{                                                           \
        OptionInfo::Kind::String, SCOPES, #FIELD, CLI, PIPELINE, PYTHON};      \
    info.choices = CHOICES;                                                    \
    info.help = HELP;                                                          \
    info.stringField = &CompileOptions::FIELD;                                 \
    rows.push_back(info);                                                      \
  }
#include "flt/Codegen/Options.def"
    return rows;
  }();
  return table;
}

llvm::SmallVector<llvm::StringRef> OptionInfo::choiceList() const {
  llvm::SmallVector<llvm::StringRef> list;
  if (!choices.empty())
    choices.split(list, '|');
  return list;
}

std::string OptionInfo::valueText(const CompileOptions &options) const {
  switch (kind) {
  case Kind::Bool:
    return options.*boolField ? "true" : "false";
  case Kind::Int:
    return std::to_string(options.*intField);
  case Kind::String:
    return options.*stringField;
  }
  return "";
}

std::string OptionInfo::defaultText() const {
  return valueText(CompileOptions());
}

llvm::StringRef mlir::flt::spell(const OptionInfo &info,
                                 OptionSpelling spelling) {
  switch (spelling) {
  case OptionSpelling::CLI:
    return info.cli;
  case OptionSpelling::Pipeline:
    return info.pipeline;
  case OptionSpelling::Python:
    return info.python;
  }
  return info.field;
}

std::optional<std::string>
mlir::flt::validateOptions(const CompileOptions &options,
                           OptionSpelling spelling) {
  for (const OptionInfo &info : getOptionTable()) {
    std::string bare = spell(info, spelling).str();
    if (bare.empty())
      bare = info.field.str();
    std::string name = bare;
    if (spelling == OptionSpelling::CLI && !info.cli.empty())
      name = "--" + bare;
    if (info.kind == OptionInfo::Kind::Int) {
      int64_t value = options.*info.intField;
      if (value < info.min || value > info.max)
        return name + " in [" + std::to_string(info.min) + ", " +
               std::to_string(info.max) + "] required, got " +
               std::to_string(value);
    }
    if (info.kind == OptionInfo::Kind::String && !info.choices.empty()) {
      const std::string &value = options.*info.stringField;
      if (!llvm::is_contained(info.choiceList(), value))
        return "unknown " + bare + " '" + value +
               "' (supported: " + llvm::join(info.choiceList(), ", ") + ")";
    }
  }
  return std::nullopt;
}

std::string mlir::flt::formatOptionTable() {
  auto scopes = [](unsigned mask) {
    SmallVector<std::string> names;
    if (mask & OptionScope::Tool)
      names.push_back("tool");
    if (mask & OptionScope::CPU)
      names.push_back("cpu");
    if (mask & OptionScope::GPU)
      names.push_back("gpu");
    return llvm::join(names, ", ");
  };
  auto code = [](llvm::StringRef text, llvm::StringRef prefix = "") {
    return text.empty() ? std::string("—") : "`" + (prefix + text).str() + "`";
  };
  std::string out =
      "<!-- Generated by `flt-compile --print-option-table`; do not edit: "
      "change "
      "include/flt/Codegen/Options.def and regenerate (test/Tools/"
      "option_table.test fails until then). -->\n\n"
      "# Compiler options\n\n"
      "Every option of flt-compile, of the `flt-cpu-pipeline` / "
      "`flt-gpu-pipeline` pass pipelines and of Python's `flt.compile`, "
      "from the one table in `include/flt/Codegen/Options.def`. Scope: "
      "tool (flt-compile and flt.compile only), cpu, gpu (the pipeline it "
      "configures). A `--no-...` flag turns its option off.\n\n"
      "| flt-compile | pipeline | flt.compile | scope | default | valid | "
      "what it does |\n"
      "|---|---|---|---|---|---|---|\n";
  for (const OptionInfo &info : getOptionTable()) {
    std::string valid;
    if (info.kind == OptionInfo::Kind::Int)
      valid = "[" + std::to_string(info.min) + ", " + std::to_string(info.max) +
              "]";
    else if (info.kind == OptionInfo::Kind::Bool)
      valid = "true, false";
    else
      valid =
          info.choices.empty() ? "any" : llvm::join(info.choiceList(), ", ");
    // The one default that depends on how flt was built.
    std::string fallback = info.boolField == &CompileOptions::sanitizeAddress
                               ? "`false` (ASan builds: `true`)"
                               : "`" + info.defaultText() + "`";
    out += "| " + code(info.cli, "--") + " | " + code(info.pipeline) + " | " +
           code(info.python) + " | " + scopes(info.scopes) + " | " + fallback +
           " | " + valid + " | " + info.help.str() + " |\n";
  }
  return out;
}

//===----------------------------------------------------------------------===//
// flt-compile's flags
//===----------------------------------------------------------------------===//

struct CommandLineOptions::Storage {
  std::vector<std::pair<const OptionInfo *, std::unique_ptr<cl::opt<bool>>>>
      bools;
  std::vector<std::pair<const OptionInfo *, std::unique_ptr<cl::opt<int64_t>>>>
      ints;
  std::vector<
      std::pair<const OptionInfo *, std::unique_ptr<cl::opt<std::string>>>>
      strings;
};

CommandLineOptions::CommandLineOptions(cl::OptionCategory &category)
    : storage(std::make_unique<Storage>()) {
  CompileOptions defaults;
  for (const OptionInfo &info : getOptionTable()) {
    if (info.cli.empty())
      continue;
    switch (info.kind) {
    case OptionInfo::Kind::Bool:
      storage->bools.emplace_back(
          &info,
          std::make_unique<cl::opt<bool>>(
              info.cli, cl::desc(info.help),
              cl::init(info.isNegatedFlag() ? false : defaults.*info.boolField),
              cl::cat(category)));
      break;
    case OptionInfo::Kind::Int:
      storage->ints.emplace_back(&info, std::make_unique<cl::opt<int64_t>>(
                                            info.cli, cl::desc(info.help),
                                            cl::init(defaults.*info.intField),
                                            cl::cat(category)));
      break;
    case OptionInfo::Kind::String:
      storage->strings.emplace_back(
          &info,
          std::make_unique<cl::opt<std::string>>(
              info.cli, cl::desc(info.help),
              cl::init(defaults.*info.stringField),
              cl::value_desc(info.choices.empty() ? "value" : info.choices),
              cl::cat(category)));
      break;
    }
  }
}

CommandLineOptions::~CommandLineOptions() = default;

CompileOptions CommandLineOptions::get() const {
  CompileOptions options;
  for (auto &[info, opt] : storage->bools)
    options.*info->boolField =
        info->isNegatedFlag() ? !opt->getValue() : opt->getValue();
  for (auto &[info, opt] : storage->ints)
    options.*info->intField = opt->getValue();
  for (auto &[info, opt] : storage->strings)
    options.*info->stringField = opt->getValue();
  return options;
}

//===----------------------------------------------------------------------===//
// The pipelines' options
//===----------------------------------------------------------------------===//

template <unsigned Scope> mlir::flt::PipelineOptions<Scope>::PipelineOptions() {
  CompileOptions defaults;
  for (const OptionInfo &info : getOptionTable()) {
    if (info.pipeline.empty() || !(info.scopes & Scope))
      continue;
    switch (info.kind) {
    case OptionInfo::Kind::Bool:
      bools.emplace_back(&info,
                         std::make_unique<detail::PassOptions::Option<bool>>(
                             *this, info.pipeline, cl::desc(info.help),
                             cl::init(defaults.*info.boolField)));
      break;
    case OptionInfo::Kind::Int:
      ints.emplace_back(&info,
                        std::make_unique<detail::PassOptions::Option<int64_t>>(
                            *this, info.pipeline, cl::desc(info.help),
                            cl::init(defaults.*info.intField)));
      break;
    case OptionInfo::Kind::String:
      strings.emplace_back(
          &info, std::make_unique<detail::PassOptions::Option<std::string>>(
                     *this, info.pipeline, cl::desc(info.help),
                     cl::init(defaults.*info.stringField)));
      break;
    }
  }
}

template <unsigned Scope>
CompileOptions mlir::flt::PipelineOptions<Scope>::get() const {
  CompileOptions options;
  options.target = Scope == OptionScope::GPU ? "cuda" : "cpu";
  for (auto &[info, opt] : bools)
    options.*info->boolField = opt->getValue();
  for (auto &[info, opt] : ints)
    options.*info->intField = opt->getValue();
  for (auto &[info, opt] : strings)
    options.*info->stringField = opt->getValue();
  return options;
}

template struct mlir::flt::PipelineOptions<OptionScope::CPU>;
template struct mlir::flt::PipelineOptions<OptionScope::GPU>;
