"""Prints a frontend Graph (graph.py) as an MLIR module, and raises the
attention in it.

flt nodes (ops the model states itself) become flt ops (through flt.ops);
everything else becomes `linalg.generic` on static shapes (elementwise with
broadcasting maps, contractions with reduction iterators, reductions with a
filled init), `tensor` reshapes and slices, and `arith.constant` for
constants. `raised_module` then runs the C++ pass flt-raise-attention on
it, which rewrites the attention it finds into flt ops. Example:
`relu(x) + 1` on a [2, 3] input prints as one generic per node:

    %v2 = linalg.generic {indexing_maps = [#map(d0, d1), ...],
                          iterator_types = ["parallel", "parallel"]}
          ins(%arg0 : tensor<2x3xf32>) outs(%v1 : tensor<2x3xf32>) {...}
"""

from typing import Dict, List

import numpy as np

from .. import compiler, ops
from ..ir import Module
from .graph import Graph, Node, UnsupportedError, const, make


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


def _reshape_groups(src, dst):
    """[(source dims, target dims)] pairing runs of dims with the same
    number of elements, each side non-empty (unit dims join a neighbouring
    run), so that the reshape is a collapse of each run then an expand; None
    when there is no such pairing (a rank-0 side, a zero size)."""
    if not src or not dst or 0 in src or 0 in dst:
        return None
    groups, i, j = [], 0, 0
    while i < len(src) and j < len(dst):
        a, b = [i], [j]
        pa, pb = src[i], dst[j]
        i, j = i + 1, j + 1
        while pa != pb:
            if pa < pb and i < len(src):
                a.append(i)
                pa *= src[i]
                i += 1
            elif pb < pa and j < len(dst):
                b.append(j)
                pb *= dst[j]
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


def _broadcast_map(in_shape, out_shape) -> str:
    """Indexing map reading an input numpy-broadcast to out_shape."""
    n, k = len(out_shape), len(in_shape)
    results = []
    for j, size in enumerate(in_shape):
        d = n - k + j
        results.append("0" if size == 1 and out_shape[d] != 1 else f"d{d}")
    return _map(n, results)


class Emitter:
    def __init__(self, graph: Graph, name: str):
        self.graph = graph
        self.b = ops.Builder(name)
        self.values: Dict[int, ops.Value] = {}

    # -- helpers -----------------------------------------------------------

    def empty(self, shape, element="f32") -> str:
        name = self.b.fresh("e")
        self.b.emit(f"{name} = tensor.empty() : "
                    f"{ops.tensor_type(shape, element)}")
        return name

    def filled(self, shape, value: float) -> str:
        empty = self.empty(shape)
        scalar = self.b.fresh("s")
        self.b.emit(f"{scalar} = arith.constant {_float(value)} : f32")
        name = self.b.fresh("f")
        self.b.emit(f"{name} = linalg.fill ins({scalar} : f32) outs({empty} "
                    f": {ops.tensor_type(shape)}) -> "
                    f"{ops.tensor_type(shape)}")
        return name

    def generic(self, inputs: List[ops.Value], maps: List[str], out_shape,
                iterators: List[str], init: str, body) -> ops.Value:
        """linalg.generic; `body(args, acc)` returns (lines, yielded name)."""
        out_type = ops.tensor_type(out_shape)
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
        block_args = ", ".join(f"{a}: f32" for a in args + ["%acc"])
        self.b.emit(f"^bb0({block_args}):")
        for line in lines:
            self.b.emit("  " + line)
        self.b.emit(f"  linalg.yield {result} : f32")
        self.b.emit(f"}} -> {out_type}")
        return ops.Value(self.b, name, out_shape, "f32")

    def elementwise(self, node: Node, inputs: List[ops.Value],
                    scalar_body) -> ops.Value:
        shape = node.shape
        maps = [_broadcast_map(v.shape, shape) for v in inputs]
        maps.append(_map(len(shape), [f"d{i}" for i in range(len(shape))]))
        return self.generic(inputs, maps, shape, ["parallel"] * len(shape),
                            self.empty(shape), scalar_body)

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
                node.dtype != np.float32:
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
        return ops.Value(self.b, name, value.shape, "f32")

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
            raise UnsupportedError(f"unary {fn} ({node.origin})")

        return self.elementwise(node, [x], body)

    def _emit_binary(self, node):
        fn = node.attrs["fn"]
        ops_ = {"add": "arith.addf", "sub": "arith.subf", "mul": "arith.mulf",
                "div": "arith.divf", "max": "arith.maximumf",
                "min": "arith.minimumf", "pow": "math.powf"}
        inputs = [self.value(i) for i in node.inputs]
        return self.elementwise(
            node, inputs,
            lambda a, acc: ([f"%r = {ops_[fn]} {a[0]}, {a[1]} : f32"], "%r"))

    def _emit_where(self, node):
        cond, a, b = node.inputs
        if cond.kind != "const":
            raise UnsupportedError(
                f"{node.origin}: a condition computed at run time")
        mask = const(cond.value.astype(np.float32))
        inputs = [self.value(mask), self.value(a), self.value(b)]
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
            for l, s in zip(lab, inp.shape):
                if s != 1 or l not in sizes:
                    sizes[l] = max(s, sizes.get(l, 1))
        inputs = [self.value(i) for i in node.inputs]
        maps = []
        for lab, inp in zip(in_labels, node.inputs):
            maps.append(_map(len(labels), [
                "0" if s == 1 and sizes[l] != 1 else f"d{labels.index(l)}"
                for l, s in zip(lab, inp.shape)]))
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

        return self.generic(inputs, maps, node.shape, iterators,
                            self.filled(node.shape, 0.0), body)

    def _reduce(self, x: ops.Value, dims, keepdim, fn) -> ops.Value:
        rank = len(x.shape)
        dims = sorted(d % rank for d in dims)
        kept = [d for d in range(rank) if d not in dims]
        order = kept + dims
        in_map = _map(rank, [f"d{order.index(d)}" for d in range(rank)])
        out_shape = tuple(x.shape[d] for d in kept)
        out_map = _map(rank, [f"d{i}" for i in range(len(kept))])
        init = self.filled(out_shape, 0.0 if fn != "max" else -np.inf)
        op = "arith.maximumf" if fn == "max" else "arith.addf"
        result = self.generic(
            [x], [in_map, out_map], out_shape,
            ["parallel"] * len(kept) + ["reduction"] * len(dims), init,
            lambda a, acc: ([f"%r = {op} {acc}, {a[0]} : f32"], "%r"))
        if fn == "mean":
            count = int(np.prod([x.shape[d] for d in dims]))
            result = self._scale(result, 1.0 / count)
        if keepdim:
            shape = tuple(1 if d in dims else x.shape[d] for d in range(rank))
            result = self._reshape(result, shape)
        return result

    def _scale(self, x: ops.Value, factor: float) -> ops.Value:
        shape = x.shape
        ident = _map(len(shape), [f"d{i}" for i in range(len(shape))])
        return self.generic([x], [ident, ident], shape,
                            ["parallel"] * len(shape), self.empty(shape),
                            lambda a, acc: ([
                                f"%k = arith.constant {_float(factor)} : f32",
                                f"%r = arith.mulf {a[0]}, %k : f32"], "%r"))

    def _emit_reduce(self, node):
        return self._reduce(self.value(node.inputs[0]), node.attrs["dims"],
                            node.attrs["keepdim"], node.attrs["fn"])

    def _emit_softmax(self, node):
        x = node.inputs[0]
        dim = node.attrs["dim"]
        peak = make("reduce", [x], fn="max", dims=[dim], keepdim=True)
        shifted = make("binary", [x, peak], fn="sub")
        exp = make("unary", [shifted], fn="exp")
        total = make("reduce", [exp], fn="sum", dims=[dim], keepdim=True)
        return self.value(make("binary", [exp, total], fn="div"))

    def _emit_permute(self, node):
        x = self.value(node.inputs[0])
        perm = node.attrs["perm"]
        rank = len(perm)
        # out[d0..] = in[j] with out dim i = in dim perm[i].
        in_map = _map(rank, [f"d{perm.index(j)}" for j in range(rank)])
        out_map = _map(rank, [f"d{i}" for i in range(rank)])
        return self.generic([x], [in_map, out_map], node.shape,
                            ["parallel"] * rank, self.empty(node.shape),
                            lambda a, acc: ([], a[0]))

    def _emit_broadcast(self, node):
        x = self.value(node.inputs[0])
        shape = node.shape
        return self.generic(
            [x], [_broadcast_map(x.shape, shape),
                  _map(len(shape), [f"d{i}" for i in range(len(shape))])],
            shape, ["parallel"] * len(shape), self.empty(shape),
            lambda a, acc: ([], a[0]))

    def _reshape(self, x: ops.Value, shape) -> ops.Value:
        shape = tuple(shape)
        if tuple(x.shape) == shape:
            return x
        groups = _reshape_groups(tuple(x.shape), shape)
        if groups is None:
            # Through one dim: collapse everything, expand again.
            size = int(np.prod(shape))
            flat = x
            if len(x.shape) != 1:
                flat = self._collapse(x, [list(range(len(x.shape)))]
                                      if x.shape else [], (size,))
            if len(shape) == 1:
                return flat
            return self._expand(flat, [list(range(len(shape)))]
                                if shape else [], shape)
        # Collapse the source dims of each group, then expand into the
        # target's: unit dims and merged or split dims keep the others apart.
        middle = tuple(int(np.prod([x.shape[d] for d in src]))
                       for src, _ in groups)
        y = x
        if len(middle) != len(x.shape):
            y = self._collapse(x, [src for src, _ in groups], middle)
        if len(middle) != len(shape):
            y = self._expand(y, [dst for _, dst in groups], shape)
        return y

    def _collapse(self, x: ops.Value, groups, shape) -> ops.Value:
        name = self.b.fresh("r")
        self.b.emit(f"{name} = tensor.collapse_shape {x.name} "
                    f"{_groups(groups)} : {x.type} into "
                    f"{ops.tensor_type(shape)}")
        return ops.Value(self.b, name, shape, "f32")

    def _expand(self, x: ops.Value, groups, shape) -> ops.Value:
        name = self.b.fresh("r")
        self.b.emit(f"{name} = tensor.expand_shape {x.name} "
                    f"{_groups(groups)} output_shape "
                    f"[{', '.join(map(str, shape))}] : {x.type} into "
                    f"{ops.tensor_type(shape)}")
        return ops.Value(self.b, name, shape, "f32")

    def _emit_reshape(self, node):
        return self._reshape(self.value(node.inputs[0]), node.shape)

    def _emit_slice(self, node):
        x = self.value(node.inputs[0])
        dim, start, step = (node.attrs["dim"], node.attrs["start"] or 0,
                            node.attrs["step"] or 1)
        if step < 0:
            raise UnsupportedError(f"{node.origin}: a negative slice step")
        start = start + x.shape[dim] if start < 0 else start
        offsets = [0] * len(x.shape)
        strides = [1] * len(x.shape)
        offsets[dim], strides[dim] = start, step
        name = self.b.fresh("sl")
        self.b.emit(f"{name} = tensor.extract_slice {x.name}"
                    f"{_list(offsets)} {_list(node.shape)} {_list(strides)} "
                    f": {x.type} to {ops.tensor_type(node.shape)}")
        return ops.Value(self.b, name, node.shape, "f32")

    def _emit_concat(self, node):
        dim = node.attrs["dim"] % len(node.shape)
        result = self.empty(node.shape)
        offset = 0
        for part in node.inputs:
            v = self.value(part)
            offsets = [0] * len(node.shape)
            offsets[dim] = offset
            name = self.b.fresh("ins")
            self.b.emit(f"{name} = tensor.insert_slice {v.name} into {result}"
                        f"{_list(offsets)} {_list(v.shape)} "
                        f"{_list([1] * len(node.shape))} : {v.type} into "
                        f"{ops.tensor_type(node.shape)}")
            result = name
            offset += v.shape[dim]
        return ops.Value(self.b, result, node.shape, "f32")

    def _emit_flt(self, node):
        if "build" not in node.attrs:
            raise UnsupportedError(
                f"{node.origin}: a graph read back from a module "
                "(graph_of_module) is for looking at, not for emitting")
        values = [self.value(i) for i in node.inputs]
        return node.attrs["build"](*values)


def emit_module(graph: Graph, name: str = "main") -> Module:
    emitter = Emitter(graph, name)
    for node, arg_name in zip(graph.inputs, graph.input_names):
        element = {np.dtype(np.float32): "f32", np.dtype(np.float16): "f16",
                   np.dtype(np.float64): "f64"}.get(node.dtype)
        if element is None:
            raise UnsupportedError(f"input '{arg_name}': unsupported dtype "
                                   f"{node.dtype}")
        emitter.values[node.id] = emitter.b.arg(arg_name, node.shape, element)
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
