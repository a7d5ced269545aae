#!/usr/bin/env python3
"""Compare gpu_watch's rows with nvidia-smi's own answers captured during
the same run (see check_sampler.sh). Prints a table and PASS or FAIL lines."""
import csv
import glob
import os
import re
import sys

out = sys.argv[1]
gpus = {}
for line in open(f"{out}/gpus.txt"):
    idx, uuid = [f.strip() for f in line.split(",")[:2]]
    gpus[uuid] = int(idx)
ref_mem, ref_gpu, ref_sm = {}, {}, {}
for f in sorted(glob.glob(f"{out}/ref_apps_*.txt")):
    for line in open(f):
        pid, uuid, mem = [x.strip() for x in line.split(",")]
        ref_mem.setdefault(int(pid), set()).add(int(mem))
        ref_gpu[int(pid)] = gpus[uuid]
for f in sorted(glob.glob(f"{out}/ref_pmon_*.txt")):
    for line in open(f):
        t = line.split()
        if not t or t[0].startswith("#") or t[1] == "-":
            continue
        ref_sm.setdefault(int(t[1]), set()).add(t[3])
roles = {}
for w in ("busy", "idle", "grow"):
    m = re.search(r"ready (\d+)", open(f"{out}/w_{w}.txt").read())
    roles[int(m.group(1))] = w
rows = list(csv.DictReader(open(f"{out}/rows.csv")))
fails = []
print(f"{len(rows)} rows, {len(set(r['timestamp'] for r in rows))} samples")
print(f"{'pid':>7} {'role':5} {'gpu':>3} {'mem MiB (gpu_watch)':>20} {'mem MiB (nvidia-smi)':>24} {'sm% (gpu_watch)':>16} {'sm% (pmon)':>16}")
for pid, role in sorted(roles.items()):
    mine = [r for r in rows if int(r["pid"]) == pid]
    if len(mine) != 10:
        fails.append(f"{role} pid {pid}: {len(mine)} rows, want 10")
        continue
    mems = sorted({int(r["gpu_mem_mib"]) for r in mine})
    sms = sorted({r["sm_util_pct"] for r in mine})
    print(f"{pid:>7} {role:5} {mine[0]['gpu_index']:>3} {str(mems)[:20]:>20} {str(sorted(ref_mem.get(pid, [])))[:24]:>24} {str(sms)[:16]:>16} {str(sorted(ref_sm.get(pid, [])))[:16]:>16}")
    if any(int(r["gpu_index"]) != ref_gpu[pid] for r in mine):
        fails.append(f"{role}: gpu_index differs from nvidia-smi's")
    cmd = open(f"/proc/{pid}/cmdline", "rb").read().rstrip(b"\0").replace(b"\0", b" ").decode()
    if any(r["cmd"] != cmd for r in mine):
        fails.append(f"{role}: cmd differs from /proc: {mine[0]['cmd']!r} vs {cmd!r}")
    if role in ("busy", "idle") and not set(mems) <= ref_mem[pid]:
        fails.append(f"{role}: memory {mems} not among nvidia-smi's {sorted(ref_mem[pid])}")
    if role == "grow" and not (mems[-1] > mems[0]):
        fails.append("grow: memory did not grow")
    # pmon may say 0 while the loop is just starting: most samples, not all.
    if role == "busy" and sum(1 for r in mine if r["sm_util_pct"] and int(r["sm_util_pct"]) > 0) < 8:
        fails.append("busy: SM utilization missing or 0 in more than 2 of 10 samples")
    if role == "idle" and any(r["sm_util_pct"] not in ("", "0") for r in mine):
        fails.append("idle: SM utilization reported for a process running no kernels")
    if any(r["gpu_mem_mib"] == "" for r in mine):
        fails.append(f"{role}: empty memory")
print("stderr of gpu_watch:", open(f"{out}/stderr.txt").read().strip() or "(empty)")
for f in fails:
    print("FAIL", f)
print("PASS" if not fails else f"FAIL ({len(fails)})")
sys.exit(1 if fails else 0)
