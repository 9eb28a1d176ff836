# lit configuration of the flt regression tests.

import glob
import os

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "FLT"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".py", ".c"]
config.excludes = ["lit.cfg.py", "lit.site.cfg.py", "Inputs", "lib", "corpus"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.flt_obj_root, "test")

llvm_config.with_system_environment(["HOME", "TMPDIR"])
llvm_config.use_default_substitutions()

tools = [
    ToolSubst("flt-opt", unresolved="fatal"),
    ToolSubst("flt-compile", unresolved="fatal"),
    ToolSubst("flt-run", unresolved="fatal"),
    ToolSubst("%python", config.python_executable, unresolved="fatal"),
]
llvm_config.add_tool_substitutions(
    tools, [config.flt_tools_dir, config.llvm_tools_dir])
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
llvm_config.with_environment("PATH", config.flt_tools_dir, append_path=True)

# Integration tests import the float64 reference (python_bindings/flt) and
# the harness (test/lib), and find the tools through FLT_TOOLS_DIR.
config.environment["PYTHONPATH"] = os.pathsep.join(
    [os.path.join(config.flt_obj_root, "python_packages"),
     os.path.join(config.flt_src_root, "python_bindings"),
     os.path.join(config.flt_src_root, "test", "lib")])
config.environment["FLT_TOOLS_DIR"] = config.flt_tools_dir

# The Python package with its native extension (not in sanitizer builds:
# an ASan-instrumented extension cannot load into the plain interpreter).
if glob.glob(os.path.join(config.flt_obj_root, "python_packages", "flt",
                          "_native*.so")):
    config.available_features.add("python-bindings")

# C programs against the runtime's C API.
cc = os.path.join(config.llvm_tools_dir, "clang")
if config.flt_sanitize:
    cc += " -fsanitize=" + config.flt_sanitize.replace(";", ",")
config.substitutions.append(("%cc", cc))
config.substitutions.append(
    ("%flt_include", os.path.join(config.flt_src_root, "include")))
config.substitutions.append(
    ("%flt_libdir", os.path.join(config.flt_obj_root, "lib")))

# Sanitizer builds (-DFLT_SANITIZE=...). The LLVM headers poison allocator
# memory under ASan while libMLIR (not instrumented) never unpoisons it, so
# manual poisoning is ignored; every other ASan check stays on, in the tools
# and in the kernels flt-compile instruments.
if config.flt_sanitize:
    config.available_features.add("sanitizer")
    config.environment["FLT_SANITIZED"] = config.flt_sanitize
    config.environment["ASAN_OPTIONS"] = (
        "allow_user_poisoning=0:detect_leaks=1:abort_on_error=0")
    config.environment["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"

# The CUDA toolkit (ptxas checks the PTX flt-compile emits) and a usable GPU
# (REQUIRES: cuda-device tests run the kernels). Build machines and CI have
# the toolkit but no GPU; scripts/run-gpu-tests.sh runs the rest on one.
ptxas = os.path.join(os.environ.get("FLT_CUDA_TOOLKIT", "/usr/local/cuda"),
                     "bin", "ptxas")
if os.path.exists(ptxas):
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", ptxas))


def _cuda_device_present():
    import ctypes
    try:
        driver = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return False
    count = ctypes.c_int(0)
    return (driver.cuInit(0) == 0 and
            driver.cuDeviceGetCount(ctypes.byref(count)) == 0 and
            count.value > 0)


# The CUDA driver double (lib/RecordingCudaDriver.cpp): the host side of
# --target=cuda libraries, checked without a GPU.
recording_cuda_driver_dir = os.path.join(config.flt_obj_root, "test",
                                         "recording-cuda-driver")
config.environment["FLT_RECORDING_CUDA_DRIVER_DIR"] = recording_cuda_driver_dir
config.substitutions.append(
    ("%recording_cuda_driver_dir", recording_cuda_driver_dir))

if _cuda_device_present():
    config.available_features.add("cuda-device")
for name in ("FLT_TEST_TARGET", "CUDA_VISIBLE_DEVICES"):
    if name in os.environ:
        config.environment[name] = os.environ[name]

# The runtime's libFuzzer target (tools/flt-fuzz/flt-fuzz-runtime.cpp), built
# wherever the compiler has libFuzzer.
fuzz_runtime = os.path.join(config.flt_tools_dir, "flt-fuzz-runtime")
if os.path.exists(fuzz_runtime):
    config.available_features.add("runtime-fuzzer")
    config.substitutions.append(("%flt_fuzz_runtime", fuzz_runtime))
