"""Learning a Fourier transform: FLT's relative positional encoding f(Δ),
learned through its spectrum with flt's compiled gradients.

    PYTHONPATH=build/python_packages /usr/bin/python3 examples/learn_spectrum.py

FourierLearner-Transformers mask linear attention by an RPE f(r_i - r_j)
that is never formed: the model learns the spectrum g = F[f] (theta) and
the kernels estimate the mask with random Fourier features of the
positions, in linear time (docs/Semantics.md 2.2-2.4, 2.8). Here the
targets come from attention masked *exactly* by a known f* (the L x L mask,
float64), and an FLT layer that starts from a different spectrum learns
theta (and its query/key projection) with flt's forward and backward
kernels (flt.nn.FLTAttention(backend="flt"), a gaussian_mixture
spectrum) and torch.optim. Two targets:

  * a Gaussian bump with a cosine modulation, f*(Δ) = exp(-π² σ² Δ²)
    cos(2π μ Δ), μ = 0.5, σ² = 0.4 (gaussian_mixture, learning w, μ, σ);
  * a local window, f*(Δ) = 1[|Δ| <= 0.6], learned as a mixture of two
    Gaussians in frequency (FLT's local_window spectrum, estimated with
    N(0, 1) frequencies, has a loss surface in v full of local minima: the
    importance weights of its 1/ξ tails grow as exp(ξ²/2)).

It prints the loss falling, compares the learned f(Δ) (the closed form of
the learned theta, docs/Semantics.md 2.2) with f* over Δ — normalized
attention cannot see a constant factor of f, so both are compared after
dividing by their value at Δ = 0 — and saves a PNG of both and of the loss
curves (examples/learn_spectrum.png, or the path given as the argument).
"""

import math
import sys
import time

import numpy as np
import torch

import flt

torch.manual_seed(0)
H, d, mf, B, L = 1, 16, 256, 4, 128
STEPS = 150
# 256 random frequencies: the estimated mask's noise, summed over the many
# distant keys, must stay below what the spectrum changes (at 64 it is as
# large as the targets themselves).
# Positions uniform in [0, SPAN): the features f varies over (widths ~0.5)
# are then well inside what N(0, 1) frequencies resolve (|ξ| up to ~2).
SPAN = 4.0


def mixture_rpe(theta, delta):
    """f(Δ) of a gaussian_mixture theta [1, 3K] (p = 1, K blobs; the
    closed form of docs/Semantics.md 2.2)."""
    K = theta.shape[1] // 3
    f = torch.zeros_like(delta)
    for i in range(K):
        w, mu, s = theta[0, i], theta[0, K + i], theta[0, 2 * K + i]
        var = torch.exp(s)
        f = f + w * torch.sqrt(math.pi * var) * torch.exp(
            -math.pi ** 2 * var * delta ** 2) * torch.cos(
                2 * math.pi * mu * delta)
    return f


def targets(rpe, q, k, v, r):
    """Attention masked exactly by f*(r_i - r_j), relu features, guarded
    normalization: the float64 L x L form."""
    delta = r[:, :, None, 0] - r[:, None, :, 0]             # [B, L, L]
    mask = rpe(delta)[:, None]                               # [B, 1, L, L]
    scores = torch.relu(q) @ torch.relu(k).transpose(-2, -1) * mask
    den = scores.sum(-1, keepdim=True)
    return (scores @ v) / torch.where(den > 0, den, torch.ones_like(den))


def learn(name, target_rpe, theta_start):
    """Learns a gaussian_mixture spectrum (as many blobs as theta_start has)
    from attention masked by target_rpe."""
    print(f"-- {name}")
    blobs = theta_start.shape[1] // 3
    layer = flt.nn.FLTAttention(H, d, mf, kernel="relu", blobs=blobs,
                                backend="flt", seed=1)
    with torch.no_grad():
        layer.theta.copy_(theta_start)
    project = torch.nn.Linear(d, d)
    with torch.no_grad():
        project.weight.copy_(torch.eye(d) + 0.1 * torch.randn(d, d))
        project.bias.zero_()
    optimizer = torch.optim.Adam([{"params": layer.parameters(), "lr": 5e-2},
                                  {"params": project.parameters(),
                                   "lr": 1e-3}])
    losses = []
    start = time.time()
    for step in range(STEPS):
        x = torch.randn(B, H, L, d)
        r = SPAN * torch.rand(B, L, 1)
        with torch.no_grad():
            y = targets(target_rpe, x.double(), x.double(), x.double(),
                        r.double())
        optimizer.zero_grad()
        qk = project(x)
        loss = ((layer(qk, qk, x, r) - y.float()) ** 2).mean()
        loss.backward()
        optimizer.step()
        losses.append(float(loss))
        if step % 25 == 0 or step == STEPS - 1:
            print(f"step {step:4d}  loss {losses[-1]:.5f}  theta "
                  f"{[round(t, 3) for t in layer.theta[0].tolist()]}")
    delta = torch.linspace(-2.0, 2.0, 401, dtype=torch.float64)
    learned = mixture_rpe(layer.theta.detach().double(), delta)
    star = target_rpe(delta)
    learned_n = learned / learned[200]
    star_n = star / star[200]
    error = float(torch.linalg.norm(learned_n - star_n) /
                  torch.linalg.norm(star_n))
    print(f"{name}: loss {losses[0]:.5f} -> {losses[-1]:.5f} in "
          f"{time.time() - start:.1f} s; learned f(Δ)/f(0) vs f*: relative "
          f"L2 error {error:.3f}")
    return delta, learned_n, star_n, losses, error


def main():
    output = sys.argv[1] if len(sys.argv) > 1 else "examples/learn_spectrum.png"
    runs = [
        learn("cosine-modulated Gaussian",
              lambda delta: mixture_rpe(
                  torch.tensor([[1.0, 0.5, math.log(0.4)]],
                               dtype=torch.float64), delta),
              torch.tensor([[1.0, 0.1, math.log(2.0)]])),
        learn("local window",
              lambda delta: (delta.abs() <= 0.6).to(delta.dtype),
              torch.tensor([[1.0, 0.5, 0.0, 0.3, math.log(2.0),
                             math.log(1.0)]])),
    ]
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot")
        return
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    for ax, (title, run) in zip(axes[:2], zip(
            ["cosine-modulated Gaussian", "local window"], runs)):
        delta, learned, star, _, error = run
        ax.plot(delta, star, "k--", label="f* (target)")
        ax.plot(delta, learned, "C0", label=f"learned (error {error:.2f})")
        ax.set_title(f"{title}: f(Δ) / f(0)")
        ax.set_xlabel("Δ = r_i - r_j")
        ax.legend()
    for (title, run), color in zip(
            zip(["Gaussian", "window"], runs), ["C0", "C1"]):
        axes[2].semilogy(run[3], color, label=title)
    axes[2].set_title("training loss (flt forward + backward)")
    axes[2].set_xlabel("step")
    axes[2].legend()
    fig.tight_layout()
    fig.savefig(output, dpi=100)
    print(f"saved {output}")


if __name__ == "__main__":
    main()
