# docs/Semantics.md section 5 on flt.kernel_attention (softmax with a
# relative bias and an RPE mask, dot, fourier_integral), flt.toeplitz_attention
# (direct and fft; auto picks direct for packed and padded batches) and
# flt.position_transform (default positions counting from each packed
# sequence's start; rotary, complex, permutation), through flt-compile and
# flt-run, against the float64 references of the formulas
# (flt.reference_autograd): packed = every sequence alone, lengths = the
# shorter sequence alone and zero rows, grouped heads = repeated heads.
# Bad cu_seqlens / lengths: one clean error before any kernel runs.
# RUN: %python %s

import itertools
import os

import numpy as np

from flt import reference_autograd as ref
from flt_harness import (TARGET, Library, check, expect, finish, func, normal,
                         positive, rng, ttype)

H, HKV, d, e, r = 4, 2, 8, 6, 3
g = rng(31)


def f64(x):
    return np.asarray(x.detach().numpy() if hasattr(x, "detach") else x)


def ints(values, dtype=np.int32):
    return np.array(values, dtype=dtype)


Q = ttype((1, H, 1, d), dynamic=(0, 2))
KV = ttype((1, HKV, 1, d), dynamic=(0, 2))
V = ttype((1, HKV, 1, e), dynamic=(0, 2))
O = ttype((1, H, 1, e), dynamic=(0, 2))
P = ttype((1, H, 1, r), dynamic=(0, 2))
IDX = ttype((1,), "i32", dynamic=(0,))
BIAS = ttype((H, 1), dynamic=(1,))


def kernel_fn(name, kernel, causal, table, extra=()):
    """flt.kernel_attention with grouped heads and packed/lengths."""
    args = [("q", Q), ("k", KV), ("v", V)]
    groups, attrs = "", [f"kernel = #flt.pair_kernel<{kernel}>",
                         f"causal = {str(causal).lower()}"]
    if kernel == "fourier_integral":
        args.append(("scale", ttype((H, d))))
        groups += " scale(%scale)"
    if "bias" in extra:
        args.append(("bias", BIAS))
        groups += " bias(%bias)"
    if "rpe" in extra:
        args += [("phi", P), ("psi", P)]
        groups += " rpe(%phi, %psi)"
    if kernel == "softmax":
        attrs.append("temperature = 0.35 : f32")
    args.append(("t", IDX))
    groups += f" {table}(%t)"
    body = [f"%o = flt.kernel_attention %q, %k, %v{groups} "
            f"{{{', '.join(attrs)}}} : {', '.join(t for _, t in args)} -> {O}"]
    return func(name, args, body, [("%o", O)])


def toeplitz_fn(name, causal, table, method):
    args = [("fq", Q), ("fk", KV), ("v", V), ("b", BIAS)]
    groups = ""
    if table:
        args.append(("t", IDX))
        groups = f" {table}(%t)"
    attrs = (f"{{causal = {str(causal).lower()}, method = "
             f"#flt.toeplitz_method<{method}>, normalize = "
             f"#flt.normalize<guarded>}}")
    body = [f"%o = flt.toeplitz_attention %fq, %fk, %v, %b{groups} {attrs} "
            f": {', '.join(t for _, t in args)} -> {O}"]
    return func(name, args, body, [("%o", O)])


def transform_fn(name, core):
    X = ttype((1, H, 1, d), dynamic=(2,))
    if core == "permutation":
        theta = ttype((H, 140, d), "i32")
        out = X
    else:
        theta = ttype((H, d // 2 if core == "rotary" else d))
        out = ttype((1, H, 1, d * (2 if core == "complex" else 1)),
                    dynamic=(2,))
    args = [("x", X), ("theta", theta), ("cu", IDX)]
    body = [f"%o = flt.position_transform %x, %theta packed(%cu) "
            f"{{core = #flt.lrpe_core<{core}>, offset = 3}} : "
            f"{X}, {theta}, {IDX} -> {out}"]
    return func(name, args, body, [("%o", out)])


functions = []
for kernel, causal, table in itertools.product(
        ("softmax", "dot", "fourier_integral"), (False, True),
        ("packed", "lengths")):
    extra = {"softmax": ("bias", "rpe"), "dot": ("rpe",),
             "fourier_integral": ("bias",)}[kernel]
    functions.append(kernel_fn(f"ka_{kernel}_{int(causal)}_{table}", kernel,
                               causal, table, extra))
for causal, table in itertools.product((False, True),
                                       ("packed", "lengths")):
    functions.append(toeplitz_fn(f"tp_{int(causal)}_{table}", causal, table,
                                 "auto"))
for causal in (False, True):
    functions.append(toeplitz_fn(f"tp_fft_gqa_{int(causal)}", causal, None,
                                 "fft"))
for core in ("rotary", "complex", "permutation"):
    functions.append(transform_fn(f"pt_{core}", core))
lib = Library(functions)
forms = [("default", lib)]
# (Not in sanitizer builds: the instrumented compiler makes the second
# library of the same functions the slowest part of the sanitized suite.)
if TARGET == "cpu" and not os.environ.get("FLT_SANITIZED"):
    forms.append(("GPU mapping", Library(functions, ["--emulate-gpu-mapping",
                                                     "--token-tile=16"])))

cu = [0, 5, 40, 41, 90, 130]
lengths_cases = [(50, 50, [50, 17, 0]), (30, 70, [70, 33, 1])]


def kernel_inputs(kernel, B, L, S, extra):
    q, k = normal(g, (B, H, L, d)) * 0.5, normal(g, (B, HKV, S, d)) * 0.5
    v = normal(g, (B, HKV, S, e))
    xs, kw = [q, k, v], {}
    if kernel == "fourier_integral":
        R = np.abs(normal(g, (H, d))) * 0.5 + 0.2
        xs.append(R)
        kw["scale"] = R
    if "bias" in extra:
        b = normal(g, (H, L + S - 1)) * 0.3
        xs.append(b)
        kw["bias"] = b
    if "rpe" in extra:
        phi, psi = positive(g, (B, H, L, r)), positive(g, (B, H, S, r))
        xs += [phi, psi]
        kw["phi"], kw["psi"] = phi, psi
    return xs, kw


for kernel, causal in itertools.product(("softmax", "dot", "fourier_integral"),
                                        (False, True)):
    extra = {"softmax": ("bias", "rpe"), "dot": ("rpe",),
             "fourier_integral": ("bias",)}[kernel]
    temperature = 0.35 if kernel == "softmax" else None
    name = f"ka_{kernel}_{int(causal)}_packed"
    xs, kw = kernel_inputs(kernel, 1, cu[-1], cu[-1], extra)
    want = f64(ref.kernel_attention(xs[0], xs[1], xs[2], kernel, causal=causal,
                                    temperature=temperature, cu_seqlens=cu,
                                    **kw))
    for form, library in forms:
        check(f"{name} ({form}) cu_seqlens={cu}",
              library.run(name, xs + [ints(cu)])[0], want)
    name = f"ka_{kernel}_{int(causal)}_lengths"
    for L, S, n in lengths_cases:
        if causal and L != S:
            continue
        xs, kw = kernel_inputs(kernel, len(n), L, S, extra)
        want = f64(ref.kernel_attention(xs[0], xs[1], xs[2], kernel,
                                        causal=causal, temperature=temperature,
                                        lengths=n, **kw))
        for form, library in forms:
            check(f"{name} ({form}) L={L} S={S} lengths={n}",
                  library.run(name, xs + [ints(n)])[0], want)


def toeplitz_inputs(B, L):
    fq = positive(g, (B, H, L, d))
    fk = positive(g, (B, HKV, L, d))
    v = normal(g, (B, HKV, L, e))
    b = normal(g, (H, 2 * L - 1)) * 0.3
    return [fq, fk, v, b]


for causal in (False, True):
    xs = toeplitz_inputs(1, cu[-1])
    want = f64(ref.toeplitz_attention(*xs, causal=causal, normalize="guarded",
                                      cu_seqlens=cu))
    name = f"tp_{int(causal)}_packed"
    for form, library in forms:
        check(f"{name} ({form}) cu_seqlens={cu}",
              library.run(name, xs + [ints(cu)])[0], want)
    n = [50, 17, 0]
    xs = toeplitz_inputs(len(n), 50)
    want = f64(ref.toeplitz_attention(*xs, causal=causal, normalize="guarded",
                                      lengths=n))
    name = f"tp_{int(causal)}_lengths"
    for form, library in forms:
        check(f"{name} ({form}) lengths={n}",
              library.run(name, xs + [ints(n)])[0], want)
    xs = toeplitz_inputs(2, 77)
    want = f64(ref.toeplitz_attention(*xs, causal=causal, normalize="guarded"))
    name = f"tp_fft_gqa_{int(causal)}"
    for form, library in forms:
        check(f"{name} ({form}) H={H} H_kv={HKV}", library.run(name, xs)[0],
              want)

for core in ("rotary", "complex", "permutation"):
    x = normal(g, (1, H, cu[-1], d))
    if core == "permutation":
        theta = np.stack([np.stack([g.permutation(d) for _ in range(140)])
                          for _ in range(H)]).astype(np.int32)
    else:
        theta = normal(g, (H, d // 2 if core == "rotary" else d))
    want = f64(ref.position_transform(x, theta, core, offset=3,
                                      cu_seqlens=cu))
    for form, library in forms:
        check(f"pt_{core} ({form}) cu_seqlens={cu}",
              library.run(f"pt_{core}", [x, theta, ints(cu)])[0], want)


xs, _ = kernel_inputs("softmax", 1, 10, 10, ("bias", "rpe"))
for bad in ([0, 4, 4, 10], [0, 12], [2, 10]):
    status, err = lib.run_failing("ka_softmax_0_packed", xs + [ints(bad)])
    expect(f"kernel_attention cu_seqlens={bad} is one clean error",
           status == 1 and "cu_seqlens" in err and err.count("\n") == 1,
           repr(err))
xs, _ = kernel_inputs("softmax", 2, 10, 10, ("bias", "rpe"))
status, err = lib.run_failing("ka_softmax_0_lengths",
                              xs + [ints([3, 11])])
expect("kernel_attention lengths=[3, 11] is one clean error",
       status == 1 and "lengths" in err and err.count("\n") == 1, repr(err))
xs = toeplitz_inputs(2, 10)
status, err = lib.run_failing("tp_1_lengths", xs + [ints([-1, 4])])
expect("toeplitz_attention lengths=[-1, 4] is one clean error",
       status == 1 and "lengths" in err and err.count("\n") == 1, repr(err))
status, err = lib.run_failing("pt_rotary", [normal(g, (1, H, 10, d)),
                                      normal(g, (H, d // 2)), ints([0, 10, 9])])
expect("position_transform cu_seqlens=[0, 10, 9] is one clean error",
       status == 1 and "cu_seqlens" in err and err.count("\n") == 1, repr(err))
finish()
