# flt.compat (docs/Compatibility.md): fairseq-evo's Urpe (every core and
# P flt expresses, odd and even d, theta types a/b/c and learned,
# state_dict in and out, the refused configurations),
# converted to flt IR and arguments, compiled, and run against the float64
# evaluation of the official forward (test/lib/official_standins.py,
# written from the official sources' math; they stand in for the official
# code, which is not installed here), within docs/Semantics.md section 3's
# tolerances. Prints the largest relative RMS error per form.
# REQUIRES: python-bindings
# RUN: %python %s | FileCheck %s
# CHECK: compat_urpe: {{[0-9]+}} checks, 0 failures

import types

import numpy as np
import torch

from flt import compat
from compat_checks import close, expect, finish, gap
import official_standins as off

torch.manual_seed(1)
g = np.random.default_rng(2026)


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

bad = off.urpe_permutation_table(torch.randperm(8), 4)
bad[0, 2, 3] = 8
try:
    compat.Urpe(3, 1, permutation=bad)
    expect("Urpe: a table row that is not a permutation is refused", False)
except ValueError as error:
    expect("Urpe: a table row that is not a permutation is refused",
           "permutation of 0..d-1" in str(error))

for core, P, why in ((4, 1, "complex exp"), (1, 3, "Fourier P")):
    try:
        compat.Urpe(core, P, embedding_dim=8)
        expect(f"Urpe: core {core} P {P} ({why}) is refused", False)
    except compat.UnsupportedError as error:
        expect(f"Urpe: core {core} P {P} ({why}) is refused", True,
               f"({str(error)[:60]}...)")

finish("compat_urpe")
