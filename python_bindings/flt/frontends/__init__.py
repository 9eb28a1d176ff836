"""Importers of framework models into flt: `flt.frontends.torch` (torch.fx)
and `flt.frontends.onnx`. Both share the graph, pattern matchers and emitter
of graph.py, patterns.py and emit.py. Import them explicitly; each pulls in
its framework."""

from .graph import UnsupportedError

__all__ = ["UnsupportedError"]
