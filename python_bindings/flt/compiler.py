"""`flt.compile`: a module -> callable kernels.

    kernels = flt.compile(text_or_module, target="cpu", token_tile=64)
    out = kernels.main(q, k, v)            # numpy arrays (or CPU torch tensors)

The module is compiled by flt-compile's pipeline into a shared library in a
private temporary directory and loaded with libFLTRuntime. Each public
function becomes an attribute; calling it checks every argument against the
signature (dtype, rank, static sizes, then the relations between dynamic
sizes, which the library itself checks) and raises ValueError naming the
argument, then returns numpy arrays (one, or a tuple for several results).
A call that fails while running (target="cuda": a CUDA driver error, no
GPU) raises RuntimeError with the driver's message.

bf16 arguments take float32 arrays (rounded to nearest even) or torch
bfloat16 tensors; bf16 results come back as float32 arrays.
"""

import os
import shutil
import tempfile
import weakref
from typing import Dict, List, Optional, Sequence

import numpy as np

from . import _native
from .ir import Module, _call

_NUMPY_DTYPES = {
    "f32": np.dtype(np.float32), "f16": np.dtype(np.float16),
    "f64": np.dtype(np.float64), "i32": np.dtype(np.int32),
    "i64": np.dtype(np.int64),
}

_OPTIONS = ("cpu", "fuse_kronecker", "linear_attention_form", "token_tile",
            "value_slice", "register_rows", "vectorize", "parallel",
            "threads", "raise_attention")


def _float32_to_bf16_bits(array: np.ndarray) -> np.ndarray:
    bits = np.ascontiguousarray(array, dtype=np.float32).view(np.uint32)
    # Round to nearest even; NaN stays a (quiet) NaN.
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    rounded = np.where(np.isnan(array), 0x7FC0, rounded)
    return rounded.astype(np.uint16)


def _bf16_bits_to_float32(bits: np.ndarray) -> np.ndarray:
    return (bits.astype(np.uint32) << 16).view(np.float32)


def _shape_str(shape):
    return "[" + ", ".join("?" if s < 0 else str(s) for s in shape) + "]"


class CompiledFunction:
    """One compiled function; call it with arrays."""

    def __init__(self, library, name, args, results, constraints,
                 arg_names: Optional[Sequence[str]] = None):
        self._library = library
        self.name = name
        self.arg_types = [(e, tuple(s)) for e, s in args]
        self.result_types = [(e, tuple(s)) for e, s in results]
        self.constraints = list(constraints)
        self.arg_names = (list(arg_names) if arg_names is not None
                          and len(arg_names) == len(args)
                          else [f"arg{i}" for i in range(len(args))])

    def __repr__(self):
        sig = ", ".join(f"{n}: {e} {_shape_str(s)}" for n, (e, s)
                        in zip(self.arg_names, self.arg_types))
        res = ", ".join(f"{e} {_shape_str(s)}" for e, s in self.result_types)
        return f"<flt function {self.name}({sig}) -> ({res})>"

    def _describe(self, index):
        return f"argument {index} ('{self.arg_names[index]}') of {self.name}"

    def _convert(self, index, value) -> np.ndarray:
        element, shape = self.arg_types[index]
        what = self._describe(index)
        if type(value).__module__.startswith("torch"):
            import torch
            if not isinstance(value, torch.Tensor):
                raise ValueError(f"{what}: expected a tensor, got "
                                 f"{type(value).__name__}")
            if value.device.type != "cpu":
                raise ValueError(f"{what}: expected a CPU tensor, got one on "
                                 f"{value.device}")
            value = value.detach()
            if value.dtype == torch.bfloat16:
                if element != "bf16":
                    raise ValueError(f"{what}: expected dtype {element}, got "
                                     "bf16")
                array = value.contiguous().view(torch.int16).numpy()
                array = array.view(np.uint16)
                return self._check_shape(index, array)
            value = value.numpy()
        if not isinstance(value, np.ndarray):
            raise ValueError(f"{what}: expected a numpy array or torch "
                             f"tensor, got {type(value).__name__}")
        if element == "bf16":
            if value.dtype != np.float32:
                raise ValueError(f"{what}: expected a float32 array (rounded "
                                 f"to bf16) for a bf16 argument, got "
                                 f"{value.dtype}")
            return self._check_shape(index, _float32_to_bf16_bits(value))
        expected = _NUMPY_DTYPES[element]
        if value.dtype != expected:
            raise ValueError(f"{what}: expected dtype {expected} ({element}), "
                             f"got {value.dtype}")
        return self._check_shape(index, np.ascontiguousarray(value))

    def _check_shape(self, index, array):
        _, shape = self.arg_types[index]
        if array.ndim != len(shape) or any(
                s >= 0 and s != a for s, a in zip(shape, array.shape)):
            raise ValueError(f"{self._describe(index)}: expected shape "
                             f"{_shape_str(shape)}, got "
                             f"{_shape_str(array.shape)}")
        return np.ascontiguousarray(array)

    def __call__(self, *args):
        if len(args) != len(self.arg_types):
            raise ValueError(f"{self.name} takes {len(self.arg_types)} "
                             f"arguments ({', '.join(self.arg_names)}), got "
                             f"{len(args)}")
        arrays = [self._convert(i, a) for i, a in enumerate(args)]
        outputs = self._library.call(self.name, arrays)
        outputs = [_bf16_bits_to_float32(o) if e == "bf16" else o
                   for o, (e, _) in zip(outputs, self.result_types)]
        return outputs[0] if len(outputs) == 1 else tuple(outputs)


class CompiledModule:
    """The functions of a compiled module, as attributes (and by name with
    `module["name"]`)."""

    def __init__(self, library_path: str, target: str,
                 arg_names: Optional[Dict[str, Sequence[str]]] = None,
                 ir: Optional[Module] = None):
        self._library = _native.Library(library_path)
        self.target = target
        self.ir = ir
        self.library_path = library_path
        arg_names = arg_names or {}
        self._functions = {
            name: CompiledFunction(self._library, name, args, results,
                                   constraints, arg_names.get(name))
            for name, args, results, constraints in self._library.functions()
        }

    @property
    def functions(self) -> List[str]:
        return list(self._functions)

    def __getattr__(self, name):
        functions = self.__dict__.get("_functions", {})
        if name in functions:
            return functions[name]
        raise AttributeError(f"the compiled module has no function '{name}' "
                             f"(it has: {', '.join(functions) or 'none'})")

    def __getitem__(self, name):
        return self.__getattr__(name)

    def __dir__(self):
        return list(super().__dir__()) + list(self._functions)

    def set_num_threads(self, threads: int):
        """OpenMP threads of the kernels' parallel loops."""
        self._library.set_num_threads(int(threads))


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
        compiled = CompiledModule(path, target, arg_names, module)
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    # The library stays mapped after its file is gone; remove the directory
    # with the object.
    weakref.finalize(compiled, shutil.rmtree, directory, True)
    return compiled
