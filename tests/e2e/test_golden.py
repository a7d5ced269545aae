"""The CSV of every fixture scenario, byte for byte: gpu_watch against the fake
nvidia-smi and the fake NVML with each column group (--host, --peaks, --who,
--peak-rate, --compact) compared with the files of tests/fixtures/golden/,
recorded from the program before the column table (issue 22) replaced the
hand-written headers and rows. Only the timestamps are normalised (the first
field of each row becomes "T"). GW_GOLDEN_RECORD=1 writes the files instead
of comparing (after a deliberate change of the format, and only then)."""
import os
import re
import subprocess
import tempfile

from tests.e2e.gw import BIN, FAKE_DIR, GwTest, ROOT, strip_seam

BUILD = os.path.dirname(os.path.dirname(FAKE_DIR))  # build/tests -> build
FAKE_NVML = os.path.join(BUILD, "tests", "fake-nvml")
NVML_SCEN = os.path.join(ROOT, "tests", "fixtures", "nvml")
PEAKS = os.path.join(ROOT, "tests", "fixtures", "peaks")
PROC = os.path.join(ROOT, "tests", "fixtures", "proc")
GOLDEN = os.path.join(ROOT, "tests", "fixtures", "golden")
RECORD = os.environ.get("GW_GOLDEN_RECORD") == "1"

TWO = ("--count", "2", "--interval", "0.05")

# (name, arguments, fake nvidia-smi fixture, /proc fixture, NVML scenario or
# None for the nvidia-smi source, extra environment). A scenario's name is
# its golden file's.
SCENARIOS = [
    ("busy", TWO, "busy", "busy", None, {}),
    ("busy_host", ("--host",) + TWO, "busy", "busy", None, {}),
    ("busy_peaks", ("--peaks",) + TWO, "busy", "busy", None, {}),
    ("busy_host_peaks", ("--host", "--peaks") + TWO, "busy", "busy", None, {}),
    ("busy_who", ("--who",) + TWO, "busy", "busy", None, {}),
    ("busy_all", ("--host", "--peaks", "--who") + TWO, "busy", "busy", None, {}),
    ("busy_compact", ("--compact", "--pid", "442") + TWO, "busy", "busy", None, {}),
    ("busy_compact_ms", ("--compact", "--pid", "443", "--ms") + TWO, "busy", "busy", None, {}),
    ("gpu8_host", ("--host",) + TWO, "gpu8", "gpu8", None, {}),
    ("gpu16_host_who", ("--host", "--who") + TWO, "gpu16", "gpu16", None, {}),
    ("many", ("--count", "1"), "many", "many", None, {}),
    ("idle_host", ("--host",) + TWO, "idle", "busy", None, {}),
    ("mig_host", ("--host",) + TWO, "mig", "mig", None, {}),
    ("series", ("--count", "4", "--interval", "0.05"), "series", "series", None, {}),
    ("twice", TWO, "twice", "busy", None, {}),
    ("replaced", TWO, "replaced", "busy", None, {}),
    ("huge", ("--count", "1"), "huge", "busy", None, {}),
    ("uuid_mismatch", ("--count", "1"), "uuid-mismatch", "busy", None, {}),
    ("who_all", ("--host", "--peaks", "--who") + TWO, "busy", "who", None, {}),
    ("h200_peaks_on", ("--peaks", "--host") + TWO, PEAKS + "/h200", "h200", None,
     {"FAKE_SMI_ACCT": "on"}),
    ("h200_peaks_off", ("--peaks",) + TWO, PEAKS + "/h200", "h200", None, {}),
    ("mig_peaks_on", ("--peaks", "--who") + TWO, PEAKS + "/mig", "mig", None,
     {"FAKE_SMI_ACCT": "on"}),
    ("nvml_busy_host", ("--source", "nvml", "--host") + TWO, "busy", "busy", "busy", {}),
    ("nvml_gpu8_who", ("--source", "nvml", "--who") + TWO, "gpu8", "gpu8", "gpu8", {}),
    ("nvml_mig_all", ("--source", "nvml", "--host", "--peaks", "--who") + TWO, "mig", "mig",
     "mig", {}),
    ("nvml_peaks", ("--source", "nvml", "--peaks") + TWO, PEAKS + "/h200", "h200", "peaks", {}),
    ("nvml_dense", ("--source", "nvml", "--peak-rate", "50") + TWO, "busy", "busy", "busy", {}),
    ("nvml_dense_all", ("--source", "nvml", "--peak-rate", "--host", "--who") + TWO, "busy",
     "busy", "busy", {}),
    ("nvml_mig_dense", ("--source", "auto", "--peak-rate", "20", "--peaks", "--who") + TWO, "mig",
     "mig", "mig_dense", {}),
]


def normalise(out):
    """The log with each row's timestamp (its first field) replaced by T."""
    lines = out.split(b"\n")
    return b"\n".join(lines[:1] + [re.sub(rb"^[^,]*", b"T", l) if l else l for l in lines[1:]])


class Golden(GwTest):
    def run_scenario(self, args, fixture, proc, scen, extra):
        e = self.env(fixture, os.path.join(PROC, proc), **extra)
        # Each scenario its own call counters: a series fixture replays its
        # steps by the fake's count of calls, which the scenarios before it
        # would otherwise have moved (by a number that timing can change).
        state = tempfile.mkdtemp(dir=self.tmp, prefix="state-")
        e["FAKE_SMI_STATE"] = state
        e["LD_LIBRARY_PATH"] = FAKE_NVML
        if scen:
            # The fake's "spike" lines follow the wall clock: left out, so
            # that the dense peak is the same on every run.
            path = self.path("scenario.txt")
            with open(os.path.join(NVML_SCEN, scen + ".txt")) as f, open(path, "w") as out:
                out.writelines(l for l in f if not l.startswith("spike "))
            e["FAKE_NVML_SCENARIO"] = path
        r = subprocess.run([BIN, "-q", "-o", "-", *args], env=e, capture_output=True, timeout=30,
                           cwd=self.tmp)
        self.assertEqual(r.returncode, 0, strip_seam(r.stderr))
        return normalise(r.stdout)

    def test_every_scenario_byte_identical(self):
        self.assertTrue(RECORD or os.path.isdir(GOLDEN), GOLDEN)
        names = set()
        for name, args, fixture, proc, scen, extra in SCENARIOS:
            names.add(name + ".csv")
            with self.subTest(name):
                got = self.run_scenario(args, fixture, proc, scen, extra)
                path = os.path.join(GOLDEN, name + ".csv")
                if RECORD:
                    os.makedirs(GOLDEN, exist_ok=True)
                    with open(path, "wb") as f:
                        f.write(got)
                    continue
                with open(path, "rb") as f:
                    self.assertEqual(got.decode(), f.read().decode())
        if not RECORD:
            # No golden file without its scenario (a renamed one would
            # otherwise compare nothing).
            self.assertEqual(sorted(n for n in os.listdir(GOLDEN) if n.endswith(".csv")),
                             sorted(names))
