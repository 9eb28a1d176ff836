# flt.compile's keyword arguments are the option table's (Options.def):
# the same names, types, defaults and ranges as flt-compile's flags; a wrong
# name or type is a TypeError, a value out of range a ValueError, before
# anything is compiled.
# REQUIRES: python-bindings
# RUN: %python %s

import os
import re

import flt

root = os.path.join(os.path.dirname(__file__), "..", "..")
text = open(os.path.join(root, "include", "flt", "Codegen",
                         "Options.def")).read()
text = text[text.index("//--- What is compiled"):]
python_names = {m.group(1) for m in re.finditer(
    r"FLT_(?:BOOL|INT|STRING)_OPTION\(\s*[A-Za-z |]+,\s*\w+,\s*\"[^\"]*\","
    r"\s*\"[^\"]*\",\s*\"([^\"]*)\"", text)} - {""}

table = {row["name"]: row for row in flt.compiler.options()}
assert set(table) == python_names, (sorted(table), sorted(python_names))
assert table["token_tile"]["type"] == "int"
assert (table["token_tile"]["min"], table["token_tile"]["max"]) == (0, 512)
assert table["linear_attention_form"]["choices"] == ["auto", "linear",
                                                     "quadratic"]
assert table["vectorize"]["default"] is True
# Options flt.compile could not reach before the table: every one now.
for name in ("threads_per_block", "shared_memory", "allow_tf32", "cuda_chip",
             "emulate_gpu_mapping", "cuda_toolkit"):
    assert name in table, name
# The docstring lists them all.
for name in table:
    assert name == "target" or name in flt.compile.__doc__, name

layer = flt.ops.attention_layer(batch=1, heads=1, length=8, head_dim=4,
                                num_frequencies=2)
for options, error, message in [
        ({"tile": 3}, TypeError, "unknown option 'tile'"),
        ({"token_tile": "64"}, TypeError, "token_tile must be an int, not str"),
        ({"token_tile": True}, TypeError, "token_tile must be an int"),
        ({"vectorize": 1}, TypeError, "vectorize must be a bool, not int"),
        ({"cpu": None}, TypeError, "cpu must be a str, not NoneType"),
        ({"token_tile": 513}, ValueError, "token_tile in [0, 512] required"),
        ({"threads": 2 ** 70}, ValueError, "threads in [0, 1024] required"),
        ({"register_rows": -1}, ValueError, "register_rows in [0, 16]"),
        ({"linear_attention_form": "fast"}, ValueError,
         "unknown linear_attention_form 'fast' (supported: auto, linear, "
         "quadratic)"),
]:
    try:
        flt.compile(layer, **options)
        raise SystemExit(f"{options}: no error")
    except error as e:
        assert message in str(e), (options, str(e))
try:
    flt.compile(layer, "tpu")
    raise SystemExit("target tpu: no error")
except ValueError as e:
    assert "unknown target 'tpu' (supported: cpu, cuda)" in str(e), str(e)

# Accepted options reach the compiler.
kernels = flt.compile(layer, token_tile=16, value_slice=4, register_rows=8,
                      parallel=False)
assert kernels.main is not None
print("compile options ok")
