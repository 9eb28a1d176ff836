# flt.compat (docs/Compatibility.md): FourierFormer's FourierAttn (d = 64
# with R = 1 and R = 2: flt is finite and equals the float64 evaluation of
# the official formula where the official float32 code is ~0 or NaN;
# memory; the whole layer),
# converted to flt IR and arguments, compiled, and run against the float64
# evaluation of the official forward (test/lib/official_standins.py,
# written from the official sources' math; they stand in for the official
# code, which is not installed here), within docs/Semantics.md section 3's
# tolerances. Prints the largest relative RMS error per form.
# REQUIRES: python-bindings
# RUN: %python %s | FileCheck %s
# CHECK: compat_fourier: {{[0-9]+}} checks, 0 failures

import numpy as np
import torch

from flt import compat
from compat_checks import close, expect, finish, gap
import official_standins as off

torch.manual_seed(2)
g = np.random.default_rng(2027)


# -- FourierAttn -----------------------------------------------------------
n_head, d_head = 2, 64
# Regimes (q, k ~ scale N(0, 1)): R = 1 at 0.7, where the 1e-6 dominates
# the row sums (the official output is ~0, as the formula says); R = 2 at
# 0.05, where s ~2^256 overflows the official float32 code (all NaN); R = 2
# at 0.4. (At N(0, 1) a lone key's s can fall below f32's range and one ulp
# of q - k moves the result by up to 4e-4; those inputs are not used.)
for R, scale, regime, overflows in (
        (1.0, 0.7, "R=1: eps dominates, official ~0", False),
        (2.0, 0.05, "R=2: official float32 overflows", True),
        (2.0, 0.4, "R=2, 0.4 N(0, 1)", False)):
    fa = compat.FourierAttn.from_state_dict(
        {"layers.0.dec_attn.paramR": torch.tensor([R])}, n_head, d_head,
        causal=True, prefix="layers.0.dec_attn.")
    run = fa.compile()
    for bsz, qlen in ((1, 1), (2, 9), (1, 129)):
        hq, hk, hv = (np.float32(scale * g.standard_normal(
            (qlen, bsz, n_head, d_head))) for _ in range(3))
        hv = np.float32(hv / scale)
        mask = np.triu(np.ones((qlen, qlen), dtype=bool), 1)
        want = off.fourier_attn_log_domain(hq, hk, hv, [R], mask).numpy()
        official = off.fourier_attn(hq, hk, hv, [R], mask).numpy()
        out = run(hq, hk, hv)
        expect(f"FourierAttn: {regime} qlen={qlen}: flt is finite",
               np.all(np.isfinite(out)))
        close("FourierAttn", f"{regime} bsz={bsz} qlen={qlen}", out, want)
        if qlen == 129:
            nan = np.mean(np.isnan(official))
            size = np.max(np.abs(want))
            print(f"  official float32: {100 * nan:.0f}% NaN, max |formula| "
                  f"{size:.1e}, max |official| "
                  f"{np.nanmax(np.abs(official)) if nan < 1 else np.nan:.1e}")
            if overflows:
                expect(f"FourierAttn: {regime}: the official float32 code "
                       "is NaN here", nan == 1.0)
# Memory: keys longer than queries, the official causal mask (j <= i + mlen).
fa = compat.FourierAttn(n_head, d_head, [2.0], causal=True)
run = fa.compile(memory=True)
qlen, mlen, bsz = 9, 5, 2
hq = np.float32(0.3 * g.standard_normal((qlen, bsz, n_head, d_head)))
hk = np.float32(0.3 * g.standard_normal((qlen + mlen, bsz, n_head, d_head)))
hv = np.float32(g.standard_normal((qlen + mlen, bsz, n_head, d_head)))
mask = np.triu(np.ones((qlen, qlen + mlen), dtype=bool), 1 + mlen)
close("FourierAttn", "memory (mlen = 5)", run(hq, hk, hv),
      off.fourier_attn_log_domain(hq, hk, hv, [2.0], mask).numpy())
# The whole layer: projections and layer norm from a state_dict.
d_model = n_head * d_head
sd = {"dec_attn.q_net.weight": 0.05 * torch.randn(d_model, d_model),
      "dec_attn.k_net.weight": 0.05 * torch.randn(d_model, d_model),
      "dec_attn.v_net.weight": torch.randn(d_model, d_model) / 16,
      "dec_attn.o_net.weight": torch.randn(d_model, d_model) / 16,
      "dec_attn.layer_norm.weight": 1 + 0.1 * torch.randn(d_model),
      "dec_attn.layer_norm.bias": 0.1 * torch.randn(d_model),
      "dec_attn.paramR": torch.tensor([2.0])}
fa = compat.FourierAttn.from_state_dict(sd, n_head, d_head, causal=True,
                                        prefix="dec_attn.")
h = torch.randn(qlen, bsz, d_model)
got = fa.layer_forward(fa.compile(), sd, h, prefix="dec_attn.").numpy()
hd = h.double()
W = {k.split(".", 1)[1]: v.double() for k, v in sd.items()}
heads = [(hd @ W[n + ".weight"].T).view(qlen, bsz, n_head, d_head)
         for n in ("q_net", "k_net", "v_net")]
vec = off.fourier_attn_log_domain(*heads, [2.0], np.triu(np.ones(
    (qlen, qlen), dtype=bool), 1)).reshape(qlen, bsz, d_model)
want = torch.nn.functional.layer_norm(
    hd + vec @ W["o_net.weight"].T, (d_model,), W["layer_norm.weight"],
    W["layer_norm.bias"]).numpy()
close("FourierAttn layer", "layer_forward (post-norm)", got, want)

# Fine-tuning: FourierFormer's R is a run-time argument of the converted
# function, so flt.autograd differentiates it (and q, k, v) through flt's
# kernels; against float64 torch autograd of the formula.
import flt  # noqa: E402
from flt import reference_autograd as ra  # noqa: E402

fa = compat.FourierAttn.from_state_dict(
    {"layers.0.dec_attn.paramR": torch.tensor([2.0])}, n_head, d_head,
    causal=True, prefix="layers.0.dec_attn.")
layer = flt.autograd.function(
    flt.compile(fa.module(), gradients=True), "main")
for qlen in (9, 70):
    q, k, v, R = (torch.tensor(x, requires_grad=True) for x in fa.arguments(
        np.float32(0.4 * g.standard_normal((qlen, 2, n_head, d_head))),
        np.float32(0.4 * g.standard_normal((qlen, 2, n_head, d_head))),
        np.float32(g.standard_normal((qlen, 2, n_head, d_head)))))
    cot = torch.randn(2, n_head, qlen, d_head)
    got = torch.autograd.grad(layer(q, k, v, R), [q, k, v, R], cot)
    leaves = [x.detach().double().requires_grad_(True) for x in (q, k, v, R)]
    want = torch.autograd.grad(ra.kernel_attention(
        *leaves[:3], "fourier_integral", scale=leaves[3], causal=True,
        eps=float(fa.eps), fourier_form="amplitude_eps"), leaves,
        cot.double())
    for name, a, b in zip("qkvR", got, want):
        close("FourierAttn gradients", f"L = {qlen}: d{name}", a.numpy(),
              b.numpy(), gradient=True)

finish("compat_fourier")
