"""Shared bookkeeping of the flt.compat tests (test/python/compat_*.py):
each check compares flt, through flt.compat, with the float64 evaluation of
an official forward (test/lib/official_standins.py) within
docs/Semantics.md's tolerances, and the largest relative RMS error per form
is printed at the end."""

import numpy as np

from flt import reference

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


def finish(name):
    print("largest relative RMS error per form:")
    for form, value in worst.items():
        print(f"  {form}: {value:.1e}")
    print(f"{name}: {checks[0]} checks, {len(failures)} failures")
    if failures:
        print("failed:", *failures, sep="\n  ")
