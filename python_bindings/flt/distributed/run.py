"""Launches a script on N local ranks of a torch.distributed job.

    python3 -m flt.distributed.run -n 2 script.py [args...]

Each rank is `python3 script.py args...` with the standard variables
MASTER_ADDR (127.0.0.1), MASTER_PORT (a free port), RANK, WORLD_SIZE,
LOCAL_RANK and LOCAL_WORLD_SIZE set, so `torch.distributed.
init_process_group("gloo")` works in it unchanged (as under torchrun, which
Debian's torch 1.13 cannot start under Python 3.11). When a rank fails, the
others are stopped (a rank waiting in a collective for a dead peer would
otherwise wait for the group's timeout) and the launcher exits with the
failed rank's status; --timeout bounds the whole job (exit status 124).
"""

import argparse
import os
import signal
import socket
import subprocess
import sys
import time


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(processes):
    for p in processes:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 5
    for p in processes:
        try:
            p.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def launch(script, args, ranks: int, timeout: float = 0.0) -> int:
    """Runs `script` on `ranks` processes; returns the job's exit status."""
    if ranks < 1:
        raise ValueError("the number of ranks must be at least 1")
    env = dict(os.environ, MASTER_ADDR="127.0.0.1",
               MASTER_PORT=str(_free_port()), WORLD_SIZE=str(ranks),
               LOCAL_WORLD_SIZE=str(ranks))
    processes = []
    for rank in range(ranks):
        processes.append(subprocess.Popen(
            [sys.executable, script, *args],
            env=dict(env, RANK=str(rank), LOCAL_RANK=str(rank))))
    start = time.monotonic()
    try:
        while True:
            codes = [p.poll() for p in processes]
            failed = [(i, c) for i, c in enumerate(codes)
                      if c is not None and c != 0]
            if failed:
                rank, code = failed[0]
                sys.stderr.write(f"flt.distributed.run: rank {rank} exited "
                                 f"with status {code}; stopping the others\n")
                _stop(processes)
                return code if code > 0 else 1
            if all(c == 0 for c in codes):
                return 0
            if timeout and time.monotonic() - start > timeout:
                sys.stderr.write(f"flt.distributed.run: the job ran past "
                                 f"{timeout:g} s; stopping every rank\n")
                _stop(processes)
                return 124
            time.sleep(0.05)
    except KeyboardInterrupt:
        _stop(processes)
        return 130


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python3 -m flt.distributed.run",
        description="Run a script on N local torch.distributed ranks.")
    parser.add_argument("-n", "--nproc", type=int, default=2,
                        help="number of ranks (default 2)")
    parser.add_argument("--timeout", type=float, default=0.0,
                        help="seconds before every rank is stopped "
                             "(default: none)")
    parser.add_argument("script")
    parser.add_argument("args", nargs=argparse.REMAINDER)
    options = parser.parse_args(argv)
    if options.nproc < 1:
        parser.error("-n must be at least 1")
    if not os.path.exists(options.script):
        parser.error(f"no such script: {options.script}")
    return launch(options.script, options.args, options.nproc,
                  options.timeout)


if __name__ == "__main__":
    sys.exit(main())
