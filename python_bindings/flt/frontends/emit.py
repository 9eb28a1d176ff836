"""Prints a frontend Graph (graph.py) as an MLIR module, and raises the
attention in it.

flt nodes (ops the model states itself) become flt ops (through flt.ops);
everything else becomes `linalg.generic` (elementwise with broadcasting
maps, contractions with reduction iterators, reductions with a filled
init), `tensor` reshapes and slices, and `arith.constant` for constants.
`raised_module` then runs the C++ pass flt-raise-attention on it, which
rewrites the attention it finds into flt ops. Example: `relu(x) + 1` on a
[2, 3] input prints as one generic per node:

    %v2 = linalg.generic {indexing_maps = [#map(d0, d1), ...],
                          iterator_types = ["parallel", "parallel"]}
          ins(%arg0 : tensor<2x3xf32>) outs(%v1 : tensor<2x3xf32>) {...}

Dims a node's `dims` marks dynamic (graph.generalize) print as `?`; their
sizes are read once from the argument that carries their symbol
(`tensor.dim`) and feed tensor.empty, expand_shape and slices. Tables of
dynamic size (graph `table` nodes: causal masks, position ramps) are
generics without inputs that compute each element from `linalg.index`,
which flt-raise-attention reads like the constants they replace.
"""

from typing import Dict, List

import numpy as np

from .. import compiler, ops
from ..ir import Module
from .graph import Graph, Node, Sym, UnsupportedError, const, make


def _float(x: float) -> str:
    if np.isposinf(x):
        return "0x7F800000"
    if np.isneginf(x):
        return "0xFF800000"
    if np.isnan(x):
        return "0x7FC00000"
    return f"{float(np.float32(x)):.9e}"


def _list(values) -> str:
    """[1, 2, 3]: static offsets, sizes and strides of tensor ops."""
    return "[" + ", ".join(map(str, values)) + "]"


def _map(dims: int, results: List[str]) -> str:
    args = ", ".join(f"d{i}" for i in range(dims))
    return f"affine_map<({args}) -> ({', '.join(results)})>"


def _groups(groups) -> str:
    """A reassociation: [[0, 1], [2]]."""
    return "[" + ", ".join(_list(g) for g in groups) + "]"


def _monomial(dim):
    """A dim as (constant, symbols): the unit in which reshapes compare
    sizes, so that a dynamic dim is only ever paired with itself."""
    if isinstance(dim, Sym):
        return dim.coeff, (dim.name,)
    return int(dim), ()


def _times(a, b):
    return a[0] * b[0], tuple(sorted(a[1] + b[1]))


def _reshape_groups(src, dst):
    """[(source dims, target dims)] pairing runs of dims with the same
    number of elements, each side non-empty (unit dims join a neighbouring
    run), so that the reshape is a collapse of each run then an expand; None
    when there is no such pairing (a rank-0 side, a zero size). Dims are
    sizes or Syms; products compare as monomials."""
    if not src or not dst or 0 in src or 0 in dst:
        return None
    src_m = [_monomial(d) for d in src]
    dst_m = [_monomial(d) for d in dst]

    def less(a, b):
        # a divides b properly (same symbols or a subset, smaller constant).
        return a != b and set(a[1]) <= set(b[1]) and b[0] % a[0] == 0

    groups, i, j = [], 0, 0
    while i < len(src) and j < len(dst):
        a, b = [i], [j]
        pa, pb = src_m[i], dst_m[j]
        i, j = i + 1, j + 1
        while pa != pb:
            if less(pa, pb) and i < len(src):
                a.append(i)
                pa = _times(pa, src_m[i])
                i += 1
            elif less(pb, pa) and j < len(dst):
                b.append(j)
                pb = _times(pb, dst_m[j])
                j += 1
            else:
                return None
        groups.append((a, b))
    # Trailing unit dims join the last run.
    if any(src[k] != 1 for k in range(i, len(src))) or \
            any(dst[k] != 1 for k in range(j, len(dst))):
        return None
    groups[-1][0].extend(range(i, len(src)))
    groups[-1][1].extend(range(j, len(dst)))
    return groups


def _static(dims) -> tuple:
    """A shape for tensor types: None for a dynamic dim."""
    return tuple(None if isinstance(d, Sym) else d for d in dims)


def _is_unit(dim) -> bool:
    return not isinstance(dim, Sym) and dim == 1


def _broadcast_map(in_dims, out_dims) -> str:
    """Indexing map reading an input numpy-broadcast to out_dims."""
    n, k = len(out_dims), len(in_dims)
    results = []
    for j, size in enumerate(in_dims):
        d = n - k + j
        results.append("0" if _is_unit(size) and not _is_unit(out_dims[d])
                       else f"d{d}")
    return _map(n, results)


_ELEMENT_OF = {np.dtype(np.float32): "f32", np.dtype(np.float16): "f16",
               np.dtype(np.float64): "f64", np.dtype(np.int32): "i32",
               np.dtype(np.int64): "i64"}


class Emitter:
    def __init__(self, graph: Graph, name: str):
        self.graph = graph
        self.b = ops.Builder(name)
        self.values: Dict[int, ops.Value] = {}
        # symbol -> (argument, dim, coefficient): where its size is read;
        # symbol -> SSA name of that size, once read.
        self.symbol_sources: Dict[str, tuple] = {}
        self.symbol_values: Dict[str, str] = {}

    # -- sizes -------------------------------------------------------------

    def index(self, value: int) -> str:
        name = self.b.fresh("c")
        self.b.emit(f"{name} = arith.constant {int(value)} : index")
        return name

    def size(self, dim) -> str:
        """An SSA index holding `dim` (a static size or a Sym)."""
        if not isinstance(dim, Sym):
            return self.index(dim)
        if dim.name not in self.symbol_values:
            arg, at, coeff = self.symbol_sources[dim.name]
            name = self.b.fresh("dim")
            self.b.emit(f"{name} = tensor.dim {arg.name}, "
                        f"{self.index(at)} : {arg.type}")
            if coeff != 1:
                whole = name
                name = self.b.fresh("dim")
                self.b.emit(f"{name} = arith.divui {whole}, "
                            f"{self.index(coeff)} : index")
            self.symbol_values[dim.name] = name
        value = self.symbol_values[dim.name]
        if dim.coeff == 1:
            return value
        name = self.b.fresh("dim")
        self.b.emit(f"{name} = arith.muli {value}, {self.index(dim.coeff)} "
                    f": index")
        return name

    def mixed(self, dims) -> str:
        """`[4, %dim3]`: static sizes inline, dynamic ones as SSA names."""
        return "[" + ", ".join(self.size(d) if isinstance(d, Sym) else str(d)
                               for d in dims) + "]"

    def typed(self, name: str, dims, element="f32") -> ops.Value:
        value = ops.Value(self.b, name, _static(dims), element)
        value.dims = tuple(dims)
        return value

    # -- helpers -----------------------------------------------------------

    def empty(self, dims, element="f32") -> str:
        operands = ", ".join(self.size(d) for d in dims if isinstance(d, Sym))
        name = self.b.fresh("e")
        self.b.emit(f"{name} = tensor.empty({operands}) : "
                    f"{ops.tensor_type(_static(dims), element)}")
        return name

    def filled(self, dims, value: float) -> str:
        empty = self.empty(dims)
        scalar = self.b.fresh("s")
        self.b.emit(f"{scalar} = arith.constant {_float(value)} : f32")
        name = self.b.fresh("f")
        type_ = ops.tensor_type(_static(dims))
        self.b.emit(f"{name} = linalg.fill ins({scalar} : f32) outs({empty} "
                    f": {type_}) -> {type_}")
        return name

    def generic(self, inputs: List[ops.Value], maps: List[str], out_dims,
                iterators: List[str], init: str, body) -> ops.Value:
        """linalg.generic; `body(args, acc)` returns (lines, yielded name)."""
        out_type = ops.tensor_type(_static(out_dims))
        args = [f"%a{i}" for i in range(len(inputs))]
        lines, result = body(args, "%acc")
        name = self.b.fresh("g")
        ins = ""
        if inputs:
            ins = (" ins(" + ", ".join(v.name for v in inputs) + " : " +
                   ", ".join(v.type for v in inputs) + ")")
        self.b.emit(
            f"{name} = linalg.generic {{indexing_maps = [{', '.join(maps)}], "
            f"iterator_types = [{', '.join(repr(i).replace(chr(39), chr(34)) for i in iterators)}]}}"
            f"{ins} outs({init} : {out_type}) {{")
        block_args = ", ".join(
            f"{a}: {v.element}" for a, v in zip(args, inputs))
        block_args += (", " if inputs else "") + "%acc: f32"
        self.b.emit(f"^bb0({block_args}):")
        for line in lines:
            self.b.emit("  " + line)
        self.b.emit(f"  linalg.yield {result} : f32")
        self.b.emit(f"}} -> {out_type}")
        return self.typed(name, out_dims)

    def elementwise(self, node: Node, inputs: List[ops.Value],
                    scalar_body) -> ops.Value:
        dims = node.dims
        maps = [_broadcast_map(v.dims, dims) for v in inputs]
        maps.append(_map(len(dims), [f"d{i}" for i in range(len(dims))]))
        return self.generic(inputs, maps, dims, ["parallel"] * len(dims),
                            self.empty(dims), scalar_body)

    # -- nodes -------------------------------------------------------------

    def value(self, node: Node) -> ops.Value:
        if node.id not in self.values:
            self.values[node.id] = self.emit_node(node)
        return self.values[node.id]

    def emit_node(self, node: Node) -> ops.Value:
        handler = getattr(self, "_emit_" + node.kind, None)
        if handler is None:
            raise UnsupportedError(f"cannot emit {node.kind} ({node.origin})")
        if node.kind not in ("const", "flt", "where") and \
                node.dtype != np.float32 and not (
                    node.kind == "unary" and node.attrs["fn"] == "tofloat"):
            raise UnsupportedError(
                f"{node.origin}: only float32 tensors are computed outside "
                f"flt ops, got {node.dtype}")
        return handler(node)

    def _emit_input(self, node):
        raise AssertionError("inputs are bound before emission")

    def _emit_const(self, node):
        value = np.ascontiguousarray(node.value, dtype=np.float32)
        type_ = ops.tensor_type(value.shape)
        if value.size and np.all(value == value.flat[0]):
            literal = f"dense<{_float(value.flat[0])}>"
        else:
            literal = f'dense<"0x{value.astype("<f4").tobytes().hex().upper()}">'
        name = self.b.fresh("cst")
        self.b.emit(f"{name} = arith.constant {literal} : {type_}")
        return self.typed(name, value.shape)

    def _emit_table(self, node):
        """A constant computed from its indices (graph._as_table): what a
        position table or a causal mask is when its length is dynamic."""
        attrs, dims = node.attrs, node.dims
        rank = len(dims)
        fn = attrs["fn"]

        def body(a, acc):
            if fn == "fill":
                return [f"%r = arith.constant {_float(attrs['value'])} : f32"
                        ], "%r"
            if fn == "arange":
                return [f"%i = linalg.index {attrs['dim']} : index",
                        "%n = arith.index_cast %i : index to i64",
                        "%x = arith.sitofp %n : i64 to f32",
                        f"%a = arith.constant {_float(attrs['slope'])} : f32",
                        f"%b = arith.constant {_float(attrs['intercept'])} "
                        f": f32",
                        "%ax = arith.mulf %a, %x : f32",
                        "%r = arith.addf %ax, %b : f32"], "%r"
            # tri: inside where j - i <= k.
            return [f"%i = linalg.index {attrs['rows']} : index",
                    f"%j = linalg.index {attrs['cols']} : index",
                    "%d = arith.subi %j, %i : index",
                    f"%k = arith.constant {attrs['k']} : index",
                    "%p = arith.cmpi sle, %d, %k : index",
                    f"%in = arith.constant {_float(attrs['inside'])} : f32",
                    f"%out = arith.constant {_float(attrs['outside'])} : f32",
                    "%r = arith.select %p, %in, %out : f32"], "%r"

        return self.generic([], [_map(rank, [f"d{i}" for i in range(rank)])],
                            dims, ["parallel"] * rank, self.empty(dims), body)

    def _emit_unary(self, node):
        fn = node.attrs["fn"]
        x = self.value(node.inputs[0])

        def body(a, acc):
            one = "%one = arith.constant 1.0 : f32"
            zero = "%zero = arith.constant 0.0 : f32"
            simple = {"exp": "math.exp", "log": "math.log", "cos": "math.cos",
                      "sin": "math.sin", "sqrt": "math.sqrt",
                      "rsqrt": "math.rsqrt", "tanh": "math.tanh",
                      "abs": "math.absf", "neg": "arith.negf"}
            if fn in simple:
                return [f"%r = {simple[fn]} {a[0]} : f32"], "%r"
            if fn == "relu":
                return [zero, f"%r = arith.maximumf {a[0]}, %zero : f32"], "%r"
            if fn == "reciprocal":
                return [one, f"%r = arith.divf %one, {a[0]} : f32"], "%r"
            if fn == "sigmoid":
                return [one, f"%n = arith.negf {a[0]} : f32",
                        "%e = math.exp %n : f32",
                        "%d = arith.addf %one, %e : f32",
                        "%r = arith.divf %one, %d : f32"], "%r"
            if fn == "elu":
                alpha = _float(node.attrs.get("alpha", 1.0))
                return [zero, f"%al = arith.constant {alpha} : f32",
                        f"%m = arith.minimumf {a[0]}, %zero : f32",
                        "%x = math.expm1 %m : f32",
                        "%n = arith.mulf %al, %x : f32",
                        f"%p = arith.cmpf ogt, {a[0]}, %zero : f32",
                        f"%r = arith.select %p, {a[0]}, %n : f32"], "%r"
            if fn == "not":
                return [zero, one, f"%p = arith.cmpf oeq, {a[0]}, %zero : f32",
                        "%r = arith.select %p, %one, %zero : f32"], "%r"
            if fn == "tofloat":
                if x.element == "f32":
                    return [], a[0]
                if x.element in ("f16", "f64"):
                    op = "arith.extf" if x.element == "f16" else \
                        "arith.truncf"
                    return [f"%r = {op} {a[0]} : {x.element} to f32"], "%r"
                return [f"%r = arith.sitofp {a[0]} : {x.element} to f32"], \
                    "%r"
            raise UnsupportedError(f"unary {fn} ({node.origin})")

        return self.elementwise(node, [x], body)

    _PREDICATES = {"eq": "oeq", "ne": "une", "lt": "olt", "le": "ole",
                   "gt": "ogt", "ge": "oge"}

    def _emit_binary(self, node):
        fn = node.attrs["fn"]
        ops_ = {"add": "arith.addf", "sub": "arith.subf", "mul": "arith.mulf",
                "div": "arith.divf", "max": "arith.maximumf",
                "min": "arith.minimumf", "pow": "math.powf"}
        inputs = [self.value(i) for i in node.inputs]
        if fn in self._PREDICATES or fn in ("and", "or"):
            def body(a, acc):
                zero = "%zero = arith.constant 0.0 : f32"
                one = "%one = arith.constant 1.0 : f32"
                if fn in ("and", "or"):
                    join = "arith.andi" if fn == "and" else "arith.ori"
                    return [zero, one,
                            f"%x = arith.cmpf une, {a[0]}, %zero : f32",
                            f"%y = arith.cmpf une, {a[1]}, %zero : f32",
                            f"%p = {join} %x, %y : i1",
                            "%r = arith.select %p, %one, %zero : f32"], "%r"
                return [zero, one, f"%p = arith.cmpf "
                        f"{self._PREDICATES[fn]}, {a[0]}, {a[1]} : f32",
                        "%r = arith.select %p, %one, %zero : f32"], "%r"
            return self.elementwise(node, inputs, body)
        return self.elementwise(
            node, inputs,
            lambda a, acc: ([f"%r = {ops_[fn]} {a[0]}, {a[1]} : f32"], "%r"))

    def _emit_where(self, node):
        cond, a, b = node.inputs
        # A constant condition is printed as float 0 / 1; one computed at
        # run time (a comparison, an index table) already is.
        if cond.kind == "const":
            cond = const(cond.value.astype(np.float32))
        inputs = [self.value(cond), self.value(a), self.value(b)]
        return self.elementwise(node, inputs, lambda x, acc: (
            ["%zero = arith.constant 0.0 : f32",
             f"%c = arith.cmpf une, {x[0]}, %zero : f32",
             f"%r = arith.select %c, {x[1]}, {x[2]} : f32"], "%r"))

    def _emit_contract(self, node):
        equation = node.attrs["equation"]
        lhs, out = equation.split("->")
        in_labels = lhs.split(",")
        labels = list(out) + sorted(set("".join(in_labels)) - set(out))
        sizes = {}
        for lab, inp in zip(in_labels, node.inputs):
            for l, s in zip(lab, inp.dims):
                if not _is_unit(s) or l not in sizes:
                    sizes[l] = s
        inputs = [self.value(i) for i in node.inputs]
        maps = []
        for lab, inp in zip(in_labels, node.inputs):
            maps.append(_map(len(labels), [
                "0" if _is_unit(s) and not _is_unit(sizes[l])
                else f"d{labels.index(l)}"
                for l, s in zip(lab, inp.dims)]))
        maps.append(_map(len(labels), [f"d{i}" for i in range(len(out))]))
        iterators = ["parallel"] * len(out) + \
            ["reduction"] * (len(labels) - len(out))

        def body(a, acc):
            lines, prod = [], a[0]
            for i, x in enumerate(a[1:]):
                lines.append(f"%p{i} = arith.mulf {prod}, {x} : f32")
                prod = f"%p{i}"
            lines.append(f"%r = arith.addf {acc}, {prod} : f32")
            return lines, "%r"

        return self.generic(inputs, maps, node.dims, iterators,
                            self.filled(node.dims, 0.0), body)

    def _reduce(self, x: ops.Value, dims, keepdim, fn) -> ops.Value:
        rank = len(x.dims)
        dims = sorted(d % rank for d in dims)
        kept = [d for d in range(rank) if d not in dims]
        order = kept + dims
        in_map = _map(rank, [f"d{order.index(d)}" for d in range(rank)])
        out_dims = tuple(x.dims[d] for d in kept)
        out_map = _map(rank, [f"d{i}" for i in range(len(kept))])
        init = self.filled(out_dims, 0.0 if fn != "max" else -np.inf)
        op = "arith.maximumf" if fn == "max" else "arith.addf"
        result = self.generic(
            [x], [in_map, out_map], out_dims,
            ["parallel"] * len(kept) + ["reduction"] * len(dims), init,
            lambda a, acc: ([f"%r = {op} {acc}, {a[0]} : f32"], "%r"))
        if fn == "mean":
            reduced = [x.dims[d] for d in dims]
            if any(isinstance(d, Sym) for d in reduced):
                result = self._divide_by_count(result, reduced)
            else:
                result = self._scale(result, 1.0 / int(np.prod(reduced)))
        if keepdim:
            shape = tuple(1 if d in dims else x.dims[d] for d in range(rank))
            result = self._reshape(result, shape)
        return result

    def _scale(self, x: ops.Value, factor: float) -> ops.Value:
        dims = x.dims
        ident = _map(len(dims), [f"d{i}" for i in range(len(dims))])
        return self.generic([x], [ident, ident], dims,
                            ["parallel"] * len(dims), self.empty(dims),
                            lambda a, acc: ([
                                f"%k = arith.constant {_float(factor)} : f32",
                                f"%r = arith.mulf {a[0]}, %k : f32"], "%r"))

    def _divide_by_count(self, x: ops.Value, reduced) -> ops.Value:
        """x / the number of elements of `reduced` dims (some dynamic)."""
        count = self.size(reduced[0])
        for d in reduced[1:]:
            name = self.b.fresh("n")
            self.b.emit(f"{name} = arith.muli {count}, {self.size(d)} : "
                        f"index")
            count = name
        as_int = self.b.fresh("n")
        self.b.emit(f"{as_int} = arith.index_cast {count} : index to i64")
        as_float = self.b.fresh("n")
        self.b.emit(f"{as_float} = arith.sitofp {as_int} : i64 to f32")
        dims = x.dims
        ident = _map(len(dims), [f"d{i}" for i in range(len(dims))])
        return self.generic([x], [ident, ident], dims,
                            ["parallel"] * len(dims), self.empty(dims),
                            lambda a, acc: ([
                                f"%r = arith.divf {a[0]}, {as_float} : f32"],
                                "%r"))

    def _emit_reduce(self, node):
        return self._reduce(self.value(node.inputs[0]), node.attrs["dims"],
                            node.attrs["keepdim"], node.attrs["fn"])

    def _derived(self, kind, inputs, **attrs) -> Node:
        """A node the emitter makes from others (softmax's steps), its dims
        following the first input's where the shape does."""
        node = make(kind, inputs, fold=False, **attrs)
        source = inputs[0].dims
        node.dims = tuple(
            s if n == t else n for n, t, s in
            zip(node.shape, inputs[0].shape, source)) \
            if len(node.shape) == len(source) else node.shape
        return node

    def _emit_softmax(self, node):
        x = node.inputs[0]
        dim = node.attrs["dim"]
        peak = self._derived("reduce", [x], fn="max", dims=[dim],
                             keepdim=True)
        peak.dims = tuple(1 if i == dim else d for i, d in enumerate(x.dims))
        shifted = self._derived("binary", [x, peak], fn="sub")
        exp = self._derived("unary", [shifted], fn="exp")
        total = self._derived("reduce", [exp], fn="sum", dims=[dim],
                              keepdim=True)
        total.dims = peak.dims
        return self.value(self._derived("binary", [exp, total], fn="div"))

    def _emit_permute(self, node):
        x = self.value(node.inputs[0])
        perm = node.attrs["perm"]
        rank = len(perm)
        # out[d0..] = in[j] with out dim i = in dim perm[i].
        in_map = _map(rank, [f"d{perm.index(j)}" for j in range(rank)])
        out_map = _map(rank, [f"d{i}" for i in range(rank)])
        return self.generic([x], [in_map, out_map], node.dims,
                            ["parallel"] * rank, self.empty(node.dims),
                            lambda a, acc: ([], a[0]))

    def _emit_broadcast(self, node):
        x = self.value(node.inputs[0])
        dims = node.dims
        return self.generic(
            [x], [_broadcast_map(x.dims, dims),
                  _map(len(dims), [f"d{i}" for i in range(len(dims))])],
            dims, ["parallel"] * len(dims), self.empty(dims),
            lambda a, acc: ([], a[0]))

    def _reshape(self, x: ops.Value, dims) -> ops.Value:
        dims = tuple(dims)
        if tuple(x.dims) == dims:
            return x
        groups = _reshape_groups(tuple(x.dims), dims)
        if groups is None:
            if any(isinstance(d, Sym) for d in dims + tuple(x.dims)):
                raise UnsupportedError(
                    f"a reshape of [{', '.join(map(str, x.dims))}] to "
                    f"[{', '.join(map(str, dims))}] that does not keep "
                    f"the dynamic dims whole")
            # Through one dim: collapse everything, expand again.
            size = int(np.prod(dims))
            flat = x
            if len(x.dims) != 1:
                flat = self._collapse(x, [list(range(len(x.dims)))]
                                      if x.dims else [], (size,))
            if len(dims) == 1:
                return flat
            return self._expand(flat, [list(range(len(dims)))]
                                if dims else [], dims)
        # Collapse the source dims of each group, then expand into the
        # target's: unit dims and merged or split dims keep the others apart.
        middle = []
        for src, _ in groups:
            product = (1, ())
            for d in src:
                product = _times(product, _monomial(x.dims[d]))
            if len(product[1]) > 1:
                raise UnsupportedError(
                    "a reshape that multiplies two dynamic dims together")
            middle.append(Sym(product[1][0], product[0]) if product[1]
                          else product[0])
        middle = tuple(middle)
        y = x
        if len(middle) != len(x.dims):
            y = self._collapse(x, [src for src, _ in groups], middle)
        if len(middle) != len(dims):
            y = self._expand(y, [dst for _, dst in groups], dims)
        return y

    def _collapse(self, x: ops.Value, groups, dims) -> ops.Value:
        name = self.b.fresh("r")
        self.b.emit(f"{name} = tensor.collapse_shape {x.name} "
                    f"{_groups(groups)} : {x.type} into "
                    f"{ops.tensor_type(_static(dims))}")
        return self.typed(name, dims)

    def _expand(self, x: ops.Value, groups, dims) -> ops.Value:
        name = self.b.fresh("r")
        self.b.emit(f"{name} = tensor.expand_shape {x.name} "
                    f"{_groups(groups)} output_shape {self.mixed(dims)} : "
                    f"{x.type} into {ops.tensor_type(_static(dims))}")
        return self.typed(name, dims)

    def _emit_reshape(self, node):
        return self._reshape(self.value(node.inputs[0]), node.dims)

    def _emit_slice(self, node):
        x = self.value(node.inputs[0])
        dim, start, step = (node.attrs["dim"], node.attrs["start"] or 0,
                            node.attrs["step"] or 1)
        if step < 0:
            raise UnsupportedError(f"{node.origin}: a negative slice step")
        offsets = ["0"] * len(x.dims)
        strides = [1] * len(x.dims)
        strides[dim] = step
        if isinstance(x.dims[dim], Sym) and start < 0:
            offset = self.b.fresh("o")
            self.b.emit(f"{offset} = arith.subi {self.size(x.dims[dim])}, "
                        f"{self.index(-start)} : index")
            offsets[dim] = offset
        else:
            offsets[dim] = str(start + x.shape[dim] if start < 0 else start)
            if isinstance(node.dims[dim], Sym) and (
                    node.attrs["stop"] is not None and
                    0 <= node.attrs["stop"] < x.shape[dim] or step != 1):
                raise UnsupportedError(
                    f"{node.origin}: a slice of dynamic dim {dim} that does "
                    f"not run to its end")
        name = self.b.fresh("sl")
        self.b.emit(f"{name} = tensor.extract_slice {x.name}"
                    f"[{', '.join(offsets)}] {self.mixed(node.dims)} "
                    f"{_list(strides)} : {x.type} to "
                    f"{ops.tensor_type(_static(node.dims))}")
        return self.typed(name, node.dims)

    def _emit_concat(self, node):
        dim = node.attrs["dim"] % len(node.dims)
        result = self.empty(node.dims)
        offset = 0
        for part in node.inputs:
            v = self.value(part)
            offsets = ["0"] * len(node.dims)
            offsets[dim] = str(offset) if isinstance(offset, int) else offset
            name = self.b.fresh("ins")
            self.b.emit(f"{name} = tensor.insert_slice {v.name} into {result}"
                        f"[{', '.join(offsets)}] {self.mixed(v.dims)} "
                        f"{_list([1] * len(node.dims))} : {v.type} into "
                        f"{ops.tensor_type(_static(node.dims))}")
            result = name
            step = v.dims[dim]
            if isinstance(offset, int) and not isinstance(step, Sym):
                offset += step
            else:
                total = self.b.fresh("o")
                self.b.emit(f"{total} = arith.addi "
                            f"{offset if isinstance(offset, str) else self.index(offset)}, "
                            f"{self.size(step)} : index")
                offset = total
        return self.typed(result, node.dims)

    def _emit_flt(self, node):
        if "build" not in node.attrs:
            raise UnsupportedError(
                f"{node.origin}: a graph read back from a module "
                "(graph_of_module) is for looking at, not for emitting")
        values = [self.value(i) for i in node.inputs]
        result = node.attrs["build"](*values)
        result.dims = node.dims
        return result


def emit_module(graph: Graph, name: str = "main") -> Module:
    emitter = Emitter(graph, name)
    for node, arg_name in zip(graph.inputs, graph.input_names):
        element = _ELEMENT_OF.get(node.dtype)
        if element is None:
            raise UnsupportedError(f"input '{arg_name}': unsupported dtype "
                                   f"{node.dtype}")
        arg = emitter.b.arg(arg_name, _static(node.dims), element)
        arg.dims = node.dims
        emitter.values[node.id] = arg
        for at, dim in enumerate(node.dims):
            if isinstance(dim, Sym) and dim.name not in \
                    emitter.symbol_sources:
                emitter.symbol_sources[dim.name] = (arg, at, dim.coeff)
    results = [emitter.value(o) for o in graph.outputs]
    emitter.b.ret(*results)
    return emitter.b.module()


#: How the frontends raise attention: the C++ raiser, with rotary embeddings
#: in the attention ops' [B, H, L, d] layout.
RAISE_PIPELINE = "func.func(flt-raise-attention{fold-rotary-batch=false})"


def raised_module(graph: Graph, name: str = "main") -> Module:
    """The graph as a module whose attention flt-raise-attention rewrote
    into flt ops (what the frontends give users)."""
    return emit_module(graph, name).run_pipeline(RAISE_PIPELINE)


def compile_graph(graph: Graph, target: str = "cpu", **options):
    """(raised module, flt.CompiledModule) of a frontend graph, its function
    @main taking the graph's inputs under their names."""
    module = raised_module(graph, "main")
    compiled = compiler.compile(module, target,
                                arg_names={"main": graph.input_names},
                                **options)
    return module, compiled
