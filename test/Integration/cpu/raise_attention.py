# flt-raise-attention end to end: every raised input of
# test/Conversion/LinalgToFLT (linalg as torch-mlir writes it, and TOSA) is
# raised by flt-opt into the expected flt op, and compiled as it is with
# flt-compile --raise-attention, run, and compared with the float64 formula
# of what the *original* IR computes (written here from the IR, not from
# flt).
# RUN: %python %s

import os
import subprocess

import numpy as np
from flt_harness import (REPLAYING, Library, check, expect, finish, normal,
                         positive, rng, tool)

# In a GPU bundle (scripts/run-gpu-tests.sh) the inputs lie next to the test.
HERE = os.path.dirname(os.path.abspath(__file__))
INPUTS = os.path.join(HERE, "LinalgToFLT")
if not os.path.isdir(INPUTS):
    INPUTS = os.path.join(HERE, "..", "..", "Conversion", "LinalgToFLT")


def chunks(name):
    """The functions of a --split-input-file test, keyed by name."""
    with open(os.path.join(INPUTS, name)) as f:
        text = f.read()
    result = {}
    for chunk in text.split("// -----"):
        body = "\n".join(l for l in chunk.splitlines()
                         if not l.lstrip().startswith("//"))
        for line in body.splitlines():
            if line.startswith("func.func @"):
                result[line.split("@")[1].split("(")[0]] = body
    return result


def raised(ir):
    done = subprocess.run([tool("flt-opt"), "--flt-raise-attention", "-"],
                          input=ir, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit("flt-opt failed:\n" + done.stderr)
    return done.stdout


def softmax(x):
    x = x - x.max(-1, keepdims=True)
    e = np.exp(x)
    return e / e.sum(-1, keepdims=True)


def elu_plus_one(x):
    return np.where(x > 0, x, np.expm1(x)) + 1


def relu(x):
    return np.maximum(x, 0)


def normalized(a, v, eps):
    return (a @ v) / (a.sum(-1, keepdims=True) + eps)


def f64(*arrays):
    return [a.astype(np.float64) for a in arrays]


g = rng(7)
cases = []

# Softmax attention.
q, k, v = normal(g, (2, 4, 16, 32)), normal(g, (2, 4, 16, 32)), \
    normal(g, (2, 4, 16, 8))
Q, K, V = f64(q, k, v)
cases.append(("softmax_linalg.mlir", "softmax_4d", "flt.kernel_attention",
              [q, k, v],
              softmax(Q @ K.swapaxes(-1, -2) / np.float32(5.656854)) @ V))
q, k, v = (normal(g, (4, 24, 16)) for _ in range(3))
Q, K, V = f64(q, k, v)
cases.append(("softmax_linalg.mlir", "named_softmax_dynamic",
              "flt.kernel_attention", [q, k, v],
              softmax(0.25 * Q @ K.swapaxes(-1, -2)) @ V))
q, k, v = (normal(g, (8, 16, 32)) for _ in range(3))
Q, K, V = f64(q, k, v)
cases.append(("attention_tosa.mlir", "softmax", "flt.kernel_attention",
              [q, k, v],
              softmax(np.float32(0.17677) * Q @ K.swapaxes(-1, -2)) @ V))

q, k, v = normal(g, (2, 4, 8)), normal(g, (2, 4, 8)), normal(g, (2, 4, 3))
Q, K, V = f64(q, k, v)
scores = 0.5 * Q @ K.swapaxes(-1, -2)
scores[:, np.triu(np.ones((4, 4), bool), 1)] = -np.inf
cases.append(("attention_tosa.mlir", "causal_softmax", "flt.kernel_attention",
              [q, k, v], softmax(scores) @ V))

q, k, v = normal(g, (2, 4, 8)), normal(g, (2, 4, 8)), normal(g, (2, 4, 3))
Q, K, V = f64(q, k, v)
distance = np.arange(4)[None, :] - np.arange(4)[:, None]
alibi = np.stack([0.5 * distance, 0.25 * distance])
cases.append(("attention_tosa.mlir", "alibi_bias", "flt.kernel_attention",
              [q, k, v], softmax(0.5 * Q @ K.swapaxes(-1, -2) + alibi) @ V))
scores = 0.5 * Q @ K.swapaxes(-1, -2) + np.where(distance > 0, -np.inf, 0.0)
cases.append(("attention_tosa.mlir", "additive_causal_mask",
              "flt.kernel_attention", [q, k, v], softmax(scores) @ V))

# Linear attention.
q, k, v = normal(g, (2, 4, 8)), normal(g, (2, 4, 8)), normal(g, (2, 4, 3))
Q, K, V = f64(q, k, v)
a = (relu(Q) @ relu(K).swapaxes(-1, -2)) * np.tril(np.ones((4, 4)))
cases.append(("attention_tosa.mlir", "causal_relu", "flt.linear_attention",
              [q, k, v], normalized(a, V, np.float32(1e-4))))
q, k, v = normal(g, (1, 2, 16, 8)), normal(g, (1, 2, 16, 8)), \
    normal(g, (1, 2, 16, 4))
phi, psi = positive(g, (1, 2, 16, 6)), positive(g, (1, 2, 16, 6))
Q, K, V, PHI, PSI = f64(q, k, v, phi, psi)
a = (elu_plus_one(Q) @ elu_plus_one(K).swapaxes(-1, -2)) * \
    (PHI @ PSI.swapaxes(-1, -2))
cases.append(("linear_linalg.mlir", "flt_quadratic", "flt.linear_attention",
              [q, k, v, phi, psi], normalized(a, V, np.float32(1e-6))))
# Shifted so that no row of relu features is all zero (den = 0).
q, k, v = normal(g, (4, 20, 8)) + 1, normal(g, (4, 20, 8)) + 1, \
    normal(g, (4, 20, 6))
Q, K, V = f64(q, k, v)
a = relu(Q) @ relu(K).swapaxes(-1, -2)
cases.append(("linear_linalg.mlir", "einsum_relu", "flt.linear_attention",
              [q, k, v], normalized(a, V, 0.0)))

# Rotary embeddings (the tables of rotary_linalg.mlir, rebuilt in f32 as
# the IR holds them).
def rotary_tables(length, dim, pairing):
    inv = (1 / 10000 ** (np.arange(0, dim, 2, dtype=np.float32) / dim))
    angle = np.arange(length, dtype=np.float32)[:, None] * \
        inv.astype(np.float32)
    angle = np.concatenate([angle, angle], -1) if pairing == "halves" \
        else np.repeat(angle, 2, -1)
    return f64(np.cos(angle).astype(np.float32),
               np.sin(angle).astype(np.float32))


x = normal(g, (1, 2, 4, 4))
X, = f64(x)
cos, sin = rotary_tables(4, 4, "halves")
turned = np.concatenate([-X[..., 2:], X[..., :2]], -1)
cases.append(("rotary_linalg.mlir", "rotate_half", "flt.position_transform",
              [x], X * cos + turned * sin))
x = normal(g, (2, 4, 3, 4))
X, = f64(x)
cos, sin = rotary_tables(4, 4, "interleaved")
turned = np.stack([-X[..., 1::2], X[..., ::2]], -1).reshape(X.shape)
cases.append(("rotary_linalg.mlir", "rotate_every_two_token_major",
              "flt.position_transform", [x],
              X * cos[:, None, :] + turned * sin[:, None, :]))

sources = {}
for test, name, op, inputs, ref in cases:
    sources.setdefault(test, chunks(test))
    source = sources[test][name]
    if not REPLAYING:  # a GPU host has no flt-opt
        ir = raised(source)
        expect(f"{name}: raised to {op}", op in ir and "linalg.batch_matmul"
               not in ir and "math.exp" not in ir)
    out, = Library([source], flags=["--raise-attention"]).run(name, inputs)
    check(f"{name}: flt-compile --raise-attention vs float64", out, ref)

finish()
