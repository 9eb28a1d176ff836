"""flt: an MLIR compiler for linear attention with relative positional
encodings.

    import flt
    module = flt.ir.parse(text)          # or flt.ops.attention_layer(...)
    kernels = flt.compile(module)        # target="cpu"
    out = kernels.main(q, k, v, r, xi, theta)

Modules: `flt.ir` (parse / verify / print / pass pipelines), `flt.ops` (IR
builders for given shapes), `flt.reference` (float64 formulas of docs/Semantics.md),
`flt.runtime` (load compiled libraries and call them, on host or device
arrays), `flt.frontends.torch` and `flt.frontends.onnx` (import models),
`flt.nn` (FLTAttention, a PyTorch module), `flt.autograd` (compiled
functions with their gradients as torch autograd functions), `flt.compat`
(the papers' official modules and checkpoints as flt IR and arguments,
docs/Compatibility.md).

The compiler needs the native extension flt._native (libMLIR), built with
flt (build/python_packages); the runtime only libFLTRuntime, through ctypes
(flt._capi: no compiled extension, any CPython >= 3.9). Both are loaded on
first use, so the numpy reference also works from the source tree alone,
and flt.runtime where only the runtime was copied.
"""

import importlib

from . import reference

_SUBMODULES = ("ir", "ops", "compiler", "runtime", "frontends", "nn",
               "autograd", "compat")
_NAMES = {
    "CompileError": "ir", "Diagnostic": "ir", "Module": "ir",
    "compile": "compiler", "load": "runtime", "CompiledModule": "runtime",
    "CompiledFunction": "runtime", "DeviceArray": "runtime",
}

__all__ = ["reference", *_SUBMODULES, *_NAMES]


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    if name in _NAMES:
        return getattr(importlib.import_module(f".{_NAMES[name]}", __name__),
                       name)
    if name == "__version__":
        return importlib.import_module("._capi", __name__).runtime_version()
    raise AttributeError(f"module 'flt' has no attribute '{name}'")
