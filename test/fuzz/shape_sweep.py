#!/usr/bin/env python3
# A few cases on every run of the suite, so that the tool keeps working:
# RUN: %python %s --seed 1 --cases 8
# RUN: env FLT_TEST_TARGET=gpu-emulation %python %s --seed 2 --cases 8
"""Random static-shape sweep: the structured counterpart of flt-fuzz.

flt-fuzz mutates bytes, so almost every input it tries fails to parse; this
draws well-formed modules instead: N random attention ops (linear attention
with and without rpe, kernel attention with every kernel, bias, rpe,
temperature and normalization, Toeplitz attention with every method, the
whole FLT layer) whose sizes are all static and drawn from the values the
lowerings special-case (1, lengths just past a tile, S != L, odd widths,
f16/bf16 activations). It compiles them into one library for the harness's
target and checks each result against the float64 reference of docs/Semantics.md.
Static sizes take other paths than the dynamic ones of the lit tests: the
form of linear attention is fixed at compile time and loops of one
iteration fold (B = H = 1 on the GPU pipeline was found this way).

    PYTHONPATH=build/python_packages:python_bindings:test/lib \\
    FLT_TOOLS_DIR=build/bin FLT_TEST_TARGET=gpu-emulation \\
        python3 test/fuzz/shape_sweep.py --seed 1 --cases 60 \\
        [-- --linear-attention-form=linear]

--long also draws lengths up to 65536 and widths up to 257; references are
then too slow, so it runs only with FLT_TEST_TARGET=cuda-host (with
FLT_RECORDING_CUDA_DRIVER_DIR: every launch checked against its kernel's
limits on the driver double, results unchecked). Exit status 1 if any
check fails; a failing case prints its IR and its sizes.
"""

import argparse
import sys

import numpy as np
from flt import reference
import flt_harness
from flt_harness import (Library, check, finish, func, mixture_theta, normal,
                         positions, positive, rounded, ttype)

SIZES = [1, 2, 3, 5, 8, 16, 17, 31, 33, 64, 65, 100, 130]
LONG_SIZES = [128, 256, 257, 1000, 4096, 16384, 16385, 65536]



class Draw:
    """Random choices of one sweep."""

    def __init__(self, seed, long):
        self.g = np.random.default_rng(seed)
        self.sizes = SIZES + (LONG_SIZES if long else [])

    def size(self, upper):
        return int(self.g.choice([s for s in self.sizes if s <= upper]))

    def choice(self, options):
        return options[int(self.g.integers(len(options)))]

    def chance(self, p):
        return bool(self.g.random() < p)


def linear_attention(draw, name, B, H, L, causal, dtype):
    m, e, r = draw.size(300), draw.size(300), draw.size(130)
    S = L if causal or not draw.chance(0.3) else draw.size(300)
    rpe = draw.chance(0.6)
    FQ, FK = ttype((B, H, L, m), dtype), ttype((B, H, S, m), dtype)
    V, O = ttype((B, H, S, e), dtype), ttype((B, H, L, e), dtype)
    args, ops, types = [("fq", FQ), ("fk", FK), ("v", V)], \
        "%fq, %fk, %v", f"{FQ}, {FK}, {V}"
    if rpe:
        PQ, PK = ttype((B, H, L, r)), ttype((B, H, S, r))
        args += [("phi", PQ), ("psi", PK)]
        ops += " rpe(%phi, %psi)"
        types += f", {PQ}, {PK}"
    source = func(name, args, [
        f"%o = flt.linear_attention {ops} {{causal = {str(causal).lower()}}}"
        f" : {types} -> {O}"], [("%o", O)])

    def inputs(g):
        fq = rounded(positive(g, (B, H, L, m)), dtype)
        fk = rounded(positive(g, (B, H, S, m)), dtype)
        v = rounded(normal(g, (B, H, S, e)), dtype)
        masks = [positive(g, (B, H, L, r)), positive(g, (B, H, S, r))] \
            if rpe else []
        return [fq, fk, v, *masks], lambda: reference.linear_attention(
            fq, fk, v, *(masks or [None, None]), causal)
    return source, inputs, dict(L=L, S=S, m=m, e=e, r=rpe and r)


def kernel_attention(draw, name, B, H, L, causal, dtype):
    d, e, r = draw.size(300), draw.size(300), draw.size(40)
    S = L if causal or not draw.chance(0.3) else draw.size(300)
    kernel = draw.choice(["softmax", "dot", "fourier_integral"])
    bias = kernel != "dot" and draw.chance(0.3)
    rpe = draw.chance(0.4)
    Q, K = ttype((B, H, L, d), dtype), ttype((B, H, S, d), dtype)
    V, O = ttype((B, H, S, e), dtype), ttype((B, H, L, e), dtype)
    args, ops, types = [("q", Q), ("k", K), ("v", V)], "%q, %k, %v", \
        f"{Q}, {K}, {V}"
    if kernel == "fourier_integral":
        args.append(("R", ttype((H, d))))
        ops += " scale(%R)"
        types += f", {ttype((H, d))}"
    if bias:
        args.append(("b", ttype((H, L + S - 1))))
        ops += " bias(%b)"
        types += f", {ttype((H, L + S - 1))}"
    if rpe:
        PQ, PK = ttype((B, H, L, r)), ttype((B, H, S, r))
        args += [("phi", PQ), ("psi", PK)]
        ops += " rpe(%phi, %psi)"
        types += f", {PQ}, {PK}"
    attrs = f"kernel = #flt.pair_kernel<{kernel}>, " \
            f"causal = {str(causal).lower()}"
    normalize, temperature = "divide", None
    if kernel == "dot":
        normalize = draw.choice(["divide", "guarded", "none"])
        attrs += f", normalize = #flt.normalize<{normalize}>"
    if kernel == "softmax" and draw.chance(0.5):
        temperature = draw.choice([0.3, 2.0])
        attrs += f", temperature = {temperature} : f32"
    source = func(name, args, [
        f"%o = flt.kernel_attention {ops} {{{attrs}}} : {types} -> {O}"],
        [("%o", O)])

    def inputs(g):
        make = positive if kernel == "dot" else normal
        q = make(g, (B, H, L, d))
        if kernel == "softmax":
            q = q / np.float32(np.sqrt(d))  # scores of order 1
        q, k = rounded(q, dtype), rounded(make(g, (B, H, S, d)), dtype)
        v = rounded(normal(g, (B, H, S, e)), dtype)
        R = g.uniform(0.5, 1.5, (H, d)).astype(np.float32) \
            if kernel == "fourier_integral" else None
        b = (0.5 * g.standard_normal((H, L + S - 1))).astype(np.float32) \
            if bias else None
        phi = positive(g, (B, H, L, r)) if rpe else None
        psi = positive(g, (B, H, S, r)) if rpe else None
        extra = [x for x in (R, b, phi, psi) if x is not None]
        return [q, k, v, *extra], lambda: reference.kernel_attention(
            q, k, v, kernel, scale=R, bias=b, phi=phi, psi=psi,
            causal=causal, temperature=temperature, normalize=normalize)
    return source, inputs, dict(L=L, S=S, d=d, e=e, kernel=kernel,
                                bias=bias, r=rpe and r)


def toeplitz_attention(draw, name, B, H, L, causal, dtype):
    m, e = draw.size(65), draw.size(65)
    method = draw.choice(["direct", "fft", "auto"])
    normalize = draw.choice(["divide", "guarded", "none"])
    FQ, V, BT = ttype((B, H, L, m)), ttype((B, H, L, e)), \
        ttype((H, 2 * L - 1))
    source = func(name, [("fq", FQ), ("fk", FQ), ("v", V), ("b", BT)], [
        f"%o = flt.toeplitz_attention %fq, %fk, %v, %b {{causal = "
        f"{str(causal).lower()}, normalize = #flt.normalize<{normalize}>, "
        f"method = #flt.toeplitz_method<{method}>}} : {FQ}, {FQ}, {V}, "
        f"{BT} -> {V}"], [("%o", V)])

    def inputs(g):
        fq, fk = positive(g, (B, H, L, m)), positive(g, (B, H, L, m))
        v = normal(g, (B, H, L, e))
        b = (0.5 * g.standard_normal((H, 2 * L - 1))).astype(np.float32)
        return [fq, fk, v, b], lambda: reference.toeplitz_attention(
            fq, fk, v, b, causal, normalize)
    return source, inputs, dict(L=L, m=m, e=e, method=method,
                                normalize=normalize)


def attention_layer(draw, name, B, H, L, causal, dtype):
    d, e = draw.size(130), draw.size(130)
    m_f, p = draw.choice([1, 4, 8, 16]), draw.choice([1, 3])
    Q, V, R = ttype((B, H, L, d)), ttype((B, H, L, e)), ttype((B, L, p))
    XI, TH = ttype((H, m_f, p)), ttype((H, (p + 2) * 3))
    source = func(name, [("q", Q), ("k", Q), ("v", V), ("r", R),
                         ("xi", XI), ("th", TH)], [
        f"%o = flt.attention %q, %k, %v, %r, %xi, %th {{kernel = "
        f"#flt.kernel<elu_plus_one>, spectrum = "
        f"#flt.spectrum<gaussian_mixture>, causal = {str(causal).lower()}}}"
        f" : {Q}, {Q}, {V}, {R}, {XI}, {TH} -> {V}"], [("%o", V)])

    def inputs(g):
        args = [normal(g, (B, H, L, d)), normal(g, (B, H, L, d)),
                normal(g, (B, H, L, e)), positions(g, B, L, p),
                normal(g, (H, m_f, p)), mixture_theta(g, H, p, 3)]
        return args, lambda: reference.attention(
            *args, "elu_plus_one", "gaussian_mixture", causal=causal)
    return source, inputs, dict(L=L, d=d, e=e, m_f=m_f, p=p)


# Linear attention is drawn three times as often: it has the most forms.
OPS = [linear_attention] * 3 + [kernel_attention, toeplitz_attention,
                                attention_layer]
HALF_PRECISION = (linear_attention, kernel_attention)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cases", type=int, default=40)
    parser.add_argument("--long", action="store_true",
                        help="lengths up to 65536 (cuda-host only)")
    parser.add_argument("flags", nargs="*", help="flt-compile flags")
    args = parser.parse_args()
    if args.long and flt_harness.RESULTS_CHECKED:
        sys.exit("shape_sweep.py: --long needs FLT_TEST_TARGET=cuda-host "
                 "(the float64 references would take hours)")

    draw = Draw(args.seed, args.long)
    cases = []
    for i in range(args.cases):
        op = draw.choice(OPS)
        B, H = int(draw.g.integers(1, 3)), int(draw.g.integers(1, 3))
        L = draw.size(70000 if args.long else 300)
        dtype = draw.choice(["f32", "f32", "f16", "bf16"]) \
            if op in HALF_PRECISION else "f32"
        causal = draw.chance(0.5)
        name = f"case{i}_{op.__name__}"
        source, inputs, sizes = op(draw, name, B, H, L, causal, dtype)
        sizes.update(B=B, H=H, causal=causal, dtype=dtype)
        cases.append((name, source, inputs, sizes))

    library = Library([source for _, source, _, _ in cases], args.flags)
    for name, source, inputs, sizes in cases:
        arrays, exact = inputs(draw.g)
        out = library.run(name, arrays)[0]
        expected = exact() if flt_harness.RESULTS_CHECKED else None
        if not check(f"{name} {sizes}", out, expected, sizes["dtype"]):
            print(source)
    finish()


if __name__ == "__main__":
    main()
