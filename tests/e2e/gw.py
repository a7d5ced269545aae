"""Helpers for the end-to-end tests: run the built gpu_watch against the fake
nvidia-smi (tests/fake_smi.c) replaying fixtures from tests/fixtures/replay,
with a fixture /proc tree from tests/fixtures/proc."""
import csv
import io
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("GW_BIN", os.path.join(ROOT, "build", "gpu_watch"))
FAKE_DIR = os.environ.get("GW_FAKE_DIR", os.path.join(ROOT, "build", "tests", "fake-nvidia-smi"))
REPLAY = os.path.join(ROOT, "tests", "fixtures", "replay")
PROC = os.path.join(ROOT, "tests", "fixtures", "proc")
HEADER = ["timestamp", "gpu_index", "pid", "cmd", "gpu_mem_mib", "sm_util_pct", "mem_util_pct"]


# The one warning gpu_watch prints when GPU_WATCH_PROC_ROOT is set, as every
# test here sets it (tests/e2e/test_cli.py checks the warning itself).
SEAM_WARNING = re.compile(rb"^gpu_watch: warning: GPU_WATCH_PROC_ROOT is set \(a test aid\)[^\n]*\r?\n",
                          re.M)


def strip_seam(err):
    """stderr (bytes or str) without the GPU_WATCH_PROC_ROOT warning."""
    if isinstance(err, str):
        return strip_seam(err.encode()).decode()
    return SEAM_WARNING.sub(b"", err or b"", count=1) if err is not None else err


class _Popen(subprocess.Popen):
    """A Popen whose communicate() leaves out the GPU_WATCH_PROC_ROOT warning."""

    def communicate(self, *args, **kw):
        out, err = super().communicate(*args, **kw)
        return out, strip_seam(err)


class GwTest(unittest.TestCase):
    """A test case with a private temp dir, state dir for the fake, and
    helpers to run the binary."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="gw-e2e-")
        self.state = os.path.join(self.tmp, "state")
        os.mkdir(self.state)
        self.fakebin = os.path.join(self.tmp, "bin")
        os.mkdir(self.fakebin)
        shutil.copy(os.path.join(FAKE_DIR, "nvidia-smi"), os.path.join(self.fakebin, "nvidia-smi"))

    def tearDown(self):
        for p in getattr(self, "_procs", []):
            if p.poll() is None:
                p.kill()
                p.wait()
            for f in (p.stdout, p.stderr):
                if f:
                    f.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.tmp, name)

    def env(self, fixture="busy", proc="busy", **extra):
        e = dict(os.environ)
        e["PATH"] = self.fakebin + ":/usr/bin:/bin"
        e["FAKE_SMI_DIR"] = fixture if os.path.isabs(fixture) else os.path.join(REPLAY, fixture)
        e["FAKE_SMI_STATE"] = self.state
        if proc is not None:
            e["GPU_WATCH_PROC_ROOT"] = proc if os.path.isabs(proc) else os.path.join(PROC, proc)
        # --who checks that root owns a Slurm job's cgroup directory: a tree
        # with the fixture jobs' directories stands in for /sys/fs/cgroup.
        e["GPU_WATCH_CGROUP_ROOT"] = os.path.join(ROOT, "tests", "fixtures", "cgroupfs")
        e["TZ"] = "UTC"
        for k, v in extra.items():
            e[k] = str(v)
        return e

    def run_gw(self, *args, fixture="busy", proc="busy", timeout=30, env=None, **extra):
        e = env or self.env(fixture, proc, **extra)
        r = subprocess.run([BIN, *args], env=e, capture_output=True, timeout=timeout,
                           cwd=self.tmp)
        r.stderr = strip_seam(r.stderr)
        return r

    def start_gw(self, *args, fixture="busy", proc="busy", env=None, **extra):
        e = env or self.env(fixture, proc, **extra)
        p = _Popen([BIN, *args], env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                   cwd=self.tmp)
        self._procs = getattr(self, "_procs", []) + [p]
        return p

    def lines(self, name):
        """Lines of a file in the temp dir (0 if it does not exist yet)."""
        try:
            with open(self.path(name)) as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    def calls(self):
        """The fake's call log: a list of (kind, args...) lines."""
        p = os.path.join(self.state, "calls.log")
        if not os.path.exists(p):
            return []
        with open(p) as f:
            return [l.split() for l in f.read().splitlines()]


def read_csv(path_or_text):
    """Parse a log with Python's csv module; returns (header, rows)."""
    if "\n" in path_or_text or not os.path.exists(path_or_text):
        text = path_or_text
    else:
        with open(path_or_text, newline="") as f:
            text = f.read()
    rows = list(csv.reader(io.StringIO(text, newline="")))
    return (rows[0] if rows else None), rows[1:]


def wait_for(pred, timeout=10.0, step=0.02):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return False


def children_of(pid):
    """PIDs whose parent is pid (from /proc)."""
    kids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                st = f.read()
            ppid = int(st[st.rindex(")") + 2:].split()[1])
            if ppid == pid:
                kids.append(int(d))
        except (OSError, ValueError):
            pass
    return kids


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def without_overrun(err):
    """stderr without the overrun warning of --interval (a sample longer than
    the interval: a loaded machine, or the sanitizer build's slow fakes), as
    text: what a test of something else must find empty."""
    if isinstance(err, bytes):
        err = err.decode()
    return "".join(l for l in err.splitlines(True) if "longer than --interval" not in l)
