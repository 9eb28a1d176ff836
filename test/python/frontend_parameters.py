# flt.frontends.torch with parameters kept as run-time arguments (issue:
# training the other seed methods): a softmax attention with a learned
# relative-position bias table and one with learned rotary angles import
# with the parameter as an argument of the raised op (flt's bias layout
# b [H, 2L - 1], theta per head) instead of a constant; each call reads the
# parameter's current value (no recompilation after an update), and with
# gradients=True autograd takes gradients through flt's kernels back to the
# parameter, checked against float64 torch autograd of the module, and a
# few optimizer steps fine-tune the imported model. A parameter that
# reaches the IR other than as a copy is refused by name.
# REQUIRES: python-bindings
# RUN: %python %s | FileCheck %s

import math

import numpy as np
import torch
import torch.nn as nn

from flt.frontends import UnsupportedError
from flt.frontends import torch as flt_torch

torch.manual_seed(0)
B, H, L, D = 2, 2, 12, 8
MAX_L = 16


class RelativeBias(nn.Module):
    """Softmax attention plus rel[h, j - i + MAX_L - 1], a learned table
    (zero at initialization, as T5-style biases are)."""

    def __init__(self, scale=1.0):
        super().__init__()
        self.rel = nn.Parameter(torch.zeros(H, 2 * MAX_L - 1))
        self.scale = scale

    def forward(self, q, k, v):
        n = q.shape[2]
        position = torch.arange(n)
        index = position[None, :] - position[:, None] + MAX_L - 1
        bias = self.rel[:, index]
        if self.scale != 1.0:
            bias = bias * self.scale
        scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]) + bias
        return scores.softmax(-1) @ v


def rotate_every_two(x):
    x1, x2 = x[..., ::2], x[..., 1::2]
    return torch.stack((-x2, x1), dim=-1).flatten(-2)


class LearnedRotary(nn.Module):
    """LRPE-style rotary embedding with learned angles theta [D/2]."""

    def __init__(self):
        super().__init__()
        self.theta = nn.Parameter(
            1.0 / (100 ** (torch.arange(0, D, 2).float() / D)))

    def forward(self, q, k, v):
        angles = torch.arange(q.shape[2]).float()[:, None] * self.theta
        cos = angles.cos().repeat_interleave(2, -1)
        sin = angles.sin().repeat_interleave(2, -1)
        q = q * cos + rotate_every_two(q) * sin
        k = k * cos + rotate_every_two(k) * sin
        scores = q @ k.transpose(-1, -2) / math.sqrt(D)
        return scores.softmax(-1) @ v


def rel_rms(x, ref):
    x, ref = np.asarray(x, np.float64), np.asarray(ref, np.float64)
    return float(np.sqrt(np.mean((x - ref) ** 2) / np.mean(ref ** 2)))


def reference(module, inputs, cotangent, parameter):
    """Output and gradients (inputs, then `parameter`) of the module in
    float64 torch autograd."""
    twin = type(module)()
    twin.load_state_dict(module.state_dict())
    twin = twin.double()
    xs = [x.detach().double().requires_grad_() for x in inputs]
    out = twin(*xs)
    (out * cotangent.double()).sum().backward()
    return out.detach(), [x.grad for x in xs] + [
        dict(twin.named_parameters())[parameter].grad]


def check(label, value, ref, tolerance=2e-5):
    error = rel_rms(value.detach().numpy(), ref.numpy())
    status = "PASS" if error <= tolerance else "FAIL"
    print(f"{status}: {label}: rel-rms {error:.1e}")
    assert error <= tolerance, label


q, k, v = (torch.randn(B, H, L, D) for _ in range(3))
cotangent = torch.randn(B, H, L, D)

for make, parameter, op in ((RelativeBias, "rel", "flt.kernel_attention"),
                            (LearnedRotary, "theta",
                             "flt.position_transform")):
    model = make()
    run = flt_torch.compile(model, (q, k, v), parameters=[parameter],
                            gradients=True)
    ir = str(run.ir)
    # The parameter is an argument of the raised op, not a constant.
    assert op in ir, ir
    print(f"{make.__name__}: {run.parameters}")

    for step in ("initial", "updated"):
        if step == "updated":
            # A new value, no recompilation.
            with torch.no_grad():
                getattr(model, parameter).add_(
                    0.3 * torch.randn_like(getattr(model, parameter)))
        xs = [x.clone().requires_grad_() for x in (q, k, v)]
        model.zero_grad()
        out = run(*xs)
        (out * cotangent).sum().backward()
        ref_out, ref_grads = reference(model, (q, k, v), cotangent, parameter)
        check(f"{make.__name__} {step}: out", out, ref_out)
        for name, x, ref in zip(("dq", "dk", "dv"), xs, ref_grads):
            check(f"{make.__name__} {step}: {name}", x.grad, ref)
        check(f"{make.__name__} {step}: d{parameter}",
              getattr(model, parameter).grad, ref_grads[3])
# CHECK: RelativeBias: [ParameterArgument('rel', shape=(2, 23))]
# CHECK: PASS: RelativeBias initial: out
# CHECK: PASS: RelativeBias initial: drel
# CHECK: PASS: RelativeBias updated: drel
# CHECK: LearnedRotary: [ParameterArgument('theta', shape=(2, 4))]
# CHECK: PASS: LearnedRotary initial: dtheta
# CHECK: PASS: LearnedRotary updated: dtheta

# Fine-tuning the imported model: its bias learns a teacher's through
# flt's kernels (forward and backward) and torch.optim.
teacher, student = RelativeBias(), RelativeBias()
with torch.no_grad():
    teacher.rel.copy_(torch.randn(H, 2 * MAX_L - 1))
target = teacher(q, k, v).detach()
run = flt_torch.compile(student, (q, k, v), parameters=["rel"],
                        gradients=True)
optimizer = torch.optim.Adam(student.parameters(), lr=0.1)
losses = []
for _ in range(40):
    optimizer.zero_grad()
    loss = ((run(q, k, v) - target) ** 2).mean()
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
print(f"fine-tuning: loss {losses[0]:.2e} -> {losses[-1]:.2e}")
assert losses[-1] < 0.05 * losses[0], losses
# CHECK: fine-tuning: loss

# A parameter that reaches the IR scaled is not a copy of its entries.
try:
    flt_torch.import_module(RelativeBias(scale=2.0), (q, k, v),
                            parameters=["rel"])
    print("FAIL: a scaled parameter was accepted")
except UnsupportedError as e:
    print(f"refused: {e}")
# CHECK: refused: parameters: 'rel' reaches the raised IR's {{.*}} through a computation other than a copy or gather

try:
    flt_torch.import_module(RelativeBias(), (q, k, v), parameters=["bias"])
except ValueError as e:
    print(f"refused: {e}")
# CHECK: refused: parameters: the module has no parameter or buffer 'bias' (it has rel)

# The same through ONNX: the exported table stays an initializer-fed
# argument; new values go in through run.values.
import io  # noqa: E402
import warnings  # noqa: E402

from flt.frontends import onnx as flt_onnx  # noqa: E402

warnings.filterwarnings("ignore")
model = RelativeBias()
with torch.no_grad():
    model.rel.copy_(torch.randn(H, 2 * MAX_L - 1))
buffer = io.BytesIO()
torch.onnx.export(model, (q, k, v), buffer, input_names=["q", "k", "v"],
                  output_names=["out"], opset_version=14)
import onnx  # noqa: E402
proto = onnx.load_from_string(buffer.getvalue())
names = [t.name for t in proto.graph.initializer]
table = next(n for n in names if "rel" in n)
run = flt_onnx.compile(proto, parameters=[table])
print(f"onnx: {run.parameters[0].index.shape}")
# CHECK: onnx: (2, 23)
check("onnx initial: out", torch.from_numpy(run(q.numpy(), k.numpy(),
                                                v.numpy())[0]),
      reference(model, (q, k, v), cotangent, "rel")[0])
with torch.no_grad():
    model.rel.add_(torch.randn(H, 2 * MAX_L - 1))
run.values[table] = model.rel.detach().numpy().copy()
check("onnx updated: out", torch.from_numpy(run(q.numpy(), k.numpy(),
                                                v.numpy())[0]),
      reference(model, (q, k, v), cotangent, "rel")[0])
# CHECK: PASS: onnx initial: out
# CHECK: PASS: onnx updated: out
