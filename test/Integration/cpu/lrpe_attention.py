# LRPE composed with attention (the transform fused into the attention
# tiles): rotary q and k into causal softmax, and complex (Householder) q and
# k into linear attention with relu features.
# RUN: %python %s

import numpy as np
from flt import reference
from flt_harness import Library, check, finish, func, normal, rng, ttype

H, d = 2, 16
X = ttype((1, H, 1, d), dynamic=(0, 2))
X2 = ttype((1, H, 1, 2 * d), dynamic=(0, 2))
HALF, FULL = ttype((H, d // 2)), ttype((H, d))
lib = Library([
    func("rotary_softmax", [("q", X), ("k", X), ("v", X), ("th", HALF)], [
        f"%qr = flt.position_transform %q, %th {{core = #flt.lrpe_core<rotary>}} : {X}, {HALF} -> {X}",
        f"%kr = flt.position_transform %k, %th {{core = #flt.lrpe_core<rotary>}} : {X}, {HALF} -> {X}",
        f"%o = flt.kernel_attention %qr, %kr, %v {{causal = true}} : {X}, {X}, {X} -> {X}"],
        [("%o", X)]),
    func("complex_linear", [("q", X), ("k", X), ("v", X), ("th", FULL),
                            ("hv", FULL)], [
        f"%qr = flt.position_transform %q, %th mix(%hv) {{core = #flt.lrpe_core<complex>, mix = #flt.lrpe_mix<householder>}} : {X}, {FULL}, {FULL} -> {X2}",
        f"%kr = flt.position_transform %k, %th mix(%hv) {{core = #flt.lrpe_core<complex>, mix = #flt.lrpe_mix<householder>}} : {X}, {FULL}, {FULL} -> {X2}",
        f"%fq = flt.feature_map %qr {{kernel = #flt.kernel<relu>}} : {X2} -> {X2}",
        f"%fk = flt.feature_map %kr {{kernel = #flt.kernel<relu>}} : {X2} -> {X2}",
        f"%o = flt.linear_attention %fq, %fk, %v {{normalize = #flt.normalize<guarded>}} : {X2}, {X2}, {X} -> {X}"],
        [("%o", X)]),
])
g = rng(12)
th_half = (10000.0 ** (-np.arange(d // 2) / (d // 2)) * np.ones((H, 1))
           ).astype(np.float32)
th_full = (10000.0 ** (-np.arange(d) / d) * np.ones((H, 1))).astype(np.float32)
for B, L in ((1, 1), (2, 7), (1, 129), (1, 700)):
    q, k, v = (normal(g, (B, H, L, d)) for _ in range(3))
    out = lib.run("rotary_softmax", [q, k, v, th_half])[0]
    qr = reference.position_transform(q, th_half, "rotary")
    kr = reference.position_transform(k, th_half, "rotary")
    check(f"rotary + causal softmax B={B} L={L}", out,
          reference.kernel_attention(qr, kr, v, causal=True))
    hv = normal(g, (H, d))
    out = lib.run("complex_linear", [q, k, v, th_full, hv])[0]
    qc = reference.position_transform(q, th_full, "complex", "householder",
                                      mix_vector=hv)
    kc = reference.position_transform(k, th_full, "complex", "householder",
                                      mix_vector=hv)
    check(f"complex householder + linear B={B} L={L}", out,
          reference.linear_attention(reference.feature_map(qc, "relu"),
                                     reference.feature_map(kc, "relu"), v,
                                     normalize="guarded"))
finish()
