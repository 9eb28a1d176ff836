"""Parse, verify and print MLIR modules that use the flt dialect, and run
pass pipelines on them (flt-opt's syntax).

    m = flt.ir.parse(open("layer.mlir").read(), filename="layer.mlir")
    print(m)                                   # verified, pretty-printed
    lowered = m.run_pipeline("flt-decompose")  # a new Module

Every error (syntax, verifier, pass failure) raises `flt.CompileError`,
whose `diagnostics` list each location and message.
"""

from dataclasses import dataclass
from typing import List

from . import _native


@dataclass(frozen=True)
class Diagnostic:
    severity: str  # "error", "warning" or "remark"
    file: str
    line: int
    column: int
    message: str

    def __str__(self):
        where = f"{self.file}:{self.line}:{self.column}: " if self.file else ""
        return f"{where}{self.severity}: {self.message}"


class CompileError(Exception):
    """Parsing, verification, a pass pipeline or compilation failed.

    `str(error)` holds the summary and every diagnostic, one per line;
    `error.diagnostics` the structured list."""

    def __init__(self, summary: str, diagnostics: List[Diagnostic] = ()):
        self.summary = summary
        self.diagnostics = list(diagnostics)
        lines = [summary] + [str(d) for d in self.diagnostics]
        super().__init__("\n".join(lines))


def _translate(failure):
    summary, records = failure.args
    return CompileError(summary, [Diagnostic(*r) for r in records])


def _call(function, *args, **kwargs):
    try:
        return function(*args, **kwargs)
    except _native.CompileFailure as failure:
        raise _translate(failure) from None


class Module:
    """A parsed and verified module. Immutable: transformations return new
    modules."""

    def __init__(self, text: str, filename: str = "<string>"):
        if not isinstance(text, str):
            raise TypeError(f"flt.ir.Module: expected IR text, got "
                            f"{type(text).__name__}")
        self._filename = filename
        self._text = _call(_native.parse, text, filename)

    def __str__(self):
        return self._text

    def __repr__(self):
        return f"<flt.ir.Module from {self._filename}>"

    @property
    def filename(self):
        return self._filename

    def generic(self) -> str:
        """The module in MLIR's generic op form."""
        return _call(_native.parse, self._text, self._filename, generic=True)

    def verify(self) -> "Module":
        """Re-verifies (a Module is verified when made); returns self."""
        _call(_native.parse, self._text, self._filename)
        return self

    def run_pipeline(self, pipeline: str) -> "Module":
        """Runs `pipeline` (e.g. "flt-decompose,flt-convert-to-linalg" or
        "builtin.module(flt-cpu-pipeline)") and returns the result."""
        text = _call(_native.run_pipeline, self._text, self._filename, pipeline)
        return Module(text, self._filename)

    def operation_names(self) -> List[str]:
        """The names of the operations in the module, in order (a cheap way
        to see what an import produced)."""
        import re
        return re.findall(r"(?:^|\s)(?:%[\w#:, %]+=\s*)?([a-z_]+\.[a-z_.]+)",
                          self._text)


def parse(text: str, filename: str = "<string>") -> Module:
    """Parses and verifies `text`; raises CompileError on any error."""
    return Module(text, filename)


def parse_file(path: str) -> Module:
    """Parses and verifies the file `path` (a regular file; devices, FIFOs
    and files over flt's size limit are refused); raises CompileError."""
    data = _call(_native.read_source, path)
    return Module(data.decode("utf-8", errors="replace"), path)
