"""Importers of framework models into flt: `flt.frontends.torch` (torch.fx)
and `flt.frontends.onnx`. Both share the graph and emitter of graph.py and
emit.py, and leave finding attention to the C++ pass flt-raise-attention.
Import them explicitly; each pulls in its framework."""

from .graph import UnsupportedError

__all__ = ["UnsupportedError"]
