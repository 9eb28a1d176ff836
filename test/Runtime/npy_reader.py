# flt-run's .npy reader on hostile files: a header claiming more data than
# any machine has, sizes whose product overflows, a small file claiming
# gigabytes, headers NumPy's literal parser would not give flt's meaning
# (not a literal, trailing junk, repeated or unknown keys, values of another
# kind) — each one error line naming the problem and exit status 1, without
# allocating what the header claims (run under a 1 GiB address-space
# limit); NumPy's own spellings (versions 1-3, double quotes, any key
# order, whitespace, trailing commas, scalars, empty arrays) still read.
# RUN: %python %s

import os
import resource
import struct
import subprocess

import numpy as np

os.environ["FLT_TEST_TARGET"] = "cpu"
from flt_harness import Library, expect, finish, func, tool, ttype  # noqa

X = ttype((1, 2, 1, 4), dynamic=(2,))
lib = Library([func("relu", [("x", X)],
                    [f"%o = flt.feature_map %x {{kernel = #flt.kernel<relu>}}"
                     f" : {X} -> {X}"], [("%o", X)])])
d = lib.dir
out = os.path.join(d, "out.npy")
GOOD = {"'descr'": "'<f4'", "'fortran_order'": "False",
        "'shape'": "(1, 2, 3, 4)"}


def header_file(name, header, data=b"", version=1):
    """A .npy file with this header text and data bytes."""
    text = header.encode("latin1")
    length = struct.pack("<H" if version == 1 else "<I", len(text))
    path = os.path.join(d, name + ".npy")
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY" + bytes([version, 0]) + length + text + data)
    return path


def dict_header(items, tail=", }\n"):
    return "{" + ", ".join(f"{k}: {v}" for k, v in items) + tail


def limit_memory():
    # Under AddressSanitizer the shadow memory needs terabytes of address
    # space: no limit there.
    if not os.environ.get("FLT_SANITIZED"):
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


def run(path):
    if os.path.exists(out):
        os.remove(out)
    return subprocess.run([tool("flt-run"), lib.path, "--function=relu",
                           f"--input={path}", f"--output={out}"],
                          capture_output=True, text=True,
                          preexec_fn=limit_memory)


def bad(label, path, needle):
    done = run(path)
    lines = done.stderr.strip().splitlines()
    ok = (done.returncode == 1 and len(lines) == 1 and
          lines[0].startswith("flt-run: error: ") and needle in lines[0] and
          not os.path.exists(out))
    expect(label, ok, f"(status {done.returncode}: {done.stderr.strip()!r})")


def good(label, path):
    done = run(path)
    ok = done.returncode == 0 and os.path.exists(out)
    if ok:
        got = np.load(out)
        ok = got.shape == (1, 2, 3, 4) and np.array_equal(
            got, np.maximum(np.arange(24, dtype=np.float32).reshape(
                1, 2, 3, 4) - 5, 0))
    expect(label, ok, done.stderr.strip())


data = (np.arange(24, dtype=np.float32) - 5).tobytes()

# Sizes no file holds: refused by the file-size check, nothing allocated.
bad("1e12 elements", header_file("huge", dict_header(
    [("'descr'", "'<f4'"), ("'fortran_order'", "False"),
     ("'shape'", "(1, 2, 125000000000, 4)")])),
    "shorter than shape (1, 2, 125000000000, 4) of f32 needs")
bad("5e8 elements in 112 bytes", header_file("claims", dict_header(
    [("'descr'", "'<f4'"), ("'fortran_order'", "False"),
     ("'shape'", "(1, 2, 62500000, 4)")]), b"\0" * 24),
    "the file has 24")
expect("that file is small", os.path.getsize(os.path.join(d, "claims.npy"))
       < 200)
# Products that overflow int64 (or wrap to 0 bytes).
for name, shape in (("overflow", "(1, 4294967296, 4294967296, 4)"),
                    ("wraps to 0", "(1, 2, 4611686018427387904, 4)"),
                    ("size over int64", "(1, 2, 99999999999999999999, 4)")):
    bad(f"shape {name}", header_file(name.replace(" ", "_"), dict_header(
        [("'descr'", "'<f4'"), ("'fortran_order'", "False"),
         ("'shape'", shape)]), data),
        "too large" if "int64" not in name else "does not fit in 64 bits")

# Headers NumPy's parser would refuse or read otherwise.
cases = [
    ("not a literal", "{'descr': '<f4', 'fortran_order': False, "
     "'shape': (1, 2, 3, 4) junk}\n", "expected ',' or '}'"),
    ("trailing junk", dict_header(GOOD.items(), "}junk\n"),
     "unexpected text after the header's dict"),
    ("repeated fortran_order", dict_header(
        list(GOOD.items()) + [("'fortran_order'", "True")]),
     "key 'fortran_order' appears twice"),
    ("repeated shape", dict_header(
        list(GOOD.items()) + [("'shape'", "(24,)")]),
     "key 'shape' appears twice"),
    ("unknown key", dict_header(list(GOOD.items()) + [("'x'", "1")]),
     "unexpected key 'x'"),
    ("missing key", dict_header([("'descr'", "'<f4'"),
                                 ("'shape'", "(1, 2, 3, 4)")]),
     "lacks 'fortran_order'"),
    ("fortran_order not a bool", dict_header(
        [("'descr'", "'<f4'"), ("'fortran_order'", "0"),
         ("'shape'", "(1, 2, 3, 4)")]), "must be True or False"),
    ("shape not a tuple", dict_header(
        [("'descr'", "'<f4'"), ("'fortran_order'", "False"),
         ("'shape'", "[1, 2, 3, 4]")]), "'shape' must be a tuple"),
    ("negative size", dict_header(
        [("'descr'", "'<f4'"), ("'fortran_order'", "False"),
         ("'shape'", "(1, 2, -3, 4)")]), "non-negative decimal sizes"),
    ("(24) is not a tuple", dict_header(
        [("'descr'", "'<f4'"), ("'fortran_order'", "False"),
         ("'shape'", "(24)")]), "write (24,) for one dimension"),
    ("not a dict", "['descr', '<f4']\n", "expected '{'"),
    ("big-endian", dict_header(
        [("'descr'", "'>f4'"), ("'fortran_order'", "False"),
         ("'shape'", "(1, 2, 3, 4)")]), "dtype '>f4'"),
    ("Fortran order", dict_header(
        [("'descr'", "'<f4'"), ("'fortran_order'", "True"),
         ("'shape'", "(1, 2, 3, 4)")]), "Fortran order"),
    ("a NUL byte", dict_header(GOOD.items()).replace(",", "\0,", 1),
     "byte 0x00"),
]
for label, header, needle in cases:
    bad(label, header_file(label.replace(" ", "_"), header, data), needle)
bad("data too long", header_file("long", dict_header(GOOD.items()),
                                 data + b"\0" * 4),
    "(trailing bytes after the data)")
bad("data too short", header_file("short", dict_header(GOOD.items()),
                                  data[:-4]), "shorter than")
bad("unknown version", header_file("v4", dict_header(GOOD.items()), data, 4),
    "unknown .npy version 4.0")
bad("a directory", d, "is a directory")
empty = os.path.join(d, "empty.npy")
open(empty, "wb").close()
bad("empty file", empty, "shorter than the .npy preamble")

# What NumPy writes, and the other spellings of the same header, read.
array = np.arange(24, dtype=np.float32).reshape(1, 2, 3, 4) - 5
for version in ((1, 0), (2, 0), (3, 0)):
    path = os.path.join(d, f"numpy_v{version[0]}.npy")
    with open(path, "wb") as f:
        np.lib.format.write_array(f, array, version=version)
    good(f"NumPy's version {version[0]} file", path)
good("double quotes, another order, Python whitespace", header_file(
    "spelled", '{ "shape" :( 1,2 ,\t3, 4 ,) ,"fortran_order":False,\n'
    '"descr" : "<f4"}  \n', data))
good("no trailing comma", header_file(
    "plain", dict_header(GOOD.items(), "}"), data))
finish()
