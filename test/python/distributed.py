# flt.distributed (sequence-parallel FLT attention over torch.distributed,
# gloo on this machine's loopback): forward and backward of linear
# attention (with and without rpe, grouped heads, causal or not) and of the
# FLT layer (p = 3 positions) on 2, 3 and 4 ranks with uneven shards (one
# of them empty), each rank's rows and gradients against float64 autograd
# of the whole sequence; ranks that disagree on shapes all get the
# ValueError; a rank that dies stops the job instead of hanging it. The
# ranks run Inputs/distributed_worker.py under python3 -m
# flt.distributed.run.
# REQUIRES: python-bindings
# RUN: %python %s

import os
import subprocess
import sys
import time

from flt_harness import expect, finish

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "Inputs",
                      "distributed_worker.py")


def launch(ranks, *args, timeout=600):
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "flt.distributed.run", "-n", str(ranks),
         "--timeout", str(timeout), WORKER, *args],
        capture_output=True, text=True)
    return done, time.monotonic() - start


# Every case on 2 ranks; on 3 and 4 (two cores here) a causal and a
# non-causal one each.
for ranks, L, splits, cases in ((2, 11, "6,5", "all"),
                                (3, 13, "5,0,8", "3,4"),
                                (4, 9, "1,3,2,3", "0,5")):
    done, seconds = launch(ranks, "check", str(L), splits, cases)
    sys.stdout.write(done.stdout)
    expect(f"{ranks} ranks, L = {L} in shards {splits}: every rank's rows "
           f"and gradients match one device", done.returncode == 0,
           f"({seconds:.0f} s) {done.stderr[-2000:]}")

done, _ = launch(2, "disagree")
sys.stdout.write(done.stdout)
expect("disagreeing shapes: a ValueError on every rank",
       done.returncode == 0 and done.stdout.count("PASS") == 2,
       done.stderr[-2000:])

done, seconds = launch(2, "die", timeout=120)
expect("a rank that dies: the launcher stops the job with its status",
       done.returncode == 3 and seconds < 60 and
       "rank 1 exited with status 3" in done.stderr,
       f"status {done.returncode} after {seconds:.0f} s: "
       f"{done.stderr[-500:]}")

done = subprocess.run([sys.executable, "-m", "flt.distributed.run", "-n",
                       "0", WORKER], capture_output=True, text=True)
expect("-n 0 is a usage error", done.returncode == 2 and
       "at least 1" in done.stderr, done.stderr)
finish()
