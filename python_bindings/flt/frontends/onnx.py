"""ONNX frontend: an ONNX model -> flt IR.

    ir = flt.frontends.onnx.import_model("attention.onnx")
    run = flt.frontends.onnx.compile("attention.onnx")
    (out,) = run(q, k, v)                   # numpy arrays in and out

The model's graph is translated node by node into the frontends' common
graph (graph.py): initializers and everything computed from them alone
(Shape/Gather/Concat chains feeding a Reshape, scale constants) are folded
with numpy, the graph is emitted as linalg (emit.py) and the C++ pass
flt-raise-attention rewrites the attention in it into flt ops.

An input dim that the graph leaves symbolic (a `dim_param` such as
torch.onnx.export's dynamic_axes write, or no size at all) stays dynamic:
the model is converted at example sizes (8 per symbol) and once more per
symbol at twice that, and graph.generalize keeps those dims `?` in the IR.
Dims with the same dim_param are one size. `input_shapes` fixes an input's
shape instead. Integer and bool inputs (attention masks) are converted to
float32 where they enter; bool arrays are passed on as int32.
`parameters=` keeps named initializers as run-time arguments instead of
folded constants (parameters.py).
"""

from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
import onnx
from onnx import numpy_helper

from .. import compiler
from .emit import compile_graph, raised_module
from .graph import (Graph, Node, UnsupportedError, const, doubled,
                    generalize, graph_of_module, make, matmul_equation)
from .parameters import argument_names, parameter_names, promote_parameters

__all__ = ["import_model", "compile", "UnsupportedError"]

_UNARY = {"Relu": "relu", "Exp": "exp", "Log": "log", "Cos": "cos",
          "Sin": "sin", "Neg": "neg", "Sqrt": "sqrt", "Tanh": "tanh",
          "Sigmoid": "sigmoid", "Reciprocal": "reciprocal", "Abs": "abs"}
def _constant_of_shape(values, attrs):
    fill = numpy_helper.to_array(attrs["value"]) if "value" in attrs else \
        np.zeros(1, np.float32)
    return np.full([int(s) for s in values[0]], fill.reshape(-1)[0],
                   fill.dtype)


def _range(values, attrs):
    start, limit, delta = (v.reshape(()) for v in values)
    return np.arange(start, limit, delta, dtype=values[0].dtype)


def _trilu(values, attrs):
    k = int(values[1].reshape(())) if len(values) > 1 and \
        values[1] is not None else 0
    return np.triu(values[0], k) if attrs.get("upper", 1) else \
        np.tril(values[0], k)


_CONSTANT_FOLDERS = {
    "ConstantOfShape": _constant_of_shape,
    "Range": _range,
    "Equal": lambda v, a: np.equal(v[0], v[1]),
    "Less": lambda v, a: np.less(v[0], v[1]),
    "LessOrEqual": lambda v, a: np.less_equal(v[0], v[1]),
    "Greater": lambda v, a: np.greater(v[0], v[1]),
    "GreaterOrEqual": lambda v, a: np.greater_equal(v[0], v[1]),
    "Not": lambda v, a: np.logical_not(v[0]),
    "And": lambda v, a: np.logical_and(v[0], v[1]),
    "Or": lambda v, a: np.logical_or(v[0], v[1]),
    "Where": lambda v, a: np.where(v[0], v[1], v[2]),
    "Tile": lambda v, a: np.tile(v[0], [int(r) for r in v[1]]),
    "Trilu": _trilu,
    "Floor": lambda v, a: np.floor(v[0]),
    "Ceil": lambda v, a: np.ceil(v[0]),
}

_BINARY = {"Add": "add", "Sub": "sub", "Mul": "mul", "Div": "div",
           "Pow": "pow", "Max": "max", "Min": "min"}

#: Comparisons and logic on tensors computed at run time (0.0 / 1.0).
_COMPARE = {"Equal": "eq", "Less": "lt", "LessOrEqual": "le",
            "Greater": "gt", "GreaterOrEqual": "ge", "And": "and",
            "Or": "or"}

#: Input element types: float32, and masks converted where they enter.
_INPUT_TYPES = {onnx.TensorProto.FLOAT: np.float32,
                onnx.TensorProto.FLOAT16: np.float16,
                onnx.TensorProto.INT64: np.int64,
                onnx.TensorProto.INT32: np.int32,
                onnx.TensorProto.BOOL: np.int32}

#: The size every dynamic dim has in the first conversion.
_EXAMPLE_SIZE = 8


def _load(path_or_model) -> onnx.ModelProto:
    if isinstance(path_or_model, onnx.ModelProto):
        return path_or_model
    try:
        return onnx.load(path_or_model)
    except (OSError, IOError) as e:
        raise UnsupportedError(f"cannot read ONNX model {path_or_model}: "
                               f"{e}") from None
    except Exception as e:  # a corrupt protobuf
        raise UnsupportedError(f"{path_or_model} is not an ONNX model: "
                               f"{e}") from None


def _attributes(node) -> Dict[str, object]:
    return {a.name: onnx.helper.get_attribute_value(a)
            for a in node.attribute}


class _Importer:
    def __init__(self, model: onnx.ModelProto,
                 input_shapes: Optional[Dict[str, Sequence[int]]],
                 symbol_sizes: Optional[Dict[str, int]] = None):
        self.model = model
        self.input_shapes = input_shapes or {}
        self.symbol_sizes = symbol_sizes or {}
        self.values: Dict[str, Node] = {}

    def run(self) -> Graph:
        g = self.model.graph
        initializers = {t.name for t in g.initializer}
        for t in g.initializer:
            self.values[t.name] = const(numpy_helper.to_array(t))
        inputs, names = [], []
        for vi in g.input:
            if vi.name in initializers:
                continue
            tt = vi.type.tensor_type
            dtype = _INPUT_TYPES.get(tt.elem_type)
            if dtype is None:
                raise UnsupportedError(
                    f"input '{vi.name}': only float32 inputs (and integer or "
                    f"bool masks) are supported")
            shape = self.input_shapes.get(vi.name)
            if shape is None:
                shape = [d.dim_value if d.HasField("dim_value") else
                         self.symbol_sizes[_symbol(vi.name, at, d)]
                         for at, d in enumerate(tt.shape.dim)]
            node = Node("input", [], shape, dtype, f"input '{vi.name}'")
            inputs.append(node)
            names.append(vi.name)
            if dtype != np.float32:
                node = make("unary", [node], f"input '{vi.name}'",
                            fn="tofloat")
            self.values[vi.name] = node
        for n in g.node:
            origin = f"node '{n.name or n.output[0]}' ({n.op_type})"
            try:
                outputs = self.convert(n, origin)
            except UnsupportedError as e:
                raise UnsupportedError(f"{origin}: {e}") from None
            for name, value in zip(n.output, outputs):
                self.values[name] = value
        outputs = [self.values[o.name] for o in g.output]
        return Graph(inputs, outputs, names)

    def const_value(self, name) -> np.ndarray:
        node = self.values[name]
        if node.kind != "const":
            raise UnsupportedError(f"'{name}' must be a constant")
        return node.value

    def axes(self, n, attrs) -> Optional[List[int]]:
        """The `axes` of a node: an attribute before opset 13 (18 for the
        reductions), the constant second input after; None if absent."""
        if "axes" in attrs:
            return list(attrs["axes"])
        if len(n.input) > 1 and n.input[1]:
            return [int(a) for a in self.const_value(n.input[1])]
        return None

    def convert(self, n, origin) -> List[Node]:
        op = n.op_type
        attrs = _attributes(n)
        ins = [self.values[i] if i else None for i in n.input]
        if op == "Constant":
            return [const(numpy_helper.to_array(attrs["value"]))]
        if op in ("Identity", "Dropout"):
            return [ins[0]]
        if op == "Cast":
            x = ins[0]
            if x.kind == "const":
                to = onnx.helper.tensor_dtype_to_np_dtype(attrs["to"])
                return [const(x.value.astype(to))]
            if attrs["to"] == onnx.TensorProto.BOOL:
                # Masks are 0.0 / 1.0.
                return [make("binary", [x, const(np.float32(0))], origin,
                             fn="ne")]
            if attrs["to"] in (onnx.TensorProto.INT64,
                               onnx.TensorProto.INT32) and \
                    x.kind == "unary" and x.attrs["fn"] == "tofloat":
                return [x]  # an integer input, exact as float32 here
            if attrs["to"] != onnx.TensorProto.FLOAT:
                raise UnsupportedError("a cast to a type other than float32")
            return [x]
        if op == "Shape":
            return [const(np.array(ins[0].shape, np.int64))]
        if op in _UNARY:
            return [make("unary", ins[:1], origin, fn=_UNARY[op])]
        if op == "Elu":
            return [make("unary", ins[:1], origin, fn="elu",
                         alpha=float(attrs.get("alpha", 1.0)))]
        if op in _BINARY:
            a, b = ins
            if a.kind == "const" and b.kind == "const":
                return [const(np.asarray({
                    "Add": np.add, "Sub": np.subtract, "Mul": np.multiply,
                    "Div": np.divide, "Pow": np.power, "Max": np.maximum,
                    "Min": np.minimum}[op](a.value, b.value)))]
            return [make("binary", [self._float(a), self._float(b)], origin,
                         fn=_BINARY[op])]
        if op == "Sqrt" and ins[0].kind == "const":
            return [const(np.sqrt(ins[0].value))]
        if op == "Where":
            return [make("where", ins, origin)]
        if op in _COMPARE and not all(i.kind == "const" for i in ins):
            return [make("binary", [self._float(i) for i in ins], origin,
                         fn=_COMPARE[op])]
        if op == "Not" and ins[0].kind != "const":
            return [make("unary", ins, origin, fn="not")]
        if op == "MatMul":
            a, b = ins
            return [make("contract", [a, b], origin,
                         equation=matmul_equation(len(a.shape),
                                                  len(b.shape)))]
        if op == "Gemm":
            a, b = ins[0], ins[1]
            if attrs.get("transA", 0):
                a = make("permute", [a], origin, perm=[1, 0])
            if attrs.get("transB", 0):
                b = make("permute", [b], origin, perm=[1, 0])
            out = make("contract", [a, b], origin, equation="ij,jk->ik")
            alpha = attrs.get("alpha", 1.0)
            if alpha != 1.0:
                out = make("binary", [out, const(np.float32(alpha))], origin,
                           fn="mul")
            if len(ins) > 2 and ins[2] is not None:
                c = ins[2]
                beta = attrs.get("beta", 1.0)
                if beta != 1.0:
                    c = make("binary", [c, const(np.float32(beta))], origin,
                             fn="mul")
                out = make("binary", [out, c], origin, fn="add")
            return [out]
        if op == "Einsum":
            return [make("contract", ins, origin,
                         equation=attrs["equation"].decode().replace(" ", ""))]
        if op == "Transpose":
            x = ins[0]
            perm = list(attrs.get("perm", reversed(range(len(x.shape)))))
            return [make("permute", [x], origin, perm=perm)]
        if op == "Softmax":
            x = ins[0]
            axis = attrs.get("axis", -1) % len(x.shape)
            opset = max((o.version for o in self.model.opset_import
                         if o.domain in ("", "ai.onnx")), default=13)
            if opset < 13 and axis != len(x.shape) - 1:
                raise UnsupportedError("opset < 13 Softmax on an inner axis")
            return [make("softmax", [x], origin, dim=axis)]
        if op == "Reshape":
            x = ins[0]
            shape = [int(s) for s in self.const_value(n.input[1])]
            shape = [x.shape[i] if s == 0 and not attrs.get("allowzero", 0)
                     else s for i, s in enumerate(shape)]
            try:
                target = np.empty(x.shape, np.int8).reshape(shape).shape
            except ValueError:
                raise UnsupportedError(
                    f"cannot reshape {list(x.shape)} to {shape}") from None
            return [make("reshape", [x], origin, shape=target)]
        if op in ("Unsqueeze", "Squeeze"):
            x = ins[0]
            axes = self.axes(n, attrs)
            if x.kind == "const":
                v = x.value
                if op == "Unsqueeze":
                    for a in sorted(a % (v.ndim + len(axes)) for a in axes):
                        v = np.expand_dims(v, a)
                else:
                    v = np.squeeze(v, tuple(axes) if axes else None)
                return [const(v)]
            shape = list(x.shape)
            if op == "Unsqueeze":
                rank = len(shape) + len(axes)
                for a in sorted(a % rank for a in axes):
                    shape.insert(a, 1)
            else:
                drop = {a % len(shape) for a in axes} if axes else \
                    {i for i, s in enumerate(shape) if s == 1}
                shape = [s for i, s in enumerate(shape) if i not in drop]
            return [make("reshape", [x], origin, shape=tuple(shape))]
        if op == "Concat":
            axis = attrs["axis"]
            if all(i.kind == "const" for i in ins):
                return [const(np.concatenate([i.value for i in ins], axis))]
            return [make("concat", [self._float(i) for i in ins], origin,
                         dim=axis % len(ins[0].shape))]
        if op == "Gather" and ins[0].kind == "const" and \
                ins[1].kind == "const":
            return [const(np.take(ins[0].value, ins[1].value,
                                  axis=attrs.get("axis", 0)))]
        if op in ("ReduceSum", "ReduceMean", "ReduceMax"):
            x = ins[0]
            axes = self.axes(n, attrs)
            if axes is None:
                axes = list(range(len(x.shape)))
            fn = {"ReduceSum": "sum", "ReduceMean": "mean",
                  "ReduceMax": "max"}[op]
            return [make("reduce", [x], origin, fn=fn,
                         dims=[a % len(x.shape) for a in axes],
                         keepdim=bool(attrs.get("keepdims", 1)))]
        if op == "Slice":
            x = ins[0]
            starts = self.const_value(n.input[1])
            ends = self.const_value(n.input[2])
            axes = self.const_value(n.input[3]) if len(n.input) > 3 and \
                n.input[3] else range(len(starts))
            steps = self.const_value(n.input[4]) if len(n.input) > 4 and \
                n.input[4] else [1] * len(starts)
            for s, e, a, st in zip(starts, ends, axes, steps):
                a = int(a) % len(x.shape)
                size = x.shape[a]
                # To the end: None, the same at every size of a dynamic dim.
                e = None if e >= size else int(e) if e >= 0 else \
                    int(e) + size
                s = max(int(s), -size)
                x = make("slice", [x], origin, dim=a, start=s, stop=e,
                         step=int(st))
            return [x]
        if op == "Expand":
            x = ins[0]
            shape = [int(s) for s in self.const_value(n.input[1])]
            target = np.broadcast_shapes(x.shape, tuple(shape))
            if x.kind == "const":
                return [const(np.broadcast_to(x.value, target).copy())]
            return [make("broadcast", [x], origin, shape=target)]
        if op == "Split":
            x = ins[0]
            axis = attrs.get("axis", 0) % len(x.shape)
            if len(n.input) > 1 and n.input[1]:
                sizes = [int(s) for s in self.const_value(n.input[1])]
            elif "split" in attrs:
                sizes = list(attrs["split"])
            else:
                sizes = [x.shape[axis] // len(n.output)] * len(n.output)
            parts, start = [], 0
            for size in sizes:
                parts.append(make("slice", [x], origin, dim=axis,
                                  start=start, stop=start + size, step=1))
                start += size
            return parts
        if all(i is None or i.kind == "const" for i in ins) and \
                op in _CONSTANT_FOLDERS:
            # Position tables and index arithmetic that do not depend on
            # the inputs (torch.arange, repeat_interleave, masks).
            values = [None if i is None else i.value for i in ins]
            return [const(np.asarray(_CONSTANT_FOLDERS[op](values, attrs)))]
        raise UnsupportedError(f"no converter for ONNX op {op}")

    @staticmethod
    def _float(node: Node) -> Node:
        if node.kind == "const" and node.value.dtype != np.float32:
            return const(node.value.astype(np.float32))
        return node


def _symbol(input_name, at, dim) -> str:
    """The symbol of a dynamic input dim: its dim_param, or one of its own."""
    return dim.dim_param if dim.HasField("dim_param") and dim.dim_param \
        else f"{input_name}_{at}"


def _convert(path_or_model, input_shapes=None) -> Graph:
    """The frontend graph of an ONNX model; converted once more per
    symbolic input dim and generalized (graph.generalize)."""
    model = _load(path_or_model)
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as e:
        raise UnsupportedError(f"invalid ONNX model: {e}") from None
    initializers = {t.name for t in model.graph.initializer}
    symbols = []
    for vi in model.graph.input:
        if vi.name in initializers or vi.name in (input_shapes or {}):
            continue
        for at, d in enumerate(vi.type.tensor_type.shape.dim):
            if not d.HasField("dim_value") and \
                    _symbol(vi.name, at, d) not in symbols:
                symbols.append(_symbol(vi.name, at, d))
    sizes = {symbol: _EXAMPLE_SIZE for symbol in symbols}
    try:
        graph = _Importer(model, input_shapes, sizes).run()
    except UnsupportedError as e:
        if not symbols:
            raise
        raise UnsupportedError(
            f"{e} (with {', '.join(symbols)} = {_EXAMPLE_SIZE}: a model whose "
            f"constants fix those sizes needs input_shapes)") from None
    if not symbols:
        return graph
    variants = []
    for symbol in symbols:
        other = dict(sizes, **{symbol: doubled(_EXAMPLE_SIZE)})
        try:
            variant = _Importer(model, input_shapes, other).run()
        except UnsupportedError as e:
            raise UnsupportedError(
                f"with only '{symbol}' at {other[symbol]} instead of "
                f"{_EXAMPLE_SIZE}: {e}") from None
        variants.append((symbol, _EXAMPLE_SIZE, other[symbol], variant))
    return generalize(graph, variants)


def import_graph(path_or_model, input_shapes=None) -> Graph:
    """The imported model as a graph of its raised IR: the flt ops
    flt-raise-attention found are `flt` nodes, their constant operands
    `const` nodes (graph.graph_of_module)."""
    graph = _convert(path_or_model, input_shapes)
    return graph_of_module(raised_module(graph, "main"), "main",
                           graph.input_names)


def _with_runtime_parameters(path_or_model, input_shapes, names,
                             function_name):
    """(raised module, input names, [ParameterArgument], {name: initial
    value}): the initializers `names` as trailing arguments of the raised
    function instead of constants (parameters.promote_parameters)."""
    model = _load(path_or_model)
    initializers = {t.name: t for t in model.graph.initializer}
    values = {}
    for name in names:
        if name not in initializers:
            raise ValueError(f"parameters: the model has no initializer "
                             f"{name!r} (it has "
                             f"{', '.join(sorted(initializers)) or 'none'})")
        value = numpy_helper.to_array(initializers[name])
        if value.dtype.kind != "f":
            raise ValueError(f"parameters: {name!r} is not floating-point")
        values[name] = value

    def convert(codes):
        probe = onnx.ModelProto()
        probe.CopyFrom(model)
        for tensor in probe.graph.initializer:
            if tensor.name in codes:
                tensor.CopyFrom(numpy_helper.from_array(
                    codes[tensor.name].reshape(values[tensor.name].shape)
                    .astype(values[tensor.name].dtype), tensor.name))
        return _convert(probe, input_shapes)

    module, inputs, arguments = promote_parameters(
        convert, {name: value.size for name, value in values.items()},
        function_name)
    return module, inputs, arguments, values


def import_model(path_or_model, input_shapes=None, name="main",
                 parameters=None) -> str:
    """flt IR (text) of an ONNX model (a path or a ModelProto): linalg with
    the attention raised to flt ops. `parameters` (initializer names) keeps
    their values as trailing arguments instead of constants (see
    compile)."""
    if parameters:
        return str(_with_runtime_parameters(
            path_or_model, input_shapes, parameter_names(parameters),
            name)[0])
    return str(raised_module(_convert(path_or_model, input_shapes), name))


def compile(path_or_model, target: str = "cpu", input_shapes=None,
            parameters=None, **options) -> Callable:
    """A callable computing the model with flt: numpy arrays in (one per
    graph input, in order), a list of numpy arrays out (one per output).

    `parameters` names initializers to keep as run-time arguments, in the
    raised ops' layouts (run.parameters lists them): each call passes the
    current arrays of run.values ({name: array}, the model's values to
    begin with), so new weights need no recompilation."""
    if not parameters:
        module, compiled = compile_graph(_convert(path_or_model,
                                                  input_shapes),
                                         target, **options)
        arguments, values = [], {}
    else:
        module, inputs, arguments, values = _with_runtime_parameters(
            path_or_model, input_shapes, parameter_names(parameters), "main")
        compiled = compiler.compile(
            module, target,
            arg_names={"main": argument_names(inputs, arguments)},
            **options)
    function = compiled.main

    def run(*inputs):
        inputs = [np.asarray(x, np.int32) if isinstance(x, np.ndarray) and
                  x.dtype == np.bool_ else x for x in inputs]
        extra = [a.value(run.values[a.parameter]) for a in arguments]
        outputs = function(*inputs, *extra)
        return list(outputs) if isinstance(outputs, tuple) else [outputs]

    run.ir = module
    run.compiled = compiled
    run.parameters = arguments
    run.values = dict(values)
    return run
