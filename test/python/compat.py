# flt.compat (docs/Compatibility.md): the official modules' configurations,
# parameters and checkpoints converted to flt IR and arguments, compiled,
# and run against plain-torch stand-ins of the official forwards
# (test/lib/official_standins.py, written from the official sources' math;
# they stand in for the official code, which is not installed here), in
# float64, within docs/Semantics.md section 3's tolerances: the FLT layer
# (imp/max and scenic; FAVOR+ and relu; p = 1 and 3; causal and not; one
# gradient against torch autograd of the official forward), Urpe (every core
# and P flt expresses, odd and even d, theta types a/b/c and learned,
# state_dict in and out), FourierAttn (d = 64 with R = 1 and R = 2: flt is
# finite and equals the float64 evaluation of the official formula where
# the official float32 code is ~0 or NaN; memory; the whole layer) and
# RPEMask (both layouts, both normalizations, relu and FAVOR+ features).
# Prints the largest relative RMS error per form.
# REQUIRES: python-bindings
# RUN: %python %s | FileCheck %s
# CHECK: compat: {{[0-9]+}} checks, 0 failures

import types

import numpy as np
import torch

import flt
from flt import compat, reference
import official_standins as off

torch.manual_seed(0)
g = np.random.default_rng(2025)
failures, checks, worst = [], [0], {}


def expect(label, ok, detail=""):
    checks[0] += 1
    print(f"{'PASS' if ok else 'FAIL'}: {label} {detail}".rstrip())
    if not ok:
        failures.append(label)


def close(form, label, out, want, gradient=False):
    ok, rms, peak = reference.compare(out, np.asarray(want, np.float64),
                                      gradient=gradient)
    worst[form] = max(worst.get(form, 0.0), rms)
    expect(f"{form}: {label}", ok, f"rel-rms {rms:.1e} rel-max {peak:.1e}")


def gap(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return np.linalg.norm(a - b) / np.linalg.norm(b)


def mixture(H, p, K):
    return np.concatenate([g.uniform(0, 1, (H, K)),
                           0.1 * g.standard_normal((H, K * p)),
                           0.1 * g.standard_normal((H, K))], 1)


# -- FLT -----------------------------------------------------------------
H, d, e, m_f, K, M = 2, 16, 8, 8, 2, 24
flt_cases = [
    # label, constructor, kernel for the stand-in, p, causal, projection
    ("imp/max favor_pos p=1", compat.FLTLayer.imp_max, "favor_pos", 1,
     False, True),
    ("imp/max favor_pos p=3 causal", compat.FLTLayer.imp_max, "favor_pos", 3,
     True, True),
    ("imp/max relu p=1 causal", compat.FLTLayer.imp_max, "relu", 1, True,
     False),
    ("imp/max relu p=3", compat.FLTLayer.imp_max, "relu", 3, False, False),
    ("scenic relu(W x) p=1", compat.FLTLayer.scenic, "generic_relu", 1,
     False, True),
    ("scenic favor_pos p=3 causal", compat.FLTLayer.scenic, "favor_pos", 3,
     True, True),
]
for label, make, kernel, p, causal, proj in flt_cases:
    layer = make(H, d, num_rand_features=m_f, blobs=K, position_dim=p,
                 kernel="favor_pos" if kernel == "favor_pos" else "relu",
                 projection_dim=M if proj else None, value_dim=e,
                 causal=causal)
    run = layer.compile()
    for B, L, coords_kind in ((1, 1, "shared"), (2, 7, "batched"),
                              (1, 129, "shared"), (1, 300, "integer")):
        q, k = g.standard_normal((B, L, H, d)), g.standard_normal((B, L, H, d))
        v = g.standard_normal((B, L, H, e))
        if coords_kind == "integer":   # imp/max's attention: arange(L)
            coords = np.arange(L, dtype=np.float64)[:, None] * np.ones(p)
        elif coords_kind == "batched":   # scenic: [B, L, p]
            coords = g.uniform(0, 0.2, (B, L, p))
        else:
            coords = g.uniform(0, 0.2, (L, p))
        theta, xi = mixture(H, p, K), g.standard_normal((H, m_f, p))
        projection = g.standard_normal((M, d + 2 * m_f)) if proj else None
        args32 = [np.float32(a) for a in (q, k, v, coords, theta, xi)]
        proj32 = None if projection is None else np.float32(projection)
        want = off.flt_attention(*args32, kernel=kernel, projection=proj32,
                                 causal=causal).numpy()
        close("FLT", f"{label} B={B} L={L} ({coords_kind} coords)",
              run(*args32, projection=proj32), want)
        if L == 129:
            # The paper's form (rpe_form mask, the spec's density) on the
            # same inputs is not what the official code computes.
            a = layer.arguments(*args32, projection=proj32)
            paper = reference.attention(
                *a[:6], "favor_pos" if kernel == "favor_pos" else "relu",
                "gaussian_mixture", w=a[6][:, :, :d] if proj else None,
                eps=layer.eps, causal=causal)
            expect(f"FLT: {label}: the paper's form differs",
                   gap(layer.output(paper), want) > 0.05,
                   f"(relative RMS {gap(layer.output(paper), want):.2f})")

# Checkpoint keys and the reverse.
theta = mixture(H, 1, K)
expect("FLT: flt_params from a checkpoint",
       np.array_equal(compat.FLTLayer.params_from_checkpoint(
           {"toeplitz_params": theta}), np.float32(theta)))
expect("FLT: to_checkpoint", np.array_equal(
    compat.FLTLayer.to_checkpoint(theta)["flt_params"], np.float32(theta)))

# One gradient of the concat form against torch autograd of the official
# forward. flt holds the FAVOR+ stabilizers constant (docs/Semantics.md
# section 4); the official code differentiates through its maxima, which
# with eps = 1e-6 changes the gradient by ~1e-3 relative here, so the
# reference holds them constant too (the forward value is the same); the
# gap to the fully differentiated official gradient is printed.
layer = compat.FLTLayer.imp_max(H, d, m_f, K, position_dim=1,
                                kernel="favor_pos", projection_dim=M,
                                value_dim=e)
kernels = flt.compile(layer.module("layer"), gradients=True)
B, L = 2, 17
q, k = g.standard_normal((B, L, H, d)), g.standard_normal((B, L, H, d))
v = g.standard_normal((B, L, H, e))
coords, theta = g.uniform(0, 0.2, (L, 1)), mixture(H, 1, K)
xi, projection = g.standard_normal((H, m_f, 1)), g.standard_normal(
    (M, d + 2 * m_f))
cot = g.standard_normal((B, L, H, e))
args = layer.arguments(q, k, v, coords, theta, xi, projection)
grads = kernels.layer_vjp(*args, np.float32(cot.transpose(0, 2, 1, 3)))
got = {"query": grads[0].transpose(0, 2, 1, 3),
       "key": grads[1].transpose(0, 2, 1, 3),
       "value": grads[2].transpose(0, 2, 1, 3), "flt_params": grads[5],
       "projection": grads[6].sum(0)}   # one matrix shared by the heads
official_grads = {}
for constant in (True, False):
    leaves = [torch.tensor(np.float32(a), dtype=torch.float64,
                           requires_grad=True)
              for a in (q, k, v, theta, projection)]
    out = off.flt_attention(leaves[0], leaves[1], leaves[2],
                            np.float32(coords), leaves[3], np.float32(xi),
                            "favor_pos", leaves[4],
                            constant_stabilizer=constant)
    out.backward(torch.tensor(np.float32(cot), dtype=torch.float64))
    official_grads[constant] = [leaf.grad.numpy() for leaf in leaves]
for (name, value), want, full in zip(got.items(), official_grads[True],
                                     official_grads[False]):
    close("FLT gradient", f"d{name} against torch autograd of the official "
          "forward (constant stabilizers)", value, want, gradient=True)
    print(f"  d{name}: the official gradient through the maxima differs by "
          f"relative RMS {gap(full, want):.1e}")

# -- Urpe ----------------------------------------------------------------
H, Bt = 2, 3
urpe_cases = [
    # core, P, d, theta type, learned theta, learned Householder
    (1, 1, 8, "a", False, False), (1, 1, 9, None, True, False),
    (1, 2, 9, "b", False, True), (1, 4, 8, "c", False, False),
    (2, 1, 8, "a", False, False), (2, 4, 9, "b", False, False),
    (2, 2, 10, "c", False, False),
    (3, 1, 8, None, False, False), (3, 2, 9, None, False, False),
    (3, 4, 8, None, False, True),
]
for core, P, dd, ttype, learned, hlearned in urpe_cases:
    label = (f"core {core} P {P} d={dd} theta "
             f"{'learned' if learned else ttype}")
    state = {}
    if learned:
        state["theta"] = torch.tensor(
            10000 ** (-2 / dd * np.arange(dd // 2)) * (1 + 0.1 *
                                                     g.standard_normal(
                                                         dd // 2)),
            dtype=torch.float32).reshape(1, 1, -1)
    if P == 2:
        raw = torch.randn(1, dd, 1)
        state["v"] = raw if hlearned else raw / torch.norm(raw)
    if core == 3:
        state["permutation"] = off.urpe_permutation_table(torch.randperm(dd),
                                                          64)
    # A stand-in for the constructed module: its attributes and state.
    module = types.SimpleNamespace(core_matrix=core, p_matrix=P,
                                   theta_type=ttype or "a",
                                   theta_learned=learned,
                                   householder_learned=hlearned, **state)
    via_module = compat.Urpe.from_module(module, heads=H)
    urpe = compat.Urpe.from_state_dict(
        {"attn.urpe." + key: val for key, val in state.items()}, core, P,
        embedding_dim=dd, heads=H, theta_type=ttype or "a",
        theta_learned=learned, householder_learned=hlearned,
        prefix="attn.urpe.")
    run = urpe.compile(d=dd)
    for L in (1, 7, 50):
        x = np.float32(g.standard_normal((Bt * H, L, dd)))
        kw = dict(theta=state.get("theta"), householder_learned=hlearned,
                  v=state.get("v"), table=state.get("permutation"))
        want = off.urpe_forward(x, core, P, ttype or "a", dtype=torch.float64,
                                **kw).numpy()
        official32 = off.urpe_forward(x, core, P, ttype or "a",
                                      dtype=torch.float32, **kw).numpy()
        out = run(x)
        close("Urpe", f"{label} L={L}", out, want)
        close("Urpe (official f32)", f"{label} L={L}", official32, want)
        if L == 50:
            expect(f"Urpe: {label}: from_module gives the same arguments",
                   all(np.array_equal(a, b) for a, b in zip(
                       via_module.arguments(x), urpe.arguments(x))))
    back = urpe.to_state_dict()
    expect(f"Urpe: {label}: to_state_dict returns the checkpoint",
           sorted(back) == sorted(key for key in state) and all(
               torch.equal(back[key].to(state[key].dtype), state[key])
               for key in state))

for core, P, why in ((4, 1, "complex exp"), (1, 3, "Fourier P")):
    try:
        compat.Urpe(core, P, embedding_dim=8)
        expect(f"Urpe: core {core} P {P} ({why}) is refused", False)
    except compat.UnsupportedError as error:
        expect(f"Urpe: core {core} P {P} ({why}) is refused", True,
               f"({str(error)[:60]}...)")

# -- FourierAttn -----------------------------------------------------------
n_head, d_head = 2, 64
for R, scale, regime in ((1.0, 1.0, "R=1: eps dominates, official ~0"),
                         (2.0, 0.05, "R=2: official float32 overflows"),
                         (2.0, 1.0, "R=2, N(0, 1)")):
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
            if scale < 1:
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

print("largest relative RMS error per form:")
for form, value in worst.items():
    print(f"  {form}: {value:.1e}")
print(f"compat: {checks[0]} checks, {len(failures)} failures")
if failures:
    print("failed:", *failures, sep="\n  ")
