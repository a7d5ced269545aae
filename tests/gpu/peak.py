#!/usr/bin/env python3
"""Allocate GPU memory in known steps, for checking what `gpu_watch -- CMD`
reports (tests/gpu/check_peak.sh runs it). The main process holds 1 GiB,
then 1 + 2 = 3 GiB, then 1 + 2 + 4 = 7 GiB, each for HOLD seconds; a child
process (multiprocessing, spawn) holds 1 GiB meanwhile, so that the summary
must show two processes. Prints what it allocated, as JSON on the last line.
CUDA's own context (a few hundred MiB per process) comes on top of these."""
import json
import multiprocessing as mp
import os
import sys
import time

import torch

GIB = 1 << 30
HOLD = float(os.environ.get("PEAK_HOLD_S", "4"))
STEPS = [1, 2, 4]       # GiB added at each step, held together
CHILD_GIB = 1


def child(ready, done):
    x = torch.empty(CHILD_GIB * GIB, dtype=torch.uint8, device="cuda")
    x.fill_(1)
    torch.cuda.synchronize()
    print(f"peak.py child {os.getpid()}: holding {CHILD_GIB} GiB", flush=True)
    ready.set()
    done.wait(120)


def main():
    if not torch.cuda.is_available():
        print("peak.py: no CUDA device", file=sys.stderr)
        return 2
    ctx = mp.get_context("spawn")
    ready, done = ctx.Event(), ctx.Event()
    p = ctx.Process(target=child, args=(ready, done))
    p.start()
    ready.wait(120)
    held = []
    total = 0
    for g in STEPS:
        t = torch.empty(g * GIB, dtype=torch.uint8, device="cuda")
        t.fill_(1)  # touch it, so the memory is really there
        torch.cuda.synchronize()
        held.append(t)
        total += g
        print(f"peak.py {os.getpid()}: holding {total} GiB "
              f"(torch reserved {torch.cuda.memory_reserved() / (1 << 20):.0f} MiB)", flush=True)
        time.sleep(HOLD)
    done.set()
    p.join(60)
    held.clear()
    torch.cuda.empty_cache()
    print(json.dumps({"parent_pid": os.getpid(), "child_pid": p.pid,
                      "parent_peak_mib": total * 1024, "child_peak_mib": CHILD_GIB * 1024,
                      "hold_s": HOLD}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
