"""flt: an MLIR compiler for linear attention with relative positional
encodings. `flt.reference` holds the float64 formulas of SPEC.md."""
