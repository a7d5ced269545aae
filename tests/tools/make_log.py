#!/usr/bin/env python3
"""Write a synthetic gpu_watch log for plot tests, demos and the benchmark.

make_log.py OUT.csv --rows N [--schema sampler|host|compact] [--interval S]
            [--pids K] [--gpus G] [--start ISO] [--utc|--offset] [--spike-at I]
            [--pause-at I --pause S]

Two training processes grow, plateau and free memory; an idle one holds a
fixed amount; sampler rows (one per process per sample) as gpu_watch writes
them, RFC 4180 quoting included. --spike-at puts one sample with a 5x
memory spike on the first process; --pause-at inserts a pause of --pause
seconds before that sample (two runs appended to one file)."""
import argparse
import datetime as dt
import math
import sys

ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("--rows", type=int, required=True, help="total data rows to write")
ap.add_argument("--schema", default="sampler", choices=["sampler", "host", "compact"])
ap.add_argument("--interval", type=float, default=1.0)
ap.add_argument("--pids", type=int, default=3)
ap.add_argument("--gpus", type=int, default=2)
ap.add_argument("--start", default="2025-01-10T14:00:00")
ap.add_argument("--utc", action="store_true", help="timestamps with Z")
ap.add_argument("--offset", action="store_true", help="timestamps with +00:00")
ap.add_argument("--spike-at", type=int, default=-1)
ap.add_argument("--pause-at", type=int, default=-1)
ap.add_argument("--pause", type=float, default=600)
a = ap.parse_args()

start = dt.datetime.fromisoformat(a.start)
per = 1 if a.schema == "compact" else a.pids
samples = max(1, a.rows // per)
cmds = ['python3 /home/u/train.py --model "gpt,small" --lr=3e-4',
        "python3 /home/u/eval.py --batch 64", "python3 /tmp/idle_hold.py 200",
        "torchrun --nproc 4 /srv/job/run.py"]
suffix = "Z" if a.utc else "+00:00" if a.offset else ""


def q(s):
    return '"' + s.replace('"', '""') + '"' if any(c in s for c in ',"') else s


out = open(a.out, "w", newline="")
if a.schema == "compact":
    out.write("timestamp,used_mib,sys_used_mib,cpu_cores,cpu_pct\n")
elif a.schema == "host":
    out.write("timestamp,gpu_index,pid,cmd,gpu_mem_mib,sm_util_pct,mem_util_pct,"
              "cpu_pct,cpu_cores,rss_mib,sys_used_mib\n")
else:
    out.write("timestamp,gpu_index,pid,cmd,gpu_mem_mib,sm_util_pct,mem_util_pct\n")
t = 0.0
lines = []
for i in range(samples):
    if i == a.pause_at:
        t += a.pause
    ts = (start + dt.timedelta(seconds=t)).strftime("%Y-%m-%dT%H:%M:%S") + suffix
    f = i / max(1, samples - 1)
    sysmem = int(30000 + 8000 * f + 500 * math.sin(i / 7.0))
    for k in range(per):
        pid = 4000 + k
        gpu = k % a.gpus
        if k == 0:
            mem = int(2000 + 14000 * min(1.0, f * 3) - (8000 if f > 0.8 else 0))
            sm = int(80 + 15 * math.sin(i / 3.0))
        elif k == 1:
            mem = int(1500 + 3000 * f + 200 * math.sin(i / 11.0))
            sm = int(30 + 20 * math.sin(i / 5.0))
        else:
            mem = 3590 + 100 * (k - 2)
            sm = None
        if k == 0 and i == a.spike_at:
            mem *= 5
        cpu = 100 + 80 * math.sin(i / 9.0 + k)
        if a.schema == "compact":
            out.write(f"{ts},{mem},{sysmem},{cpu / 100:.2f},{cpu:.1f}\n")
            continue
        smf = "" if sm is None else str(sm)
        mu = "" if sm is None else str(sm // 10)
        row = f"{ts},{gpu},{pid},{q(cmds[k % len(cmds)])},{mem},{smf},{mu}"
        if a.schema == "host":
            row += f",{cpu:.1f},{cpu / 100:.2f},{800 + 10 * k},{sysmem}"
        out.write(row + "\n")
    t += a.interval
out.close()
