"""Model parameters as run-time arguments of an imported function.

The importers evaluate what does not depend on a model's inputs to
constants, and flt-raise-attention turns constants into flt operands in its
own layouts (a [H, L, L] relative-position bias into b [H, 2L - 1], cos/sin
tables into rotary angles per head). To keep a parameter trainable, the
constants that carry it must instead be arguments, and the caller must
know how to lay the parameter out as each of them.

`promote_parameters` finds both by probing: the model is converted with
every named parameter's entries set to distinct codes (k + 1) / 1024 (exact
in f32 for up to 2^24 entries, and small enough that probed rotary angles
stay far below pi), then once per parameter with its codes permuted. A
constant of the raised function that holds exactly codes of one
parameter's entries in both conversions, the rest of the function being
the same, is a gather of that parameter: it becomes a trailing argument,
described by a `ParameterArgument` (the parameter's flat indices in the
argument's shape). A constant that changes in any other way — a scaled,
summed or factored function of the parameter, which no fixed gather
carries — is an UnsupportedError naming the parameter, and so is a
parameter that reaches no constant. The raised structure is the probes',
which hold no value the raiser treats specially (zeros, -inf), so it
serves every value.
"""

from typing import Callable, Dict, List, Sequence, Tuple

import numpy as np

from .graph import Graph, UnsupportedError

# Entry k of a probed parameter is (k + 1) * _PROBE_STEP.
_PROBE_STEP = 1.0 / 1024
_MAX_ENTRIES = 1 << 24


def probe_codes(count: int, order=None) -> np.ndarray:
    """The codes of `count` entries (float64), permuted by `order`."""
    codes = np.arange(1, count + 1, dtype=np.float64)
    if order is not None:
        codes = codes[order]
    return codes * _PROBE_STEP


class ParameterArgument:
    """A model parameter kept as a run-time argument: the argument holds
    `parameter`'s entries at `index` ([shape], flat indices into the
    parameter), e.g. a relative-position table gathered into flt's bias
    layout b [H, 2L - 1], or rotary angles repeated per head."""

    def __init__(self, parameter: str, index: np.ndarray):
        self.parameter, self.index = parameter, index

    def value(self, parameter):
        """The argument for a value of the parameter: a numpy array, or for
        a torch tensor a torch tensor through which autograd takes
        gradients back to it."""
        if hasattr(parameter, "reshape") and hasattr(parameter, "requires_grad"):
            import torch
            flat = parameter.reshape(-1).to(torch.float32)
            return flat[torch.from_numpy(self.index.reshape(-1))].reshape(
                self.index.shape)
        flat = np.asarray(parameter, np.float32).reshape(-1)
        return np.ascontiguousarray(flat[self.index])

    def __repr__(self):
        return (f"ParameterArgument({self.parameter!r}, "
                f"shape={tuple(self.index.shape)})")


def promote_parameters(convert: Callable[[Dict[str, np.ndarray]], Graph],
                       counts: Dict[str, int], function_name: str
                       ) -> Tuple[object, List[str], List[ParameterArgument]]:
    """(raised module, its input names, [ParameterArgument]) of a model
    whose parameters `counts` ({name: number of entries}) are kept as
    trailing arguments. `convert(values)` converts the model with those
    parameters set to `values` ({name: flat float64 array}) and returns its
    frontend graph."""
    from .. import _native
    from ..ir import Module, _call
    from .emit import raised_module
    for name, count in counts.items():
        if count >= _MAX_ENTRIES:
            raise UnsupportedError(
                f"parameters: {name!r} has {count} entries; at most 2^24 can "
                f"be probed")

    def raised(values):
        graph = convert(values)
        return raised_module(graph, function_name), graph.input_names

    def ops_of(module):
        return _call(_native.function_graph, str(module), module.filename,
                     function_name)[1]

    def value_of(op):
        shape, _, data = op[4]
        return np.frombuffer(data, np.float64).reshape(shape)

    codes = {name: probe_codes(count) for name, count in counts.items()}
    base, input_names = raised(codes)
    base_ops = ops_of(base)
    rng = np.random.default_rng(0)
    promoted: Dict[int, ParameterArgument] = {}
    for name, count in counts.items():
        order = rng.permutation(count)
        probe_ops = ops_of(raised(dict(codes, **{
            name: probe_codes(count, order)}))[0])
        if [op[0] for op in probe_ops] != [op[0] for op in base_ops]:
            raise UnsupportedError(
                f"parameters: the raised IR changes with the values of "
                f"{name!r}; it cannot be a run-time argument")
        found = 0
        for index, (a, b) in enumerate(zip(base_ops, probe_ops)):
            if a[4] is None or b[4] is None:
                continue
            va, vb = value_of(a), value_of(b)
            if np.array_equal(va, vb):
                continue
            # The first conversion's codes name the entries; the second
            # must hold the same entries' permuted codes.
            position = va / _PROBE_STEP
            flat = np.rint(position).astype(np.int64) - 1
            valid = bool(
                (np.abs(position - np.rint(position)) <=
                 1e-3 * np.maximum(1.0, np.abs(position))).all() and
                (flat >= 0).all() and (flat < count).all())
            if valid:
                valid = np.allclose(vb, probe_codes(count, order)[flat],
                                    rtol=1e-5, atol=0.0)
            if not valid:
                raise UnsupportedError(
                    f"parameters: {name!r} reaches the raised IR's {a[0]} "
                    f"#{index} ({'x'.join(map(str, va.shape))}) through a "
                    f"computation other than a copy or gather of its "
                    f"entries, which a run-time argument cannot carry")
            if index in promoted:
                raise UnsupportedError(
                    f"parameters: constant #{index} holds entries of both "
                    f"{promoted[index].parameter!r} and {name!r}")
            promoted[index] = ParameterArgument(name, flat)
            found += 1
        if not found:
            raise UnsupportedError(
                f"parameters: {name!r} does not reach the raised IR (unused, "
                f"or only through what the raiser folded away)")
    indices = sorted(promoted)
    text = _call(_native.promote_constants, str(base), base.filename,
                 function_name, indices)
    return (Module(text, base.filename), list(input_names),
            [promoted[i] for i in indices])


def argument_names(inputs: Sequence[str],
                   arguments: Sequence[ParameterArgument]) -> List[str]:
    """The function's argument names: the model's inputs, then each
    parameter's name (with [i] where one parameter gives several)."""
    owners = [a.parameter for a in arguments]
    return list(inputs) + [
        a.parameter if owners.count(a.parameter) == 1
        else f"{a.parameter}[{i}]" for i, a in enumerate(arguments)]


def parameter_names(parameters) -> List[str]:
    """`parameters=` as a list of distinct names."""
    if isinstance(parameters, str):
        return [parameters]
    names = list(parameters)
    if len(set(names)) != len(names):
        raise ValueError("parameters: a name is given twice")
    return names
