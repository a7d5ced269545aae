"""End-to-end: every fault nvidia-smi can throw at a long run, first at
start-up and then in the middle of a run (tests/fake_smi.c injects them).

For each fault: the run goes on, what could not be read is an empty field
(never a wrong value), rows for what could be read still come out, the next
good sample is complete, stderr warns once per query and summarises instead
of repeating, the exit status is 0, no child is left a zombie and the number
of open descriptors does not grow.

Fixtures: replay/busy (one H100, PIDs 442-444), replay/replaced (the same
processes on a GPU with another UUID: the GPU was swapped), and
replay/uuid-mismatch (compute-apps names a UUID that --query-gpu does not
list, as after a MIG layout change)."""
import collections
import os
import re
import shutil
import time

from tests.e2e.gw import GwTest, HEADER, FAKE_DIR, REPLAY, children_of, fd_count, read_csv

CMD = {
    "442": 'python3 /tmp/work dir/train,v2.py 200 --lr=3e-4 --note=a "quoted" arg',
    "443": "python3 /tmp/idle_hold.py 200",
    "444": "python3 /tmp/grow.py 200 --name=grow;job",
}
# One complete sample of replay/busy: gpu, pid, cmd, mem MiB, sm %, mem %.
FULL = [
    ["0", "442", CMD["442"], "1642", "39", "2"],
    ["0", "443", CMD["443"], "3590", "", ""],
    ["0", "444", CMD["444"], "1764", "59", "3"],
]

# Fault modes of the fake and what each one imitates.
FAULTS = {
    "hang": "never returns",
    "slow": "answers after longer than --timeout",
    "fail_driver": "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver",
    "fail_nvml": "Failed to initialize NVML: Driver/library version mismatch",
    "fail_handle": "Unable to determine the device handle for GPU0000:3B:00.0: Unknown Error",
    "fail_nodev": "No devices were found",
    "garbage": "4 KiB of random bytes",
    "midline": "output cut in the middle of a line",
    "huge": "10 MB of output",
    "crlf": "CRLF line ends",
}
TIMEOUT = "0.3"
INTERVAL = "0.05"


def proc_state(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            st = f.read()
        return st[st.rindex(")") + 2]
    except (OSError, ValueError):
        return None


def _reap(p):
    """Cleanup: a run a failed test left behind is killed, never leaked."""
    if p.poll() is None:
        p.kill()
        p.communicate(timeout=30)


class FaultBase(GwTest):
    def start_gw(self, *args, **kw):
        p = super().start_gw(*args, **kw)
        self.addCleanup(_reap, p)
        return p

    def watch(self, p, until=None):
        """Poll the running sampler every 10 ms until it exits: its open
        descriptors, and zombies among its children. until() is called on
        each poll (to act mid-run). Returns (fds, zombies) where zombies are
        the children still zombies a second after first seen (a child merely
        between exit and waitpid is a zombie for microseconds)."""
        fds, first_z, lasting = [], {}, set()
        out = self.path("out.csv")
        while p.poll() is None:
            try:
                # From the moment the log is open (its header written).
                if os.path.exists(out) and os.path.getsize(out) > 0:
                    fds.append(fd_count(p.pid))
                for c in children_of(p.pid):
                    if proc_state(c) == "Z":
                        t = first_z.setdefault(c, time.monotonic())
                        if time.monotonic() - t > 1.0:
                            lasting.add(c)
            except OSError:
                pass
            if until:
                until()
            time.sleep(0.01)
        return fds, lasting

    def run_fault(self, *args, count=12, fixture="busy", until=None, **env):
        p = self.start_gw("--interval", INTERVAL, "--timeout", TIMEOUT, "--count", str(count),
                          "-q", "-o", "out.csv", *args, fixture=fixture, **env)
        fds, zombies = self.watch(p, until)
        out, err = p.communicate(timeout=60)
        err = err.decode(errors="replace")
        self.assertEqual(p.returncode, 0, err)
        self.assertEqual(zombies, set(), "children left as zombies")
        self.assertGreater(len(fds), 3)
        # Descriptors: what is open between samples at the end is what was
        # open at the start (pipes come and go inside a sample).
        third = max(1, len(fds) // 3)
        self.assertLessEqual(min(fds[-third:]), min(fds[:third]), fds)
        self.assertLessEqual(max(fds), min(fds) + 12, fds)
        header, rows = read_csv(self.path("out.csv"))
        self.assertEqual(header, HEADER)
        for r in rows:
            self.assertEqual(len(r), len(HEADER), r)
        return [r[1:] for r in rows], err

    def assert_degraded(self, rows):
        """Rows written during a fault: every value written is the true one
        (an unknown is empty, never invented)."""
        full = {r[1]: r for r in FULL}
        for r in rows:
            self.assertIn(r[1], full, rows)
            for got, want in zip(r, full[r[1]]):
                self.assertIn(got, ("", want), rows)

    def assert_warned_once(self, err):
        """A warning at most once per query, no line repeated, and the
        whole of stderr short whatever the number of failed samples."""
        lines = [l for l in err.splitlines() if l.strip()]
        # A loaded CI machine may miss a 50 ms slot: that warning is not the
        # fault's (it is rate-limited the same way).
        warnings = [l for l in lines if "warning:" in l and "a sample took" not in l]
        keys = [re.sub(r"failed:.*", "", l) for l in warnings]
        self.assertEqual(len(keys), len(set(keys)), err)
        dup = [l for l, n in collections.Counter(lines).items() if n > 1]
        self.assertEqual(dup, [], err)
        self.assertLessEqual(len(lines), 12, err)
        return warnings

    def check(self, fault, on, phase):
        """Samples frm..until (calls of the faulty query) get the fault, out
        of 12. Rows cannot be split into samples reliably (a row whose GPU is
        unknown sorts first), so the checks are on the rows: the complete
        samples before and after the fault, and the rows in between."""
        frm, until, n = (1, 3, 12) if phase == "startup" else (4, 6, 12)
        extra = {"FAKE_SMI_SLOW_MS": "1500"} if fault == "slow" else {}
        rows, err = self.run_fault(count=n, FAKE_SMI_FAULT=fault, FAKE_SMI_FAULT_ON=on,
                                   FAKE_SMI_FAULT_FROM=frm, FAKE_SMI_FAULT_UNTIL=until, **extra)
        warnings = self.assert_warned_once(err)
        if fault == "crlf":
            # Not a fault at all for a parser that accepts CRLF.
            self.assertEqual(rows, FULL * n)
            self.assertEqual(warnings, [], err)
            return
        self.assertTrue(warnings, f"no warning for {fault} on {on}:\n{err}")
        before, after = frm - 1, n - until
        self.assertEqual(rows[:3 * before], FULL * before, "samples before the fault")
        self.assertEqual(rows[len(rows) - 3 * after:], FULL * after,
                         "the samples after the fault are complete")
        during = rows[3 * before:len(rows) - 3 * after]
        self.assert_degraded(during)
        if on in ("apps", "pmon"):
            # One query failed: the other one still names every process,
            # with its memory (compute-apps, or pmon's fb column).
            self.assertEqual(len(during), 3 * (until - frm + 1), during)
            self.assertEqual([r[1] for r in during], ["442", "443", "444"] * (until - frm + 1))
            self.assertTrue(all(r[3] for r in during), during)
            if on == "pmon" and fault != "midline":
                self.assertEqual([r[4] for r in during], [""] * len(during))  # sm % unknown
        # Names the failing query, and says what nvidia-smi said.
        if fault.startswith("fail_"):
            self.assertIn(FAULTS[fault].split(":")[0][:40], err)
        if fault in ("hang", "slow"):
            self.assertIn("timed out", err)


def _make(fault, on, phase):
    def t(self):
        self.check(fault, on, phase)
    t.__doc__ = f"{FAULTS[fault]}: {on}, {phase}"
    return t


class Faults(FaultBase):
    """One test per fault, query (apps, pmon, all) and phase."""


for _f in FAULTS:
    for _on in ("apps", "pmon", "all"):
        for _ph in ("startup", "midrun"):
            setattr(Faults, f"test_{_f}_{_on}_{_ph}", _make(_f, _on, _ph))


class PersistentFaults(FaultBase):
    def test_failing_forever_warns_once_then_summarises(self):
        """A driver that stays broken for the rest of the run: one warning per
        query, then one count at exit, not one line per sample."""
        rows, err = self.run_fault(count=25, FAKE_SMI_FAULT="fail_driver", FAKE_SMI_FAULT_FROM=4)
        self.assertEqual(rows, FULL * 3)
        # (Not counting a missed slot of a loaded machine: "--interval".)
        lines = [l for l in err.splitlines() if l.strip() and "--interval" not in l]
        self.assertEqual(len([l for l in lines if "warning:" in l]), 2, err)  # apps, pmon
        m = re.findall(r"pmon failed:? (\d+) times in all \(still failing\)", err)
        self.assertEqual(m, ["22"], err)
        self.assertLessEqual(len(lines), 4, err)

    def test_hang_forever_reaps_every_child(self):
        """nvidia-smi stuck for good: each call is killed at --timeout, no
        zombie piles up, descriptors stay flat, and the run ends on time."""
        t0 = time.monotonic()
        rows, err = self.run_fault(count=10, FAKE_SMI_FAULT="hang", FAKE_SMI_FAULT_FROM=3)
        self.assertEqual(rows, FULL * 2)
        self.assertLess(time.monotonic() - t0, 10 * float(TIMEOUT) + 5)
        self.assertIn("timed out", err)


class Vanish(FaultBase):
    def restore_after(self, seconds):
        """An until() for watch: puts the fake back after seconds."""
        t0 = time.monotonic()
        dst = os.path.join(self.fakebin, "nvidia-smi")

        def act():
            if time.monotonic() - t0 > seconds and not os.path.exists(dst):
                shutil.copy(os.path.join(FAKE_DIR, "nvidia-smi"), dst + ".tmp")
                os.rename(dst + ".tmp", dst)
        return act

    def check_vanish(self, frm):
        rows, err = self.run_fault(count=40, until=self.restore_after(0.6),
                                   FAKE_SMI_FAULT="vanish", FAKE_SMI_FAULT_FROM=frm,
                                   FAKE_SMI_FAULT_UNTIL=frm)
        self.assert_warned_once(err)
        self.assertIn("warning:", err)
        self.assertEqual(rows[-3:], FULL, "the sample after it came back is complete")
        self.assert_degraded(rows)
        return rows

    def test_vanish_startup(self):
        """nvidia-smi removed right after gpu_watch checked for it (its very
        first call), put back 0.6 s later."""
        self.check_vanish(1)

    def test_vanish_midrun(self):
        rows = self.check_vanish(4)
        self.assertEqual(rows[:9], FULL * 3)


class UuidChange(FaultBase):
    def switcher(self, dirfile, after_calls, to):
        def act():
            if len(self.calls()) >= after_calls:
                with open(dirfile + ".tmp", "w") as f:
                    f.write(os.path.join(REPLAY, to))
                os.rename(dirfile + ".tmp", dirfile)
        return act

    def test_uuid_changes_midrun(self):
        """The GPU is replaced under a running sampler: compute-apps names a
        UUID the cached map lacks; the map is queried again and rows keep
        their GPU index."""
        dirfile = self.path("dir")
        with open(dirfile, "w") as f:
            f.write(os.path.join(REPLAY, "busy"))
        rows, err = self.run_fault(count=12, until=self.switcher(dirfile, 10, "replaced"),
                                   FAKE_SMI_DIR_FILE=dirfile)
        self.assertEqual(rows, FULL * 12)
        gpu_calls = [c for c in self.calls() if c[0] == "gpus"]
        self.assertEqual(len(gpu_calls), 2, "the map is asked again once, not every sample")
        # Nothing but, on a loaded machine, the overrun warning of --interval 0.05.
        other = [l for l in err.splitlines()
                 if l and "longer than --interval" not in l]
        self.assertEqual(other, [])

    def test_uuid_unknown_at_startup(self):
        """From the start compute-apps names a UUID --query-gpu does not list
        (a MIG layout change): pmon's index is used, and once both agree
        again the rows are complete; the map is not queried every sample."""
        dirfile = self.path("dir")
        with open(dirfile, "w") as f:
            f.write(os.path.join(REPLAY, "uuid-mismatch"))
        rows, err = self.run_fault(count=12, until=self.switcher(dirfile, 15, "replaced"),
                                   FAKE_SMI_DIR_FILE=dirfile)
        self.assertEqual(rows, FULL * 12)
        gpu_calls = [c for c in self.calls() if c[0] == "gpus"]
        self.assertLessEqual(len(gpu_calls), 3, gpu_calls)
