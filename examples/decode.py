#!/usr/bin/env python3
"""Generation with a recurrent state: a small causal FLT language-model block
(random weights) prefills a prompt, then generates tokens one at a time from
the state of the prefix, and checks every generated row against one causal
run over the whole sequence.

    PYTHONPATH=build/python_packages /usr/bin/python3 examples/decode.py \\
        [--prompt 1024] [--tokens 32] [--threads 1]

The block: token embedding, q/k/v projections with grouped key/value heads
(8 query heads over 2 key/value heads), one `flt.attention` layer (relu
features, a Gaussian-mixture spectrum learned through its Fourier transform
and estimated with random Fourier features of the positions, causal), an
output projection with a residual, and tied output logits; greedy decoding.
Two compiled functions carry the attention (docs/Semantics.md section 5):

  * `prefill`: the prompt in chunks of 512 tokens, each `state(T, z)` in and
    out: [B, H, m 2 m_f, e] and [B, H, m 2 m_f];
  * `step`: one token (L = 1, static: tiles of one token) from the state.

It prints the time per generated token against recomputing the whole prefix
for every token (what a model without a state must do), and the largest
deviation of the generated rows from the full causal run.
"""

import argparse
import time

import numpy as np

import flt

VOCAB, D, H, HKV, HEAD, MF = 512, 256, 8, 2, 32, 16
CHUNK = 512


def attention_module():
    """prefill (dynamic L) and step (L = 1), both from a state, and full (no
    state) for the check."""
    def layer(name, length, state):
        L = "?" if length is None else str(length)
        q = f"tensor<1x{H}x{L}x{HEAD}xf32>"
        kv = f"tensor<1x{HKV}x{L}x{HEAD}xf32>"
        r = f"tensor<1x{L}x1xf32>"
        xi, theta = f"tensor<{H}x{MF}x1xf32>", f"tensor<{H}x3xf32>"
        t = f"tensor<1x{H}x{HEAD * 2 * MF}x{HEAD}xf32>"
        z = f"tensor<1x{H}x{HEAD * 2 * MF}xf32>"
        attrs = ("{kernel = #flt.kernel<relu>, spectrum = "
                 "#flt.spectrum<gaussian_mixture>, causal = true}")
        args = f"%q: {q}, %k: {kv}, %v: {kv}, %r: {r}, %xi: {xi}, %theta: {theta}"
        if not state:
            return (f"func.func @{name}({args}) -> {q} {{\n"
                    f"  %o = flt.attention %q, %k, %v, %r, %xi, %theta {attrs}"
                    f" : {q}, {kv}, {kv}, {r}, {xi}, {theta} -> {q}\n"
                    f"  return %o : {q}\n}}\n")
        return (f"func.func @{name}({args}, %t0: {t}, %z0: {z}) -> "
                f"({q}, {t}, {z}) {{\n"
                f"  %o, %t, %z = flt.attention %q, %k, %v, %r, %xi, %theta "
                f"state(%t0, %z0) {attrs} : {q}, {kv}, {kv}, {r}, {xi}, "
                f"{theta}, {t}, {z} -> {q}, {t}, {z}\n"
                f"  return %o, %t, %z : {q}, {t}, {z}\n}}\n")
    return (layer("prefill", None, True) + layer("step", 1, True) +
            layer("full", None, False))


class Block:
    """The model around the compiled attention (NumPy float32)."""

    def __init__(self, seed=0):
        g = np.random.default_rng(seed)

        def weight(*shape, scale):
            return (g.standard_normal(shape) * scale).astype(np.float32)
        self.embed = weight(VOCAB, D, scale=1.0)
        self.wq = weight(D, H * HEAD, scale=D ** -0.5)
        self.wk = weight(D, HKV * HEAD, scale=D ** -0.5)
        self.wv = weight(D, HKV * HEAD, scale=D ** -0.5)
        self.wo = weight(H * HEAD, D, scale=(H * HEAD) ** -0.5)
        self.xi = weight(H, MF, 1, scale=1.0)
        # One Gaussian per head: weight, mean, log-variance (p = 1).
        self.theta = np.stack([np.ones(H), np.zeros(H),
                               np.full(H, -1.0)], axis=1).astype(np.float32)

    def qkv(self, tokens):
        x = self.embed[tokens]                                   # [L, D]
        L = len(tokens)
        q = (x @ self.wq).reshape(L, H, HEAD).transpose(1, 0, 2)[None]
        k = (x @ self.wk).reshape(L, HKV, HEAD).transpose(1, 0, 2)[None]
        v = (x @ self.wv).reshape(L, HKV, HEAD).transpose(1, 0, 2)[None]
        return x, [np.ascontiguousarray(a) for a in (q, k, v)]

    @staticmethod
    def positions(start, count):
        # Token index, scaled so that the spectrum sees a few periods.
        return (np.arange(start, start + count, dtype=np.float32) / 64.0
                ).reshape(1, count, 1)

    def logits(self, x, attended):
        L = x.shape[0]
        o = attended[0].transpose(1, 0, 2).reshape(L, H * HEAD)
        return (x + o @ self.wo) @ self.embed.T


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompt", type=int, default=1024)
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    module = flt.compile(attention_module(), "cpu")
    module.set_num_threads(args.threads)
    block = Block()
    g = np.random.default_rng(1)
    tokens = list(g.integers(0, VOCAB, args.prompt))
    features = HEAD * 2 * MF
    state = (np.zeros((1, H, features, HEAD), np.float32),
             np.zeros((1, H, features), np.float32))

    # Prefill in chunks: each chunk continues from the previous state.
    begin = time.perf_counter()
    for lo in range(0, len(tokens), CHUNK):
        chunk = tokens[lo:lo + CHUNK]
        x, (q, k, v) = block.qkv(chunk)
        out, *state = module.prefill(q, k, v,
                                     block.positions(lo, len(chunk)),
                                     block.xi, block.theta, *state)
    prefill_ms = (time.perf_counter() - begin) * 1e3
    next_token = int(np.argmax(block.logits(x, out)[-1]))

    # Decoding: one token per step, from the state.
    rows, step_ms = [], []
    for _ in range(args.tokens):
        tokens.append(next_token)
        x, (q, k, v) = block.qkv([next_token])
        begin = time.perf_counter()
        out, *state = module.step(q, k, v,
                                  block.positions(len(tokens) - 1, 1),
                                  block.xi, block.theta, *state)
        step_ms.append((time.perf_counter() - begin) * 1e3)
        rows.append(out)
        next_token = int(np.argmax(block.logits(x, out)[-1]))

    # What a model without a state does for each token: the whole prefix.
    x, (q, k, v) = block.qkv(tokens)
    r = block.positions(0, len(tokens))
    recompute_ms = []
    for _ in range(3):
        begin = time.perf_counter()
        full = module.full(q, k, v, r, block.xi, block.theta)
        recompute_ms.append((time.perf_counter() - begin) * 1e3)

    generated = np.concatenate(rows, axis=2)
    expected = full[:, :, -args.tokens:]
    error = np.abs(generated - expected).max() / np.abs(expected).max()
    step = float(np.median(step_ms))
    recompute = float(np.median(recompute_ms))
    print(f"prompt {args.prompt} tokens (prefill in chunks of {CHUNK}: "
          f"{prefill_ms:.1f} ms), {args.tokens} generated, {args.threads} "
          f"thread(s); H = {H} query heads over {HKV} key/value heads, "
          f"state {features} x {HEAD} per head")
    print(f"time per generated token: {step:.3f} ms with the state, "
          f"{recompute:.1f} ms recomputing the {len(tokens)}-token prefix "
          f"({step / recompute * 100:.2f} %)")
    print(f"generated rows vs one causal run over all {len(tokens)} tokens: "
          f"max deviation {error:.2e} of max |row|: "
          f"{'PASS' if error < 1e-3 else 'FAIL'}")
    return 0 if error < 1e-3 else 1


if __name__ == "__main__":
    raise SystemExit(main())
