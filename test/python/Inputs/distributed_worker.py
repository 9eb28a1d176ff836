"""One rank of test/python/distributed.py, launched by flt.distributed.run.

    worker.py check L SPLITS CASES forward and backward of the cases CASES
                                   (indices, comma-separated; "all") on this
                                   rank's shard (SPLITS: the shard lengths,
                                   comma-separated, summing to L) against
                                   float64 autograd of the whole sequence
    worker.py disagree             rank 1 passes another head count
    worker.py die                  rank 1 exits before the collective
"""

import datetime
import os
import sys

import numpy as np
import torch
import torch.distributed as dist

import flt.distributed
from flt import reference_autograd as ra
from flt_harness import check, expect, finish, mixture_theta, positions, rng

dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=60))
rank, size = dist.get_rank(), dist.get_world_size()
mode = sys.argv[1]

if mode == "disagree":
    H = 2 if rank != 1 else 3
    x = torch.rand(1, H, 4, 3)
    try:
        flt.distributed.linear_attention(x, x, x)
        expect(f"rank {rank}: disagreeing shapes are refused", False)
    except ValueError as error:
        expect(f"rank {rank}: disagreeing shapes are refused",
               "disagree" in str(error), str(error))
    finish()
    sys.exit(0)

if mode == "die":
    if rank == 1:
        sys.exit(3)
    x = torch.rand(1, 2, 4, 3)
    flt.distributed.linear_attention(x, x, x)   # waits for rank 1
    sys.exit(0)

L = int(sys.argv[2])
splits = [int(s) for s in sys.argv[3].split(",")]
assert len(splits) == size and sum(splits) == L
selected = None if sys.argv[4] == "all" else {int(c) for c in
                                              sys.argv[4].split(",")}
start = sum(splits[:rank])
rows = slice(start, start + splits[rank])
g = rng(11)   # the same draws on every rank: the whole sequence's inputs


def shard(x, axis):
    index = [slice(None)] * x.ndim
    index[axis] = rows
    return x[tuple(index)]


def run_case(label, fn, reference, inputs, token_axes, grad_names):
    """`inputs`: whole-sequence float32 arrays; token_axes[i]: the axis of
    inputs[i] that is sharded (None: every rank has all of it)."""
    local = []
    for x, axis in zip(inputs, token_axes):
        part = x if axis is None else shard(x, axis)
        local.append(torch.tensor(np.ascontiguousarray(part),
                                  requires_grad=True))
    out = fn(*local)
    want = reference(*[torch.tensor(x, dtype=torch.float64,
                                    requires_grad=True) for x in inputs])
    cot = rng(5).standard_normal(tuple(want.shape)).astype(np.float32)
    # The whole sequence's loss is the sum of the ranks' losses.
    (out * torch.tensor(shard(cot, 2))).sum().backward()
    leaves = [torch.tensor(x, dtype=torch.float64, requires_grad=True)
              for x in inputs]
    full = reference(*leaves)
    full.backward(torch.tensor(cot, dtype=torch.float64))
    check(f"rank {rank} {label}: out", out.detach().numpy(),
          shard(full.detach().numpy(), 2))
    for name, x, leaf, axis in zip(grad_names, local, leaves, token_axes):
        if name is None:
            continue
        # An empty shard's inputs take no part in its (empty) output.
        grad = x.grad.clone() if x.grad is not None else torch.zeros_like(x)
        if axis is None:   # a parameter: the ranks' gradients add up
            dist.all_reduce(grad)
            ref = leaf.grad.numpy()
        else:
            ref = shard(leaf.grad.numpy(), axis)
        whole = np.linalg.norm(leaf.grad.numpy())
        if np.linalg.norm(ref) <= 1e-9 * max(whole, 1.0):
            # Zero in exact arithmetic on this shard (a causal first row
            # alone: out_0 = v_0 whatever fq_0 is): f32 leaves only noise.
            peak = float(np.max(np.abs(grad.numpy()), initial=0.0))
            expect(f"rank {rank} {label}: d{name} (zero in exact "
                   f"arithmetic)", peak <= 1e-5 * max(whole, 1.0),
                   f"max {peak:.1e}")
            continue
        check(f"rank {rank} {label}: d{name}", grad.numpy(), ref,
              gradient=True)


B, H, m, e, r = 2, 4, 6, 5, 3
# Cases 0-3: linear attention; 4, 5: the FLT layer.
case = -1
for causal in (False, True):
    for rpe, kv in ((False, 2), (True, 4)):
        case += 1
        if selected is not None and case not in selected:
            continue
        normalize = "divide" if not rpe else "guarded"
        arrays = [np.abs(g.standard_normal((B, H, L, m))) + 0.1,
                  np.abs(g.standard_normal((B, kv, L, m))) + 0.1,
                  g.standard_normal((B, kv, L, e))]
        axes = [2, 2, 2]
        names = ["fq", "fk", "v"]
        if rpe:
            arrays += [np.abs(g.standard_normal((B, H, L, r))) + 0.1,
                       np.abs(g.standard_normal((B, H, L, r))) + 0.1]
            axes += [2, 2]
            names += ["phi", "psi"]
        arrays = [a.astype(np.float32) for a in arrays]

        def fn(*x, causal=causal, normalize=normalize):
            return flt.distributed.linear_attention(
                *x, causal=causal, normalize=normalize, eps=1e-3)

        def reference(fq, fk, v, *rest, causal=causal, normalize=normalize):
            phi, psi = rest if rest else (None, None)
            return ra.linear_attention(fq, fk, v, phi, psi, causal, normalize,
                                       1e-3)
        run_case(f"linear_attention causal={causal} rpe={rpe} H_kv={kv}", fn,
                 reference, arrays, axes, names)

# The FLT layer: p = 3 positions travel with their tokens; theta and xi are
# the same everywhere.
d, mf, p = 4, 3, 3
for causal in (False, True):
    case += 1
    if selected is not None and case not in selected:
        continue
    arrays = [g.standard_normal((B, H, L, d)) for _ in range(3)]
    arrays += [positions(g, B, L, p), g.standard_normal((H, mf, p)),
               mixture_theta(g, H, p, 1)]
    arrays = [np.asarray(a, np.float32) for a in arrays]

    def fn(q, k, v, r_, xi, theta, causal=causal):
        return flt.distributed.attention(q, k, v, r_, xi, theta,
                                         causal=causal)

    def reference(q, k, v, r_, xi, theta, causal=causal):
        return ra.attention(q, k, v, r_, xi, theta, "relu",
                            "gaussian_mixture", causal=causal)
    run_case(f"attention p=3 causal={causal}", fn, reference, arrays,
             [2, 2, 2, 1, None, None], ["q", "k", "v", "r", None, "theta"])
finish()
