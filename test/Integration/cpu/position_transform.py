# flt.position_transform: rotary (interleaved and halves) and complex cores,
# identity / householder / odd_even mixes, offsets and explicit positions,
# dynamic B and L up to 1000, f16; scores of transformed q and k depend only
# on the position difference.
# RUN: %python %s

import itertools

import numpy as np
from flt import reference
from flt_harness import Library, check, expect_on_results, finish, func, \
    normal, rng, ttype

H, d = 2, 8
X = ttype((1, H, 1, d), dynamic=(0, 2))
XH = ttype((1, H, 1, d), "f16", dynamic=(0, 2))
HALF, FULL, S = ttype((H, d // 2)), ttype((H, d)), ttype((1, 1),
                                                         dynamic=(0, 1))


def transform(name, core, mix, pairing="interleaved", offset=0,
              positions=False, xt=X):
    out = ttype((1, H, 1, d if core == "rotary" else 2 * d),
                "f16" if xt == XH else "f32", dynamic=(0, 2))
    th = HALF if core == "rotary" else FULL
    args = [("x", xt), ("th", th)]
    operands, types = "%x, %th", f"{xt}, {th}"
    if mix == "householder":
        args.append(("hv", FULL))
        operands += " mix(%hv)"
        types += f", {FULL}"
    if positions:
        args.append(("s", S))
        operands += " positions(%s)"
        types += f", {S}"
    attrs = (f"core = #flt.lrpe_core<{core}>, mix = #flt.lrpe_mix<{mix}>, "
             f"offset = {offset}")
    if core == "rotary":
        attrs += f", pairing = #flt.pairing<{pairing}>"
    return func(name, args,
                [f"%o = flt.position_transform {operands} {{{attrs}}} : "
                 f"{types} -> {out}"], [("%o", out)])


cases = []
for core, mix in itertools.product(("rotary", "complex"),
                                   ("identity", "householder", "odd_even")):
    pairings = ("interleaved", "halves") if core == "rotary" else (
        "interleaved",)
    for pairing in pairings:
        cases.append(dict(name=f"{core}_{mix}_{pairing}", core=core, mix=mix,
                          pairing=pairing))
cases += [dict(name="rotary_offset", core="rotary", mix="identity", offset=5),
          dict(name="complex_positions", core="complex", mix="householder",
               positions=True),
          dict(name="rotary_positions", core="rotary", mix="odd_even",
               pairing="halves", positions=True),
          dict(name="rotary_f16", core="rotary", mix="identity", xt=XH)]
lib = Library([transform(**c) for c in cases])

g = rng(9)
theta_half = (10000.0 ** (-np.arange(d // 2) / (d // 2)) *
              np.ones((H, 1))).astype(np.float32)
theta_full = (10000.0 ** (-np.arange(d) / d) * np.ones((H, 1))).astype(
    np.float32)
for case in cases:
    th = theta_half if case["core"] == "rotary" else theta_full
    for B, L in ((1, 1), (2, 7), (1, 1000)):
        x = normal(g, (B, H, L, d))
        inputs = [x, th]
        hv = normal(g, (H, d)) if case["mix"] == "householder" else None
        pos = g.uniform(0, 500, (B, L)).astype(np.float32) \
            if case.get("positions") else None
        inputs += [a for a in (hv, pos) if a is not None]
        dtype = "f32"
        if case.get("xt") == XH:
            inputs[0] = x = x.astype(np.float16)
            dtype = "f16"
        out = lib.run(case["name"], inputs)[0]
        expected = reference.position_transform(
            x, th, case["core"], case["mix"], case.get("pairing",
                                                        "interleaved"),
            case.get("offset", 0), hv, pos)
        check(f"{case['name']} B={B} L={L}", out, expected, dtype)

# Relative-position property through the compiled kernel: q_s . k_t depends
# only on s - t (shift both by the same offset).
q, k = normal(g, (1, H, 16, d)), normal(g, (1, H, 16, d))
lib2 = Library([transform("rot0", "rotary", "identity"),
                transform("rot7", "rotary", "identity", offset=7)])
scores = [np.einsum("bhld,bhsd->bhls", lib2.run(f, [q, theta_half])[0],
                    lib2.run(f, [k, theta_half])[0]) for f in ("rot0", "rot7")]
expect_on_results(
    "scores depend only on s - t",
    np.max(np.abs(scores[0] - scores[1])) < 1e-3 * np.max(np.abs(scores[0])))
finish()
