"""Soak: a long run at --interval 0.001 against the instant fake nvidia-smi.
The sampler's resident memory stays under 4 MiB and does not grow between
the first and the last 10,000 samples, its open descriptors stay constant,
and the timestamps never go backwards.

make test runs 10,000 samples (SoakTest); make soak runs 100,000:
    python3 -m tests.e2e.test_soak 100000
"""
import os
import sys
import time
import unittest

from tests.e2e.gw import BIN, GwTest, HEADER, fd_count, read_csv

WINDOW = 10000       # samples compared at the start and at the end (at most a fifth)
RSS_LIMIT_KIB = 4096
# Under ASan/UBSan (make test SANITIZE=1) memory is the sanitizer's: the
# RSS limits apply to the normal build only.
SANITIZED = "build-san" in BIN


def status_kib(pid):
    """VmRSS and VmHWM of pid, in KiB."""
    v = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, rest = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                v[k] = int(rest.split()[0])
    return v["VmRSS"], v["VmHWM"]


def soak(t, samples):
    """Run samples samples, watching the process; returns a dict of figures.
    t is a GwTest (for its temp dir and fake)."""
    p = t.start_gw("--interval", "0.001", "--count", str(samples), "-q", "-o", "soak.csv")
    t.addCleanup(lambda: p.poll() is None and (p.kill(), p.communicate()))
    log = t.path("soak.csv")
    header_len = len(",".join(HEADER)) + 1
    per_sample = None
    marks = []  # (sample number, rss, hwm, fds)
    while p.poll() is None:
        try:
            size = os.path.getsize(log)
            if per_sample is None and size > header_len:
                with open(log) as f:
                    lines = f.read().splitlines()[1:4]
                if len(lines) == 3:
                    per_sample = sum(len(l) + 1 for l in lines)
            n = (size - header_len) // per_sample if per_sample else 0
            rss, hwm = status_kib(p.pid)
            marks.append((n, rss, hwm, fd_count(p.pid)))
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.05)
    out, err = p.communicate(timeout=60)
    t.assertEqual(p.returncode, 0, err)
    header, rows = read_csv(log)
    t.assertEqual(header, HEADER)
    t.assertEqual(len(rows), 3 * samples)
    stamps = [r[0] for r in rows]
    t.assertEqual(stamps, sorted(stamps), "timestamps went backwards")
    w = min(WINDOW, samples // 5)
    first = [m for m in marks if 0 < m[0] <= w]
    last = [m for m in marks if m[0] >= samples - w and m[0] < samples]
    t.assertTrue(first and last, marks[:5])
    fig = {
        "samples": samples,
        "window": w,
        "rss_start_kib": max(m[1] for m in first),
        "rss_end_kib": max(m[1] for m in last),
        "hwm_kib": max(m[2] for m in marks),
        "fds_start": min(m[3] for m in first),
        "fds_end": min(m[3] for m in last),
        "fds_max": max(m[3] for m in marks),
        "polls": len(marks),
    }
    # Descriptors: between samples the same set (the log, std streams).
    t.assertEqual(fig["fds_end"], fig["fds_start"], fig)
    t.assertLessEqual(fig["fds_max"], fig["fds_start"] + 6, fig)
    if not SANITIZED:
        t.assertLess(fig["hwm_kib"], RSS_LIMIT_KIB, fig)
        # Not growing: the last window's resident memory is no larger than
        # the first window's (16 KiB of slack: a late page of stack or heap;
        # a leak of 16 bytes a sample is 128 KiB over 8,000 samples).
        t.assertLessEqual(fig["rss_end_kib"], fig["rss_start_kib"] + 16, fig)
    return fig


class SoakTest(GwTest):
    def test_soak_10000_samples(self):
        fig = soak(self, int(os.environ.get("GW_SOAK_SAMPLES", "10000")))
        print(f"\nsoak: {fig}", file=sys.stderr)


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100000

    class Soak(GwTest):
        def runTest(self):
            fig = soak(self, n)
            print("soak: " + ", ".join(f"{k}={v}" for k, v in fig.items()))

    r = unittest.TextTestRunner(verbosity=0).run(Soak())
    sys.exit(0 if r.wasSuccessful() else 1)
