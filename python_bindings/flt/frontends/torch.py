"""PyTorch frontend: torch.fx graph -> flt IR.

    ir = flt.frontends.torch.import_module(layer, (q, k, v))
    fast = flt.frontends.torch.compile(layer, (q, k, v))
    out = fast(q, k, v)                     # torch tensors in and out

The module is traced with torch.fx and run once on the example inputs, which
fixes every shape and evaluates everything that does not depend on the
inputs (parameters, buffers, positions made with torch.arange, masks, random
features) to constants — but for the parameters `parameters=` names, which
stay run-time arguments of the raised function (and so can be trained; see
compile). The remaining nodes become the frontend graph
(graph.py), emitted as linalg (emit.py); the C++ pass flt-raise-attention
then rewrites the attention in it into flt ops. A node no converter knows
is reported by name (UnsupportedError). Works with torch 1.13 and 2.x.
"""

import math
import operator
from typing import Callable, Dict

import numpy as np

from .. import ops as flt_ops
from .emit import compile_graph, raised_module
from .graph import (Graph, Node, UnsupportedError, const, doubled,
                    generalize, graph_of_module, make, matmul_equation)
from .parameters import argument_names, parameter_names, promote_parameters

import torch
import torch.fx
import torch.nn.functional as F

__all__ = ["import_module", "compile", "UnsupportedError"]


def _dims(dims, rank):
    if isinstance(dims, int):
        dims = [dims]
    return [d % rank for d in dims]


class _Converter:
    def __init__(self, graph_module: torch.fx.GraphModule):
        self.gm = graph_module
        self.nodes: Dict[str, Node] = {}
        self.values: Dict[str, object] = {}

    def origin(self, node: torch.fx.Node) -> str:
        target = node.target if isinstance(node.target, str) else \
            getattr(node.target, "__name__", str(node.target))
        return f"node '{node.name}' ({node.op} {target})"

    # The value of an fx argument: a Node for input-dependent tensors, the
    # concrete Python/torch value otherwise.
    def arg(self, a):
        if isinstance(a, torch.fx.Node):
            if a.name in self.nodes:
                return self.nodes[a.name]
            return self.values[a.name]
        if isinstance(a, (list, tuple)):
            return type(a)(self.arg(x) for x in a)
        return a

    def node(self, a) -> Node:
        """A graph Node for an argument (constants become const nodes)."""
        v = self.arg(a) if isinstance(a, (torch.fx.Node, list, tuple)) else a
        if isinstance(v, Node):
            return v
        if isinstance(v, torch.Tensor):
            v = v.detach().cpu()
            if v.dtype == torch.bool:
                return const(v.numpy())
            return const(v.to(torch.float32).numpy())
        if isinstance(v, (int, float, bool)):
            return const(np.float32(v))
        raise UnsupportedError(f"cannot use {type(v).__name__} as a tensor")

    def run(self, values: Dict[str, object]) -> Graph:
        """`values`: every fx node's value on the example inputs."""
        self.values = dict(values)
        inputs, names = [], []
        for fx_node in self.gm.graph.nodes:
            if fx_node.op == "placeholder":
                value = self.values[fx_node.name]
                if not isinstance(value, torch.Tensor):
                    raise UnsupportedError(
                        f"input '{fx_node.name}' is not a tensor")
                dtype = _INPUT_DTYPES.get(value.dtype)
                if dtype is None:
                    raise UnsupportedError(
                        f"input '{fx_node.name}': unsupported dtype "
                        f"{value.dtype} (the frontend imports float32 models "
                        f"with float16, integer or bool masks)")
                node = Node("input", [], tuple(value.shape), dtype,
                            f"input '{fx_node.name}'")
                inputs.append(node)
                names.append(fx_node.name)
                if dtype != np.float32:
                    # Masks and halves are computed with as float32.
                    node = make("unary", [node], f"input '{fx_node.name}'",
                                fn="tofloat")
                self.nodes[fx_node.name] = node
            elif fx_node.op == "output":
                result = self.arg(fx_node.args[0])
                outs = list(result) if isinstance(result, (list, tuple)) \
                    else [result]
                outputs = [self.node(o) for o in outs]
            elif self._depends_on_input(fx_node):
                try:
                    converted = self.convert(fx_node)
                except UnsupportedError as e:
                    raise UnsupportedError(f"{self.origin(fx_node)}: {e}") \
                        from None
                if isinstance(converted, Node) or (
                        isinstance(converted, (tuple, list)) and
                        any(isinstance(c, Node) for c in converted)):
                    self.nodes[fx_node.name] = converted
                else:
                    self.values[fx_node.name] = converted
        return Graph(inputs, outputs, names)

    def _depends_on_input(self, fx_node):
        return any(isinstance(a, torch.fx.Node) and a.name in self.nodes
                   for a in fx_node.all_input_nodes)

    # -- converters -------------------------------------------------------

    def convert(self, n: torch.fx.Node):
        origin = self.origin(n)
        target = n.target
        args = list(n.args)
        kwargs = dict(n.kwargs)
        if n.op == "call_module":
            module = self.gm.get_submodule(target)
            return self.convert_module(n, module, args, origin)
        if n.op == "call_method":
            name = target
        elif n.op == "call_function":
            name = _FUNCTION_NAMES.get(target) or getattr(target, "__name__",
                                                          str(target))
        else:
            raise UnsupportedError("unsupported node kind")
        handler = getattr(self, "op_" + name, None)
        if handler is None:
            raise UnsupportedError(f"no converter for '{name}'")
        return handler(origin, n, *args, **kwargs)

    def convert_module(self, n, module, args, origin):
        x = self.node(args[0])
        if isinstance(module, torch.nn.Linear):
            return self._linear(origin, x, module.weight, module.bias)
        if isinstance(module, torch.nn.ReLU):
            return make("unary", [x], origin, fn="relu")
        if isinstance(module, torch.nn.ELU):
            return make("unary", [x], origin, fn="elu", alpha=module.alpha)
        if isinstance(module, torch.nn.Softmax):
            return make("softmax", [x], origin, dim=module.dim % len(x.shape))
        if isinstance(module, (torch.nn.Dropout, torch.nn.Identity)):
            return x
        from ..nn import FLTAttention
        if isinstance(module, FLTAttention):
            return self._flt_attention(module, args, origin)
        raise UnsupportedError(f"no converter for module "
                               f"{type(module).__name__}")

    def _flt_attention(self, module, args, origin):
        """flt.nn.FLTAttention is imported whole, as flt.attention."""
        q, k, v, r = (self.node(a) for a in args[:4])
        xi = const(module.xi.detach().numpy().astype(np.float32))
        theta = const(module.theta.detach().numpy().astype(np.float32))
        eps = module.eps
        if module.kernel == "elu_plus_one":
            kernel = "elu_plus_one"
        else:
            kernel = "relu"

        def build(qv, kv, vv, rv, xiv, thetav):
            return flt_ops.attention(
                qv, kv, vv, rv, xiv, thetav, kernel=kernel, eps=eps or None,
                spectrum=module.spectrum, causal=module.causal or None,
                normalize=module.normalize)

        return Node("flt", [q, k, v, r, xi, theta],
                    q.shape[:3] + (v.shape[3],), np.float32, origin,
                    build=build)

    def _linear(self, origin, x, weight, bias):
        w = self.node(weight)
        rank = len(x.shape)
        letters = "abcdefgh"[:rank - 1]
        out = make("contract", [x, w], origin,
                   equation=f"{letters}i,oi->{letters}o")
        if bias is not None:
            out = make("binary", [out, self.node(bias)], origin, fn="add")
        return out

    # Elementwise.
    def _binary(self, fn, origin, a, b):
        return make("binary", [self.node(a), self.node(b)], origin, fn=fn)

    def op_add(self, o, n, a, b, alpha=1):
        if alpha != 1:
            b = make("binary", [self.node(b), const(np.float32(alpha))],
                     o, fn="mul")
        return self._binary("add", o, a, b)

    def op_sub(self, o, n, a, b, alpha=1):
        if alpha != 1:
            b = make("binary", [self.node(b), const(np.float32(alpha))],
                     o, fn="mul")
        return self._binary("sub", o, a, b)

    def op_rsub(self, o, n, a, b, alpha=1):
        return self.op_sub(o, n, b, a, alpha)

    def op_mul(self, o, n, a, b):
        return self._binary("mul", o, a, b)

    def op_div(self, o, n, a, b, rounding_mode=None):
        if rounding_mode is not None:
            raise UnsupportedError("rounding division")
        return self._binary("div", o, a, b)

    op_truediv = op_div

    def op_pow(self, o, n, a, b):
        return self._binary("pow", o, a, b)

    def op_maximum(self, o, n, a, b):
        return self._binary("max", o, a, b)

    def op_minimum(self, o, n, a, b):
        return self._binary("min", o, a, b)

    def _compare(fn):
        def handler(self, o, n, a, b):
            return self._binary(fn, o, a, b)
        return handler

    op_eq = _compare("eq")
    op_ne = _compare("ne")
    op_lt = _compare("lt")
    op_le = _compare("le")
    op_gt = _compare("gt")
    op_ge = _compare("ge")
    op_logical_and = _compare("and")
    op_logical_or = _compare("or")
    op_and_ = op_logical_and
    op_or_ = op_logical_or

    def op_logical_not(self, o, n, a):
        return make("unary", [self.node(a)], o, fn="not")

    op_invert = op_logical_not
    op_bitwise_not = op_logical_not

    def op_neg(self, o, n, a):
        return make("unary", [self.node(a)], o, fn="neg")

    def _unary(fn):
        def handler(self, o, n, a, *rest, **kwargs):
            return make("unary", [self.node(a)], o, fn=fn)
        return handler

    op_relu = _unary("relu")
    op_exp = _unary("exp")
    op_log = _unary("log")
    op_cos = _unary("cos")
    op_sin = _unary("sin")
    op_sqrt = _unary("sqrt")
    op_rsqrt = _unary("rsqrt")
    op_tanh = _unary("tanh")
    op_sigmoid = _unary("sigmoid")
    op_reciprocal = _unary("reciprocal")
    op_abs = _unary("abs")

    def op_elu(self, o, n, a, alpha=1.0, inplace=False):
        return make("unary", [self.node(a)], o, fn="elu", alpha=float(alpha))

    def op_clamp(self, o, n, a, min=None, max=None):
        x = self.node(a)
        if min is not None:
            x = make("binary", [x, const(np.float32(min))], o, fn="max")
        if max is not None:
            x = make("binary", [x, const(np.float32(max))], o, fn="min")
        return x

    op_clip = op_clamp

    def op_masked_fill(self, o, n, a, mask, value):
        x = self.node(a)
        m = self.node(mask)
        fill = self.node(value)
        return make("where", [m, fill, x], o)

    def op_where(self, o, n, cond, a, b):
        return make("where", [self.node(cond), self.node(a), self.node(b)], o)

    def op_softmax(self, o, n, a, dim=None, dtype=None, _stacklevel=3):
        x = self.node(a)
        if dim is None:
            raise UnsupportedError("softmax without dim")
        return make("softmax", [x], o, dim=dim % len(x.shape))

    # Contractions.
    def op_matmul(self, o, n, a, b):
        x, y = self.node(a), self.node(b)
        return make("contract", [x, y], o,
                    equation=matmul_equation(len(x.shape), len(y.shape)))

    op_bmm = op_matmul
    op_mm = op_matmul

    def op_linear(self, o, n, x, weight, bias=None):
        return self._linear(o, self.node(x), self.arg(weight),
                            self.arg(bias) if bias is not None else None)

    def op_einsum(self, o, n, equation, *operands):
        if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
            operands = operands[0]
        equation = equation.replace(" ", "")
        if "..." in equation:
            raise UnsupportedError("einsum with '...'")
        inputs = [self.node(x) for x in operands]
        if "->" not in equation:
            lhs = equation
            counts = {c: lhs.count(c) for c in lhs if c != ","}
            equation = lhs + "->" + "".join(
                sorted(c for c, k in counts.items() if k == 1))
        return make("contract", inputs, o, equation=equation)

    # Layout.
    def op_transpose(self, o, n, a, d0, d1):
        x = self.node(a)
        perm = list(range(len(x.shape)))
        d0, d1 = d0 % len(perm), d1 % len(perm)
        perm[d0], perm[d1] = perm[d1], perm[d0]
        return make("permute", [x], o, perm=perm)

    def op_t(self, o, n, a):
        return self.op_transpose(o, n, a, 0, 1)

    def op_permute(self, o, n, a, *dims):
        if len(dims) == 1 and isinstance(dims[0], (list, tuple)):
            dims = dims[0]
        x = self.node(a)
        return make("permute", [x], o, perm=_dims(list(dims), len(x.shape)))

    def _target_shape(self, n):
        value = self.values.get(n.name)
        return tuple(value.shape)

    def op_reshape(self, o, n, a, *shape):
        return make("reshape", [self.node(a)], o,
                    shape=self._target_shape(n))

    op_view = op_reshape
    op_flatten = op_reshape
    op_unsqueeze = op_reshape
    op_squeeze = op_reshape

    def op_expand(self, o, n, a, *sizes):
        return make("broadcast", [self.node(a)], o,
                    shape=self._target_shape(n))

    op_expand_as = op_expand
    op_broadcast_to = op_expand

    def op_repeat_interleave(self, o, n, a, repeats, dim=None,
                             output_size=None):
        x = self.node(a)
        if not isinstance(repeats, int) or dim is None:
            raise UnsupportedError("repeat_interleave with a tensor of "
                                   "repeats or without dim")
        return self._repeat_interleave(o, x, dim % len(x.shape), repeats)

    @staticmethod
    def _repeat_interleave(o, x: Node, dim: int, repeats: int) -> Node:
        """Each slice of x along `dim` `repeats` times in a row (GQA's
        key/value heads for their query heads): a broadcast over a new dim
        after `dim`, merged into it (what flt-raise-attention reads as
        grouped heads)."""
        spread = x.shape[:dim + 1] + (1,) + x.shape[dim + 1:]
        wide = x.shape[:dim + 1] + (repeats,) + x.shape[dim + 1:]
        merged = x.shape[:dim] + (x.shape[dim] * repeats,) + x.shape[dim + 1:]
        y = make("reshape", [x], o, shape=spread)
        y = make("broadcast", [y], o, shape=wide)
        return make("reshape", [y], o, shape=merged)

    def op_contiguous(self, o, n, a, *args, **kwargs):
        return self.node(a)

    op_clone = op_contiguous
    op_detach = op_contiguous
    op_dropout = op_contiguous

    def op_to(self, o, n, a, *args, **kwargs):
        x = self.node(a)
        if self.values[n.name].dtype != torch.float32:
            raise UnsupportedError("a conversion to a dtype other than "
                                   "float32")
        return x

    op_float = op_to
    op_type_as = op_to

    def op_sum(self, o, n, a, dim=None, keepdim=False, dtype=None):
        x = self.node(a)
        dims = list(range(len(x.shape))) if dim is None else \
            _dims(dim, len(x.shape))
        return make("reduce", [x], o, fn="sum", dims=dims, keepdim=keepdim)

    def op_mean(self, o, n, a, dim=None, keepdim=False, dtype=None):
        x = self.node(a)
        dims = list(range(len(x.shape))) if dim is None else \
            _dims(dim, len(x.shape))
        return make("reduce", [x], o, fn="mean", dims=dims, keepdim=keepdim)

    def op_amax(self, o, n, a, dim=None, keepdim=False):
        x = self.node(a)
        dims = list(range(len(x.shape))) if dim is None else \
            _dims(dim, len(x.shape))
        return make("reduce", [x], o, fn="max", dims=dims, keepdim=keepdim)

    def op_cat(self, o, n, tensors, dim=0):
        nodes = [self.node(t) for t in tensors]
        return make("concat", nodes, o, dim=dim % len(nodes[0].shape))

    op_concat = op_cat

    def op_stack(self, o, n, tensors, dim=0):
        nodes = [self.node(t) for t in tensors]
        rank = len(nodes[0].shape) + 1
        dim = dim % rank
        shape = nodes[0].shape[:dim] + (1,) + nodes[0].shape[dim:]
        parts = [make("reshape", [x], o, shape=shape) for x in nodes]
        return make("concat", parts, o, dim=dim)

    def op_getitem(self, o, n, a, index):
        x = self.arg(a)
        if not isinstance(x, Node):
            return x[index]  # a tuple or shape
        if not isinstance(index, tuple):
            index = (index,)
        if index.count(Ellipsis) > 1:
            raise UnsupportedError("indexing with more than one ...")
        if Ellipsis in index:
            # `...` stands for as many full slices as the rank leaves.
            at = index.index(Ellipsis)
            explicit = sum(1 for i in index if i is not None and
                           i is not Ellipsis)
            index = index[:at] + (slice(None),) * (len(x.shape) - explicit) \
                + index[at + 1:]
        result = x
        dim = 0
        new_shape_known = self._target_shape(n)
        for item in index:
            if item is None:
                continue
            if isinstance(item, slice):
                if item != slice(None):
                    result = make("slice", [result], o, dim=dim,
                                  start=item.start, stop=item.stop,
                                  step=item.step)
                dim += 1
                continue
            raise UnsupportedError(f"indexing with {type(item).__name__}")
        if result.shape != new_shape_known:
            result = make("reshape", [result], o, shape=new_shape_known)
        return result

    def op_chunk(self, o, n, a, chunks, dim=0):
        x = self.node(a)
        values = self.values[n.name]
        dim = dim % len(x.shape)
        parts, start = [], 0
        for v in values:
            size = v.shape[dim]
            parts.append(make("slice", [x], o, dim=dim, start=start,
                              stop=start + size, step=1))
            start += size
        return tuple(parts)

    op_split = op_chunk

    def op_scaled_dot_product_attention(self, o, n, q, k, v, attn_mask=None,
                                        dropout_p=0.0, is_causal=False,
                                        scale=None, **kwargs):
        qn, kn, vn = self.node(q), self.node(k), self.node(v)
        enable_gqa = kwargs.pop("enable_gqa", False)
        if kwargs:
            raise UnsupportedError("scaled_dot_product_attention with "
                                   f"{', '.join(kwargs)}")
        if dropout_p:
            raise UnsupportedError("dropout in scaled_dot_product_attention")
        if len(qn.shape) != 4:
            raise UnsupportedError("scaled_dot_product_attention on rank "
                                   f"{len(qn.shape)} tensors")
        heads, kv_heads = qn.shape[1], kn.shape[1]
        if kv_heads != heads:
            if not enable_gqa or heads % kv_heads:
                raise UnsupportedError(
                    f"{heads} query heads and {kv_heads} key heads "
                    f"(grouped heads need enable_gqa=True and a divisor)")
            # Its documented math: each key/value head repeat_interleave'd.
            kn, vn = (self._repeat_interleave(o, x, 1, heads // kv_heads)
                      for x in (kn, vn))
        # Its documented math, which flt-raise-attention raises.
        if scale is None:
            scale = 1 / math.sqrt(qn.shape[-1])
        kt = make("permute", [kn], o, perm=[0, 1, 3, 2])
        scores = make("contract", [qn, kt], o,
                      equation=matmul_equation(4, 4))
        scores = make("binary", [scores, const(np.float32(scale))], o,
                      fn="mul")
        if is_causal:
            hidden = np.triu(np.ones((qn.shape[2], kn.shape[2]), bool), 1)
            scores = make("where", [const(hidden), const(np.float32(-np.inf)),
                                    scores], o)
        if attn_mask is not None:
            mask = self.node(attn_mask)
            example = self.values[attn_mask.name] \
                if isinstance(attn_mask, torch.fx.Node) else attn_mask
            if example.dtype == torch.bool:
                # True: takes part; False: hidden.
                scores = make("where", [mask, scores,
                                        const(np.float32(-np.inf))], o)
            else:
                scores = make("binary", [scores, mask], o, fn="add")
        weights = make("softmax", [scores], o, dim=3)
        return make("contract", [weights, vn], o,
                    equation=matmul_equation(4, 4))

_FUNCTION_NAMES = {
    operator.add: "add", operator.sub: "sub", operator.mul: "mul",
    operator.truediv: "truediv", operator.neg: "neg",
    operator.getitem: "getitem", operator.pow: "pow",
    operator.matmul: "matmul",
    torch.add: "add", torch.sub: "sub", torch.mul: "mul", torch.div: "div",
    torch.matmul: "matmul", torch.bmm: "bmm", torch.einsum: "einsum",
    torch.exp: "exp", torch.cos: "cos", torch.sin: "sin", torch.relu: "relu",
    F.relu: "relu", F.elu: "elu", F.softmax: "softmax", torch.softmax:
    "softmax", F.linear: "linear", torch.cat: "cat", torch.sum: "sum",
    torch.transpose: "transpose", torch.reshape: "reshape",
    torch.sqrt: "sqrt", torch.rsqrt: "rsqrt", torch.sigmoid: "sigmoid",
    torch.tanh: "tanh", torch.where: "where", torch.clamp: "clamp",
    torch.permute: "permute", torch.unsqueeze: "unsqueeze",
    torch.squeeze: "squeeze", torch.flatten: "flatten", F.dropout: "dropout",
    torch.neg: "neg", torch.abs: "abs", torch.log: "log",
    torch.maximum: "maximum", torch.minimum: "minimum",
    torch.reciprocal: "reciprocal", torch.mean: "mean", torch.chunk: "chunk",
    torch.split: "split", torch.stack: "stack",
    operator.eq: "eq", operator.ne: "ne", operator.lt: "lt",
    operator.le: "le", operator.gt: "gt", operator.ge: "ge",
    operator.invert: "invert", operator.and_: "and_", operator.or_: "or_",
    torch.eq: "eq", torch.ne: "ne", torch.lt: "lt", torch.le: "le",
    torch.gt: "gt", torch.ge: "ge", torch.logical_not: "logical_not",
    torch.logical_and: "logical_and", torch.logical_or: "logical_or",
    torch.repeat_interleave: "repeat_interleave",
    torch.masked_fill: "masked_fill",
}

#: Input dtypes and how they enter the graph (all but float32 through
#: `tofloat`); bool inputs are passed to compiled functions as int32.
_INPUT_DTYPES = {torch.float32: np.float32, torch.float16: np.float16,
                 torch.int32: np.int32, torch.int64: np.int64,
                 torch.bool: np.int32}
if hasattr(F, "scaled_dot_product_attention"):
    _FUNCTION_NAMES[F.scaled_dot_product_attention] = \
        "scaled_dot_product_attention"


class _Recorder(torch.fx.Interpreter):
    """Runs the graph once, keeping every node's value."""

    def __init__(self, gm):
        super().__init__(gm)
        self.values = {}

    def run_node(self, n):
        with torch.no_grad():
            value = super().run_node(n)
        self.values[n.name] = value
        return value


class _ConcreteProxy(torch.fx.Proxy):
    """A proxy that knows its example value, so that sizes are plain ints
    while tracing (`torch.arange(q.shape[2])`, `x.view(b, l, h, -1)`)."""

    @property
    def shape(self):
        return self.tracer.example_value(self).shape

    def size(self, dim=None):
        value = self.tracer.example_value(self)
        return value.size() if dim is None else value.size(dim)

    def dim(self):
        return self.tracer.example_value(self).dim()

    @property
    def ndim(self):
        return self.tracer.example_value(self).dim()

    @property
    def dtype(self):
        return self.tracer.example_value(self).dtype

    @property
    def device(self):
        return self.tracer.example_value(self).device

    def __iter__(self):
        # `q, k, v = x.chunk(3, -1)`: the example value knows how many.
        value = self.tracer.example_value(self)
        if isinstance(value, (tuple, list)):
            return iter([self[i] for i in range(len(value))])
        return super().__iter__()

    def __len__(self):
        return len(self.tracer.example_value(self))


class _ShapeTracer(torch.fx.Tracer):
    """torch.fx tracing that runs every traced op on the example inputs as
    it goes, specializing shapes to theirs."""

    def __init__(self, example_inputs):
        super().__init__()
        self._examples = iter(example_inputs)
        self._values = {}

    def is_leaf_module(self, module, qualified_name):
        from ..nn import FLTAttention
        return isinstance(module, FLTAttention) or \
            super().is_leaf_module(module, qualified_name)

    def proxy(self, node):
        return _ConcreteProxy(node, self)

    # While an op runs on example values, module attributes and submodule
    # calls are plain (tracing patches both to make proxies).
    _evaluating = False

    def getattr(self, attr, attr_val, parameter_proxy_cache):
        if self._evaluating:
            return attr_val
        return super().getattr(attr, attr_val, parameter_proxy_cache)

    def call_module(self, m, forward, args, kwargs):
        if self._evaluating:
            return forward(*args, **kwargs)
        return super().call_module(m, forward, args, kwargs)

    def example_value(self, proxy):
        return self._values[proxy.node]

    def _attribute(self, target):
        # Through the modules' own tables: tracing patches Module.__getattr__
        # to make proxies.
        result = self.root
        for part in target.split("."):
            if isinstance(result, torch.nn.Module):
                for table in ("_parameters", "_buffers", "_modules"):
                    if part in result.__dict__[table]:
                        result = result.__dict__[table][part]
                        break
                else:
                    result = result.__dict__[part]
            else:
                result = getattr(result, part)
        return result

    def create_proxy(self, kind, target, args, kwargs, *rest, **kw):
        proxy = super().create_proxy(kind, target, args, kwargs, *rest, **kw)
        node = proxy.node

        def value(a):
            if not isinstance(a, torch.fx.Node):
                return a
            if a not in self._values and a.op == "get_attr":
                # Tensors the tracer stored on the root (create_arg).
                self._values[a] = self._attribute(a.target)
            return self._values[a]

        a = torch.fx.node.map_arg(node.args, value)
        k = torch.fx.node.map_arg(node.kwargs, value)
        self._evaluating = True
        try:
            result = self._evaluate(kind, target, a, k)
        finally:
            self._evaluating = False
        self._values[node] = result
        return proxy

    def _evaluate(self, kind, target, a, k):
        with torch.no_grad():
            if kind == "placeholder":
                try:
                    result = next(self._examples)
                except StopIteration:
                    raise UnsupportedError(
                        f"too few example inputs (no value for "
                        f"'{target}')") from None
            elif kind == "get_attr":
                result = self._attribute(target)
            elif kind == "call_function":
                result = target(*a, **k)
            elif kind == "call_method":
                result = getattr(a[0], target)(*a[1:], **k)
            elif kind == "call_module":
                # forward, not __call__: tracing patches Module.__call__.
                result = self._attribute(target).forward(*a, **k)
            else:
                result = None
        return result


def _trace(module, example_inputs):
    """(GraphModule, {node name: value on the example inputs})."""
    if isinstance(module, torch.fx.GraphModule):
        recorder = _Recorder(module)
        recorder.run(*example_inputs)
        return module, recorder.values
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"expected a torch.nn.Module, got "
                        f"{type(module).__name__}")
    tracer = _ShapeTracer(example_inputs)
    try:
        graph = tracer.trace(module)
    except UnsupportedError:
        raise
    except Exception as e:  # data-dependent control flow, bad inputs, ...
        raise UnsupportedError(f"torch.fx cannot trace the module: "
                               f"{type(e).__name__}: {e}") from None
    values = {node.name: value for node, value in tracer._values.items()}
    return torch.fx.GraphModule(module, graph), values


def _symbols(dynamic_dims, names, example_inputs):
    """{symbol: [(input index, dim)]} of a `dynamic_dims` argument:
    {input name or index: {dim: symbol name}} (torch.onnx.export's
    dynamic_axes spelling; dims with the same symbol are the same size), or
    {input: [dims]}: symbol `dim<d>` for dim d, the same in every input
    (x's dim 1 and mask's dim 1 are one L)."""
    if not isinstance(dynamic_dims, dict):
        raise ValueError("dynamic_dims must be a dict {input: {dim: "
                         "symbol}} or {input: [dims]}")
    symbols = {}
    for key, dims in dynamic_dims.items():
        if isinstance(key, int) and 0 <= key < len(names):
            index = key
        elif key in names:
            index = names.index(key)
        else:
            raise ValueError(f"dynamic_dims: no input {key!r} (the inputs "
                             f"are {', '.join(names)})")
        rank = example_inputs[index].dim()
        if isinstance(dims, (list, tuple)):
            dims = {d: f"dim{d % rank if -rank <= d < rank else d}"
                    for d in dims}
        if not isinstance(dims, dict):
            raise ValueError(f"dynamic_dims[{key!r}] must be a dict "
                             f"{{dim: symbol}} or a list of dims")
        for dim, symbol in dims.items():
            if not isinstance(dim, int) or not -rank <= dim < rank:
                raise ValueError(f"dynamic_dims[{key!r}]: input "
                                 f"'{names[index]}' has no dim {dim!r}")
            symbols.setdefault(str(symbol), []).append((index, dim % rank))
    return symbols


def _convert(module, example_inputs, dynamic_dims=None) -> Graph:
    """The frontend graph of `module` traced on `example_inputs`; with
    `dynamic_dims`, traced again per symbol at twice its size and
    generalized (graph.generalize)."""
    if isinstance(example_inputs, torch.Tensor):
        example_inputs = (example_inputs,)
    example_inputs = tuple(example_inputs)
    gm, values = _trace(module, example_inputs)
    graph = _Converter(gm).run(values)
    if not dynamic_dims:
        return graph
    variants = []
    for symbol, places in _symbols(dynamic_dims, graph.input_names,
                                   example_inputs).items():
        sizes = {int(example_inputs[i].shape[d]) for i, d in places}
        if len(sizes) != 1:
            raise ValueError(
                f"dynamic dim '{symbol}' has different sizes in the "
                f"example inputs: {sorted(sizes)}")
        size = sizes.pop()
        if size < 1:
            raise ValueError(f"dynamic dim '{symbol}' is empty in the "
                             f"example inputs; give it a size of at least 1")
        inputs = list(example_inputs)
        for i, d in places:
            inputs[i] = torch.cat([inputs[i]] * (doubled(size) // size), d)
        try:
            gm_other, values_other = _trace(module, tuple(inputs))
        except UnsupportedError as e:
            raise UnsupportedError(
                f"with only the dims of '{symbol}' at {doubled(size)} "
                f"instead of {size}: {e} (dims that are always equal need "
                f"the same symbol)") from None
        variants.append((symbol, size, doubled(size),
                         _Converter(gm_other).run(values_other)))
    return generalize(graph, variants)


def _module_tensors(module) -> Dict[str, "torch.Tensor"]:
    tensors = dict(module.named_buffers())
    tensors.update(dict(module.named_parameters()))
    return tensors


def _with_runtime_parameters(module, example_inputs, dynamic_dims, names,
                             function_name):
    """(raised module, its input names, [ParameterArgument]): `names` (the
    module's parameters or buffers) as trailing arguments of the raised
    function instead of constants (parameters.promote_parameters probes
    the conversion; the module's values are restored afterwards)."""
    tensors = _module_tensors(module)
    for name in names:
        if name not in tensors:
            raise ValueError(f"parameters: the module has no parameter or "
                             f"buffer {name!r} (it has "
                             f"{', '.join(sorted(tensors)) or 'none'})")
        if not tensors[name].is_floating_point():
            raise ValueError(f"parameters: {name!r} is not floating-point")
    originals = {name: tensors[name].detach().clone() for name in names}

    def convert(values):
        with torch.no_grad():
            for name, value in values.items():
                tensors[name].copy_(torch.from_numpy(value).reshape(
                    tensors[name].shape).to(tensors[name].dtype))
        return _convert(module, example_inputs, dynamic_dims)

    try:
        return promote_parameters(
            convert, {name: tensors[name].numel() for name in names},
            function_name)
    finally:
        with torch.no_grad():
            for name, value in originals.items():
                tensors[name].copy_(value)


def import_graph(module, example_inputs, dynamic_dims=None) -> Graph:
    """The imported module as a graph of its raised IR: the flt ops
    flt-raise-attention found are `flt` nodes, their constant operands
    (angles, biases, RPE factors) `const` nodes (graph.graph_of_module)."""
    graph = _convert(module, example_inputs, dynamic_dims)
    return graph_of_module(raised_module(graph, "main"), "main",
                           graph.input_names)


def import_module(module, example_inputs, name: str = "main",
                  dynamic_dims=None, parameters=None) -> str:
    """flt IR (text) of `module` traced on `example_inputs`: linalg with
    the attention raised to flt ops. `dynamic_dims` ({input: {dim:
    symbol}}) keeps those dims dynamic (`?`) instead of the examples'.
    `parameters` (names of the module's parameters or buffers) keeps their
    values as trailing arguments instead of constants (see compile)."""
    if parameters:
        return str(_with_runtime_parameters(
            module, example_inputs, dynamic_dims, parameter_names(parameters),
            name)[0])
    return str(raised_module(_convert(module, example_inputs, dynamic_dims),
                             name))


def compile(module, example_inputs, target: str = "cpu", dynamic_dims=None,
            parameters=None, **options) -> Callable:
    """A callable computing `module` with flt: torch tensors in (the shapes
    of example_inputs, but for the dims `dynamic_dims` keeps dynamic), torch
    tensors out. Bool inputs (masks) are passed on as int32.

    `parameters` names parameters (or buffers) of `module` to keep as
    run-time arguments: each call reads their current values, so training
    or loading new weights needs no recompilation. Each becomes one or more
    arguments in the raised ops' layout (a relative-position table gathered
    into flt's bias b [H, 2L - 1], rotary angles per head; run.parameters
    lists them). With gradients=True the callable is differentiable
    (flt.autograd): gradients reach the inputs and, through the gathers,
    the named parameters, so the imported model fine-tunes with
    torch.optim. Reverse mode then needs every op of the raised function to
    have a gradient rule (the flt ops and the reshapes, casts and
    concatenations between them)."""
    if isinstance(example_inputs, torch.Tensor):
        example_inputs = (example_inputs,)
    if not parameters:
        ir_module, compiled = compile_graph(
            _convert(module, example_inputs, dynamic_dims), target, **options)
        arguments = []
    else:
        from .. import compiler
        ir_module, graph_inputs, arguments = _with_runtime_parameters(
            module, example_inputs, dynamic_dims,
            parameter_names(parameters), "main")
        compiled = compiler.compile(
            ir_module, target,
            arg_names={"main": argument_names(graph_inputs, arguments)},
            **options)
    if options.get("gradients"):
        from .. import autograd
        function = autograd.function(compiled, "main")
    else:
        function = compiled.main
    tensors = _module_tensors(module)

    def run(*inputs):
        inputs = [x.to(torch.int32) if isinstance(x, torch.Tensor) and
                  x.dtype == torch.bool else x for x in inputs]
        extra = [a.value(tensors[a.parameter]) for a in arguments]
        if not options.get("gradients"):
            extra = [x.detach() for x in extra]
        outputs = function(*inputs, *extra)
        if options.get("gradients"):
            return outputs
        if isinstance(outputs, tuple):
            return tuple(torch.from_numpy(o) for o in outputs)
        return torch.from_numpy(outputs)

    run.ir = ir_module
    run.compiled = compiled
    run.parameters = arguments
    return run
