"""ctypes over libFLTRuntime's C API (include/flt-c/Runtime.h): what
`flt.runtime` stands on. Pure Python, so the runtime works on any CPython
>= 3.9 without a compiled extension — in particular on a GPU host whose
Python is not the build machine's.

`Library` wraps one loaded flt library with the calls flt.runtime needs;
every error of the C API becomes an exception: ValueError where the
arguments do not fit (FLT_INVALID_INPUT), RuntimeError otherwise. ctypes
releases the GIL around each call, so kernels run while other threads do.

libFLTRuntime.so is found, in order, through FLT_RUNTIME_LIBRARY (a path),
next to the package (the build tree's build/lib, an installed prefix's
lib/, a GPU bundle's lib/, or inside the package), then the dynamic
loader's own search (LD_LIBRARY_PATH, ldconfig).
"""

import ctypes
import operator
import os
import weakref

import numpy as np

ELEMENTS = ("f32", "f16", "bf16", "f64", "i32", "i64")
_CODES = {name: code for code, name in enumerate(ELEMENTS)}
# numpy dtypes of the buffers the C API reads and writes; bf16 travels as
# its raw bits.
NUMPY_BUFFER_DTYPES = {
    "f32": np.dtype(np.float32), "f16": np.dtype(np.float16),
    "bf16": np.dtype(np.uint16), "f64": np.dtype(np.float64),
    "i32": np.dtype(np.int32), "i64": np.dtype(np.int64),
}

_OK, _ERROR, _INVALID_INPUT = 0, 1, 2
_NAME = "libFLTRuntime.so"


class _Tensor(ctypes.Structure):
    _fields_ = [("element", ctypes.c_int), ("rank", ctypes.c_int64),
                ("shape", ctypes.POINTER(ctypes.c_int64)),
                ("data", ctypes.c_void_p)]


_P = ctypes.c_void_p
_I64 = ctypes.c_int64
_TENSORS = ctypes.POINTER(_Tensor)
_ERR = ctypes.POINTER(ctypes.c_void_p)
# name: (result type, argument types), as include/flt-c/Runtime.h declares.
_PROTOTYPES = {
    "fltLoadLibrary": (_P, [ctypes.c_char_p, _ERR]),
    "fltUnloadLibrary": (None, [_P]),
    "fltLibraryTarget": (ctypes.c_char_p, [_P]),
    "fltLibraryCpu": (ctypes.c_char_p, [_P]),
    "fltNumFunctions": (_I64, [_P]),
    "fltFunctionName": (ctypes.c_char_p, [_P, _I64]),
    "fltFindFunction": (_I64, [_P, ctypes.c_char_p]),
    "fltNumArguments": (_I64, [_P, _I64]),
    "fltNumResults": (_I64, [_P, _I64]),
    "fltArgumentType": (ctypes.c_int, [_P, _I64, _I64,
                                       ctypes.POINTER(ctypes.c_int),
                                       ctypes.POINTER(_I64),
                                       ctypes.POINTER(ctypes.POINTER(_I64))]),
    "fltResultType": (ctypes.c_int, [_P, _I64, _I64,
                                     ctypes.POINTER(ctypes.c_int),
                                     ctypes.POINTER(_I64),
                                     ctypes.POINTER(ctypes.POINTER(_I64))]),
    "fltNumConstraints": (_I64, [_P, _I64]),
    "fltConstraint": (ctypes.c_char_p, [_P, _I64, _I64]),
    "fltValidate": (ctypes.c_int, [_P, _I64, _TENSORS, _I64, _ERR]),
    "fltCall": (ctypes.c_int, [_P, _I64, _TENSORS, _I64,
                               ctypes.POINTER(_TENSORS), _ERR]),
    "fltFreeTensors": (None, [_TENSORS, _I64]),
    "fltSetNumThreads": (ctypes.c_int, [_P, _I64, _ERR]),
    "fltMaxThreads": (_I64, []),
    "fltCudaAvailable": (ctypes.c_int, [_P, _ERR]),
    "fltToDevice": (ctypes.c_int, [_P, _TENSORS, ctypes.POINTER(_P), _ERR]),
    "fltToHost": (ctypes.c_int, [_P, _TENSORS, _P, ctypes.c_uint64, _ERR]),
    "fltFreeDevice": (None, [_P, _P]),
    "fltCallDevice": (ctypes.c_int, [_P, _I64, _TENSORS, _I64,
                                     ctypes.POINTER(_TENSORS), _ERR]),
    "fltFreeDeviceResults": (None, [_TENSORS, _I64]),
    "fltTimeDevice": (ctypes.c_int, [_P, _I64, _TENSORS, _I64, _I64,
                                     ctypes.POINTER(ctypes.c_double), _ERR]),
    "fltFreeString": (None, [_P]),
    "fltRuntimeVersion": (ctypes.c_char_p, []),
}


def _candidates():
    here = os.path.dirname(os.path.abspath(__file__))
    env = os.environ.get("FLT_RUNTIME_LIBRARY")
    if env:
        # Asked for by name: that one or an error, nothing else.
        return [env], True
    paths = [os.path.join(here, _NAME),
             # build/python_packages/flt -> build/lib; DIR/python/flt ->
             # DIR/lib (the GPU bundle)
             os.path.join(here, "..", "..", "lib", _NAME),
             # <prefix>/lib/python3/dist-packages/flt -> <prefix>/lib
             os.path.join(here, "..", "..", "..", _NAME),
             # the source tree's python_bindings/flt -> build/lib
             os.path.join(here, "..", "..", "build", "lib", _NAME)]
    return [os.path.normpath(p) for p in paths if os.path.exists(p)], False


def _load():
    paths, explicit = _candidates()
    tried = []
    for path in paths + ([] if explicit else [_NAME]):
        try:
            library = ctypes.CDLL(path)
        except OSError as error:
            tried.append(str(error))  # names the path
            continue
        try:
            for name, (restype, argtypes) in _PROTOTYPES.items():
                function = getattr(library, name)
                function.restype = restype
                function.argtypes = argtypes
        except AttributeError as error:
            tried.append(f"{path}: not this flt's runtime ({error})")
            continue
        return library, path
    if explicit:
        raise ImportError(f"flt.runtime: cannot load {_NAME} from "
                          f"FLT_RUNTIME_LIBRARY: {'; '.join(tried)}")
    raise ImportError(f"flt.runtime: cannot find {_NAME} next to the flt "
                      f"package or on the loader's path (set "
                      f"FLT_RUNTIME_LIBRARY to its path): "
                      f"{'; '.join(tried)}")


_lib, LIBRARY_PATH = _load()


def runtime_version() -> str:
    return _lib.fltRuntimeVersion().decode()


def max_threads() -> int:
    return int(_lib.fltMaxThreads())


def _take_error(pointer: ctypes.c_void_p) -> str:
    if not pointer.value:
        return "unknown error"
    message = ctypes.string_at(pointer.value).decode(errors="replace")
    _lib.fltFreeString(pointer)
    return message


def _check(status: int, error: ctypes.c_void_p):
    if status == _OK:
        return
    message = _take_error(error)
    raise (ValueError if status == _INVALID_INPUT else RuntimeError)(message)


def element_code(name: str) -> int:
    if name not in _CODES:
        raise ValueError(f"unknown element type '{name}' (f32, f16, bf16, "
                         f"f64, i32 or i64)")
    return _CODES[name]


def _shape_of(shape, what):
    """A shape as a tuple of non-negative Python ints."""
    try:
        sizes = tuple(_integer(s, "size") for s in shape)
    except (TypeError, ValueError):
        raise ValueError(f"{what}: a shape is a sequence of integers, got "
                         f"{shape!r}") from None
    if any(s < 0 or s >= 2 ** 63 for s in sizes):
        raise ValueError(f"{what}: sizes must be non-negative, got "
                         f"{list(sizes)}")
    return sizes


def _integer(value, what) -> int:
    """An integer (Python's or numpy's; not a bool, a float or a string)."""
    if isinstance(value, bool):
        raise ValueError(f"{what} must be an integer, got a bool")
    try:
        return operator.index(value)
    except TypeError:
        raise ValueError(f"{what} must be an integer, got "
                         f"{type(value).__name__}") from None


def _pointer_of(pointer, what) -> int:
    pointer = _integer(pointer, f"{what}: a device pointer")
    if pointer < 0 or pointer >= 2 ** 64:
        raise ValueError(f"{what}: {pointer} is not a pointer")
    return pointer


class _TensorList:
    """FltTensors for the C API; keeps the shapes (and arrays) alive."""

    def __init__(self, entries):
        # entries: (element name, shape, data address or None, keep-alive)
        self.array = (_Tensor * max(len(entries), 1))()
        self._keep = []
        for i, (element, shape, address, keep) in enumerate(entries):
            sizes = (ctypes.c_int64 * max(len(shape), 1))(*shape)
            self._keep += [sizes, keep]
            self.array[i].element = element_code(element)
            self.array[i].rank = len(shape)
            self.array[i].shape = ctypes.cast(sizes,
                                              ctypes.POINTER(ctypes.c_int64))
            self.array[i].data = address or None
        self.count = len(entries)


def _host_entry(element, array, index):
    if not isinstance(array, np.ndarray):
        raise ValueError(f"argument {index}: expected a numpy array, got "
                         f"{type(array).__name__}")
    expected = NUMPY_BUFFER_DTYPES[element]
    if not array.flags.c_contiguous or array.dtype != expected:
        raise ValueError(f"argument {index}: expected a C-contiguous "
                         f"{expected} array")
    address = array.ctypes.data if array.size else None
    return element, array.shape, address, array


def _results(tensors_pointer, count):
    out = []
    for i in range(count):
        tensor = tensors_pointer[i]
        element = ELEMENTS[tensor.element]
        shape = tuple(tensor.shape[d] for d in range(tensor.rank))
        out.append((element, shape, tensor.data or 0))
    return out


class Library:
    """One loaded flt library (fltLoadLibrary); unloaded when collected."""

    def __init__(self, path):
        path = os.fspath(path)
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if "\0" in path:
            raise ValueError("a library path cannot contain NUL characters")
        error = ctypes.c_void_p()
        handle = _lib.fltLoadLibrary(os.fsencode(path), ctypes.byref(error))
        if not handle:
            raise RuntimeError(_take_error(error))
        self._handle = handle
        # Not at exit: device buffers still referenced are freed then
        # through this library (their finalizers hold it).
        self._unload = weakref.finalize(self, _lib.fltUnloadLibrary, handle)
        self._unload.atexit = False
        self.target = _lib.fltLibraryTarget(handle).decode()
        self.cpu = _lib.fltLibraryCpu(handle).decode()
        self._listing = self.functions()

    def _index(self, name, arguments):
        index = _lib.fltFindFunction(self._handle, name.encode())
        if index < 0:
            raise ValueError(f"no function '{name}' in the library")
        expected = _lib.fltNumArguments(self._handle, index)
        if arguments != expected:
            raise ValueError(f"{name} takes {expected} arguments, got "
                             f"{arguments}")
        return index

    def _type(self, query, function, index):
        element = ctypes.c_int()
        rank = ctypes.c_int64()
        shape = ctypes.POINTER(ctypes.c_int64)()
        query(self._handle, function, index, ctypes.byref(element),
              ctypes.byref(rank), ctypes.byref(shape))
        return ELEMENTS[element.value], [shape[d] for d in range(rank.value)]

    def functions(self):
        """[(name, [(element, shape)], [(element, shape)], [constraint])]."""
        listing = []
        for f in range(_lib.fltNumFunctions(self._handle)):
            args = [self._type(_lib.fltArgumentType, f, i)
                    for i in range(_lib.fltNumArguments(self._handle, f))]
            results = [self._type(_lib.fltResultType, f, i)
                       for i in range(_lib.fltNumResults(self._handle, f))]
            constraints = [
                _lib.fltConstraint(self._handle, f, i).decode()
                for i in range(_lib.fltNumConstraints(self._handle, f))]
            listing.append((_lib.fltFunctionName(self._handle, f).decode(),
                            args, results, constraints))
        return listing

    def call(self, name, arrays):
        """Calls `name` on C-contiguous arrays of the signature's dtypes
        (bf16: uint16 bits); returns the results as new arrays."""
        index = self._index(name, len(arrays))
        elements = [e for e, _ in self._listing[index][1]]
        tensors = _TensorList([_host_entry(e, a, i) for i, (e, a)
                               in enumerate(zip(elements, arrays))])
        outputs = _TENSORS()
        error = ctypes.c_void_p()
        _check(_lib.fltCall(self._handle, index, tensors.array, tensors.count,
                            ctypes.byref(outputs), ctypes.byref(error)), error)
        count = _lib.fltNumResults(self._handle, index)
        try:
            arrays = []
            for element, shape, address in _results(outputs, count):
                array = np.empty(shape, NUMPY_BUFFER_DTYPES[element])
                if array.nbytes:
                    ctypes.memmove(array.ctypes.data, address, array.nbytes)
                arrays.append(array)
            return arrays
        finally:
            _lib.fltFreeTensors(outputs, count)

    def cuda_available(self):
        """(True, "") or (False, the reason)."""
        error = ctypes.c_void_p()
        if _lib.fltCudaAvailable(self._handle, ctypes.byref(error)) == _OK:
            return True, ""
        return False, _take_error(error)

    def to_device(self, element, array) -> int:
        """A new device buffer holding `array`'s bytes as `element`s; 0 for
        an empty array."""
        tensors = _TensorList([_host_entry(element, array, 0)])
        device = ctypes.c_void_p()
        error = ctypes.c_void_p()
        _check(_lib.fltToDevice(self._handle, tensors.array,
                                ctypes.byref(device), ctypes.byref(error)),
               error)
        return device.value or 0

    def to_host(self, pointer, element, shape):
        """A host copy of a device buffer."""
        pointer = _pointer_of(pointer, "to_host")
        shape = _shape_of(shape, "to_host")
        element_code(element)
        array = np.empty(shape, NUMPY_BUFFER_DTYPES[element])
        tensors = _TensorList([(element, shape, pointer, None)])
        error = ctypes.c_void_p()
        _check(_lib.fltToHost(self._handle, tensors.array,
                              array.ctypes.data if array.nbytes else None,
                              array.nbytes, ctypes.byref(error)), error)
        return array

    def free_device(self, pointer):
        _lib.fltFreeDevice(self._handle, _pointer_of(pointer, "free_device")
                           or None)

    def _device_tensors(self, triples):
        entries = []
        for i, triple in enumerate(triples):
            try:
                pointer, element, shape = triple
            except (TypeError, ValueError):
                raise ValueError(f"argument {i}: a device argument is "
                                 f"(pointer, element, shape)") from None
            pointer = _pointer_of(pointer, f"argument {i}")
            shape = _shape_of(shape, f"argument {i}")
            element_code(element)
            if not pointer and int(np.prod(shape, dtype=object)) != 0:
                raise ValueError("a non-empty device buffer at address 0")
            entries.append((element, shape, pointer, None))
        return _TensorList(entries)

    def call_device(self, name, arguments):
        """Calls `name` on device buffers [(pointer, element, shape)];
        returns its results as new device buffers, the caller's to free."""
        index = self._index(name, len(arguments))
        tensors = self._device_tensors(arguments)
        outputs = _TENSORS()
        error = ctypes.c_void_p()
        _check(_lib.fltCallDevice(self._handle, index, tensors.array,
                                  tensors.count, ctypes.byref(outputs),
                                  ctypes.byref(error)), error)
        count = _lib.fltNumResults(self._handle, index)
        results = [(address, element, list(shape)) for element, shape, address
                   in _results(outputs, count)]
        _lib.fltFreeDeviceResults(outputs, count)
        return results

    def time_device(self, name, arguments, calls):
        """GPU milliseconds of each of `calls` calls on device buffers."""
        index = self._index(name, len(arguments))
        tensors = self._device_tensors(arguments)
        calls = _integer(calls, "calls")
        if not 1 <= calls <= 1000000:
            raise ValueError(f"calls must be between 1 and 1000000, got "
                             f"{calls}")
        times = (ctypes.c_double * calls)()
        error = ctypes.c_void_p()
        _check(_lib.fltTimeDevice(self._handle, index, tensors.array,
                                  tensors.count, calls, times,
                                  ctypes.byref(error)), error)
        return list(times)

    def set_num_threads(self, threads):
        threads = _integer(threads, "the thread count")
        if not 1 <= threads <= max_threads():
            raise ValueError(f"the thread count must be between 1 and "
                             f"{max_threads()}, got {threads}")
        error = ctypes.c_void_p()
        _check(_lib.fltSetNumThreads(self._handle, threads,
                                     ctypes.byref(error)), error)
