"""flt: an MLIR compiler for linear attention with relative positional
encodings.

    import flt
    module = flt.ir.parse(text)          # or flt.ops.attention(...) to build it
    kernels = flt.compile(module)        # target="cpu"
    out = kernels.main(q, k, v, r, xi, theta)

Modules: `flt.ir` (parse / verify / print / pass pipelines), `flt.ops` (IR
builders for given shapes), `flt.reference` (float64 formulas of SPEC.md),
`flt.frontends.torch` and `flt.frontends.onnx` (import models), `flt.nn`
(FLTAttention, a PyTorch module; imports torch).
"""

from . import ir, ops, reference
from .compiler import CompiledModule, CompiledFunction, compile
from .ir import CompileError, Diagnostic, Module

__all__ = [
    "CompileError", "CompiledFunction", "CompiledModule", "Diagnostic",
    "Module", "compile", "ir", "ops", "reference",
]
__version__ = ir._native.runtime_version()
