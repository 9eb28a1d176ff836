"""`flt.runtime`: load compiled flt libraries and call their functions.

    kernels = flt.runtime.load("layer.so")   # from flt-compile (or
                                             # flt.compile, which calls this)
    out = kernels.layer(q, k, v, r, xi, theta)

Needs only libFLTRuntime (no MLIR), through ctypes over its C API
(flt._capi), so it also works where just the compiled libraries and the
runtime were copied, e.g. a GPU host, under any CPython >= 3.9.

Each public function of a library becomes an attribute; calling it checks
every argument against the signature (dtype, rank, static sizes, then the
relations between dynamic sizes, which the library itself checks) and
raises ValueError naming the argument. A call that fails while running (a
CUDA driver error, no GPU) raises RuntimeError with the driver's message.

Host arguments (numpy arrays, CPU torch tensors) give numpy results; with a
--target=cuda library they are copied to the GPU and the results back. bf16
arguments take float32 arrays (rounded to nearest even) or torch bfloat16
tensors; bf16 results come back as float32 arrays.

Device arguments (--target=cuda libraries): torch CUDA tensors (on device
0, the runtime's) give torch CUDA tensors; `DeviceArray`s (from
`module.to_device(array)` or an earlier call) give DeviceArrays. Nothing is
copied through the host: the kernels read the arguments' memory and the
results are the kernels' own buffers, freed when the last reference to
them goes. All arguments of a call are on the host or all on the device.
"""

import weakref
from typing import Dict, List, Optional, Sequence

import numpy as np

from . import _capi
from ._capi import runtime_version  # noqa: F401 (flt.__version__)

_NUMPY_DTYPES = {
    "f32": np.dtype(np.float32), "f16": np.dtype(np.float16),
    "f64": np.dtype(np.float64), "i32": np.dtype(np.int32),
    "i64": np.dtype(np.int64),
}

# __cuda_array_interface__ type strings; bf16 has none of its own and is
# exposed as its bits (int16, as torch's `view(torch.bfloat16)` expects).
_TYPESTRS = {"f32": "<f4", "f16": "<f2", "f64": "<f8", "i32": "<i4",
             "i64": "<i8", "bf16": "<i2"}

_TORCH_ELEMENTS = {"float32": "f32", "float16": "f16", "bfloat16": "bf16",
                   "float64": "f64", "int32": "i32", "int64": "i64"}


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


def _host_bits(element: str, array: np.ndarray, what: str) -> np.ndarray:
    """`array` as the C-contiguous buffer of `element`s the runtime takes
    (bf16: the rounded bits of a float32 array)."""
    if element == "bf16":
        if array.dtype != np.float32:
            raise ValueError(f"{what}: expected a float32 array (rounded to "
                             f"bf16) for a bf16 argument, got {array.dtype}")
        return _float32_to_bf16_bits(array)
    expected = _NUMPY_DTYPES[element]
    if array.dtype != expected:
        raise ValueError(f"{what}: expected dtype {expected} ({element}), got "
                         f"{array.dtype}")
    return np.ascontiguousarray(array)


def _is_torch_tensor(value) -> bool:
    if not type(value).__module__.startswith("torch"):
        return False
    import torch
    return isinstance(value, torch.Tensor)


def _on_device(value) -> bool:
    return isinstance(value, DeviceArray) or (
        _is_torch_tensor(value) and value.device.type == "cuda")


class DeviceArray:
    """A dense row-major array in GPU memory that flt owns: the result of a
    device call, or `CompiledModule.to_device(array)`. Freed when the last
    reference goes (or by `free()`). `__cuda_array_interface__` (version 3)
    lets torch, CuPy or Numba use it without a copy
    (`torch.as_tensor(a, device="cuda")`; bf16 arrays appear as int16)."""

    def __init__(self, library, pointer: int, element: str, shape):
        self._library = library
        self.pointer = int(pointer)
        self.dtype = element
        self.shape = tuple(int(s) for s in shape)
        # Holds the library (and so its driver state) until the free.
        self._free = weakref.finalize(self, library.free_device, self.pointer)

    def __repr__(self):
        state = "" if self._free.alive else ", freed"
        return (f"<flt.DeviceArray {self.dtype} {_shape_str(self.shape)} "
                f"at {self.pointer:#x}{state}>")

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def _check_alive(self):
        if not self._free.alive:
            raise ValueError(f"{self!r}: used after free()")

    def numpy(self) -> np.ndarray:
        """A host copy (bf16: as float32)."""
        self._check_alive()
        array = self._library.to_host(self.pointer, self.dtype, self.shape)
        return _bf16_bits_to_float32(array) if self.dtype == "bf16" else array

    def free(self):
        """Frees the device memory now (later uses raise ValueError)."""
        self._free()

    @property
    def __cuda_array_interface__(self):
        self._check_alive()
        return {"shape": self.shape, "typestr": _TYPESTRS[self.dtype],
                "data": (self.pointer, False), "strides": None,
                "version": 3, "stream": None}


class CompiledFunction:
    """One compiled function; call it with arrays."""

    def __init__(self, module, name, args, results, constraints,
                 arg_names: Optional[Sequence[str]] = None):
        self._module = module
        self._library = module._library
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

    def _check_shape(self, index, shape):
        _, expected = self.arg_types[index]
        if len(shape) != len(expected) or any(
                s >= 0 and s != a for s, a in zip(expected, shape)):
            raise ValueError(f"{self._describe(index)}: expected shape "
                             f"{_shape_str(expected)}, got "
                             f"{_shape_str(shape)}")

    def _convert(self, index, value) -> np.ndarray:
        """A host argument as the C-contiguous array the runtime takes."""
        element, _ = self.arg_types[index]
        what = self._describe(index)
        if _is_torch_tensor(value):
            import torch
            value = value.detach()
            if value.dtype == torch.bfloat16:
                if element != "bf16":
                    raise ValueError(f"{what}: expected dtype {element}, got "
                                     "bf16")
                bits = value.contiguous().view(torch.int16).numpy()
                self._check_shape(index, bits.shape)
                return np.ascontiguousarray(bits.view(np.uint16))
            else:
                value = value.numpy()
        elif type(value).__module__.startswith("torch"):
            raise ValueError(f"{what}: expected a tensor, got "
                             f"{type(value).__name__}")
        if not isinstance(value, np.ndarray):
            raise ValueError(f"{what}: expected a numpy array or torch "
                             f"tensor, got {type(value).__name__}")
        array = _host_bits(element, value, what)
        self._check_shape(index, array.shape)
        return array

    def _device_argument(self, index, value):
        """A device argument as (pointer, element, shape, keep-alive)."""
        element, _ = self.arg_types[index]
        what = self._describe(index)
        if isinstance(value, DeviceArray):
            value._check_alive()
            if value._library is not self._library:
                raise ValueError(f"{what}: a DeviceArray of another module "
                                 "(its memory is freed with that module's "
                                 "library)")
            if value.dtype != element:
                raise ValueError(f"{what}: expected dtype {element}, got "
                                 f"{value.dtype}")
            self._check_shape(index, value.shape)
            return value.pointer, element, value.shape, value
        if not _on_device(value):
            raise ValueError(f"{what}: the other arguments are on the GPU; "
                             f"expected a torch CUDA tensor or a "
                             f"flt.DeviceArray, got "
                             f"{type(value).__name__} on the host")
        import torch
        if value.device.index not in (None, 0):
            raise ValueError(f"{what}: flt's CUDA runtime uses device 0, got "
                             f"a tensor on {value.device}")
        got = _TORCH_ELEMENTS.get(str(value.dtype).replace("torch.", ""))
        if got != element:
            raise ValueError(f"{what}: expected dtype {element}, got "
                             f"{value.dtype}")
        self._check_shape(index, tuple(value.shape))
        value = value.detach().contiguous()
        # The producer's kernels (on torch's current stream) must be done
        # before flt's stream reads the memory.
        torch.cuda.current_stream(value.device).synchronize()
        return value.data_ptr(), element, tuple(value.shape), value

    def __call__(self, *args):
        if len(args) != len(self.arg_types):
            raise ValueError(f"{self.name} takes {len(self.arg_types)} "
                             f"arguments ({', '.join(self.arg_names)}), got "
                             f"{len(args)}")
        if any(_on_device(a) for a in args):
            return self._call_device(args)
        arrays = [self._convert(i, a) for i, a in enumerate(args)]
        outputs = self._library.call(self.name, arrays)
        outputs = [_bf16_bits_to_float32(o) if e == "bf16" else o
                   for o, (e, _) in zip(outputs, self.result_types)]
        return outputs[0] if len(outputs) == 1 else tuple(outputs)

    def _prepare_device(self, args):
        if len(args) != len(self.arg_types):
            raise ValueError(f"{self.name} takes {len(self.arg_types)} "
                             f"arguments ({', '.join(self.arg_names)}), got "
                             f"{len(args)}")
        if self._module.target != "cuda":
            raise ValueError(f"{self.name} was compiled for "
                             f"{self._module.target}; GPU arguments need a "
                             f"library compiled with target='cuda'")
        return [self._device_argument(i, a) for i, a in enumerate(args)]

    def time_on_device(self, *args, calls: int = 10) -> List[float]:
        """GPU milliseconds of each of `calls` calls on device arguments
        (torch CUDA tensors or DeviceArrays), measured with CUDA events
        around each call: the kernels only, no copies (results are freed
        between calls). A target='cuda' library only."""
        prepared = self._prepare_device(args)
        return self._library.time_device(
            self.name, [(p, e, list(s)) for p, e, s, _ in prepared], calls)

    def _call_device(self, args):
        prepared = self._prepare_device(args)
        results = self._library.call_device(
            self.name, [(p, e, list(s)) for p, e, s, _ in prepared])
        arrays = [DeviceArray(self._library, p, e, s) for p, e, s in results]
        if any(_is_torch_tensor(a) for a in args):
            arrays = [_as_torch(a) for a in arrays]
        return arrays[0] if len(arrays) == 1 else tuple(arrays)


def _as_torch(array: DeviceArray):
    """`array` as a torch CUDA tensor sharing its memory (the tensor keeps
    the DeviceArray, and so the memory, alive)."""
    import torch
    tensor = torch.as_tensor(array, device="cuda")
    return tensor.view(torch.bfloat16) if array.dtype == "bf16" else tensor


class CompiledModule:
    """The functions of a compiled library, as attributes (and by name with
    `module["name"]`)."""

    def __init__(self, library_path: str,
                 arg_names: Optional[Dict[str, Sequence[str]]] = None,
                 ir=None):
        self._library = _capi.Library(library_path)
        self.target = self._library.target
        self.ir = ir
        self.library_path = library_path
        arg_names = arg_names or {}
        self._functions = {
            name: CompiledFunction(self, name, args, results, constraints,
                                   arg_names.get(name))
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
        """OpenMP threads of the kernels' parallel loops, 1 to
        flt.runtime.max_threads() (ValueError otherwise)."""
        self._library.set_num_threads(threads)

    def to_device(self, array, dtype: Optional[str] = None) -> DeviceArray:
        """A copy of a numpy array in GPU memory (target="cuda"), as `dtype`
        ("f32", "bf16", ...; default: the array's own; bf16 from float32,
        rounded to nearest even)."""
        if self.target != "cuda":
            raise ValueError(f"to_device: the module was compiled for "
                             f"{self.target}, not target='cuda'")
        if not isinstance(array, np.ndarray):
            raise ValueError(f"to_device: expected a numpy array, got "
                             f"{type(array).__name__}")
        if dtype is None:
            matches = [e for e, d in _NUMPY_DTYPES.items()
                       if d == array.dtype]
            if not matches:
                raise ValueError(f"to_device: no flt element type for "
                                 f"{array.dtype}; pass dtype=")
            dtype = matches[0]
        if dtype not in _TYPESTRS:
            raise ValueError(f"to_device: unknown dtype {dtype!r} (one of "
                             f"{', '.join(_TYPESTRS)})")
        bits = _host_bits(dtype, array, "to_device")
        pointer = self._library.to_device(dtype, bits)
        return DeviceArray(self._library, pointer, dtype, bits.shape)


def library_path() -> str:
    """The libFLTRuntime that flt.runtime loaded."""
    return _capi.LIBRARY_PATH


def max_threads() -> int:
    """The most threads set_num_threads takes."""
    return _capi.max_threads()


def load(library_path: str,
         arg_names: Optional[Dict[str, Sequence[str]]] = None
         ) -> CompiledModule:
    """Loads a library compiled by flt-compile (or flt.compile).
    `arg_names` ({function: [names]}) only improves error messages."""
    return CompiledModule(library_path, arg_names)
