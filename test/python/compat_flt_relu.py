# flt.compat's FLT layer with the official relu kernels (imp/max relu(x) +
# 1e-6, p = 1 and 3, causal and not; scenic's relu(W x / sqrt(M)) + 1e-3)
# against the float64 evaluation of the official forward: compat_flt.py
# with the argument "relu".
# REQUIRES: python-bindings
# RUN: %python %S/compat_flt.py relu | FileCheck %s
# CHECK: compat_flt relu: {{[0-9]+}} checks, 0 failures
