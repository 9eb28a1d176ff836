"""flt: an MLIR compiler for linear attention with relative positional
encodings.

    import flt
    module = flt.ir.parse(text)          # or flt.ops.attention_layer(...)
    kernels = flt.compile(module)        # target="cpu"
    out = kernels.main(q, k, v, r, xi, theta)

Modules: `flt.ir` (parse / verify / print / pass pipelines), `flt.ops` (IR
builders for given shapes), `flt.reference` (float64 formulas of SPEC.md),
`flt.frontends.torch` and `flt.frontends.onnx` (import models), `flt.nn`
(FLTAttention, a PyTorch module).

Everything but `flt.reference` needs the native extension flt._native,
built with flt (build/python_packages); it is loaded on first use, so the
numpy reference also works from the source tree alone.
"""

import importlib

from . import reference

_SUBMODULES = ("ir", "ops", "compiler", "frontends", "nn")
_NAMES = {
    "CompileError": "ir", "Diagnostic": "ir", "Module": "ir",
    "compile": "compiler", "CompiledModule": "compiler",
    "CompiledFunction": "compiler",
}

__all__ = ["reference", *_SUBMODULES, *_NAMES]


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    if name in _NAMES:
        return getattr(importlib.import_module(f".{_NAMES[name]}", __name__),
                       name)
    if name == "__version__":
        return importlib.import_module("._native", __name__).runtime_version()
    raise AttributeError(f"module 'flt' has no attribute '{name}'")
