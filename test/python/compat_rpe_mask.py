# flt.compat (docs/Compatibility.md): the Toeplitz RPEMask with masked
# FAVOR attention (both parameter layouts, guarded and eps-0
# normalization, relu and FAVOR+ features),
# converted to flt IR and arguments, compiled, and run against the float64
# evaluation of the official forward (test/lib/official_standins.py,
# written from the official sources' math; they stand in for the official
# code, which is not installed here), within docs/Semantics.md section 3's
# tolerances. Prints the largest relative RMS error per form.
# REQUIRES: python-bindings
# RUN: %python %s | FileCheck %s
# CHECK: compat_rpe_mask: {{[0-9]+}} checks, 0 failures

import numpy as np
import torch

from flt import compat
from compat_checks import close, expect, finish, gap
import official_standins as off

torch.manual_seed(3)
g = np.random.default_rng(2028)


# -- RPEMask ---------------------------------------------------------------
H, dd, e, M = 3, 6, 4, 10
rpe_cases = [
    ("imp/max relu, guarded", compat.RPEMask.imp_max, "relu", None, True),
    ("scenic relu(W x), eps 0", compat.RPEMask.scenic, "relu", M, False),
    ("scenic FAVOR+, eps 0", compat.RPEMask.scenic, "favor_pos", M, False),
]
for label, make, kernel, proj, guarded in rpe_cases:
    rpe = make(H, dd, kernel=kernel, value_dim=e, projection_dim=proj)
    run = rpe.compile()
    for B, L in ((1, 1), (2, 9), (1, 130)):
        q, k = (np.float32(g.standard_normal((B, L, H, dd))) for _ in (0, 1))
        v = np.float32(g.standard_normal((B, L, H, e)))
        params = np.float32(0.5 * g.standard_normal((H, 2 * L - 1)))
        first, second = params[:, :L], params[:, L:]
        projection = None if proj is None else np.float32(
            g.standard_normal((proj, dd)))
        tq, tk = torch.tensor(q, dtype=torch.float64), torch.tensor(
            k, dtype=torch.float64)
        P64 = None if projection is None else torch.tensor(
            projection, dtype=torch.float64)
        if kernel == "favor_pos":
            fq = off.favor_features(tq, True, P64)
            fk = off.favor_features(tk, False, P64)
        else:
            fq = off.relu_features(tq, P64, rpe.eps)
            fk = off.relu_features(tk, P64, rpe.eps)
        want = off.masked_favor_attention(fq, fk, v, (first, second),
                                          guarded=guarded).numpy()
        want_fft = off.masked_favor_attention(fq, fk, v, (first, second),
                                              guarded=guarded,
                                              act=off.rpe_act_fft).numpy()
        close("RPEMask", f"{label} B={B} L={L} (mask pair)",
              run(q, k, v, mask=(first, second), projection=projection),
              want)
        close("RPEMask", f"{label} B={B} L={L} (grpe_params, FFT act)",
              run(q, k, v, grpe_params=params, projection=projection),
              want_fft)
b = compat.RPEMask.bias_from_grpe_params(params)
expect("RPEMask: layouts round-trip",
       np.array_equal(compat.RPEMask.to_grpe_params(b), params) and
       all(np.array_equal(x, y) for x, y in zip(
           compat.RPEMask.to_official(b), (first, second))))
L = first.shape[1]
expect("RPEMask: b(j - i) sits at column j - i + L - 1",
       b[0, L - 1] == first[0, 0] and b[0, L] == first[0, 1] and
       b[0, L - 2] == second[0, -1] and b[0, 0] == second[0, 0])

finish("compat_rpe_mask")
