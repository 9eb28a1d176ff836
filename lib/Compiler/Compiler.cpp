//===- Compiler.cpp - flt module -> shared library ------------------------===//
//
// flt-compile's engine: validate the public functions and describe their
// signatures, add the runtime size checks, lower with flt-cpu-pipeline,
// translate to LLVM IR, add the ABI entry points of
// flt/Runtime/ModuleInfo.h, optimize for the target CPU, emit an object and
// link it into a shared library.
//
//===----------------------------------------------------------------------===//

#include "flt/Compiler/Compiler.h"

#include "flt/Codegen/CPU/Passes.h"
#include "flt/Codegen/GPU/Passes.h"
#include "flt/Codegen/TargetConfig.h"
#include "flt/Compiler/ShapeChecks.h"
#include "flt/Dialect/FLT/Transforms/Passes.h"
#include "flt/Runtime/ModuleInfo.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/OpenMP/OpenMPToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"

#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/Triple.h"
#include "llvm/Transforms/Instrumentation/AddressSanitizer.h"

#include <dlfcn.h>

using namespace mlir;
using namespace mlir::flt;

namespace {

/// The element type names of the ABI (ModuleInfo.h), or "" if unsupported.
std::string elementName(Type type) {
  if (type.isF32())
    return "f32";
  if (type.isF16())
    return "f16";
  if (type.isBF16())
    return "bf16";
  if (type.isF64())
    return "f64";
  if (type.isSignlessInteger(32))
    return "i32";
  if (type.isSignlessInteger(64))
    return "i64";
  return "";
}

/// "<element> <rank> <size>..." for one tensor, or failure with a reason.
FailureOr<std::string> describeTensor(func::FuncOp func, StringRef role,
                                      unsigned index, Type type) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  std::string element = tensor ? elementName(tensor.getElementType()) : "";
  if (element.empty()) {
    func.emitError() << "flt-compile: " << role << " #" << index << " of @"
                     << func.getSymName() << " has type " << type
                     << "; compiled functions take and return ranked tensors "
                        "of f32, f16, bf16, f64, i32 or i64";
    return failure();
  }
  std::string text = element + " " + std::to_string(tensor.getRank());
  for (int64_t size : tensor.getShape())
    text += ShapedType::isDynamic(size) ? " ?" : " " + std::to_string(size);
  return text;
}

/// The public functions to export, in module order.
SmallVector<func::FuncOp> exportedFunctions(ModuleOp module) {
  SmallVector<func::FuncOp> functions;
  for (auto func : module.getOps<func::FuncOp>())
    if (func.isPublic() && !func.isDeclaration() &&
        !func.getSymName().starts_with(kShapeCheckPrefix))
      functions.push_back(func);
  return functions;
}

/// Function names become C symbols: keep them to identifier characters.
bool isCIdentifier(StringRef name) {
  if (name.empty() || isdigit(static_cast<unsigned char>(name[0])))
    return false;
  return llvm::all_of(name, [](char c) {
    return isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

/// Name prefixes of symbols that are flt's own, or that the libraries it
/// builds define or call: its ABI (__flt_call_<fn>, __flt_check_<fn>,
/// __flt_module_info), the shape checks (__flt_shape_check_<fn>) and the
/// renamed user functions (kUserSymbolPrefix), MLIR's C interfaces
/// (_mlir_ciface_<fn>), and the CUDA libraries' runtime (mgpu*, fltCuda*).
/// Reserved on both targets, so that a module that compiles for one
/// compiles for the other.
constexpr StringLiteral kReservedPrefixes[] = {"__flt_", "_mlir_", "mgpu",
                                               "fltCuda"};

/// What the module's own functions are called from lowering on (see
/// renameUserSymbols).
constexpr StringLiteral kUserSymbolPrefix = "__flt_fn_";

/// A symbol of the input named like one of flt's (or the ones the libraries
/// import) would collide with it: the library then fails to load, or calls
/// the wrong function.
LogicalResult checkReservedNames(ModuleOp module) {
  for (Operation &op : module.getOps()) {
    auto symbol = dyn_cast<SymbolOpInterface>(op);
    if (!symbol)
      continue;
    for (StringRef prefix : kReservedPrefixes)
      if (symbol.getName().starts_with(prefix))
        return op.emitError()
               << "flt-compile: the name '@" << symbol.getName()
               << "' starts with '" << prefix
               << "', which flt reserves for its own symbols and those of "
                  "its runtime (reserved: __flt_, _mlir_, mgpu, fltCuda)";
  }
  return success();
}

/// Gives every symbol the module defines (functions public and private)
/// flt's prefix: after lowering, each becomes a symbol of the library next
/// to the ones the lowering adds and the ones it imports (malloc, free,
/// expf, memcpy, the OpenMP and CUDA runtimes), and a function of the same
/// name would be taken for one of those or take their place. The
/// declarations keep their names (they are imports themselves); the ABI
/// keeps the user's (ModuleInfo.h: __flt_call_<fn>).
LogicalResult renameUserSymbols(ModuleOp module) {
  SymbolTable table(module);
  SmallVector<Operation *> defined;
  for (Operation &op : module.getOps())
    if (auto symbol = dyn_cast<SymbolOpInterface>(op))
      if (!symbol.isDeclaration() &&
          !symbol.getName().starts_with(kShapeCheckPrefix))
        defined.push_back(&op);
  for (Operation *op : defined) {
    std::string name = cast<SymbolOpInterface>(op).getName().str();
    // No input symbol starts with the prefix, so no new name is taken.
    if (failed(table.rename(op, (kUserSymbolPrefix + name).str())))
      return op->emitError()
             << "flt-compile: cannot rename @" << name << " to @"
             << kUserSymbolPrefix << name << " where it is used";
  }
  return success();
}

/// "cpu <name> <feature>...": the CPU the host code is compiled for and the
/// instruction-set extensions of FLT_X86_FEATURES it may use, which the
/// runtime checks against the CPU it runs on (ModuleInfo.h).
std::string describeCpu(const llvm::TargetMachine &machine) {
  std::string line = "cpu " + machine.getTargetCPU().str();
  if (machine.getTargetTriple().isX86()) {
    const llvm::MCSubtargetInfo *info = machine.getMCSubtargetInfo();
#define FLT_ADD_FEATURE(NAME, LEAF, SUBLEAF, REG, BIT, XCR0)                   \
  if (info->checkFeatures("+" NAME))                                           \
    line += " " NAME;
    FLT_X86_FEATURES(FLT_ADD_FEATURE)
#undef FLT_ADD_FEATURE
  }
  return line + "\n";
}

/// The header of the description and one block per function.
FailureOr<std::string> describeModule(ModuleOp module,
                                      const CompileOptions &options,
                                      const llvm::TargetMachine &machine,
                                      const ShapeCheckTable &checks) {
  std::string info = "flt-module " +
                     std::to_string(::flt::abi::kFormatVersion) +
                     "\nflt-version " FLT_VERSION_STRING "\ntarget " +
                     options.target + "\n" + describeCpu(machine);
  SmallVector<func::FuncOp> functions = exportedFunctions(module);
  if (functions.empty()) {
    module.emitError() << "flt-compile: the module has no public function "
                          "with a body to compile";
    return failure();
  }
  for (func::FuncOp func : functions) {
    if (!isCIdentifier(func.getSymName())) {
      func.emitError() << "flt-compile: function name '" << func.getSymName()
                       << "' is not a C identifier";
      return failure();
    }
    info += "function " + func.getSymName().str() + "\n";
    FunctionType type = func.getFunctionType();
    for (auto [i, input] : llvm::enumerate(type.getInputs())) {
      FailureOr<std::string> text = describeTensor(func, "argument", i, input);
      if (failed(text))
        return failure();
      info += "arg " + *text + "\n";
    }
    for (auto [i, result] : llvm::enumerate(type.getResults())) {
      FailureOr<std::string> text = describeTensor(func, "result", i, result);
      if (failed(text))
        return failure();
      info += "result " + *text + "\n";
    }
    auto it = checks.find(func.getSymName());
    if (it != checks.end())
      for (const std::string &message : it->second)
        info += "constraint " + message + "\n";
    info += "end\n";
  }
  return info;
}

/// Adds `void __flt_call_<fn>(void **args)` forwarding to
/// `_mlir_ciface_<prefix><fn>` for every exported function; appends to
/// `arities` how many pointers each reads.
LogicalResult addPackedEntryPoints(llvm::Module &module, ModuleOp mlirModule,
                                   ArrayRef<std::string> names,
                                   StringRef targetPrefix, StringRef prefix,
                                   SmallVectorImpl<int64_t> &arities) {
  llvm::LLVMContext &context = module.getContext();
  auto *pointer = llvm::PointerType::getUnqual(context);
  for (const std::string &name : names) {
    std::string target = "_mlir_ciface_" + targetPrefix.str() + name;
    llvm::Function *callee = module.getFunction(target);
    if (!callee)
      return mlirModule.emitError()
             << "flt-compile: lowering lost the C interface " << target;
    arities.push_back(callee->arg_size());
    auto *type = llvm::FunctionType::get(callee->getReturnType(), {pointer},
                                         /*isVarArg=*/false);
    auto *wrapper = llvm::Function::Create(
        type, llvm::GlobalValue::ExternalLinkage, prefix.str() + name, module);
    llvm::IRBuilder<> builder(
        llvm::BasicBlock::Create(context, "entry", wrapper));
    SmallVector<llvm::Value *> args;
    for (auto [i, param] : llvm::enumerate(callee->args())) {
      llvm::Value *slot =
          builder.CreateConstGEP1_64(pointer, wrapper->getArg(0), i);
      args.push_back(builder.CreateLoad(param.getType(), slot));
    }
    llvm::Value *call = builder.CreateCall(callee, args);
    if (callee->getReturnType()->isVoidTy())
      builder.CreateRetVoid();
    else
      builder.CreateRet(call);
  }
  return success();
}

/// The host's LLVM target, or null with `error` set.
const llvm::Target *hostTarget(llvm::Triple &triple, std::string &error) {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  triple = llvm::Triple(llvm::sys::getDefaultTargetTriple());
  return llvm::TargetRegistry::lookupTarget(triple, error);
}

FailureOr<std::unique_ptr<llvm::TargetMachine>>
createTargetMachine(ModuleOp module, const CompileOptions &options) {
  llvm::Triple triple;
  std::string error;
  const llvm::Target *target = hostTarget(triple, error);
  if (!target) {
    module.emitError() << "flt-compile: no LLVM target for " << triple.str()
                       << ": " << error;
    return failure();
  }
  std::string cpu = options.cpu, features;
  if (cpu != "native") {
    // LLVM only warns about an unknown CPU and then fails later, some ways
    // with a fatal error that ends the process (Python's too).
    std::unique_ptr<llvm::MCSubtargetInfo> info(
        target->createMCSubtargetInfo(triple, "", ""));
    if (!info || cpu.empty() || cpu == "help" || !info->isCPUStringValid(cpu)) {
      module.emitError() << "flt-compile: unknown CPU '" << cpu << "' for "
                         << triple.str()
                         << " (`flt-compile --cpu=help` lists the CPU names; "
                            "native: this machine's)";
      return failure();
    }
  } else {
    cpu = llvm::sys::getHostCPUName().str();
    SmallVector<std::string> enabled;
    for (auto &feature : llvm::sys::getHostCPUFeatures())
      enabled.push_back((feature.second ? "+" : "-") + feature.first().str());
    features = llvm::join(enabled, ",");
  }
  llvm::TargetOptions targetOptions;
  // Let LLVM contract a * b + c into FMAs: the kernels are sums of products.
  targetOptions.AllowFPOpFusion = llvm::FPOpFusion::Fast;
  // Constructors in .init_array, as clang puts them: the dynamic loader
  // runs nothing else. (LLVM's default, .ctors, is silently skipped, and
  // with it the CUDA libraries' module loading and AddressSanitizer's
  // module constructor.)
  targetOptions.UseInitArray = true;
  std::unique_ptr<llvm::TargetMachine> machine(target->createTargetMachine(
      triple, cpu, features, targetOptions, llvm::Reloc::PIC_, std::nullopt,
      llvm::CodeGenOptLevel::Aggressive));
  if (!machine) {
    module.emitError() << "flt-compile: cannot create a target machine for "
                       << cpu;
    return failure();
  }
  return machine;
}

/// A chip LLVM's NVPTX target does not know only gets warnings there (per
/// kernel) and fails in ptxas.
LogicalResult checkCudaChip(ModuleOp module, StringRef chip) {
  LLVMInitializeNVPTXTargetInfo();
  LLVMInitializeNVPTXTargetMC();
  llvm::Triple triple("nvptx64-nvidia-cuda");
  std::string error;
  const llvm::Target *target =
      llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return module.emitError()
           << "flt-compile: LLVM has no NVPTX target: " << error;
  std::unique_ptr<llvm::MCSubtargetInfo> info(
      target->createMCSubtargetInfo(triple, "", ""));
  if (!info || !info->isCPUStringValid(chip))
    return module.emitError()
           << "flt-compile: LLVM's NVPTX target does not know the CUDA "
              "architecture '"
           << chip << "'";
  return success();
}

LogicalResult writeFile(ModuleOp module, StringRef path,
                        function_ref<void(llvm::raw_pwrite_stream &)> write) {
  std::error_code ec;
  llvm::ToolOutputFile file(path, ec, llvm::sys::fs::OF_None);
  if (ec)
    return module.emitError()
           << "flt-compile: cannot write " << path << ": " << ec.message();
  write(file.os());
  file.os().flush();
  if (file.os().has_error())
    return module.emitError() << "flt-compile: error writing " << path;
  file.keep();
  return success();
}

/// O3 for the target machine, with AddressSanitizer instrumentation last
/// when asked for (every defined function gets sanitize_address).
void optimize(llvm::Module &module, llvm::TargetMachine *machine,
              bool sanitizeAddress) {
  if (sanitizeAddress)
    for (llvm::Function &function : module)
      if (!function.isDeclaration())
        function.addFnAttr(llvm::Attribute::SanitizeAddress);
  llvm::LoopAnalysisManager loops;
  llvm::FunctionAnalysisManager functions;
  llvm::CGSCCAnalysisManager sccs;
  llvm::ModuleAnalysisManager modules;
  // The tuning of MLIR's makeOptimizingTransformer: unrolling, interleaving
  // and both vectorizers.
  llvm::PipelineTuningOptions tuning;
  tuning.LoopUnrolling = true;
  tuning.LoopInterleaving = true;
  tuning.LoopVectorization = true;
  tuning.SLPVectorization = true;
  llvm::PassBuilder builder(machine, tuning);
  builder.registerModuleAnalyses(modules);
  builder.registerCGSCCAnalyses(sccs);
  builder.registerFunctionAnalyses(functions);
  builder.registerLoopAnalyses(loops);
  builder.crossRegisterProxies(loops, functions, sccs, modules);
  if (sanitizeAddress)
    builder.registerOptimizerLastEPCallback([](llvm::ModulePassManager &passes,
                                               llvm::OptimizationLevel,
                                               llvm::ThinOrFullLTOPhase) {
      passes.addPass(
          llvm::AddressSanitizerPass(llvm::AddressSanitizerOptions()));
    });
  llvm::ModulePassManager passes =
      builder.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3);
  passes.run(module, modules);
}

/// The archive of the CUDA wrappers (lib/Runtime/CUDA) that --target=cuda
/// libraries carry. The compiler finds it beside itself, so that an
/// installed flt-compile (or Python module) works without its build tree:
/// $FLT_CUDA_WRAPPERS_ARCHIVE if set; else next to the binary that holds
/// this code (flt-compile in <prefix>/bin -> <prefix>/lib; the Python module
/// in <prefix>/lib/python3/dist-packages/flt or build/python_packages/flt);
/// else where the build put it.
std::string cudaWrappersArchive() {
  if (const char *path = getenv("FLT_CUDA_WRAPPERS_ARCHIVE"))
    return path;
  StringRef name = llvm::sys::path::filename(FLT_CUDA_WRAPPERS_ARCHIVE);
  Dl_info info;
  if (dladdr(reinterpret_cast<void *>(&cudaWrappersArchive), &info) &&
      info.dli_fname) {
    SmallString<256> self(info.dli_fname);
    llvm::sys::fs::make_absolute(self);
    StringRef dir = llvm::sys::path::parent_path(self);
    for (const char *relative : {"../lib", "../../lib", "../../.."}) {
      SmallString<256> candidate(dir);
      llvm::sys::path::append(candidate, relative, name);
      if (llvm::sys::fs::exists(candidate))
        return std::string(candidate);
    }
  }
  return FLT_CUDA_WRAPPERS_ARCHIVE;
}

LogicalResult linkSharedLibrary(ModuleOp module, StringRef objectPath,
                                StringRef outputPath, bool cuda,
                                bool sanitizeAddress) {
  std::string clang = FLT_LLVM_BIN_DIR "/clang";
  // -z defs: every symbol the kernels use must come from the module or the
  // libraries linked here, or the library would not load (dlopen:
  // "undefined symbol"); reported as warnings, so that the ones the loading
  // process provides (the ASan runtime) can be told apart below.
  SmallVector<StringRef> args = {
      clang,         "-shared",
      "-o",          outputPath,
      objectPath,    "-fuse-ld=lld",
      "-Wl,-z,defs", "-Wl,--warn-unresolved-symbols"};
  std::string wrappers = cudaWrappersArchive();
  if (cuda) {
    // The mgpu* functions, whole (libFLTRuntime looks up the fltCuda*
    // ones); they need only libc, libdl and the C++ runtime, so the
    // library runs on a GPU host that has just the driver.
    args.append({"-Wl,--whole-archive", wrappers, "-Wl,--no-whole-archive",
                 "-ldl", "-lstdc++"});
  } else {
    args.append(
        {"-L" FLT_LLVM_LIB_DIR, "-Wl,-rpath," FLT_LLVM_LIB_DIR, "-lomp"});
  }
  args.push_back("-lm");
  // The ASan runtime comes from the process that loads the library.
  if (sanitizeAddress)
    args.push_back("-fsanitize=address");

  SmallString<128> messagesPath;
  if (std::error_code ec =
          llvm::sys::fs::createTemporaryFile("flt-link", "txt", messagesPath))
    return module.emitError()
           << "flt-compile: cannot create a temporary file: " << ec.message();
  llvm::FileRemover removeMessages(messagesPath);
  std::optional<StringRef> redirects[] = {std::nullopt, std::nullopt,
                                          StringRef(messagesPath)};
  std::string error;
  int status = llvm::sys::ExecuteAndWait(clang, args, std::nullopt, redirects,
                                         0, 0, &error);
  std::string messages;
  if (llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> text =
          llvm::MemoryBuffer::getFile(messagesPath))
    messages = (*text)->getBuffer().str();
  if (status != 0)
    return module.emitError()
           << "flt-compile: linking " << outputPath << " failed (" << clang
           << ", status " << status << (error.empty() ? "" : ": ") << error
           << ")" << (messages.empty() ? "" : ":\n") << messages;

  // "ld.lld: warning: undefined symbol: NAME" per symbol no library has.
  SmallVector<StringRef> lines;
  StringRef(messages).split(lines, '\n');
  SmallVector<std::string> missing;
  for (StringRef line : lines) {
    size_t at = line.find("undefined symbol: ");
    if (at == StringRef::npos)
      continue;
    StringRef name = line.drop_front(at + strlen("undefined symbol: ")).trim();
    if (sanitizeAddress &&
        (name.starts_with("__asan_") || name.starts_with("__sanitizer_") ||
         name.starts_with("__lsan_") || name.starts_with("__ubsan_")))
      continue;
    missing.push_back(name.str());
  }
  if (missing.empty())
    return success();
  llvm::sys::fs::remove(outputPath);
  for (const std::string &name : missing) {
    // At the declaration the module calls it through, where there is one.
    Operation *declaration = SymbolTable::lookupSymbolIn(module, name);
    InFlightDiagnostic diagnostic =
        (declaration ? declaration : module.getOperation())->emitError();
    diagnostic << "flt-compile: the kernels call '" << name
               << "', which the module does not define and none of the "
                  "libraries they link with ("
               << (cuda ? "libc, libm, flt's CUDA runtime"
                        : "libc, libm, libomp")
               << ") provides: define it in the module";
  }
  return failure();
}

/// The description (`__flt_module_info`), each function's arities
/// (`__flt_arity_<fn>`) and the seal over both (`__flt_module_seal`), as
/// ModuleInfo.h lays them out.
void addModuleDescription(llvm::Module &module, const std::string &info,
                          ArrayRef<std::string> names,
                          ArrayRef<int64_t> callArities,
                          ArrayRef<int64_t> checkArities) {
  llvm::LLVMContext &context = module.getContext();
  auto addConstant = [&](llvm::Constant *value, const Twine &name) {
    auto *global = new llvm::GlobalVariable(
        module, value->getType(), /*isConstant=*/true,
        llvm::GlobalValue::ExternalLinkage, value, name);
    // Not instrumented by AddressSanitizer (--sanitize-address): the runtime
    // only reads them through dlsym, and ASan's ODR indicator for each
    // (__odr_asan_gen_<name>) would tie the library's loading to these
    // exact names.
    llvm::GlobalValue::SanitizerMetadata metadata;
    metadata.NoAddress = true;
    global->setSanitizerMetadata(metadata);
  };
  addConstant(llvm::ConstantDataArray::getString(context, info),
              ::flt::abi::kModuleInfoSymbol);
  SmallVector<int64_t> arities;
  for (auto [i, name] : llvm::enumerate(names)) {
    int64_t pair[2] = {callArities[i], checkArities[i]};
    arities.append(pair, pair + 2);
    addConstant(llvm::ConstantDataArray::get(context, ArrayRef<int64_t>(pair)),
                ::flt::abi::kArityPrefix + name);
  }
  uint64_t seal[3] = {::flt::abi::kSealMagic, info.size(),
                      ::flt::abi::sealChecksum(info.data(), info.size(),
                                               arities.data(), arities.size())};
  addConstant(llvm::ConstantDataArray::get(context, ArrayRef<uint64_t>(seal)),
              ::flt::abi::kSealSymbol);
}

/// Writes the kernels' PTX (every gpu.binary compiled with format=isa).
LogicalResult writePTX(ModuleOp module, StringRef outputPath) {
  std::string ptx;
  module.walk([&](gpu::BinaryOp binary) {
    for (Attribute attr : binary.getObjects())
      if (auto object = dyn_cast<gpu::ObjectAttr>(attr))
        ptx += object.getObject().getValue().str();
  });
  if (ptx.empty())
    return module.emitError("flt-compile: the module has no GPU kernel");
  return writeFile(module, outputPath,
                   [&](llvm::raw_pwrite_stream &os) { os << ptx; });
}

} // namespace

void mlir::flt::printTargetCPUs(llvm::raw_ostream &os) {
  llvm::Triple triple;
  std::string error;
  const llvm::Target *target = hostTarget(triple, error);
  if (!target) {
    os << "no LLVM target for " << triple.str() << ": " << error << "\n";
    return;
  }
  std::unique_ptr<llvm::MCSubtargetInfo> info(
      target->createMCSubtargetInfo(triple, "", ""));
  os << "CPU names for --cpu on " << triple.str()
     << " (native: " << llvm::sys::getHostCPUName() << ", this machine):\n";
  for (const llvm::SubtargetSubTypeKV &cpu :
       info->getAllProcessorDescriptions())
    os << "  " << cpu.Key << "\n";
}

LogicalResult mlir::flt::compileModule(ModuleOp module,
                                       const CompileOptions &options,
                                       StringRef outputPath,
                                       OptionSpelling spelling) {
  FailureOr<std::unique_ptr<llvm::TargetMachine>> machine =
      createTargetMachine(module, options);
  if (failed(machine))
    return failure();
  // The one place the target's numbers meet the options.
  std::string error;
  bool hasAVX512 = (*machine)->getMCSubtargetInfo()->checkFeatures("+avx512f");
  FailureOr<TargetConfig> config =
      TargetConfig::get(options, hasAVX512, error, spelling);
  if (failed(config))
    return module.emitError() << "flt-compile: " << error;
  bool cuda = config->kind == TargetConfig::Kind::CUDA;
  if (cuda && failed(checkCudaChip(module, config->chip)))
    return failure();

  if (failed(checkReservedNames(module)))
    return failure();

  // Reverse mode first: the @f_vjp functions are public functions like any
  // other from here on (described, size-checked, lowered).
  if (options.gradients) {
    PassManager vjp(module.getContext());
    vjp.addPass(createFLTGenerateVJP());
    if (failed(vjp.run(module)))
      return failure();
  }

  SmallVector<std::string> names;
  for (func::FuncOp func : exportedFunctions(module))
    names.push_back(func.getSymName().str());

  // Runtime size checks first, while the flt ops are still there to say
  // which sizes must agree.
  FailureOr<ShapeCheckTable> checks = addShapeCheckFunctions(module);
  if (failed(checks))
    return failure();
  FailureOr<std::string> info =
      describeModule(module, options, **machine, *checks);
  if (failed(info))
    return failure();
  if (failed(renameUserSymbols(module)))
    return failure();

  // The C ABI: one descriptor pointer per tensor; arguments are read-only.
  MLIRContext *context = module.getContext();
  for (auto func : module.getOps<func::FuncOp>()) {
    if (!func.isPublic() || func.isDeclaration())
      continue;
    func->setAttr("llvm.emit_c_interface", UnitAttr::get(context));
    for (unsigned i = 0, e = func.getNumArguments(); i < e; ++i)
      func.setArgAttr(i, "bufferization.writable",
                      BoolAttr::get(context, false));
  }
  // gpu-module-to-binary translates the kernels to LLVM IR (NVVM), and the
  // host's gpu.binary becomes an embedded object when translated.
  DialectRegistry translations;
  registerAllGPUToLLVMIRTranslations(translations);
  context->appendDialectRegistry(translations);

  PassManager pm(context);
  if (cuda)
    buildGPUPipeline(pm, *config);
  else
    buildCPUPipeline(pm, *config);
  if (failed(pm.run(module)))
    return failure();
  // The check functions' host marker has served (flt-map-to-gpu): lowered
  // code carries no flt attribute.
  module.walk([](Operation *op) { op->removeAttr(kHostFunctionAttrName); });

  if (options.emit == "ptx")
    return writePTX(module, outputPath);
  if (options.emit == "mlir")
    return writeFile(module, outputPath,
                     [&](llvm::raw_pwrite_stream &os) { module.print(os); });

  registerBuiltinDialectTranslation(*context);
  registerLLVMDialectTranslation(*context);
  registerOpenMPDialectTranslation(*context);
  registerGPUDialectTranslation(*context);
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(module, llvmContext, "flt");
  if (!llvmModule)
    return module.emitError() << "flt-compile: translation to LLVM IR failed";

  SmallVector<int64_t> callArities, checkArities;
  if (failed(addPackedEntryPoints(*llvmModule, module, names, kUserSymbolPrefix,
                                  ::flt::abi::kCallPrefix, callArities)) ||
      failed(addPackedEntryPoints(*llvmModule, module, names, kShapeCheckPrefix,
                                  ::flt::abi::kCheckPrefix, checkArities)))
    return failure();
  addModuleDescription(*llvmModule, *info, names, callArities, checkArities);

  llvmModule->setDataLayout((*machine)->createDataLayout());
  llvmModule->setTargetTriple((*machine)->getTargetTriple());
  optimize(*llvmModule, machine->get(), options.sanitizeAddress);

  if (options.emit == "llvm")
    return writeFile(module, outputPath, [&](llvm::raw_pwrite_stream &os) {
      llvmModule->print(os, nullptr);
    });

  auto emitObject = [&](llvm::raw_pwrite_stream &os) {
    llvm::legacy::PassManager codegen;
    (*machine)->addPassesToEmitFile(codegen, os, nullptr,
                                    llvm::CodeGenFileType::ObjectFile);
    codegen.run(*llvmModule);
  };
  if (options.emit == "obj")
    return writeFile(module, outputPath, emitObject);

  SmallString<128> objectPath;
  if (std::error_code ec =
          llvm::sys::fs::createTemporaryFile("flt-kernel", "o", objectPath))
    return module.emitError() << "flt-compile: cannot create a temporary "
                                 "object file: "
                              << ec.message();
  llvm::FileRemover removeObject(objectPath);
  if (failed(writeFile(module, objectPath, emitObject)))
    return failure();
  return linkSharedLibrary(module, objectPath, outputPath, cuda,
                           options.sanitizeAddress);
}
