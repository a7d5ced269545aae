#!/usr/bin/env python3
"""Compare the rows of gpu_watch --source nvml and --source smi taken in the
same seconds (see check_nvml.sh): per workload process, both sources' rows
side by side, then PASS or FAIL lines.

  - busy and idle hold fixed memory: the (pid, gpu, memory) rows are the same
    set in both logs; grow adds 256 MiB a second: each NVML value lies within
    the range nvidia-smi saw, one step (256 MiB) either side.
  - SM: the NVML median lies within nvidia-smi's own sample-to-sample spread
    (its min to max, widened by 5 points); the idle process shows 0 or empty.
  - neither run gave up or warned."""
import csv
import re
import statistics
import sys

out = sys.argv[1]
roles = {}
for w in ("busy", "idle", "grow"):
    m = re.search(r"ready (\d+)", open(f"{out}/w_{w}.txt").read())
    roles[int(m.group(1))] = w
logs = {}
for src in ("nvml", "smi"):
    try:
        logs[src] = list(csv.DictReader(open(f"{out}/{src}.csv")))
    except OSError as e:
        print(f"stderr of --source {src}:", open(f"{out}/{src}.stderr").read().strip())
        print(f"FAIL: {src}.csv: {e}")
        sys.exit(1)
fails = []
for src in ("nvml", "smi"):
    err = open(f"{out}/{src}.stderr").read()
    print(f"stderr of --source {src}: {err.strip() or '(empty)'}")
    if "warning" in err or "goes on with nvidia-smi" in err:
        fails.append(f"--source {src} warned: {err.strip().splitlines()[0]}")


def sm_of(rows):
    return [int(r["sm_util_pct"]) for r in rows if r["sm_util_pct"] != ""]


for pid, role in sorted(roles.items()):
    a = [r for r in logs["nvml"] if int(r["pid"]) == pid]
    b = [r for r in logs["smi"] if int(r["pid"]) == pid]
    print(f"\n{role} (pid {pid}): {len(a)} NVML rows, {len(b)} nvidia-smi rows")
    print(f"  {'time':19s} {'gpu':>3} {'MiB':>7} {'SM%':>4} {'mem%':>4}   |  "
          f"{'time':19s} {'gpu':>3} {'MiB':>7} {'SM%':>4} {'mem%':>4}")
    for i in range(max(len(a), len(b))):
        def cell(rows):
            if i >= len(rows):
                return " " * 42
            r = rows[i]
            return (f"{r['timestamp'][:19]:19s} {r['gpu_index']:>3} {r['gpu_mem_mib']:>7} "
                    f"{r['sm_util_pct']:>4} {r['mem_util_pct']:>4}")
        print(f"  {cell(a)}   |  {cell(b)}")
    if len(a) < 9 or len(b) < 9:
        fails.append(f"{role}: {len(a)} NVML rows, {len(b)} nvidia-smi rows (want 10 each)")
        continue
    if {r["gpu_index"] for r in a} != {r["gpu_index"] for r in b}:
        fails.append(f"{role}: GPU differs")
    mem_a = sorted({int(r["gpu_mem_mib"]) for r in a if r["gpu_mem_mib"]})
    mem_b = sorted({int(r["gpu_mem_mib"]) for r in b if r["gpu_mem_mib"]})
    if role in ("busy", "idle"):
        if {(r["pid"], r["gpu_index"], r["gpu_mem_mib"]) for r in a} != \
                {(r["pid"], r["gpu_index"], r["gpu_mem_mib"]) for r in b}:
            fails.append(f"{role}: (pid, gpu, memory) rows differ: NVML {mem_a}, nvidia-smi {mem_b}")
    elif not mem_a or not mem_b or mem_a[0] < mem_b[0] - 256 or mem_a[-1] > mem_b[-1] + 256:
        fails.append(f"grow: NVML memory {mem_a} outside nvidia-smi's {mem_b} +- 256 MiB")
    sa, sb = sm_of(a), sm_of(b)
    if role == "idle":
        if any(s != 0 for s in sa):
            fails.append(f"idle: NVML SM {sa}, want 0 or empty")
    elif role == "busy":
        if len(sa) < 7 or len(sb) < 7:
            fails.append(f"busy: SM in {len(sa)} NVML and {len(sb)} nvidia-smi rows, want >= 7")
        elif not (min(sb) - 5 <= statistics.median(sa) <= max(sb) + 5):
            fails.append(f"busy: NVML SM median {statistics.median(sa)} outside nvidia-smi's "
                         f"spread {min(sb)}..{max(sb)} (+-5)")
        else:
            print(f"  SM: NVML median {statistics.median(sa)}, nvidia-smi {min(sb)}..{max(sb)} "
                  f"(median {statistics.median(sb)})")
for f in fails:
    print("FAIL", f)
print("PASS" if not fails else f"FAIL ({len(fails)})")
sys.exit(1 if fails else 0)
