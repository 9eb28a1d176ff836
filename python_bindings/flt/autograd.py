"""`flt.autograd`: compiled flt functions as differentiable torch functions.

    kernels = flt.compile(module, gradients=True)   # @f and @f_vjp
    f = flt.autograd.function(kernels, "main")
    out = f(q, k, v, r, xi, theta)                  # torch tensors
    out.sum().backward()                            # runs @main_vjp

The forward runs `@f`, the backward `@f_vjp` (docs/Semantics.md §4: one
cotangent per result in, one gradient per argument out), both compiled
kernels; autograd sees one `torch.autograd.Function`. Tensors may be on the
CPU (the kernels read them in place, results come back as tensors) or, for
a library compiled with target="cuda", on the GPU. Integer arguments
(lengths, offsets) get no gradient.
"""

from typing import Callable

import torch

__all__ = ["function"]

_DTYPES = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16,
           "f64": torch.float64, "i32": torch.int32, "i64": torch.int64}


def _as_tensor(value, like: torch.Tensor, element: str) -> torch.Tensor:
    """A result of the runtime (numpy array or torch tensor) as a tensor on
    `like`'s device, in the signature's element type."""
    if isinstance(value, torch.Tensor):
        tensor = value
    else:
        tensor = torch.from_numpy(value)
    return tensor.to(device=like.device, dtype=_DTYPES[element])


def _prepare(value):
    """What the runtime takes: a detached, contiguous tensor."""
    if isinstance(value, torch.Tensor):
        return value.detach().contiguous()
    return value


def function(module, name: str) -> Callable:
    """The compiled function `name` of `module` (an flt.CompiledModule
    compiled with gradients=True) as a callable on torch tensors that
    autograd differentiates through `name`_vjp."""
    try:
        forward = getattr(module, name)
    except AttributeError:
        raise
    try:
        backward = getattr(module, name + "_vjp")
    except AttributeError:
        raise ValueError(f"flt.autograd.function: the module has no "
                         f"'{name}_vjp'; compile it with gradients=True")
    results = forward.result_types
    arguments = forward.arg_types

    class _Function(torch.autograd.Function):
        @staticmethod
        def forward(ctx, *args):
            if len(args) != len(arguments):
                raise ValueError(f"{name} takes {len(arguments)} arguments, "
                                 f"got {len(args)}")
            like = next((a for a in args if isinstance(a, torch.Tensor)),
                        torch.empty(0))
            ctx.save_for_backward(*args)
            outs = forward(*[_prepare(a) for a in args])
            if len(results) == 1:
                outs = (outs,)
            tensors = tuple(_as_tensor(o, like, element)
                            for o, (element, _) in zip(outs, results))
            ctx.result_shapes = [tuple(t.shape) for t in tensors]
            return tensors[0] if len(tensors) == 1 else tensors

        @staticmethod
        def backward(ctx, *cotangents):
            args = ctx.saved_tensors
            like = next((a for a in args if isinstance(a, torch.Tensor)),
                        torch.empty(0))
            cots = []
            for c, shape, (element, _) in zip(cotangents, ctx.result_shapes,
                                              results):
                if c is None:
                    c = torch.zeros(shape, dtype=_DTYPES[element],
                                    device=like.device)
                cots.append(_prepare(c.to(_DTYPES[element])))
            grads = backward(*[_prepare(a) for a in args], *cots)
            if len(arguments) == 1:
                grads = (grads,)
            out = []
            for grad, arg, needed, (element, _) in zip(
                    grads, args, ctx.needs_input_grad, arguments):
                if not needed or element in ("i32", "i64"):
                    out.append(None)
                else:
                    out.append(_as_tensor(grad, like, element).to(arg.dtype))
            return tuple(out)

    def call(*args):
        return _Function.apply(*args)

    call.__name__ = name
    call.__doc__ = f"flt kernel {name} with its gradient {name}_vjp"
    return call
