#!/usr/bin/env python3
"""What NVML answers to this caller (for check_containers.sh): the driver
version, then per GPU its memory (nvmlDeviceGetMemoryInfo), the running
compute processes (nvmlDeviceGetComputeRunningProcesses_v3), per-process
utilization samples (nvmlDeviceGetProcessUtilization) and the accounting
records (nvmlDeviceGetAccountingPids/Stats). ctypes only: no pynvml.
Layouts: those of include/gpu_watch/nvml_records.h (nvml.h's, checked by its asserts)."""
import ctypes as C
import sys

nv = C.CDLL("libnvidia-ml.so.1")


def ok(rc, what):
    if rc != 0:
        print(f"  {what}: NVML error {rc}")
    return rc == 0


class Proc(C.Structure):
    _fields_ = [("pid", C.c_uint), ("mem", C.c_ulonglong), ("gi", C.c_uint), ("ci", C.c_uint)]


class Util(C.Structure):
    _fields_ = [("pid", C.c_uint), ("ts", C.c_ulonglong), ("sm", C.c_uint), ("mem", C.c_uint),
                ("enc", C.c_uint), ("dec", C.c_uint)]


class Mem(C.Structure):
    _fields_ = [("total", C.c_ulonglong), ("free", C.c_ulonglong), ("used", C.c_ulonglong)]


class Acct(C.Structure):
    _fields_ = [("gpu", C.c_uint), ("mem", C.c_uint), ("maxmem", C.c_ulonglong),
                ("time", C.c_ulonglong), ("start", C.c_ulonglong), ("running", C.c_uint),
                ("res", C.c_uint * 5)]


ok(nv.nvmlInit_v2(), "nvmlInit")
ver = C.create_string_buffer(96)
nv.nvmlSystemGetDriverVersion(ver, 96)
print(f"driver {ver.value.decode()}")
n = C.c_uint()
nv.nvmlDeviceGetCount_v2(C.byref(n))
for i in range(n.value):
    d = C.c_void_p()
    if not ok(nv.nvmlDeviceGetHandleByIndex_v2(i, C.byref(d)), "handle"):
        continue
    m = Mem()
    if ok(nv.nvmlDeviceGetMemoryInfo(d, C.byref(m)), "memory"):
        print(f"gpu {i} memory used {m.used >> 20} MiB total {m.total >> 20} MiB")
    cnt = C.c_uint(64)
    procs = (Proc * 64)()
    if ok(nv.nvmlDeviceGetComputeRunningProcesses_v3(d, C.byref(cnt), procs), "processes"):
        for p in procs[:cnt.value]:
            print(f"gpu {i} process pid {p.pid} mem {p.mem >> 20} MiB")
    cnt = C.c_uint(128)
    util = (Util * 128)()
    rc = nv.nvmlDeviceGetProcessUtilization(d, util, C.byref(cnt), C.c_ulonglong(0))
    if rc == 6:
        print(f"gpu {i} utilization: no samples (NOT_FOUND)")
    elif ok(rc, "utilization"):
        for u in util[:cnt.value]:
            if u.pid and u.sm <= 100:
                print(f"gpu {i} utilization pid {u.pid} sm {u.sm} mem {u.mem}")
    mode = C.c_int(-1)
    nv.nvmlDeviceGetAccountingMode(d, C.byref(mode))
    print(f"gpu {i} accounting mode {mode.value}")
    cnt = C.c_uint(4000)
    pids = (C.c_uint * 4000)()
    if ok(nv.nvmlDeviceGetAccountingPids(d, C.byref(cnt), pids), "accounting pids"):
        want = {int(a) for a in sys.argv[1:]}
        for pid in pids[:cnt.value]:
            if want and pid not in want:
                continue
            s = Acct()
            if ok(nv.nvmlDeviceGetAccountingStats(d, C.c_uint(pid), C.byref(s)), f"stats {pid}"):
                print(f"gpu {i} accounting pid {pid} max_memory {s.maxmem >> 20} MiB "
                      f"start_us {s.start} running {s.running} time_ms {s.time}")
nv.nvmlShutdown()
