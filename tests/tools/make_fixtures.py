#!/usr/bin/env python3
"""Build the replay directories (for tests/fake_smi.c) and fixture /proc
trees under tests/fixtures/ from the captured H100 output in
tests/fixtures/h100-580/, plus synthetic multi-GPU and MIG layouts.

Run from the repository root; the output is committed, so the tests do not
need to run this. Re-run it after changing a capture."""
import os
import re
import shutil

SRC = "tests/fixtures/h100-580"
OUT = "tests/fixtures/replay"
PROC = "tests/fixtures/proc"


def write(path, data, mode="w"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, mode) as f:
        f.write(data)


def copy(src, dst):
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    shutil.copyfile(src, dst)


def proc_entry(root, pid, args, stat=None, status=None):
    data = b"".join(a.encode() + b"\0" for a in args)
    write(f"{root}/{pid}/cmdline", data, "wb")
    if stat:
        copy(stat, f"{root}/{pid}/stat")
    if status:
        copy(status, f"{root}/{pid}/status")


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    for d in os.listdir(PROC) if os.path.isdir(PROC) else []:
        if d != "local":  # captured on a real machine by capture_proc.sh
            shutil.rmtree(os.path.join(PROC, d))
    # busy: three processes, one GPU.
    for name in ("busy", "idle"):
        copy(f"{SRC}/{name}/apps_noheader_nounits.txt", f"{OUT}/{name}/apps.txt")
        copy(f"{SRC}/{name}/pmon_um.txt", f"{OUT}/{name}/pmon.txt")
        copy(f"{SRC}/{name}/gpus_noheader.txt", f"{OUT}/{name}/gpus.txt")
    for pid in (442, 443, 444):
        with open(f"{SRC}/busy/proc_{pid}_cmdline.txt") as f:
            args = f.read().rstrip("\n").split("\n")
        proc_entry(f"{PROC}/busy", pid, args, f"{SRC}/busy/proc_{pid}_stat.txt",
                   f"{SRC}/busy/proc_{pid}_status.txt")
    copy(f"{SRC}/busy/meminfo.txt", f"{PROC}/busy/meminfo")
    # Seconds since boot at the capture, derived from ps_cpu.txt: the three
    # processes started at tick 2241 and ps's %CPU for each fits 41.87 s.
    write(f"{PROC}/busy/uptime", "41.87 600.00\n")

    # many: 23 processes with odd command lines. cmdlines_rs.txt holds the
    # first 200 bytes with 0x1E for NUL; 421's argument has a real newline.
    copy(f"{SRC}/many/apps_noheader_nounits.txt", f"{OUT}/many/apps.txt")
    copy(f"{SRC}/many/pmon_um.txt", f"{OUT}/many/pmon.txt")
    write(f"{OUT}/many/gpus.txt", "0, GPU-9536c660-5f51-5501-7bae-59e2ffa9b2ea\n")
    with open(f"{SRC}/many/cmdlines_rs.txt", encoding="utf-8") as f:
        text = f.read()
    for m in re.finditer(r"^(\d+)\t(.*?)(?=^\d+\t|\Z)", text, re.S | re.M):
        pid, raw = int(m.group(1)), m.group(2)
        raw = raw[:-1] if raw.endswith("\n") else raw
        args = [a for a in raw.split("\x1e")]
        if args and args[-1] == "":
            args.pop()
        if pid == 422:
            args = ["python3", "/tmp/hold.py", "64", "idle", "--long=" + "x" * 5000]
        proc_entry(f"{PROC}/many", pid, args)

    # series: 40 samples of two processes.
    for i in range(1, 41):
        for kind in ("apps", "pmon"):
            copy(f"{SRC}/series/{i:02d}.{kind}", f"{OUT}/series/{i:02d}.{kind}")
    write(f"{OUT}/series/gpus.txt", "0, GPU-11cb002e-c749-3a46-9bf1-7d31cd749d25\n")
    with open(f"{SRC}/series/01.ps") as f:
        for line in f:
            pid, cmd = line.strip().split(" ", 1)
            proc_entry(f"{PROC}/series", int(pid), cmd.split(" "))

    # Synthetic multi-GPU machines: G GPUs, one process per GPU, and one
    # process (9000) on the first and the last GPU. pmon of the real kind:
    # the fake shows only four GPUs unless -i names them.
    for g in (8, 16):
        d = f"{OUT}/gpu{g}"
        uu = [f"GPU-{i:08x}-aaaa-bbbb-cccc-{g:04d}{i:08d}" for i in range(g)]
        # index order differs from UUID order on real machines: list shuffled.
        order = list(range(g))[::-1]
        write(f"{d}/gpus.txt", "".join(f"{i}, {uu[i]}\n" for i in order))
        apps, pm = [], []
        hdr = ("# gpu         pid   type     sm    mem    enc    dec    jpg    ofa     fb   ccpm    command \n"
               "# Idx           #    C/G      %      %      %      %      %      %     MB     MB    name \n")
        for i in range(g):
            pid = 5000 + i
            apps.append(f"{pid}, {uu[i]}, {1000 + i}\n")
            pm.append(f"{i:5d} {pid:10d}     C {10 + i:6d} {i:6d}      -      -      -      - {1000 + i:6d}      0    python3        \n")
            proc_entry(f"{PROC}/gpu{g}", pid, ["python3", "train.py", f"--rank={i}"])
        apps.append(f"9000, {uu[0]}, 700\n")
        apps.append(f"9000, {uu[g - 1]}, 900\n")
        pm.insert(1, f"{0:5d} {9000:10d}     C {77:6d} {7:6d}      -      -      -      - {700:6d}      0    python3        \n")
        pm.append(f"{g - 1:5d} {9000:10d}     C {88:6d} {8:6d}      -      -      -      - {900:6d}      0    python3        \n")
        proc_entry(f"{PROC}/gpu{g}", 9000, ["python3", "two_gpus.py"])
        write(f"{d}/apps.txt", "".join(apps))
        write(f"{d}/pmon.txt", hdr + "".join(pm))

    # MIG: compute-apps reports MIG UUIDs that --query-gpu does not list;
    # pmon lists the processes with no utilization.
    d = f"{OUT}/mig"
    write(f"{d}/gpus.txt", "0, GPU-1a8e51c5-1f64-9d83-5d60-65f0c235c074\n")
    write(f"{d}/apps.txt",
          "7001, MIG-5c3a1b2e-0d9f-5e1a-9b7c-2f4e6a8b0c1d, 4864\n"
          "7002, MIG-8e2d4c6a-1b3f-5a7e-9c0d-3e5f7a9b1c2e, 2432\n")
    write(f"{d}/pmon.txt",
          "# gpu         pid   type     sm    mem    enc    dec    jpg    ofa     fb   ccpm    command \n"
          "# Idx           #    C/G      %      %      %      %      %      %     MB     MB    name \n"
          "    0       7001     C      -      -      -      -      -      -   4864      0    python3        \n"
          "    0       7002     C      -      -      -      -      -      -   2432      0    python3        \n")
    proc_entry(f"{PROC}/mig", 7001, ["python3", "mig_a.py"])
    proc_entry(f"{PROC}/mig", 7002, ["python3", "mig_b.py"])


if __name__ == "__main__":
    main()
