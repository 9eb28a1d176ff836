# Training through flt's kernels: flt.autograd.function and
# flt.nn.FLTAttention(backend="flt") against the plain-torch layer in
# float64 (gradients within docs/Semantics.md §4's tolerances), a
# gradcheck-style central difference of the compiled function, one compile
# for two lengths and two layers, and a short training run whose loss falls.
# REQUIRES: python-bindings
# RUN: %python %s

import numpy as np
import torch

import flt
from flt import reference

torch.manual_seed(0)
failures = []


def expect(label, ok, detail=""):
    print(f"{'PASS' if ok else 'FAIL'}: {label} {detail}")
    if not ok:
        failures.append(label)


def close(label, out, ref):
    ok, rms, peak = reference.compare(out.detach().double().numpy(),
                                      ref.detach().double().numpy(),
                                      gradient=True)
    expect(label, ok, f"rel-rms {rms:.1e} rel-max {peak:.1e}")


H, d, mf = 2, 8, 4
for kernel, spectrum, p, causal in [("relu", "gaussian_mixture", 1, False),
                                    ("elu_plus_one", "local_window", 3, True)]:
    fast = flt.nn.FLTAttention(H, d, mf, position_dim=p, kernel=kernel,
                               spectrum=spectrum, causal=causal,
                               backend="flt")
    slow = flt.nn.FLTAttention(H, d, mf, position_dim=p, kernel=kernel,
                               spectrum=spectrum, causal=causal).double()
    slow.load_state_dict(fast.state_dict())
    for B, L in [(1, 37), (2, 130)]:
        q, k, v = (torch.randn(B, H, L, d, requires_grad=True)
                   for _ in range(3))
        r = (0.2 * torch.rand(B, L, p) if p == 1 else
             0.05 * torch.randn(B, L, p)).requires_grad_(True)
        cot = torch.randn(B, H, L, d)
        out = fast(q, k, v, r)
        grads = torch.autograd.grad(out, [q, k, v, r, fast.theta], cot)
        qd, kd, vd, rd = (x.detach().double().requires_grad_(True)
                          for x in (q, k, v, r))
        ref = slow(qd, kd, vd, rd)
        ref_grads = torch.autograd.grad(ref, [qd, kd, vd, rd, slow.theta],
                                        cot.double())
        label = f"{kernel} {spectrum} p={p} causal={causal} B={B} L={L}"
        ok, rms, _ = reference.compare(out.detach().numpy(),
                                       ref.detach().numpy())
        expect(f"{label}: forward", ok, f"rel-rms {rms:.1e}")
        for name, got, want in zip(["q", "k", "v", "r", "theta"], grads,
                                   ref_grads):
            close(f"{label}: d{name}", got, want)
expect("one compile per configuration (two lengths, two batches)",
       len(flt.nn.FLTAttention._compiled) == 2,
       str(len(flt.nn.FLTAttention._compiled)))

# gradcheck-style: a central difference of the compiled function along a
# random direction, in f32 (so a loose tolerance), against <grad, u>.
module = flt.ops.attention_layer(batch=None, heads=H, length=None,
                                 head_dim=d, num_frequencies=mf)
kernels = flt.compile(module, gradients=True)
f = flt.autograd.function(kernels, "main")
L = 20
# q and k away from relu's kink and the normalizer away from 0 (§3): a
# step of h must not cross either.
inputs = [torch.randn(1, H, L, d).abs() + 0.1,
          torch.randn(1, H, L, d).abs() + 0.1,
          torch.randn(1, H, L, d), 0.2 * torch.rand(1, L, 1),
          torch.randn(H, mf, 1), torch.tensor([[0.7, 0.05, 0.1]] * H)]
inputs = [x.requires_grad_(True) for x in inputs]
cot = torch.randn(1, H, L, d)
grads = torch.autograd.grad(f(*inputs), inputs, cot)
for i, name in enumerate(["q", "k", "v", "r", "xi", "theta"]):
    u = torch.randn_like(inputs[i])
    h = 1e-2
    plus = [x.detach() + (h * u if j == i else 0) for j, x in
            enumerate(inputs)]
    minus = [x.detach() - (h * u if j == i else 0) for j, x in
             enumerate(inputs)]
    fd = float(((f(*plus) - f(*minus)) * cot).sum()) / (2 * h)
    exact = float((grads[i] * u).sum())
    expect(f"central difference along a random direction: d{name}",
           abs(fd - exact) <= 2e-2 * max(1.0, abs(exact)),
           f"{fd:.5f} vs {exact:.5f}")

try:
    flt.autograd.function(flt.compile(module), "main")
    expect("a module without gradients is refused", False)
except ValueError as e:
    expect("a module without gradients is refused",
           "gradients=True" in str(e), str(e))

# A small model trains: q/k projections and theta learn a target made by
# a different theta; the loss falls.
target = flt.nn.FLTAttention(H, d, mf).double()
with torch.no_grad():
    target.theta.copy_(torch.tensor([[1.0, 0.5, -1.0]] * H))
model = flt.nn.FLTAttention(H, d, mf, backend="flt")
model.xi.copy_(target.xi)
proj = torch.nn.Linear(d, d)
optimizer = torch.optim.Adam(list(model.parameters()) +
                             list(proj.parameters()), lr=2e-2)
x = torch.randn(4, H, 64, d)
r = 0.2 * torch.rand(4, 64, 1)
with torch.no_grad():
    y = target(x.double(), x.double(), x.double(), r.double()).float()
losses = []
for step in range(30):
    optimizer.zero_grad()
    qk = proj(x)
    loss = ((model(qk, qk, x, r) - y) ** 2).mean()
    loss.backward()
    optimizer.step()
    losses.append(float(loss))
expect("training through flt's kernels: the loss falls",
       losses[-1] < 0.5 * losses[0], f"{losses[0]:.4f} -> {losses[-1]:.4f}")

# Section 5's operands through flt.autograd: grouped heads (4 query heads,
# 2 key/value heads) and lengths as an int32 tensor, which gets no
# gradient; B and L dynamic.
from flt import ops, reference_autograd  # noqa: E402

builder = ops.Builder("la")
fq_ = builder.arg("fq", (None, 4, None, 6))
fk_ = builder.arg("fk", (None, 2, None, 6))
v_ = builder.arg("v", (None, 2, None, 5))
n_ = builder.arg("n", (None,), "i32")
builder.ret(ops.linear_attention(fq_, fk_, v_, causal=True, lengths=n_))
served = flt.autograd.function(flt.compile(builder.module(), gradients=True),
                               "la")
for lengths in ([9, 5], [0, 9]):
    xs = [torch.rand(2, 4, 9, 6), torch.rand(2, 2, 9, 6),
          torch.randn(2, 2, 9, 5)]
    xs = [x.requires_grad_(True) for x in xs]
    n = torch.tensor(lengths, dtype=torch.int32)
    out = served(*xs, n)
    cot = torch.randn_like(out)
    grads = torch.autograd.grad(out, xs, cot)
    xd = [x.detach().double().requires_grad_(True) for x in xs]
    ref = reference_autograd.linear_attention(*xd, causal=True,
                                              lengths=n.long())
    ref_grads = torch.autograd.grad(ref, xd, cot.double())
    ok, rms, _ = reference.compare(out.detach().numpy(),
                                   ref.detach().numpy())
    expect(f"grouped heads, lengths {lengths}: forward", ok,
           f"rel-rms {rms:.1e}")
    for name, got, want in zip(["fq", "fk", "v"], grads, ref_grads):
        close(f"grouped heads, lengths {lengths}: d{name}", got, want)

if failures:
    raise SystemExit(f"{len(failures)} failed: {failures}")
print("autograd ok")
