"""The frontends' common tensor graph.

Both importers (torch.fx and ONNX) translate a model into this small graph of
tensor operations with static shapes (taken from the example inputs), then
`emit_module` (emit.py) prints all of it as linalg / tensor / arith (the
few flt nodes as flt ops), and the C++ pass flt-raise-attention finds the
attention in that IR and rewrites it into flt ops. `graph_of_module` reads
the raised module back as a graph, for looking at what was raised.

Node kinds and their meaning (numpy semantics, broadcasting as numpy):

    input                           a function argument (attrs: name)
    const                           value: a numpy array
    unary     fn                    relu exp log cos sin neg sqrt rsqrt tanh
                                    sigmoid reciprocal abs, elu (alpha)
    binary    fn                    add sub mul div max min pow
    where     (cond, a, b)          cond ? a : b
    contract  equation              einsum over the inputs (matmul, bmm,
                                    einsum, linear all become this)
    permute   perm
    reshape   shape
    broadcast shape
    reduce    fn, dims, keepdim     sum max mean
    softmax   dim
    concat    dim
    slice     dim, start, stop, step
    flt       build                 an flt op the model states itself
                                    (flt.nn.FLTAttention): build(*values)
    table     fn (fill, arange, tri)  a constant computed from its indices,
                                    for tables whose size is a dynamic dim
                                    (generalize makes them)

In a graph read back from a module (graph_of_module), every op is a node:
`input` (function arguments), `const` (dense constants: value), `flt` (an
flt op: op, attributes), `op` (any other: op, attributes) and `result`
(result `index` of a multi-result op, its one input).

Only float32 tensors are computed by generated linalg code (integer and
bool inputs are converted to float32 where they enter, `tofloat`; the
comparisons give 0.0 / 1.0); flt ops take what docs/Semantics.md allows.

Dynamic dims. A frontend that is asked to keep some input dims dynamic
(torch's `dynamic_dims=`, an ONNX graph's symbolic dims) converts the model
once at the example sizes and once more per dynamic symbol with that
symbol's size doubled; `generalize` lines the graphs up node by node and
gives every node `dims`: per dim either its static size or a `Sym` (the
symbol times a constant, as in a flattened [B * H] dim). A constant whose
shape or value changes with a symbol (a position table, a causal mask at
the example length) has no static value to print and is an error naming
the node, as is a graph whose structure changes with a size.
"""

from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np


class UnsupportedError(Exception):
    """A model construct the frontend cannot import, naming the node."""


class Sym(NamedTuple):
    """A dynamic dim: `coeff` times the run-time size of symbol `name`."""
    name: str
    coeff: int = 1

    def __str__(self):
        return self.name if self.coeff == 1 else f"{self.coeff}*{self.name}"


class Node:
    _ids = 0

    def __init__(self, kind: str, inputs: Sequence["Node"], result_shape,
                 dtype=np.float32, origin: str = "", **attrs):
        Node._ids += 1
        self.id = Node._ids
        self.kind = kind
        self.inputs = list(inputs)
        self.shape = tuple(-1 if s is None else int(s) for s in result_shape)
        self.dtype = np.dtype(dtype)
        self.origin = origin
        self.attrs = attrs
        # Per dim: the static size, or a Sym for a dynamic one (generalize).
        self.dims: Tuple = self.shape

    @property
    def value(self) -> Optional[np.ndarray]:
        return self.attrs.get("value") if self.kind == "const" else None

    def __repr__(self):
        return f"<{self.kind} {self.attrs.get('fn', '')} {self.shape} " \
               f"{self.origin}>"


def const(value, origin="") -> Node:
    array = np.asarray(value)
    if array.dtype == np.float64:
        array = array.astype(np.float32)
    return Node("const", [], array.shape, array.dtype, origin, value=array)


# --------------------------------------------------------------------------
# Shape rules and numpy evaluation (constant folding, and the semantics the
# emitter implements)
# --------------------------------------------------------------------------

def broadcast_shapes(*shapes):
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        raise UnsupportedError(
            "shapes " + ", ".join(map(str, shapes)) + " do not broadcast")


def matmul_equation(rank_a: int, rank_b: int) -> str:
    """The einsum of numpy's matmul of a rank_a by a rank_b tensor (both at
    least 2-D; leading batch dims broadcast, right-aligned)."""
    if rank_a < 2 or rank_b < 2:
        raise UnsupportedError("matmul of a vector")
    batch = "abcdefgh"[:max(rank_a, rank_b) - 2]
    a = batch[len(batch) - (rank_a - 2):]
    b = batch[len(batch) - (rank_b - 2):]
    return f"{a}ij,{b}jk->{batch}ik"


_UNARY = {
    "relu": lambda x, a: np.maximum(x, 0),
    "exp": lambda x, a: np.exp(x),
    "log": lambda x, a: np.log(x),
    "cos": lambda x, a: np.cos(x),
    "sin": lambda x, a: np.sin(x),
    "neg": lambda x, a: -x,
    "sqrt": lambda x, a: np.sqrt(x),
    "rsqrt": lambda x, a: 1 / np.sqrt(x),
    "tanh": lambda x, a: np.tanh(x),
    "sigmoid": lambda x, a: 1 / (1 + np.exp(-x)),
    "reciprocal": lambda x, a: 1 / x,
    "abs": lambda x, a: np.abs(x),
    "elu": lambda x, a: np.where(x > 0, x, a.get("alpha", 1.0) * np.expm1(
        np.minimum(x, 0))),
    "tofloat": lambda x, a: np.asarray(x).astype(np.float32),
    "not": lambda x, a: (np.asarray(x) == 0).astype(np.float32),
}

_BINARY = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply,
    "div": np.divide, "max": np.maximum, "min": np.minimum,
    "pow": np.power,
    # Comparisons and logic give 0.0 / 1.0 (float32 masks).
    "eq": lambda a, b: np.equal(a, b).astype(np.float32),
    "ne": lambda a, b: np.not_equal(a, b).astype(np.float32),
    "lt": lambda a, b: np.less(a, b).astype(np.float32),
    "le": lambda a, b: np.less_equal(a, b).astype(np.float32),
    "gt": lambda a, b: np.greater(a, b).astype(np.float32),
    "ge": lambda a, b: np.greater_equal(a, b).astype(np.float32),
    "and": lambda a, b: np.logical_and(a, b).astype(np.float32),
    "or": lambda a, b: np.logical_or(a, b).astype(np.float32),
}


def evaluate(kind, inputs: List[np.ndarray], attrs) -> np.ndarray:
    """numpy value of a node whose inputs are known."""
    if kind == "unary":
        return _UNARY[attrs["fn"]](inputs[0], attrs)
    if kind == "binary":
        return _BINARY[attrs["fn"]](inputs[0], inputs[1])
    if kind == "where":
        return np.where(inputs[0], inputs[1], inputs[2])
    if kind == "contract":
        # Size-1 dims broadcast against the label's size, as in the emitter.
        lhs = attrs["equation"].split("->")[0].split(",")
        sizes = {}
        for labels, x in zip(lhs, inputs):
            for label, size in zip(labels, np.shape(x)):
                sizes[label] = max(sizes.get(label, 1), size)
        inputs = [np.broadcast_to(x, [sizes[l] for l in labels])
                  for labels, x in zip(lhs, inputs)]
        return np.einsum(attrs["equation"], *inputs)
    if kind == "permute":
        return np.transpose(inputs[0], attrs["perm"])
    if kind == "reshape":
        return np.reshape(inputs[0], attrs["shape"])
    if kind == "broadcast":
        return np.broadcast_to(inputs[0], attrs["shape"])
    if kind == "reduce":
        f = {"sum": np.sum, "max": np.max, "mean": np.mean}[attrs["fn"]]
        return f(inputs[0], axis=tuple(attrs["dims"]),
                 keepdims=attrs["keepdim"])
    if kind == "softmax":
        x = inputs[0]
        e = np.exp(x - np.max(x, axis=attrs["dim"], keepdims=True))
        return e / np.sum(e, axis=attrs["dim"], keepdims=True)
    if kind == "concat":
        return np.concatenate(inputs, axis=attrs["dim"])
    if kind == "slice":
        index = [slice(None)] * inputs[0].ndim
        index[attrs["dim"]] = slice(attrs["start"], attrs["stop"],
                                    attrs["step"])
        return inputs[0][tuple(index)]
    raise UnsupportedError(f"cannot evaluate {kind}")


_FLOAT_RESULTS = {"tofloat", "not", "eq", "ne", "lt", "le", "gt", "ge", "and",
                  "or"}


def make(kind, inputs: Sequence[Node], origin="", fold=True, **attrs) -> Node:
    """A node of `kind`, its shape inferred; folded to a constant when every
    input is one (contractions excepted: they may be low-rank factors the
    matchers need, and are cheap to keep)."""
    inputs = list(inputs)
    if fold and kind != "contract" and all(i.kind == "const" for i in inputs):
        value = evaluate(kind, [i.value for i in inputs], attrs)
        return const(np.asarray(value), origin)
    shape = infer_shape(kind, [i.shape for i in inputs], attrs)
    dtype = np.float32
    if kind == "where":
        dtype = inputs[1].dtype
    elif kind in ("unary", "binary") and attrs["fn"] in _FLOAT_RESULTS:
        dtype = np.float32
    elif inputs:
        dtype = inputs[0].dtype
    return Node(kind, inputs, shape, dtype, origin, **attrs)


def infer_shape(kind, shapes, attrs):
    # Evaluate on zero-stride dummies: exact numpy shape rules, no work.
    dummies = [np.broadcast_to(np.zeros((), np.float32), s) for s in shapes]
    if kind == "where":
        dummies[0] = dummies[0].astype(bool)
    with np.errstate(all="ignore"):
        try:
            return np.shape(evaluate(kind, dummies, attrs))
        except ValueError as e:  # shapes that do not broadcast or reshape
            raise UnsupportedError(
                f"operand shapes {', '.join(map(str, shapes))}: {e}") \
                from None


class Graph:
    """Inputs, outputs, and the nodes between (reachable from outputs)."""

    def __init__(self, inputs: List[Node], outputs: List[Node],
                 input_names: List[str]):
        self.inputs = inputs
        self.outputs = outputs
        self.input_names = input_names

    def topological(self) -> List[Node]:
        order, seen = [], set()

        def visit(root):
            stack = [(root, False)]
            while stack:
                node, done = stack.pop()
                if done:
                    order.append(node)
                    continue
                if node.id in seen:
                    continue
                seen.add(node.id)
                stack.append((node, True))
                for i in reversed(node.inputs):
                    if i.id not in seen:
                        stack.append((i, False))

        for o in self.outputs:
            visit(o)
        return order



# --------------------------------------------------------------------------
# Dynamic dims: graphs converted at several sizes, lined up
# --------------------------------------------------------------------------

#: Attributes that carry sizes: they may change with a symbol (the nodes'
#: dims say how); every other attribute must be the same at every size.
_SIZED_ATTRS = {"shape", "value", "build"}


def generalize(base: Graph, variants: Sequence[Tuple[str, int, int, Graph]]
               ) -> Graph:
    """`base` (converted at the example sizes) with `dims` set on every
    node. Each variant is (symbol, its example size, its doubled size, the
    graph converted with only that symbol's size changed)."""
    order = base.topological()
    orders = []
    for symbol, _, _, graph in variants:
        other = graph.topological()
        if len(other) != len(order):
            raise UnsupportedError(
                f"the model's graph changes with the size of '{symbol}' "
                f"({len(order)} nodes, {len(other)} at another size); keep "
                f"'{symbol}' static")
        orders.append(other)
    position = {node.id: i for i, node in enumerate(order)}
    # Constants are named after the first node that reads them.
    readers = {}
    for node in order:
        for i in node.inputs:
            readers.setdefault(i.id, node)

    def origin(node):
        if node.kind != "const" or node.origin or node.id not in readers:
            return node.origin
        return f"{readers[node.id].origin}: its operand"

    positions = [{node.id: i for i, node in enumerate(o)} for o in orders]
    for index, node in enumerate(order):
        dims = list(node.shape)
        for (symbol, size0, size1, _), other, where in zip(variants, orders,
                                                           positions):
            twin = other[index]
            same = (twin.kind == node.kind and
                    len(twin.shape) == len(node.shape) and
                    [where[i.id] for i in twin.inputs] ==
                    [position[i.id] for i in node.inputs] and
                    {k: v for k, v in twin.attrs.items()
                     if k not in _SIZED_ATTRS} ==
                    {k: v for k, v in node.attrs.items()
                     if k not in _SIZED_ATTRS})
            if not same:
                raise UnsupportedError(
                    f"{node.origin}: the model's graph changes with the size "
                    f"of '{symbol}'; keep '{symbol}' static")
            for d, (a, b) in enumerate(zip(node.shape, twin.shape)):
                if a == b:
                    continue
                coeff, rest = divmod(b - a, size1 - size0)
                if rest or coeff <= 0 or a != coeff * size0 or \
                        isinstance(dims[d], Sym):
                    raise UnsupportedError(
                        f"{node.origin}: dim {d} is {a} at {symbol} = "
                        f"{size0} and {b} at {symbol} = {size1}; flt keeps "
                        f"only dims that are a multiple of one symbol dynamic")
                dims[d] = Sym(symbol, coeff)
            if node.kind == "const" and not any(
                    isinstance(x, Sym) for x in dims) and not \
                    np.array_equal(node.value, twin.value, equal_nan=True):
                raise UnsupportedError(
                    f"{origin(node)}: a constant that depends on the size of "
                    f"'{symbol}'; keep '{symbol}' static or compute it from "
                    f"an input")
        node.dims = tuple(dims)
        if node.kind == "const" and any(isinstance(x, Sym) for x in dims):
            twins = [other[index].value for other in orders]
            if _as_table(node, twins):
                continue
            what = ", ".join(map(str, dims))
            raise UnsupportedError(
                f"{origin(node)}, a constant of shape [{what}] (a position "
                f"table or mask made at the example size); keep its sizes "
                f"static or pass it as an input")
    return base


def _table_values(attrs, shape) -> np.ndarray:
    """The elements of a `table` node (see _as_table) at `shape`."""
    fn = attrs["fn"]
    if fn == "fill":
        return np.full(shape, attrs["value"], np.float32)
    if fn == "arange":
        index = np.arange(shape[attrs["dim"]], dtype=np.float64)
        line = attrs["slope"] * index + attrs["intercept"]
        view = [1] * len(shape)
        view[attrs["dim"]] = shape[attrs["dim"]]
        return np.broadcast_to(line.reshape(view), shape).astype(np.float32)
    rows, cols = attrs["rows"], attrs["cols"]
    i = np.arange(shape[rows]).reshape(
        [-1 if d == rows else 1 for d in range(len(shape))])
    j = np.arange(shape[cols]).reshape(
        [-1 if d == cols else 1 for d in range(len(shape))])
    inside = np.broadcast_to(j - i <= attrs["k"], shape)
    return np.where(inside, attrs["inside"], attrs["outside"]).astype(
        np.float32)


def _as_table(node: Node, twins) -> bool:
    """Turns a constant whose shape grows with a symbol into a `table` node
    computed from its indices, when at every size converted it is one of:
    a fill; `slope * i + intercept` along one dynamic dim (torch.arange
    positions); a triangle, `inside` where j - i <= k and `outside` elsewhere
    for i, j along two dims of one symbol (causal masks, tril / triu). Any
    other dim must be a unit one. False when it is none of these."""
    value = np.asarray(node.value, np.float64)
    dynamic = [d for d, x in enumerate(node.dims) if isinstance(x, Sym)]
    if value.size == 0 or any(node.shape[d] != 1 for d in range(
            len(node.shape)) if d not in dynamic):
        return False
    candidates = []
    flat = value.reshape(-1)
    if np.all(flat == flat[0]):
        candidates.append({"fn": "fill", "value": float(flat[0])})
    if len(dynamic) == 1 and node.shape[dynamic[0]] >= 2:
        line = value.reshape(-1)
        slope = float(line[1] - line[0])
        candidates.append({"fn": "arange", "dim": dynamic[0],
                           "slope": slope, "intercept": float(line[0])})
    if len(dynamic) == 2 and node.dims[dynamic[0]] == node.dims[dynamic[1]]:
        rows, cols = dynamic
        n = node.shape[rows]
        table = value.reshape(n, n)
        inside, outside = table[n - 1, 0], table[0, n - 1]
        below = [d for d in range(-(n - 1), n)
                 if np.all(np.diagonal(table, d) == inside)]
        if inside != outside and below:
            candidates.append({"fn": "tri", "rows": rows, "cols": cols,
                               "k": int(max(below)),
                               "inside": float(inside),
                               "outside": float(outside)})
    for attrs in candidates:
        if all(np.array_equal(_table_values(attrs, np.shape(v)),
                              np.asarray(v, np.float32))
               for v in [node.value] + list(twins)):
            # Small offsets only: flt-raise-attention reads such tables
            # through a window of 16 indices.
            if attrs["fn"] == "tri" and abs(attrs["k"]) >= 8:
                continue
            node.kind = "table"
            node.dtype = np.dtype(np.float32)
            node.attrs = attrs
            return True
    return False


def doubled(size: int) -> int:
    """The size a symbol takes in its variant conversion."""
    return 2 * size


# --------------------------------------------------------------------------
# A module read back as a graph
# --------------------------------------------------------------------------

_ELEMENTS = {"f32": np.float32, "f16": np.float16, "f64": np.float64,
             "bf16": np.float32, "i1": np.bool_, "i32": np.int32,
             "i64": np.int64, "index": np.int64}


def _tensor_type(text):
    """(shape, dtype) of an MLIR type (a scalar has shape ())."""
    if text.startswith("tensor<") and text.endswith(">"):
        *dims, element = text[len("tensor<"):-1].split("x")
        shape = tuple(None if d == "?" else int(d) for d in dims)
    else:
        shape, element = (), text
    return shape, np.dtype(_ELEMENTS.get(element, np.float32))


def graph_of_module(module, function: str = "main",
                    input_names: Optional[List[str]] = None) -> Graph:
    """`function` of a module (a flt.ir.Module) as a Graph: arguments are
    `input` nodes, dense constants `const` nodes, flt ops `flt` nodes and
    everything else `op` nodes (attributes printed; payloads left out)."""
    from .. import _native
    from ..ir import _call
    arguments, ops, returned = _call(_native.function_graph, str(module),
                                     module.filename, function)
    names = list(input_names or [f"arg{i}" for i in range(len(arguments))])
    values: List[Node] = []
    inputs = []
    for name, type_ in zip(names, arguments):
        shape, dtype = _tensor_type(type_)
        node = Node("input", [], shape, dtype, f"input '{name}'")
        inputs.append(node)
        values.append(node)
    for name, operands, results, attributes, constant in ops:
        ins = [values[i] for i in operands if i >= 0]
        types = [_tensor_type(t) for t in results]
        if constant is not None:
            shape, element, data = constant
            value = np.frombuffer(data, np.float64).reshape(shape).astype(
                _ELEMENTS.get(element, np.float32))
            node = Node("const", [], value.shape, value.dtype, name,
                        value=value)
        else:
            kind = "flt" if name.startswith("flt.") else "op"
            shape, dtype = types[0] if types else ((), np.float32)
            node = Node(kind, ins, shape, dtype, name, op=name,
                        attributes=dict(attributes))
        values.append(node)
        for index, (shape, dtype) in enumerate(types[1:], 1):
            values.append(Node("result", [node], shape, dtype, name,
                               index=index))
    outputs = [values[i] for i in returned]
    return Graph(inputs, outputs, names)
