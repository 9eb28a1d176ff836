# Where flt.runtime finds libFLTRuntime: FLT_RUNTIME_LIBRARY when set (that
# library or an ImportError naming the variable, never another one), else
# next to the package — an installed prefix (P/lib/python3/dist-packages/flt
# -> P/lib), a GPU bundle (DIR/python/flt -> DIR/lib), the build tree — and
# `flt.__version__` comes from the library found.
# REQUIRES: python-bindings
# RUN: %python %s %flt_libdir/libFLTRuntime.so %S/../../python_bindings/flt

import os
import shutil
import subprocess
import sys
import tempfile

from flt_harness import expect, finish

runtime, package = sys.argv[1], os.path.abspath(sys.argv[2])
work = tempfile.mkdtemp(prefix="flt-lookup-")
PROBE = ("import flt, flt.runtime; "
         "print(flt.runtime.library_path()); print(flt.__version__)")


def probe(pythonpath, **env):
    """flt.runtime imported from `pythonpath` alone: (status, out, err)."""
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("PYTHONPATH", "FLT_RUNTIME_LIBRARY",
                                "LD_LIBRARY_PATH")}
    environment.update(env, PYTHONPATH=pythonpath)
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True,
                          text=True, env=environment, cwd=work)
    return done.returncode, done.stdout.split(), done.stderr


def layout(python_dir, lib_dir):
    """The package in python_dir/flt, the runtime in lib_dir."""
    shutil.copytree(package, os.path.join(python_dir, "flt"),
                    ignore=shutil.ignore_patterns("*.so", "__pycache__"))
    os.makedirs(lib_dir, exist_ok=True)
    shutil.copy(runtime, lib_dir)
    return os.path.join(lib_dir, "libFLTRuntime.so")


prefix = os.path.join(work, "prefix")
installed = layout(os.path.join(prefix, "lib", "python3", "dist-packages"),
                   os.path.join(prefix, "lib"))
status, out, err = probe(os.path.join(prefix, "lib", "python3",
                                      "dist-packages"))
expect("an installed prefix: P/lib/libFLTRuntime.so",
       status == 0 and out == [installed, "0.1.0"], err[-500:])

bundle = os.path.join(work, "bundle")
bundled = layout(os.path.join(bundle, "python"), os.path.join(bundle, "lib"))
status, out, err = probe(os.path.join(bundle, "python"))
expect("a GPU bundle: DIR/lib/libFLTRuntime.so",
       status == 0 and out == [bundled, "0.1.0"], err[-500:])

status, out, err = probe(os.path.join(bundle, "python"),
                         FLT_RUNTIME_LIBRARY=installed)
expect("FLT_RUNTIME_LIBRARY wins", status == 0 and out[0] == installed,
       err[-500:])
for label, value in (("a missing file", os.path.join(work, "none.so")),
                     ("a text file", os.path.join(work, "text.so"))):
    with open(os.path.join(work, "text.so"), "w") as f:
        f.write("not a library\n")
    status, out, err = probe(os.path.join(bundle, "python"),
                             FLT_RUNTIME_LIBRARY=value)
    last = err.strip().splitlines()[-1] if err.strip() else ""
    expect(f"FLT_RUNTIME_LIBRARY naming {label}: an ImportError",
           status != 0 and last.startswith("ImportError: flt.runtime: cannot "
                                           "load libFLTRuntime.so from "
                                           "FLT_RUNTIME_LIBRARY: ") and
           value in last, last)

alone = os.path.join(work, "alone")
shutil.copytree(package, os.path.join(alone, "flt"),
                ignore=shutil.ignore_patterns("*.so", "__pycache__"))
status, out, err = probe(alone)
last = err.strip().splitlines()[-1] if err.strip() else ""
expect("no runtime anywhere: an ImportError that says where to point",
       status != 0 and "set FLT_RUNTIME_LIBRARY" in last, last)
finish()
