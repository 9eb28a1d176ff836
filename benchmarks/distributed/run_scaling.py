"""Sequence-parallel FLT attention (flt.distributed): what one layer sends
per rank, what the collectives and the compute cost here, and a model of
the scaling on 8-64 GPUs at L = 1M next to ring attention.

    python3 benchmarks/distributed/run_scaling.py [--quick]

Measured on this machine (gloo over loopback, CPU kernels), the FLT layer
with B = 1, H = 2, d = e = 64, m_f = 16 (state features D' = d 2 m_f = 2048):

* bytes each rank passes to the collectives per layer, at L = 4096 and
  65536 (2 ranks; counted at torch.distributed's all_reduce/all_gather);
* the median time of a gloo all-reduce and all-gather of one state;
* forward and forward+backward of the causal layer at L = 16384 on 1 and 2
  ranks (strong scaling on 2 cores: what it is, not a GPU projection).

The model (printed and saved with a plot) takes the message size as
measured and the GPU numbers as stated assumptions (ASSUMPTIONS below):
per-rank compute = (L / P) x the work per token at the assumed sustained
rate; LASP-2's all-gather moves (P - 1) states per rank; ring attention
moves each rank's keys and values around the ring, (P - 1) / P L H (d + e)
4 bytes per rank per layer. Efficiency = compute / (compute + exposed
communication), with no overlap assumed for either (conservative for both).
Writes results/scaling.json and results/scaling.png.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
B, H, D_HEAD, E, MF = 1, 2, 64, 64, 16
D_STATE = D_HEAD * 2 * MF

# GPU-side assumptions of the model (not measured here: no GPU, no NCCL).
ASSUMPTIONS = {
    "sustained_flops_per_gpu": 50e12,    # f32/tf32 mixed, a fraction of peak
    "nvlink_bytes_per_s": 300e9,         # per GPU, within an 8-GPU node
    "infiniband_bytes_per_s": 40e9,      # per GPU, across nodes (400 Gb/s)
    "latency_s": 10e-6,                  # per collective step
    "gpus_per_node": 8,
    "sequence_length": 1 << 20,
    "layers_counted": 1,
}


def flops_per_token():
    """Forward of one FLT layer's linear attention per token: the state
    update (D' e) and the query pass (D' (e + 1)), 2 flops each, per head;
    the backward about twice that."""
    return H * 2 * D_STATE * (2 * E + 1)


# -- the ranks' side -------------------------------------------------------

def worker(args):
    import datetime

    import numpy as np
    import torch
    import torch.distributed as dist

    import flt.distributed

    dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=600))
    rank, size = dist.get_rank(), dist.get_world_size()
    torch.set_num_threads(1)
    counted = {"bytes": 0, "calls": 0}
    real_all_reduce, real_all_gather = dist.all_reduce, dist.all_gather

    def all_reduce(tensor, *a, **k):
        counted["bytes"] += tensor.numel() * tensor.element_size()
        counted["calls"] += 1
        return real_all_reduce(tensor, *a, **k)

    def all_gather(parts, tensor, *a, **k):
        counted["bytes"] += tensor.numel() * tensor.element_size()
        counted["calls"] += 1
        return real_all_gather(parts, tensor, *a, **k)

    g = torch.Generator().manual_seed(0)

    def layer_inputs(L):
        shard = L // size
        q, k, v = (torch.randn(B, H, shard, D_HEAD, generator=g)
                   for _ in range(3))
        r = (torch.arange(rank * shard, (rank + 1) * shard,
                          dtype=torch.float32) / L).reshape(1, shard, 1)
        xi = torch.randn(H, MF, 1, generator=g)
        theta = torch.tensor([[1.0, 0.0, 0.0]]).repeat(H, 1)
        return q, k, v, r, xi, theta

    result = {"ranks": size}
    if args.mode == "bytes":
        for L in args.lengths:
            for causal in (False, True):
                inputs = layer_inputs(L)
                flt.distributed.attention(*inputs, causal=causal)  # compile
                dist.all_reduce, dist.all_gather = all_reduce, all_gather
                counted.update(bytes=0, calls=0)
                flt.distributed.attention(*inputs, causal=causal)
                dist.all_reduce, dist.all_gather = (real_all_reduce,
                                                    real_all_gather)
                result[f"L={L} causal={causal}"] = dict(counted)
        # The collectives alone on one state ([B, D' (e + 1)] per head).
        state = torch.randn(B, H * D_STATE * (E + 1))
        for name, call in (
                ("all_reduce", lambda: dist.all_reduce(state.clone())),
                ("all_gather", lambda: dist.all_gather(
                    [torch.empty_like(state) for _ in range(size)], state))):
            times = []
            for _ in range(args.repeats):
                dist.barrier()
                start = time.perf_counter()
                call()
                times.append(time.perf_counter() - start)
            result[f"{name}_s"] = statistics.median(times)
    else:
        L = args.lengths[0]
        inputs = [x.requires_grad_(True) for x in layer_inputs(L)]
        flt.distributed.attention(*inputs, causal=True).sum().backward()
        forward, both = [], []
        for _ in range(args.repeats):
            dist.barrier()
            start = time.perf_counter()
            out = flt.distributed.attention(*inputs, causal=True)
            middle = time.perf_counter()
            out.sum().backward()
            dist.barrier()
            end = time.perf_counter()
            forward.append(middle - start)
            both.append(end - start)
        result.update(L=L, forward_s=min(forward), forward_backward_s=min(both))
    if rank == 0:
        with open(args.out, "w") as f:
            json.dump(result, f)
    dist.destroy_process_group()


# -- the driver ------------------------------------------------------------

def launch(ranks, *worker_args):
    out = os.path.join(HERE, "results", f".rank0-{os.getpid()}.json")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    subprocess.run([sys.executable, "-m", "flt.distributed.run", "-n",
                    str(ranks), "--timeout", "1200", os.path.abspath(__file__),
                    "--worker", "--out", out, *worker_args], check=True,
                   env=env)
    with open(out) as f:
        data = json.load(f)
    os.remove(out)
    return data


def model(state_bytes):
    a = ASSUMPTIONS
    L = a["sequence_length"]
    rows = []
    for P in (8, 16, 32, 64):
        bandwidth = (a["nvlink_bytes_per_s"] if P <= a["gpus_per_node"]
                     else a["infiniband_bytes_per_s"])
        compute = L / P * 3 * flops_per_token() / a["sustained_flops_per_gpu"]
        # forward + backward: two state exchanges (the mirror), each an
        # all-gather receiving P - 1 states.
        lasp_bytes = 2 * (P - 1) * state_bytes
        lasp = 2 * (P - 1) * a["latency_s"] + lasp_bytes / bandwidth
        # Ring attention: keys and values (d + e per token and head) go
        # around the ring in the forward, and again with their gradients in
        # the backward.
        ring_bytes = 2 * (P - 1) / P * L * H * (D_HEAD + E) * 4 * B
        ring = 2 * (P - 1) * a["latency_s"] + ring_bytes / bandwidth
        rows.append(dict(P=P, compute_s=compute, lasp_bytes=lasp_bytes,
                         lasp_s=lasp, lasp_efficiency=compute / (compute + lasp),
                         ring_bytes=ring_bytes, ring_s=ring,
                         ring_efficiency=compute / (compute + ring)))
    return rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", action="store_true")
    parser.add_argument("--mode", default="bytes")
    parser.add_argument("--out")
    parser.add_argument("--lengths", type=int, nargs="+", default=[4096])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.worker:
        return worker(args)

    lengths = [4096, 16384] if args.quick else [4096, 65536]
    strong_L = 4096 if args.quick else 16384
    measured = launch(2, "--mode", "bytes", "--lengths", *map(str, lengths))
    strong = [launch(P, "--mode", "time", "--lengths", str(strong_L),
                     "--repeats", "3") for P in (1, 2)]
    state_bytes = 4 * B * H * D_STATE * (E + 1)
    rows = model(state_bytes)

    print(f"FLT layer B={B} H={H} d=e={D_HEAD} m_f={MF}: one state is "
          f"{state_bytes} bytes (H D' (e + 1) 4)")
    print("bytes each rank passes to the collectives per layer (2 ranks):")
    for L in lengths:
        for causal in (False, True):
            entry = measured[f"L={L} causal={causal}"]
            print(f"  L = {L:6d} causal={causal!s:5}: {entry['bytes']} bytes "
                  f"in {entry['calls']} collectives")
    print(f"gloo on loopback, one state: all-reduce "
          f"{measured['all_reduce_s'] * 1e3:.2f} ms, all-gather "
          f"{measured['all_gather_s'] * 1e3:.2f} ms (median of "
          f"{args.repeats})")
    one, two = strong
    print(f"strong scaling, causal layer at L = {strong_L} (2 cores, "
          f"1 thread per rank):")
    for entry in strong:
        print(f"  {entry['ranks']} rank(s): forward {entry['forward_s']:.3f} "
              f"s, forward+backward {entry['forward_backward_s']:.3f} s")
    print(f"  speedup 2 vs 1 rank: forward "
          f"{one['forward_s'] / two['forward_s']:.2f}x, forward+backward "
          f"{one['forward_backward_s'] / two['forward_backward_s']:.2f}x")
    print(f"model at L = {ASSUMPTIONS['sequence_length']} (assumptions: "
          f"{json.dumps(ASSUMPTIONS)}), forward+backward of one layer:")
    print("   P  compute ms  LASP bytes  LASP ms  LASP eff   ring bytes   "
          "ring ms  ring eff")
    for row in rows:
        print(f"  {row['P']:2d}  {row['compute_s'] * 1e3:10.3f}  "
              f"{row['lasp_bytes']:10.3g}  {row['lasp_s'] * 1e3:7.3f}  "
              f"{row['lasp_efficiency']:8.3f}  {row['ring_bytes']:11.3g}  "
              f"{row['ring_s'] * 1e3:8.3f}  {row['ring_efficiency']:8.3f}")

    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "scaling.json"), "w") as f:
        json.dump(dict(measured=measured, strong_scaling=strong,
                       state_bytes=state_bytes, assumptions=ASSUMPTIONS,
                       model=rows), f, indent=1)
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib missing: no plot")
        return
    fig, ax = plt.subplots(figsize=(6, 4))
    ps = [row["P"] for row in rows]
    ax.plot(ps, [row["lasp_efficiency"] for row in rows], "o-",
            label="flt.distributed (state all-gather)")
    ax.plot(ps, [row["ring_efficiency"] for row in rows], "s--",
            label="ring attention (K, V around the ring)")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("GPUs")
    ax.set_ylabel("predicted efficiency (no overlap)")
    ax.set_ylim(0, 1.05)
    ax.set_title(f"FLT layer, L = {ASSUMPTIONS['sequence_length']}, "
                 f"forward+backward (model)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(HERE, "results", "scaling.png"), dpi=120)


if __name__ == "__main__":
    main()
