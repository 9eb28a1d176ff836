//===- flt-run.cpp - run a compiled flt function on .npy files ------------===//
//
//   flt-run LIB.so --function=NAME --input=a.npy ... [--output=o.npy ...]
//           [--device=cpu|cuda] [--threads=N] [--benchmark=N]
//
// Reads the inputs, checks them against the function's signature and size
// relations, calls it, writes each result to its --output file (in order)
// and prints one line per result. With --benchmark=N it also times N calls
// after one warm-up call (--device=cuda: GPU time from CUDA events, inputs
// kept on the device). Any error is one line on stderr and exit status 1,
// and every option is checked (values in range, no repeats, no empty file
// names) before anything is read or run.
//
// bf16 arguments read f32 .npy files (rounded to nearest even); bf16 results
// are written as f32.
//
//===----------------------------------------------------------------------===//

#include "flt/Runtime/Npy.h"
#include "flt/Runtime/Runtime.h"

#include <dlfcn.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

struct Options {
  std::string library, function, device = "cpu";
  std::vector<std::string> inputs, outputs;
  int threads = 0;
  int benchmark = 0;
};

[[noreturn]] void fail(const std::string &message) {
  std::fprintf(stderr, "flt-run: error: %s\n", message.c_str());
  std::exit(1);
}

/// The valid range of --benchmark (README, docs/Design.md 5); --threads's
/// is flt::Library::kMaxThreads.
constexpr long kMaxBenchmarkCalls = 1000000;

void usage() {
  std::printf(
      "usage: flt-run LIB.so --function=NAME --input=a.npy ... "
      "[--output=o.npy ...]\n"
      "               [--device=cpu|cuda] [--threads=N] [--benchmark=N]\n"
      "       flt-run LIB.so --list\n"
      "--threads: 1 to %lld OpenMP threads (--device=cpu); --benchmark: 1 "
      "to %ld calls;\n"
      "an --output that is a link, a device or a FIFO is written through, "
      "never replaced\n",
      static_cast<long long>(flt::Library::kMaxThreads), kMaxBenchmarkCalls);
}

/// An integer flag value in [1, max]: decimal digits only.
int parseCount(const std::string &flag, const std::string &text, long max) {
  char *end = nullptr;
  errno = 0;
  long value = std::strtol(text.c_str(), &end, 10);
  bool digits = !text.empty() &&
                text.find_first_not_of("0123456789") == std::string::npos;
  if (!digits || *end != '\0' || errno != 0 || value < 1 || value > max)
    fail(flag + " needs a positive integer up to " + std::to_string(max) +
         ", got '" + text + "'");
  return static_cast<int>(value);
}

/// A file name flag value: not empty.
std::string parsePath(const std::string &flag, const char *text) {
  if (!*text)
    fail(flag + "= needs a file name");
  return text;
}

Options parse(int argc, char **argv, bool &list) {
  Options options;
  list = false;
  // Options that take one value may not be repeated: the second would
  // silently win.
  std::vector<std::string> given;
  auto once = [&](const char *flag) {
    for (const std::string &seen : given)
      if (seen == flag)
        fail(std::string(flag) + " is given twice");
    given.push_back(flag);
  };
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](const char *flag) -> const char * {
      size_t n = std::strlen(flag);
      if (arg.compare(0, n, flag) == 0 && arg.size() > n && arg[n] == '=')
        return argv[i] + n + 1;
      return nullptr;
    };
    if (arg == "--help" || arg == "-h") {
      usage();
      std::exit(0);
    } else if (arg == "--list") {
      list = true;
    } else if (const char *v = value("--function")) {
      if (!*v)
        fail("--function= needs a function name");
      once("--function");
      options.function = v;
    } else if (const char *v = value("--input")) {
      options.inputs.push_back(parsePath("--input", v));
    } else if (const char *v = value("--output")) {
      options.outputs.push_back(parsePath("--output", v));
    } else if (const char *v = value("--device")) {
      once("--device");
      options.device = v;
    } else if (const char *v = value("--threads")) {
      once("--threads");
      options.threads = static_cast<int>(
          parseCount("--threads", v, flt::Library::kMaxThreads));
    } else if (const char *v = value("--benchmark")) {
      once("--benchmark");
      options.benchmark = parseCount("--benchmark", v, kMaxBenchmarkCalls);
    } else if (!arg.empty() && arg[0] == '-') {
      fail("unknown option '" + arg + "' (see --help)");
    } else if (options.library.empty()) {
      options.library = arg;
    } else {
      fail("unexpected argument '" + arg + "'; inputs are given with --input=");
    }
  }
  if (options.library.empty())
    fail("no library given (usage: flt-run LIB.so --function=NAME "
         "--input=a.npy ...)");
  if (options.device != "cpu" && options.device != "cuda")
    fail("--device must be cpu or cuda, got '" + options.device + "'");
  // Two results written to one file: the second would replace the first.
  for (size_t i = 0; i < options.outputs.size(); ++i) {
    struct stat a;
    bool aExists = stat(options.outputs[i].c_str(), &a) == 0;
    for (size_t j = 0; j < i; ++j) {
      struct stat b;
      bool same =
          options.outputs[i] == options.outputs[j] ||
          (aExists && stat(options.outputs[j].c_str(), &b) == 0 &&
           a.st_dev == b.st_dev && a.st_ino == b.st_ino && S_ISREG(a.st_mode));
      if (same)
        fail("--output '" + options.outputs[i] + "' is given for two results");
    }
  }
  return options;
}

/// One line about a result: type, shape, a few statistics, destination.
void summarize(size_t index, const flt::HostTensor &tensor,
               const std::string &output) {
  flt::HostTensor values;
  std::string error;
  double sum = 0, maxAbs = 0;
  int64_t nonFinite = 0;
  bool numeric =
      flt::convertTensor(tensor, flt::ElementType::F64, values, error);
  if (numeric) {
    auto *data = static_cast<const double *>(values.data());
    for (int64_t i = 0, n = values.numElements(); i < n; ++i) {
      if (!std::isfinite(data[i])) {
        ++nonFinite;
        continue;
      }
      sum += data[i];
      maxAbs = std::max(maxAbs, std::fabs(data[i]));
    }
  }
  std::printf("result %zu: %s", index, tensor.str().c_str());
  if (numeric)
    std::printf(" mean %.6g max|x| %.6g non-finite %lld",
                tensor.numElements() ? sum / tensor.numElements() : 0.0, maxAbs,
                static_cast<long long>(nonFinite));
  std::printf(output.empty() ? " (not written)\n" : " -> %s\n", output.c_str());
}

} // namespace

int main(int argc, char **argv) {
  bool list = false;
  Options options = parse(argc, argv, list);

  if (options.device == "cuda") {
    // Say "no GPU" before anything else when there is none.
    if (!dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL))
      fail("--device=cuda: no CUDA driver on this machine (libcuda.so.1 "
           "cannot be loaded)");
  }

  std::string error;
  std::unique_ptr<flt::Library> library =
      flt::Library::load(options.library, error);
  if (!library)
    fail(error);

  if (list) {
    for (const flt::FunctionInfo &function : library->functions()) {
      std::printf("%s(", function.name.c_str());
      for (size_t i = 0; i < function.args.size(); ++i)
        std::printf("%s%s", i ? ", " : "", function.args[i].str().c_str());
      std::printf(") ->");
      for (size_t i = 0; i < function.results.size(); ++i)
        std::printf("%s %s", i ? "," : "", function.results[i].str().c_str());
      std::printf("\n");
    }
    return 0;
  }

  if (options.device != library->target())
    fail("'" + options.library + "' was compiled for " + library->target() +
         " but --device=" + options.device + " was asked for");
  if (options.function.empty()) {
    std::string names;
    for (const flt::FunctionInfo &function : library->functions())
      names += (names.empty() ? "" : ", ") + function.name;
    fail("no --function given; the library has: " + names);
  }
  const flt::FunctionInfo *function = library->find(options.function);
  if (!function) {
    std::string names;
    for (const flt::FunctionInfo &f : library->functions())
      names += (names.empty() ? "" : ", ") + f.name;
    fail("no function '" + options.function + "' in '" + options.library +
         "' (it has: " + names + ")");
  }
  if (options.inputs.size() != function->args.size())
    fail("function '" + function->name + "' takes " +
         std::to_string(function->args.size()) + " inputs, got " +
         std::to_string(options.inputs.size()) + " --input files");
  if (options.outputs.size() > function->results.size())
    fail("function '" + function->name + "' has " +
         std::to_string(function->results.size()) + " results, got " +
         std::to_string(options.outputs.size()) + " --output files");

  std::vector<flt::HostTensor> inputs;
  for (size_t i = 0; i < options.inputs.size(); ++i) {
    flt::HostTensor tensor;
    if (!flt::readNpy(options.inputs[i], tensor, error))
      fail(error);
    // bf16 has no .npy dtype: bf16 arguments read f32 files.
    if (function->args[i].element == flt::ElementType::BF16 &&
        tensor.element() == flt::ElementType::F32) {
      flt::HostTensor converted;
      if (!flt::convertTensor(tensor, flt::ElementType::BF16, converted, error))
        fail(error);
      tensor = std::move(converted);
    }
    inputs.push_back(std::move(tensor));
  }

  bool cuda = options.device == "cuda";
  if (cuda && !library->cudaAvailable(error))
    fail(error);
  if (cuda && options.threads > 0)
    fail("--threads is for --device=cpu (CUDA kernels size their own grids)");
  if (options.threads > 0 && !library->setNumThreads(options.threads, error))
    fail(error);

  std::vector<flt::TensorView> views;
  for (const flt::HostTensor &input : inputs)
    views.push_back(input.view());
  std::vector<flt::HostTensor> results;
  if (!library->call(*function, views, results, error))
    fail(error);

  for (size_t i = 0; i < results.size(); ++i) {
    std::string output = i < options.outputs.size() ? options.outputs[i] : "";
    if (!output.empty() && !flt::writeNpy(output, results[i], error))
      fail(error);
    summarize(i, results[i], output);
  }

  if (options.benchmark > 0) {
    std::vector<double> times;
    if (cuda) {
      // Kernels only: inputs stay on the device, CUDA events around calls.
      // Freed before any error is reported: a failed run leaves nothing
      // on the device either.
      std::vector<flt::DeviceTensor> deviceInputs(inputs.size());
      bool ok = true;
      for (size_t i = 0; ok && i < inputs.size(); ++i)
        ok = library->toDevice(inputs[i].view(), deviceInputs[i], error);
      std::vector<double> warmUp;
      ok = ok &&
           library->timeDevice(*function, deviceInputs, 1, warmUp, error) &&
           library->timeDevice(*function, deviceInputs, options.benchmark,
                               times, error);
      for (flt::DeviceTensor &input : deviceInputs)
        library->freeDevice(input);
      if (!ok)
        fail(error);
    } else {
      std::vector<flt::HostTensor> scratch;
      if (!library->call(*function, views, scratch, error)) // warm-up
        fail(error);
      for (int i = 0; i < options.benchmark; ++i) {
        auto start = std::chrono::steady_clock::now();
        if (!library->call(*function, views, scratch, error))
          fail(error);
        auto stop = std::chrono::steady_clock::now();
        times.push_back(
            std::chrono::duration<double, std::milli>(stop - start).count());
      }
    }
    std::sort(times.begin(), times.end());
    size_t n = times.size();
    double median =
        n % 2 ? times[n / 2] : (times[n / 2 - 1] + times[n / 2]) / 2;
    std::printf("time: min %.3f ms, median %.3f ms over %d calls\n", times[0],
                median, options.benchmark);
  }
  return 0;
}
