"""`flt.compile`: a module -> callable kernels.

    kernels = flt.compile(text_or_module, target="cpu", token_tile=64)
    out = kernels.main(q, k, v)            # numpy arrays (or torch tensors)

The module is compiled by flt-compile's pipeline into a shared library in a
private temporary directory and loaded with flt.runtime (see there for how
calls check their arguments, host and device arguments, bf16 and errors).

The keyword options are flt-compile's, spelled in snake_case; they, their
defaults and valid ranges come from the one option table of the compiler
(`include/flt/Codegen/Options.def`, listed in `docs/Options.md` and by
`flt.compiler.options()`). A wrong name or type raises TypeError, a value
out of range ValueError, before anything is compiled.
"""

import os
import shutil
import tempfile
import weakref
from typing import Dict, List, Optional, Sequence

from . import _native
from .ir import Module, _call
from .runtime import CompiledModule


def options() -> List[dict]:
    """The options flt.compile accepts, from the compiler's table: dicts with
    name, type ('bool', 'int' or 'str'), default, help, and min / max (int)
    or choices (str; empty: any string)."""
    return [dict(row) for row in _native.option_table()]


def _describe() -> str:
    lines = []
    for row in options():
        if row["name"] == "target":
            continue
        valid = (f"[{row['min']}, {row['max']}]" if row["type"] == "int"
                 else "|".join(row.get("choices") or []) or row["type"])
        lines.append(f"    {row['name']} ({valid}, default "
                     f"{row['default']!r}): {row['help']}")
    return "\n".join(lines)


def compile(module, target: str = "cpu", *,
            arg_names: Optional[Dict[str, Sequence[str]]] = None,
            **options) -> CompiledModule:
    """Compiles `module` (a flt.ir.Module or IR text) for `target` ("cpu" or
    "cuda") and loads it. `arg_names` ({function: [names]}) only improves
    error messages. Raises CompileError on bad IR or a failed compilation.
    Options (the compiler's option table):

OPTIONS
"""
    if isinstance(module, str):
        module = Module(module)
    elif not isinstance(module, Module):
        raise TypeError(f"flt.compile: expected a flt.ir.Module or IR text, "
                        f"got {type(module).__name__}")
    if "target" in options:
        raise TypeError("flt.compile: target is the second argument")
    options = dict(options, target=target)
    directory = tempfile.mkdtemp(prefix="flt-")
    try:
        path = os.path.join(directory, "module.so")
        _call(_native.compile_module, str(module), module.filename, path,
              options)
        compiled = CompiledModule(path, arg_names, module)
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    # The library stays mapped after its file is gone; remove the directory
    # with the object.
    weakref.finalize(compiled, shutil.rmtree, directory, True)
    return compiled


compile.__doc__ = compile.__doc__.replace("OPTIONS", _describe())
