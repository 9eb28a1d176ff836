# flt.kernel_attention: softmax (temperature, bias, positive rpe mask),
# dot (rpe, all normalizations) and fourier_integral (scale, power, bias,
# evaluated in the log domain: accurate at d = 64 where the product of sincs
# underflows f32), causal and not, S != L, dynamic B/L/S, f16.
# RUN: %python %s

import numpy as np
from flt import reference
from flt_harness import (Library, check, finish, func, normal, positive, rng,
                         ttype)

H, e, r = 2, 12, 6


def attention(name, d, kernel, attrs="", scale=False, bias=False, rpe=False,
              causal=False, dtype="f32"):
    Q = ttype((1, H, 1, d), dtype, dynamic=(0, 2))
    V = ttype((1, H, 1, e), dtype, dynamic=(0, 2))
    args = [("q", Q), ("k", Q), ("v", V)]
    operands, types = "%q, %k, %v", f"{Q}, {Q}, {V}"
    if scale:
        args.append(("R", ttype((H, d))))
        operands += " scale(%R)"
        types += f", {ttype((H, d))}"
    if bias:
        BT = ttype((H, 1), dynamic=(1,))
        args.append(("b", BT))
        operands += " bias(%b)"
        types += f", {BT}"
    if rpe:
        P = ttype((1, H, 1, r), dynamic=(0, 2))
        args += [("phi", P), ("psi", P)]
        operands += " rpe(%phi, %psi)"
        types += f", {P}, {P}"
    attributes = f"kernel = #flt.pair_kernel<{kernel}>, causal = " \
                 f"{str(causal).lower()}{attrs}"
    return func(name, args,
                [f"%o = flt.kernel_attention {operands} {{{attributes}}} : "
                 f"{types} -> {V}"], [("%o", V)])


cases = {
    "softmax": dict(d=16, kernel="softmax"),
    "softmax_causal_bias": dict(d=16, kernel="softmax", bias=True,
                                causal=True),
    "softmax_temp_rpe": dict(d=16, kernel="softmax", rpe=True,
                             attrs=", temperature = 0.3 : f32"),
    "softmax_f16": dict(d=16, kernel="softmax", causal=True, dtype="f16"),
    "dot_rpe_none": dict(d=8, kernel="dot", rpe=True,
                         attrs=", normalize = #flt.normalize<none>"),
    "dot_divide": dict(d=8, kernel="dot", causal=True),
    "dot_guarded_rpe": dict(d=8, kernel="dot", rpe=True,
                            attrs=", normalize = #flt.normalize<guarded>"),
    "fourier": dict(d=64, kernel="fourier_integral", scale=True),
    "fourier_causal_bias_p2": dict(d=64, kernel="fourier_integral",
                                   scale=True, bias=True, causal=True,
                                   attrs=", power = 2"),
    "fourier_rpe": dict(d=16, kernel="fourier_integral", scale=True,
                        rpe=True),
}
lib = Library([attention(name, **c) for name, c in cases.items()])

g = rng(10)
for name, c in cases.items():
    d = c["d"]
    shapes = [(1, 1, 1), (2, 7, 7), (1, 129, 129), (1, 300, 300)]
    if not c.get("causal"):
        shapes += [(1, 7, 70), (2, 129, 5)]
    for B, L, S in shapes:
        dt = np.float16 if c.get("dtype") == "f16" else np.float32
        positive_features = c["kernel"] == "dot"
        make = positive if positive_features else normal
        q, k = make(g, (B, H, L, d), dt), make(g, (B, H, S, d), dt)
        v = normal(g, (B, H, S, e), dt)
        inputs = [q, k, v]
        R = bias = phi = psi = None
        if c.get("scale"):
            # Bandwidths that keep the sinc arguments O(1): the product of
            # 64 factors is far below f32's range; its log is not.
            R = g.uniform(0.5, 1.5, (H, d)).astype(np.float32)
            inputs.append(R)
        if c.get("bias"):
            bias = (0.5 * g.standard_normal((H, L + S - 1))).astype(np.float32)
            inputs.append(bias)
        if c.get("rpe"):
            phi = positive(g, (B, H, L, r))
            psi = positive(g, (B, H, S, r))
            inputs += [phi, psi]
        kwargs = {}
        if "temperature" in c.get("attrs", ""):
            kwargs["temperature"] = 0.3
        if "power = 2" in c.get("attrs", ""):
            kwargs["power"] = 2
        for mode in ("none", "guarded"):
            if mode in c.get("attrs", ""):
                kwargs["normalize"] = mode
        out = lib.run(name, inputs)[0]
        expected = reference.kernel_attention(
            q, k, v, c["kernel"], R, bias, phi, psi, c.get("causal", False),
            **kwargs)
        check(f"{name} B={B} L={L} S={S}", out, expected,
              "f16" if c.get("dtype") == "f16" else "f32")
finish()
