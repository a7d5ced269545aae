#!/usr/bin/env python3
"""CUDA workloads for the real-GPU checks (needs PyTorch and a GPU).

  workload.py busy SECONDS [GPU...]  matmul loop (high SM use), 1 GiB held
  workload.py idle SECONDS MIB       hold MIB of GPU memory, run no kernels
  workload.py grow SECONDS           add 256 MiB every second
  workload.py steps SECONDS MIB...   hold each size in turn for SECONDS
                                     (a known peak for the summary check)
  workload.py loader SECONDS         a data-loader-bound loop: ~60 ms of
                                     Python preprocessing on the CPU, then a
                                     short GPU step (high cpu_pct, low SM use)

Prints "ready <pid>" on stdout once its memory is allocated."""
import os
import sys
import time

import torch

mode, seconds = sys.argv[1], float(sys.argv[2])
MiB = 1 << 20
end = time.time() + seconds
if mode == "busy":
    gpus = [int(g) for g in sys.argv[3:]] or [0]
    mats = [torch.randn(4096, 4096, device=f"cuda:{g}") for g in gpus]
    hold = [torch.empty(1024 * MiB, dtype=torch.uint8, device=f"cuda:{g}") for g in gpus]
    print("ready", os.getpid(), flush=True)
    while time.time() < end:
        for m in mats:
            m @ m
        torch.cuda.synchronize()
elif mode == "idle":
    hold = torch.empty(int(sys.argv[3]) * MiB, dtype=torch.uint8, device="cuda")
    print("ready", os.getpid(), flush=True)
    time.sleep(max(0.0, end - time.time()))
elif mode == "grow":
    held = []
    print("ready", os.getpid(), flush=True)
    while time.time() < end:
        held.append(torch.empty(256 * MiB, dtype=torch.uint8, device="cuda"))
        time.sleep(1)
elif mode == "steps":
    torch.cuda.init()
    torch.empty(1, device="cuda")
    print("ready", os.getpid(), flush=True)
    for mib in sys.argv[3:]:
        t = torch.empty(int(mib) * MiB, dtype=torch.uint8, device="cuda")
        print("holding", mib, "MiB", flush=True)
        time.sleep(seconds)
        del t
        torch.cuda.empty_cache()
elif mode == "loader":
    m = torch.randn(4096, 4096, device="cuda")
    print("ready", os.getpid(), flush=True)
    while time.time() < end:
        t = time.time() + 0.06
        batch = []
        while time.time() < t:  # "decode and augment" on the main thread
            batch.append(sum(i * i for i in range(2000)))
        x = torch.tensor(batch[:64], dtype=torch.float32, device="cuda")
        for _ in range(6):  # the training step: ~15 ms of matmuls
            y = m @ m
        (y.sum() + x.sum()).item()
else:
    sys.exit(f"unknown mode {mode}")
