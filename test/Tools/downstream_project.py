# The installed tree is a usable package: `cmake --install` into a fresh
# prefix, then a small downstream CMake project finds it (find_package(FLT)),
# compiles a layer with the installed flt-compile (flt_compile_layer) and
# calls it through the installed C API (FLT::Runtime), checking the numbers.
# The build tree is out of the picture: the installed tools must find what
# they need (libMLIR, the runtime, the CUDA wrappers) on their own.
# UNSUPPORTED: sanitizer
# RUN: rm -rf %t && mkdir -p %t
# RUN: %python %s %t | FileCheck %s
# CHECK: downstream: [1, 2, 37, 4] max |out - ref| = {{.*}}: ok
# CHECK: installed flt-compile --target=cuda: ok

import os
import shutil
import subprocess
import sys

work = sys.argv[1]
build_tree = os.path.dirname(os.environ["FLT_TOOLS_DIR"])
source = os.path.join(os.path.dirname(__file__), "Inputs", "downstream")
prefix = os.path.join(work, "prefix")
project = os.path.join(work, "project")
env = dict(os.environ, PATH="/usr/bin:/bin")


def run(*command, cwd=None):
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True,
                          text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({done.returncode}):\n"
                 f"{done.stdout}\n{done.stderr}")
    return done.stdout


cmake = shutil.which("cmake") or "/usr/bin/cmake"
run(cmake, "--install", build_tree, "--prefix", prefix)
run(cmake, "-S", source, "-B", project, "-G", "Ninja",
    f"-DFLT_DIR={os.path.join(prefix, 'lib', 'cmake', 'flt')}",
    "-DCMAKE_C_COMPILER=/usr/lib/llvm-22/bin/clang")
run(cmake, "--build", project)
print(run(os.path.join(project, "call_layer"),
          os.path.join(project, "layer.so")).strip())

# The installed compiler finds the CUDA wrappers beside itself.
layer = os.path.join(source, "layer.mlir")
run(os.path.join(prefix, "bin", "flt-compile"), layer, "--target=cuda",
    "-o", os.path.join(work, "layer_cuda.so"))
print("installed flt-compile --target=cuda: ok")
