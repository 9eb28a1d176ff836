"""`flt.compile`: a module -> callable kernels.

    kernels = flt.compile(text_or_module, target="cpu", token_tile=64)
    out = kernels.main(q, k, v)            # numpy arrays (or torch tensors)

The module is compiled by flt-compile's pipeline into a shared library in a
private temporary directory and loaded with flt.runtime (see there for how
calls check their arguments, host and device arguments, bf16 and errors).
"""

import os
import shutil
import tempfile
import weakref
from typing import Dict, Optional, Sequence

from . import _native
from .ir import Module, _call
from .runtime import CompiledModule

_OPTIONS = ("cpu", "fuse_kronecker", "linear_attention_form", "token_tile",
            "value_slice", "register_rows", "vectorize", "parallel",
            "threads", "raise_attention")


def compile(module, target: str = "cpu", *,
            arg_names: Optional[Dict[str, Sequence[str]]] = None,
            **options) -> CompiledModule:
    """Compiles `module` (a flt.ir.Module or IR text) for `target` ("cpu" or
    "cuda") and loads it. Options are flt-compile's: cpu ("native" or an
    LLVM CPU name), token_tile, value_slice, register_rows, fuse_kronecker,
    linear_attention_form ("auto", "linear" or "quadratic"), vectorize,
    parallel, threads, raise_attention (first rewrite attention written in
    linalg or TOSA into flt ops). `arg_names` ({function: [names]}) only
    improves error messages. Raises CompileError on bad IR or a failed
    compilation."""
    if target not in ("cpu", "cuda"):
        raise ValueError(f"flt.compile: target must be 'cpu' or 'cuda', got "
                         f"{target!r}")
    for key in options:
        if key not in _OPTIONS:
            raise TypeError(f"flt.compile: unknown option '{key}' (known: "
                            f"{', '.join(_OPTIONS)})")
    if isinstance(module, str):
        module = Module(module)
    elif not isinstance(module, Module):
        raise TypeError(f"flt.compile: expected a flt.ir.Module or IR text, "
                        f"got {type(module).__name__}")
    directory = tempfile.mkdtemp(prefix="flt-")
    try:
        path = os.path.join(directory, "module.so")
        _call(_native.compile_module, str(module), module.filename, path,
              dict(options, target=target))
        compiled = CompiledModule(path, arg_names, module)
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    # The library stays mapped after its file is gone; remove the directory
    # with the object.
    weakref.finalize(compiled, shutil.rmtree, directory, True)
    return compiled
