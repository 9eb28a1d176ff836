# Hostile and careless input through flt.runtime is an exception, never a
# dead interpreter: paths that are not libraries (missing, a directory, a
# text file, a FIFO — which must not hang —, a shared library that is not
# flt's, a NUL in the name), thread counts out of range or of the wrong
# type, arguments of the wrong count, kind, dtype, rank or size, arrays too
# large to copy, device calls on a CPU library. A good call still gives the
# right answer afterwards.
# REQUIRES: python-bindings
# RUN: %python %s %flt_libdir/libFLTRuntime.so

import os
import sys
import tempfile

import numpy as np

from flt_harness import Library, expect, finish, func, ttype

import flt.runtime

X = ttype((1, 2, 1, 4), dynamic=(2,))
lib = Library([func("relu", [("x", X)],
                    [f"%o = flt.feature_map %x {{kernel = #flt.kernel<relu>}}"
                     f" : {X} -> {X}"], [("%o", X)])])
module = flt.runtime.load(lib.path)
d = tempfile.mkdtemp(prefix="flt-hostile-")


def raises(label, kinds, action, needle=""):
    try:
        action()
    except kinds as error:
        expect(label, needle in str(error), f"({type(error).__name__}: "
                                            f"{error})")
        return
    except Exception as error:  # the wrong kind of exception
        expect(label, False, f"({type(error).__name__}: {error})")
        return
    expect(label, False, "(no exception)")


# Paths that are not flt libraries.
text = os.path.join(d, "text.so")
with open(text, "w") as f:
    f.write("not a library\n")
fifo = os.path.join(d, "fifo.so")
os.mkfifo(fifo)
for label, path, needle in [
        ("missing file", os.path.join(d, "none.so"), "cannot open library"),
        ("a directory", d, "not a regular file"),
        ("a text file", text, "cannot load library"),
        ("a FIFO (no hang)", fifo, "not a regular file"),
        ("a shared library that is not flt's", sys.argv[1],
         "is not an flt library")]:
    raises(f"load: {label}", RuntimeError, lambda: flt.runtime.load(path),
           needle)
raises("load: a NUL in the path", ValueError,
       lambda: flt.runtime.load(lib.path + "\0.so"), "NUL")
raises("load: None", TypeError, lambda: flt.runtime.load(None))

# Thread counts: the documented range, integers only.
for value in (100000, 0, -1, 2 ** 70):
    raises(f"set_num_threads({value})", ValueError,
           lambda: module.set_num_threads(value), "between 1 and 1024")
for value in (1.5, "4", True, None, [2]):
    raises(f"set_num_threads({value!r})", ValueError,
           lambda: module.set_num_threads(value), "must be an integer")
module.set_num_threads(np.int64(2))
expect("set_num_threads takes numpy integers", True)

# Arguments.
x = np.arange(24, dtype=np.float32).reshape(1, 2, 3, 4) - 5
for label, args, needle in [
        ("no argument", (), "takes 1 arguments"),
        ("two arguments", (x, x), "takes 1 arguments"),
        ("a list", (x.tolist(),), "expected a numpy array or torch tensor"),
        ("a string", ("x",), "expected a numpy array or torch tensor"),
        ("None", (None,), "expected a numpy array or torch tensor"),
        ("float64", (x.astype(np.float64),), "expected dtype float32"),
        ("an object array", (x.astype(object),), "expected dtype float32"),
        ("big-endian", (x.astype(">f4"),), "expected dtype float32"),
        ("wrong rank", (x[0],), "expected shape [1, 2, ?, 4]"),
        ("wrong static size", (np.zeros((1, 3, 3, 4), np.float32),),
         "expected shape [1, 2, ?, 4]")]:
    raises(f"call: {label}", ValueError, lambda: module.relu(*args), needle)
raises("call: a view too large to copy", (MemoryError, ValueError),
       lambda: module.relu(np.broadcast_to(np.float32(1),
                                           (1, 2, 2 ** 40, 4))))
raises("device arguments for a CPU library", ValueError,
       lambda: module.to_device(x), "compiled for cpu")
raises("a missing function", AttributeError, lambda: module.nope,
       "has no function 'nope'")
raises("time_on_device on a CPU library", ValueError,
       lambda: module.relu.time_on_device(x), "")

# Views and non-contiguous arrays are fine, and the answer is right.
wide = np.zeros((1, 2, 3, 8), np.float32)
wide[..., ::2] = x
expect("a strided view gives the right answer",
       np.array_equal(module.relu(wide[..., ::2]), np.maximum(x, 0)))
expect("an empty length gives an empty result",
       module.relu(np.zeros((1, 2, 0, 4), np.float32)).shape == (1, 2, 0, 4))
finish()
