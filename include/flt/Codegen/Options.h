//===- Options.h - flt's compiler options, from one table ------*- C++ -*-===//
//
// CompileOptions and everything that reads or offers an option are made
// from the table in Options.def: flt-compile's flags (addCommandLineOptions),
// the pipelines' pass options (PipelineOptions), the Python keyword
// arguments (the native module walks getOptionTable()), the range checks
// (validateOptions) and docs/Options.md (formatOptionTable). An option is
// added by adding one row there.
//
//===----------------------------------------------------------------------===//

#ifndef FLT_CODEGEN_OPTIONS_H
#define FLT_CODEGEN_OPTIONS_H

#include "flt/Codegen/GPU/GPUTileConfig.h"

#include "mlir/Pass/PassOptions.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mlir::flt {

/// Whether this flt was built with AddressSanitizer (then the kernels it
/// compiles are instrumented by default).
bool builtWithAddressSanitizer();

/// Where an option means something (Options.def's SCOPES).
enum OptionScope : unsigned {
  Tool = 1, ///< flt-compile and flt.compile only
  CPU = 2,  ///< flt-cpu-pipeline, --target=cpu
  GPU = 4,  ///< flt-gpu-pipeline, --target=cuda
};

/// Every option of Options.def, with its default.
struct CompileOptions {
#define FLT_BOOL_OPTION(SCOPES, FIELD, CLI, PIPELINE, PYTHON, DEFAULT, HELP)   \
  bool FIELD = DEFAULT;
#define FLT_INT_OPTION(SCOPES, FIELD, CLI, PIPELINE, PYTHON, DEFAULT, MIN,     \
                       MAX, HELP)                                              \
  int64_t FIELD = DEFAULT;
#define FLT_STRING_OPTION(SCOPES, FIELD, CLI, PIPELINE, PYTHON, DEFAULT,       \
                          CHOICES, HELP)                                       \
  std::string FIELD = DEFAULT;
#include "flt/Codegen/Options.def"
};

/// One row of Options.def.
struct OptionInfo {
  enum class Kind { Bool, Int, String };
  Kind kind;
  unsigned scopes;
  /// Spellings: the CompileOptions field, flt-compile's flag, the pipelines'
  /// option, flt.compile's keyword ("" where not offered).
  llvm::StringRef field, cli, pipeline, python;
  /// Int: the valid range; String: the allowed values, '|'-separated, or ""
  /// for any string.
  int64_t min = 0, max = 0;
  llvm::StringRef choices;
  llvm::StringRef help;
  bool CompileOptions::*boolField = nullptr;
  int64_t CompileOptions::*intField = nullptr;
  std::string CompileOptions::*stringField = nullptr;

  /// A Bool offered by flt-compile as `--no-...`: the flag turns it off.
  bool isNegatedFlag() const {
    return kind == Kind::Bool && cli.starts_with("no-");
  }
  /// The allowed values of a String option (empty: any).
  llvm::SmallVector<llvm::StringRef> choiceList() const;
  /// The default, printed ("true", "64", "auto").
  std::string defaultText() const;
  /// This option's value in `options`, printed.
  std::string valueText(const CompileOptions &options) const;
};

/// The rows of Options.def, in order.
llvm::ArrayRef<OptionInfo> getOptionTable();

/// How an option is named in a message: as flt-compile's flag
/// ("--token-tile"), a pipeline option ("token-tile") or a Python keyword
/// ("token_tile").
enum class OptionSpelling { CLI, Pipeline, Python };
llvm::StringRef spell(const OptionInfo &info, OptionSpelling spelling);

/// Checks every option against its range and choices. Returns the first
/// violation ("--token-tile in [0, 512] required, got -1"), or nothing.
std::optional<std::string> validateOptions(const CompileOptions &options,
                                           OptionSpelling spelling);

/// The table as Markdown (docs/Options.md).
std::string formatOptionTable();

/// flt-compile's flags: creates one llvm::cl option per row with a CLI
/// spelling (before cl::ParseCommandLineOptions) and, after parsing, writes
/// their values into a CompileOptions.
class CommandLineOptions {
public:
  explicit CommandLineOptions(llvm::cl::OptionCategory &category);
  ~CommandLineOptions();
  CompileOptions get() const;

private:
  struct Storage;
  std::unique_ptr<Storage> storage;
};

/// The options of flt-cpu-pipeline (scope CPU) or flt-gpu-pipeline (scope
/// GPU): one pass option per row of that scope with a pipeline spelling.
template <unsigned Scope>
struct PipelineOptions : public PassPipelineOptions<PipelineOptions<Scope>> {
  PipelineOptions();
  /// The defaults with the options given on the pipeline applied.
  CompileOptions get() const;

private:
  std::vector<std::pair<const OptionInfo *,
                        std::unique_ptr<detail::PassOptions::Option<bool>>>>
      bools;
  std::vector<std::pair<const OptionInfo *,
                        std::unique_ptr<detail::PassOptions::Option<int64_t>>>>
      ints;
  std::vector<
      std::pair<const OptionInfo *,
                std::unique_ptr<detail::PassOptions::Option<std::string>>>>
      strings;
};

using CPUPipelineOptions = PipelineOptions<OptionScope::CPU>;
using GPUPipelineOptions = PipelineOptions<OptionScope::GPU>;

extern template struct PipelineOptions<OptionScope::CPU>;
extern template struct PipelineOptions<OptionScope::GPU>;

} // namespace mlir::flt

#endif // FLT_CODEGEN_OPTIONS_H
