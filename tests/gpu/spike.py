#!/usr/bin/env python3
"""A spiky CUDA process for tests/gpu/check_peaks.sh (needs PyTorch and a
GPU): holds 1 GiB, and every PERIOD seconds (default 5) takes 8 GiB more
for 0.3 s (SPIKE_S, e.g. 0.05 for the 50 ms variant of check_dense.sh),
for SECONDS in all. A 1 s sampler almost never sees the spikes;
the driver's accounting keeps them. Prints "ready <pid>" once the 1 GiB is
held, and at the end, as JSON on the last line, its PID and the most it
allocated (MiB, without CUDA's context)."""
import json
import os
import sys
import time

import torch

MiB = 1 << 20
seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 20
period = float(os.environ.get("SPIKE_PERIOD_S", "5"))
hold = float(os.environ.get("SPIKE_S", "0.3"))  # how long each spike is held, s
base = torch.empty(1024 * MiB, dtype=torch.uint8, device="cuda")
base.fill_(1)
torch.cuda.synchronize()
print("ready", os.getpid(), flush=True)
end = time.time() + seconds
spikes = 0
while time.time() < end:
    time.sleep(max(0.0, min(period - hold, end - time.time())))
    if time.time() >= end:
        break
    extra = torch.empty(8192 * MiB, dtype=torch.uint8, device="cuda")
    extra.fill_(1)  # touch it: the memory is really there
    torch.cuda.synchronize()
    time.sleep(hold)
    del extra
    torch.cuda.empty_cache()  # give it back to the driver, as the capture's process did
    spikes += 1
print(json.dumps({"pid": os.getpid(), "alloc_peak_mib": 1024 + 8192, "spikes": spikes}), flush=True)
