"""End-to-end: `gpu_watch plot` on logs written by the real sampler (series
and busy replays), and on logs derived from them in the other schemas.
SVG is checked with a real XML parser, PNG with zlib/struct (chunk CRCs,
IHDR, inflated IDAT) and pngcheck when installed."""
import csv
import hashlib
import io
import itertools
import os
import shutil
import struct
import subprocess
import tempfile
import unittest
import xml.etree.ElementTree as ET
import zlib

from tests.e2e.gw import BIN, ROOT, GwTest

SVG_NS = "{http://www.w3.org/2000/svg}"
BLUE = bytes([0x00, 0x72, 0xB2])  # the palette's first colour
SAMPLER_HDR = "timestamp,gpu_index,pid,cmd,gpu_mem_mib,sm_util_pct,mem_util_pct"
HOST_HDR = SAMPLER_HDR + ",cpu_pct,cpu_cores,rss_mib,sys_used_mib"

LOGS = {}  # name -> path, made once by setUpModule
_tmp = None


def _sampler_log(fixture, proc, count, interval, out):
    """Run the real sampler against the fake nvidia-smi; return the CSV path."""
    t = GwTest()
    t.setUp()
    try:
        r = t.run_gw("--count", str(count), "--interval", str(interval), "-q", "-o", out,
                     fixture=fixture, proc=proc, timeout=60)
        if r.returncode != 0:
            raise RuntimeError(r.stderr.decode())
    finally:
        t.tearDown()
    return out


def _rows(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def _write(path, header, rows, crlf=False):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\r\n" if crlf else "\n")
        w.writerow(header.split(","))
        w.writerows(rows)
    return path


def setUpModule():
    global _tmp
    _tmp = tempfile.mkdtemp(prefix="gw-plot-")
    series = _sampler_log("series", "series", 40, 0.05, os.path.join(_tmp, "series.csv"))
    busy = _sampler_log("busy", "busy", 3, 0.1, os.path.join(_tmp, "busy.csv"))
    LOGS["series"] = series
    LOGS["busy"] = busy
    header, rows = _rows(series)
    assert ",".join(header) == SAMPLER_HDR
    # The series rows re-timed one sample every 30 s from 2025-01-10 14:00
    # UTC, with a one-hour pause before sample 20 (a second run appended).
    samples = []
    for r in rows:
        if not samples or samples[-1][0][0] != r[0] or any(x[2] == r[2] for x in samples[-1]):
            samples.append([])
        samples[-1].append(r)
    assert len(samples) == 40, len(samples)
    base = 1736517600  # 2025-01-10T14:00:00Z

    def stamp(i, suffix=""):
        t = base + 30 * i + (3600 if i >= 20 else 0)
        import time as _t
        return _t.strftime("%Y-%m-%dT%H:%M:%S", _t.gmtime(t)) + suffix

    spaced, host, compact, compact_min = [], [], [], []
    for i, s in enumerate(samples):
        for r in s:
            mem = str(int(r[4]) + 40 * i) if r[4] else ""
            spaced.append([stamp(i)] + r[1:4] + [mem] + r[5:])
            cpu = 100 + (i * 7 + int(r[2])) % 90
            host.append([stamp(i, "Z")] + r[1:4] + [mem] + r[5:] +
                        [f"{cpu:.1f}", f"{cpu / 100:.2f}", "812", str(30000 + 25 * i)])
            if r[2] == "401":
                compact.append([stamp(i, "+00:00"), mem, str(30000 + 25 * i),
                                f"{cpu / 100:.2f}", f"{cpu:.1f}"])
                compact_min.append([stamp(i), mem])
    LOGS["spaced"] = _write(os.path.join(_tmp, "spaced.csv"), SAMPLER_HDR, spaced)
    LOGS["host"] = _write(os.path.join(_tmp, "host.csv"), HOST_HDR, host, crlf=True)
    LOGS["compact"] = _write(os.path.join(_tmp, "compact.csv"),
                             "timestamp,used_mib,sys_used_mib,cpu_cores,cpu_pct", compact)
    LOGS["compact_min"] = _write(os.path.join(_tmp, "compact_min.csv"),
                                 "timestamp,used_mib", compact_min)


def tearDownModule():
    shutil.rmtree(_tmp, ignore_errors=True)


def png_chunks(data):
    """Check the PNG signature and every chunk CRC; return [(type, data)]."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "signature"
    off, out = 8, []
    while off < len(data):
        n, = struct.unpack(">I", data[off:off + 4])
        typ = data[off + 4:off + 8]
        body = data[off + 8:off + 8 + n]
        crc, = struct.unpack(">I", data[off + 8 + n:off + 12 + n])
        assert zlib.crc32(typ + body) & 0xFFFFFFFF == crc, f"CRC of {typ}"
        out.append((typ.decode("ascii"), body))
        off += 12 + n
    assert off == len(data)
    return out


def png_pixels(data):
    """Decode our PNG (8-bit RGB, filter 0): (w, h, rows of bytes)."""
    chunks = png_chunks(data)
    assert chunks[0][0] == "IHDR" and chunks[-1][0] == "IEND"
    w, h, depth, ctype, comp, filt, inter = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (depth, ctype, comp, filt, inter) == (8, 2, 0, 0, 0)
    raw = zlib.decompress(b"".join(b for t, b in chunks if t == "IDAT"))
    assert len(raw) == h * (3 * w + 1), "IDAT size"
    rows = []
    for y in range(h):
        line = raw[y * (3 * w + 1):(y + 1) * (3 * w + 1)]
        assert line[0] == 0, "filter type"
        rows.append(line[1:])
    return w, h, rows


class PlotTest(GwTest):
    def plot(self, *args, stdin=None, env=None):
        e = env or self.env()
        return subprocess.run([BIN, "plot", *args], env=e, capture_output=True, timeout=30,
                              cwd=self.tmp, input=stdin)

    def svg(self, path):
        root = ET.parse(path).getroot()
        self.assertEqual(root.tag, SVG_NS + "svg")
        return root

    def series_groups(self, root):
        return [g for g in root.iter(SVG_NS + "g") if g.get("class") == "series"]


class Formats(PlotTest):
    def test_every_schema_and_flag_combination(self):
        flags = ["--per-gpu", "--per-process", "--util", "--cpu"]
        combos = [c for n in range(len(flags) + 1) for c in itertools.combinations(flags, n)
                  if not {"--per-gpu", "--per-process"} <= set(c)]  # refused: exit 2
        for name in ["series", "busy", "spaced", "host", "compact", "compact_min"]:
            for combo in combos:
                for ext in ("svg", "png"):
                    with self.subTest(log=name, flags=combo, fmt=ext):
                        out = self.path(f"o.{ext}")
                        r = self.plot(LOGS[name], "-o", out, *combo)
                        self.assertEqual(r.returncode, 0, r.stderr)
                        self.assertEqual(r.stderr, b"")
                        self.assertEqual(r.stdout, b"")  # no --show: nothing on stdout
                        # No system memory panel without its column.
                        has_sys = name in ("host", "compact")
                        npanels = 1 + has_sys + ("--util" in combo) + ("--cpu" in combo)
                        if ext == "svg":
                            self.check_svg(out, name, combo, npanels)
                        else:
                            self.check_png(out, npanels)

    def check_svg(self, out, name, combo, npanels):
        root = self.svg(out)
        texts = [t.text or "" for t in root.iter(SVG_NS + "text")]
        labels = [t for t in texts if t.endswith(")") and ("(MiB)" in t or "(%" in t)]
        self.assertEqual(len(labels), npanels, labels)
        self.assertEqual(int(root.get("height")), 150 + 260 * npanels)
        groups = self.series_groups(root)
        self.assertTrue(groups)
        for g in groups:
            title = g.find(SVG_NS + "title").text
            self.assertRegex(title, r": peak [0-9.]+ ?(MiB|%) at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
            self.assertTrue(g.findall(SVG_NS + "polyline") or g.findall(SVG_NS + "circle"))
        has_sys = name in ("host", "compact")
        self.assertEqual(any("no sys_used_mib column" in t for t in texts), not has_sys)
        if "--cpu" in combo:
            self.assertEqual(any("no cpu_pct column" in t for t in texts), not has_sys)
        if "--util" in combo:
            self.assertEqual(any("no sm_util_pct column" in t for t in texts),
                             name.startswith("compact"))
        if "--per-process" in combo and not name.startswith("compact"):
            names = {g.find(SVG_NS + "title").text.split(":")[0] for g in groups}
            pids = {"series": {"401", "402"}, "spaced": {"401", "402"}, "host": {"401", "402"},
                    "busy": {"442", "443", "444"}}[name]
            got = {n.split()[0] if not n.startswith("GPU") else n.split()[2] for n in names
                   if n != "system"}
            self.assertEqual(got, pids)

    def check_png(self, out, npanels):
        with open(out, "rb") as f:
            data = f.read()
        w, h, rows = png_pixels(data)
        self.assertEqual((w, h), (1200, 150 + 260 * npanels))
        # The first series' colour is drawn, and the background is white.
        self.assertTrue(any(BLUE in bytes(r) for r in rows))
        self.assertEqual(bytes(rows[0][:30]), b"\xff" * 30)

    def test_pngcheck(self):
        if not shutil.which("pngcheck"):
            self.skipTest("pngcheck not installed")
        for name in ("series", "host", "compact"):
            out = self.path(f"{name}.png")
            r = self.plot(LOGS[name], "-o", out, "--util", "--cpu", "--per-process")
            self.assertEqual(r.returncode, 0, r.stderr)
            c = subprocess.run(["pngcheck", "-v", out], capture_output=True, text=True)
            self.assertEqual(c.returncode, 0, c.stdout + c.stderr)
            self.assertIn("No errors detected", c.stdout)

    def test_size_and_title(self):
        out = self.path("t.png")
        r = self.plot(LOGS["spaced"], "-o", out, "--size", "640x480", "--title", "my run")
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(out, "rb") as f:
            w, h, _ = png_pixels(f.read())
        self.assertEqual((w, h), (640, 480))
        out = self.path("t.svg")
        r = self.plot(LOGS["spaced"], "-o", out, "--size=800x600", "--title=a <b> & \"c\"")
        self.assertEqual(r.returncode, 0, r.stderr)
        root = self.svg(out)
        self.assertEqual((root.get("width"), root.get("height")), ("800", "600"))
        self.assertEqual(root.find(SVG_NS + "title").text, 'a <b> & "c"')

    def test_png_text_beyond_ascii(self):
        """Issue 19 item 14: PNG text draws Latin-1 and Latin Extended-A
        (it drew '?' for every non-ASCII character) and one placeholder box,
        not a '?', for the rest."""
        def title_png(title):
            out = self.path("t.png")
            r = self.plot(LOGS["busy"], "-o", out, "--size", "640x300", "--title", title)
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(out, "rb") as f:
                rows = png_pixels(f.read())[2][:40]  # the title's rows
            return hashlib.sha256(b"".join(rows)).hexdigest()

        self.assertNotEqual(title_png("Lauf \u00fcn\u00ef"), title_png("Lauf ?n?"))
        self.assertNotEqual(title_png("\u00fc"), title_png("u"))
        self.assertNotEqual(title_png("\u0142\u00e9"), title_png("le"))
        # CJK: the one placeholder, the same for every such character, and
        # not a '?'.
        self.assertEqual(title_png("\u8bad\u7ec3"), title_png("\u4e2d\u6587"))
        self.assertNotEqual(title_png("\u8bad\u7ec3"), title_png("??"))

    def test_default_title_names_file_and_span(self):
        out = self.path("t.svg")
        r = self.plot(LOGS["spaced"], "-o", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        title = self.svg(out).find(SVG_NS + "title").text
        # 40 samples 30 s apart plus a 1 h pause: 14:00 to 15:19:30.
        self.assertEqual(title, "spaced.csv: 2025-01-10 14:00 to 15:19 (1h19m)")

    def test_pause_breaks_the_line(self):
        out = self.path("p.svg")
        r = self.plot(LOGS["spaced"], "-o", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        root = self.svg(out)
        total = [g for g in self.series_groups(root)
                 if g.find(SVG_NS + "title").text.startswith("all processes")]
        self.assertEqual(len(total), 1)
        # Two runs, two lines; a pause-free log gives one.
        self.assertEqual(len(total[0].findall(SVG_NS + "polyline")), 2)
        r = self.plot(LOGS["series"], "-o", out)
        total = [g for g in self.series_groups(self.svg(out))
                 if g.find(SVG_NS + "title").text.startswith("all processes")]
        self.assertEqual(len(total[0].findall(SVG_NS + "polyline")), 1)

    def test_peaks_match_the_log(self):
        header, rows = _rows(LOGS["spaced"])
        sums = {}
        for r in rows:
            sums[r[0]] = sums.get(r[0], 0) + int(r[4])
        peak = max(sums.values())
        out = self.path("k.svg")
        r = self.plot(LOGS["spaced"], "-o", out, "--per-process")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.plot(LOGS["spaced"], "-o", out)
        titles = [g.find(SVG_NS + "title").text for g in self.series_groups(self.svg(out))]
        self.assertTrue(any(t.startswith(f"all processes: peak {peak} MiB") for t in titles),
                        titles)

    def test_spike_in_a_big_log_survives(self):
        log = self.path("big.csv")
        subprocess.run(["python3", os.path.join(ROOT, "tests", "tools", "make_log.py"), log,
                        "--rows", "150000", "--pids", "1", "--interval", "1",
                        "--spike-at", "77777"], check=True)
        out = self.path("big.svg")
        r = self.plot(log, "-o", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        # Process 0 then holds 16000 MiB; the spike is 5x that.
        titles = [g.find(SVG_NS + "title").text for g in self.series_groups(self.svg(out))]
        self.assertIn("all processes: peak 80000 MiB at 2025-01-11 11:36:17", titles)

    def test_stdin(self):
        with open(LOGS["busy"], "rb") as f:
            data = f.read()
        out = self.path("s.svg")
        r = self.plot("-", "-o", out, stdin=data)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(self.svg(out).find(SVG_NS + "title").text.startswith("standard input: "))

    def zone_of(self, log, tz):
        out = self.path("z.svg")
        e = self.env()
        e["TZ"] = tz
        r = self.plot(log, "-o", out, env=e)
        self.assertEqual(r.returncode, 0, r.stderr)
        root = self.svg(out)
        return root.find(SVG_NS + "title").text, [t.text for t in root.iter(SVG_NS + "text")]

    def test_offset_log_shown_at_its_offset(self):
        # Written with +00:00: shown at that offset wherever it is plotted.
        title, texts = self.zone_of(LOGS["compact"], "Asia/Kolkata")
        self.assertIn("2025-01-10 14:00", title)
        self.assertIn("time (UTC+00:00)", texts)

    def test_z_log_says_utc(self):
        title, texts = self.zone_of(LOGS["host"], "Asia/Kolkata")
        self.assertIn("2025-01-10 14:00", title)
        self.assertIn("time (UTC)", texts)

    def test_naive_log_is_local_time_never_utc(self):
        # Naive times are local: labelled so, with this machine's zone said
        # as such, even when that zone is UTC.
        for tz, zone in (("Asia/Kolkata", "IST, UTC+05:30"), ("UTC", "UTC, UTC+00:00")):
            title, texts = self.zone_of(LOGS["spaced"], tz)
            self.assertIn(f"local time (here: {zone})", texts)
            self.assertNotIn("time (UTC)", texts)

    def test_milliseconds(self):
        p = self.path("ms.csv")
        with open(p, "w") as f:
            f.write(SAMPLER_HDR + "\n")
            for i in range(10):
                f.write(f"2026-11-20T10:00:0{i // 5}.{i % 5 * 2}00+01:00,0,7,job,{100 + i},5,1\n")
        r = self.plot(p)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("10 samples, 10 rows (sampler log), every 0.2 s", r.stdout.decode())


class Panels(PlotTest):
    def test_no_empty_system_memory_panel(self):
        out = self.path("one.svg")
        r = self.plot(LOGS["spaced"], "-o", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        root = self.svg(out)
        self.assertEqual(int(root.get("height")), 150 + 260)
        texts = [t.text or "" for t in root.iter(SVG_NS + "text")]
        self.assertNotIn("System memory used (MiB)", texts)
        self.assertTrue(any(t.endswith("; no sys_used_mib column: no system memory panel")
                            for t in texts), texts)
        # With the column, the panel is there and the subtitle is quiet.
        r = self.plot(LOGS["host"], "-o", out)
        texts = [t.text or "" for t in self.svg(out).iter(SVG_NS + "text")]
        self.assertIn("System memory used (MiB)", texts)
        self.assertFalse(any("no sys_used_mib" in t for t in texts))

    def test_line_breaks_where_a_value_is_unknown(self):
        """An empty cell is not reported: the line stops there rather than
        running straight across it."""
        def draw(empty):
            p = self.path("hole.csv")
            with open(p, "w") as f:
                f.write(SAMPLER_HDR + "\n")
                for i in range(20):
                    mem = "" if i in empty else str(1000 + 10 * i)
                    f.write(f"2025-01-10T14:00:{i:02d}Z,0,7,job,{mem},5,1\n")
            out = self.path("hole.svg")
            r = self.plot(p, "-o", out, "--per-process")
            self.assertEqual(r.returncode, 0, r.stderr)
            g = self.series_groups(self.svg(out))
            self.assertEqual(len(g), 1)
            return len(g[0].findall(SVG_NS + "polyline")) + len(g[0].findall(SVG_NS + "circle"))
        self.assertEqual(draw(set()), 1)
        self.assertEqual(draw({10}), 2)
        self.assertEqual(draw({5, 6, 14}), 3)


class ManySeries(PlotTest):
    def many_log(self, n=24):
        p = self.path("many.csv")
        with open(p, "w") as f:
            f.write(SAMPLER_HDR + "\n")
            for t in range(30):
                for k in range(n):
                    mem = 1000 + 37 * k + (500 if t == 10 + k % 5 else 0)
                    f.write(f"2025-01-10T14:00:{t:02d}Z,{k % 4},{100 + k},job{k},{mem},"
                            f"{(k * 7 + t) % 100},1\n")
        return p

    def styles(self, root):
        """{series name: [(stroke, dasharray) per panel it is in]}."""
        out = {}
        for g in self.series_groups(root):
            name = g.find(SVG_NS + "title").text.split(":")[0]
            line = g.find(SVG_NS + "polyline")
            if line is not None:
                out.setdefault(name, []).append((line.get("stroke"),
                                                 line.get("stroke-dasharray")))
        return out

    def test_24_processes_all_told_apart_same_style_in_every_panel(self):
        out = self.path("many.svg")
        r = self.plot(self.many_log(), "-o", out, "--per-process", "--util", "--size",
                      "2400x1600")
        self.assertEqual(r.returncode, 0, r.stderr)
        root = self.svg(out)
        st = self.styles(root)
        self.assertEqual(len(st), 24)
        for name, per_panel in st.items():
            # In the GPU memory and the SM panel: one style per process.
            self.assertEqual(len(per_panel), 2, name)
            self.assertEqual(per_panel[0], per_panel[1], name)
        # 24 processes, 24 different looks: no two share colour and dash.
        looks = {v[0] for v in st.values()}
        self.assertEqual(len(looks), 24, looks)
        self.assertEqual(len({v[0][0] for v in st.values()}), 8)  # the palette, thrice

    def test_thousands_of_processes_stay_bounded(self):
        """Issue 18 item 12: --per-process keeps the 31 processes of highest
        peak apart (32 styles, one for the rest) and sums the others into
        "other processes": memory and output do not grow with the PIDs."""
        n, samples = 3000, 8
        p = self.path("pids.csv")
        with open(p, "w") as f:
            f.write(SAMPLER_HDR + "\n")
            for t in range(samples):
                for k in range(n):
                    # The highest peak belongs to the last PID, in the last
                    # sample: a first-come choice would miss it.
                    mem = 100 + (k * 7919) % 1000
                    if k == n - 1 and t == samples - 1:
                        mem = 90000
                    f.write(f"2025-01-10T14:00:{t:02d}Z,{k % 8},{10000 + k},job{k},{mem},1,1\n")
        for fmt in ("svg", "png"):
            out = self.path("pids." + fmt)
            for src in ("file", "stdin"):
                with self.subTest(fmt=fmt, src=src):
                    # The plot's own peak RSS (KiB), from wait4 of that child.
                    with open(p, "rb") as f:
                        child = subprocess.Popen(
                            [BIN, "plot", p if src == "file" else "-", "-o", out,
                             "--per-process", "--util"],
                            env=self.env(), cwd=self.tmp, stdin=f, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
                        _, status, usage = os.wait4(child.pid, 0)
                        child.returncode = os.waitstatus_to_exitcode(status)
                    self.assertEqual(child.returncode, 0)
                    # 1.3 GB before; the log itself is 200 KB. (A sanitizer
                    # build keeps freed memory in quarantine: not measured.)
                    if "build-san" not in BIN:
                        self.assertLess(usage.ru_maxrss, 100 * 1024, "RSS in KiB")
                    self.assertLess(os.path.getsize(out), 400 * 1024)
                    if fmt == "svg":
                        st = self.styles(self.svg(out))
                        names = set(st)
                        self.assertLessEqual(len(names), 32, len(names))
                        self.assertIn(f"{10000 + n - 1} job{n - 1}", names)
                        self.assertIn("other processes (summed)", names)
                        looks = {v[0] for v in st.values()}
                        self.assertEqual(len(looks), len(names))  # all told apart
        # "other processes" is the per-sample sum of all but the 31 kept:
        # the last PID (its spike) and the 30 next highest.
        self.plot(p, "-o", self.path("pids.svg"), "--per-process")
        base = sorted((100 + (k * 7919) % 1000 for k in range(n - 1)), reverse=True)
        titles = [g.find(SVG_NS + "title").text
                  for g in self.series_groups(self.svg(self.path("pids.svg")))]
        other = next(t for t in titles if t.startswith("other processes"))
        self.assertIn(f": peak {sum(base[30:])} MiB at", other)

    def test_peak_labels_do_not_overlap(self):
        out = self.path("many.svg")
        r = self.plot(self.many_log(), "-o", out, "--per-process")
        self.assertEqual(r.returncode, 0, r.stderr)
        boxes = []
        for t in self.svg(out).iter(SVG_NS + "text"):
            if (t.text or "").startswith("peak ") and t.get("text-anchor") == "start":
                x, y = float(t.get("x")), float(t.get("y"))
                boxes.append((x, y - 9.5, x + 6 * len(t.text), y + 2.5))
        self.assertGreater(len(boxes), 3)
        for i, a in enumerate(boxes):
            for b in boxes[i + 1:]:
                overlap = a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
                self.assertFalse(overlap, (a, b))


class ToStdout(PlotTest):
    def test_png_and_svg_to_stdout(self):
        r = self.plot(LOGS["busy"], "-o", "-", "--format", "png")
        self.assertEqual(r.returncode, 0, r.stderr)
        w, h, _ = png_pixels(r.stdout)
        self.assertEqual((w, h), (1200, 150 + 260 * 1))  # no sys_used_mib: one panel
        r = self.plot(LOGS["busy"], "-o", "-", "--format", "svg")
        self.assertEqual(r.returncode, 0, r.stderr)
        root = ET.fromstring(r.stdout)
        self.assertEqual(root.tag, SVG_NS + "svg")
        # The same bytes as written to a file.
        out = self.path("same.svg")
        self.assertEqual(self.plot(LOGS["busy"], "-o", out).returncode, 0)
        with open(out, "rb") as f:
            self.assertEqual(f.read(), r.stdout)

    def test_format_overrides_the_extension(self):
        out = self.path("chart.img")
        r = self.plot(LOGS["busy"], "-o", out, "--format", "svg")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.svg(out)


class Terminal(PlotTest):
    def test_show_without_output(self):
        r = self.plot(LOGS["host"], "--util", "--cpu", "--per-process")
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout.decode("utf-8")
        lines = out.splitlines()
        # Not a terminal: 80 columns, no colour escapes.
        self.assertLessEqual(max(len(l) for l in lines), 80)
        self.assertNotIn("\x1b", out)
        for label in ("GPU memory (MiB)", "System memory used (MiB)", "SM utilization (%)",
                      "CPU use (% of one core)"):
            self.assertIn(label, lines)
        braille = [c for c in out if 0x2801 <= ord(c) <= 0x28FF]
        self.assertGreater(len(braille), 100)
        self.assertRegex(out, r"401 python3 mm\.py 420 0\.0 --job=busy\s+peak \d+ MiB")
        self.assertIn("time (UTC)", out)

    def test_show_with_output_file(self):
        out = self.path("b.svg")
        r = self.plot(LOGS["compact_min"], "-o", out, "--show", "--cpu")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.svg(out)
        text = r.stdout.decode()
        self.assertIn("GPU memory (MiB)", text)
        self.assertIn("no cpu_pct column", text)
        self.assertIn("no sys_used_mib column", text)

    def test_show_in_a_pty_uses_its_width_and_colour(self):
        import pty
        import select
        import fcntl
        import termios
        pid, fd = pty.fork()
        if pid == 0:
            fcntl.ioctl(1, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 120, 0, 0))
            os.environ["TZ"] = "UTC"
            os.environ["TERM"] = "xterm-256color"
            os.environ.pop("NO_COLOR", None)
            os.execv(BIN, [BIN, "plot", LOGS["spaced"]])
        data = b""
        while True:
            rl, _, _ = select.select([fd], [], [], 10)
            if not rl:
                break
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            data += chunk
        _, status = os.waitpid(pid, 0)
        self.assertEqual(os.waitstatus_to_exitcode(status), 0)
        text = data.decode("utf-8")
        self.assertIn("\x1b[38;2;0;114;178m", text)  # the palette's blue
        import re
        plain = re.sub(r"\x1b\[[0-9;]*m", "", text)
        widest = max(len(l.rstrip("\r")) for l in plain.splitlines())
        self.assertEqual(widest, 120)


class BadInput(PlotTest):
    def one_line_error(self, r, code, pattern):
        self.assertEqual(r.returncode, code, r.stderr)
        err = r.stderr.decode()
        self.assertEqual(err.count("\n"), 1, err)
        self.assertRegex(err, pattern)

    def test_missing_file(self):
        r = self.plot(self.path("nope.csv"), "-o", self.path("x.svg"))
        self.one_line_error(r, 1, r"cannot read .*nope\.csv: No such file or directory")
        self.assertFalse(os.path.exists(self.path("x.svg")))

    def test_empty_and_header_only(self):
        p = self.path("e.csv")
        open(p, "w").close()
        self.one_line_error(self.plot(p), 1, r"e\.csv is empty")
        with open(p, "w") as f:
            f.write(SAMPLER_HDR + "\n")
        self.one_line_error(self.plot(p, "-o", self.path("x.png")), 1, r"header but no data rows")

    def test_unknown_header(self):
        p = self.path("u.csv")
        with open(p, "w") as f:
            f.write("time,memory\n2025-01-10T14:00:00,5\n")
        self.one_line_error(self.plot(p), 1, r"not a gpu_watch log")

    def test_unknown_header_names_every_column(self):
        # Issue 19 item 17: the message lists every column the sampler can
        # write (peak_mem_mib was missing), read here from a real log's header.
        r = self.run_gw("--host", "--peaks", "--who", "--count", "1", "-q", "-o", "all.csv")
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(self.path("all.csv")) as f:
            names = f.readline().strip().split(",")
        names += ["used_mib", "sys_used_mib", "cpu_cores", "cpu_pct"]  # --compact
        p = self.path("u.csv")
        with open(p, "w") as f:
            f.write("time,memory\n2025-01-10T14:00:00,5\n")
        err = self.plot(p).stderr.decode()
        for n in names:
            self.assertRegex(err, rf"[',]{n}[',]", n)

    def test_tilde_and_format_mismatch(self):
        # Issue 19 item 17: "~/x.csv" given quoted is expanded as -o's is;
        # -o out.svg --format png is refused rather than PNG bytes in a .svg.
        home = self.path("home")
        os.mkdir(home)
        shutil.copy(LOGS["busy"], os.path.join(home, "x.csv"))
        env = self.env()
        env["HOME"] = home
        r = self.plot("~/x.csv", "-o", "~/x.svg", env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.svg(os.path.join(home, "x.svg"))
        r = self.plot("~/x.csv", "-o", "out.svg", "--format", "png", env=env)
        self.one_line_error(r, 2, r"--format png does not match")
        self.assertFalse(os.path.exists(self.path("out.svg")))
        r = self.plot("~/x.csv", "-o", "out.PNG", "--format", "svg", env=env)
        self.one_line_error(r, 2, r"--format svg does not match")
        r = self.plot("~/x.csv", "-o", "out.img", "--format", "png", env=env)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_endless_line(self):
        """plot /dev/zero used to read forever."""
        r = self.plot("/dev/zero", "-o", self.path("z.png"))
        self.one_line_error(r, 1, r"/dev/zero is not a gpu_watch log: line 1 is longer than "
                                  r"1 MiB")
        self.assertFalse(os.path.exists(self.path("z.png")))

    def test_directory(self):
        self.one_line_error(self.plot(self.tmp), 1, r"cannot read .*: Is a directory")

    def test_usage_errors(self):
        log = LOGS["busy"]
        cases = [
            ([log, "-o", "x.jpg"], r"must end in \.svg or \.png"),
            ([log, "-o", "x"], r"must end in \.svg or \.png"),
            ([log, "--bogus"], r"unknown option '--bogus'"),
            ([], r"which log\?"),
            ([log, log], r"more than one log"),
            ([log, "--size", "12"], r"--size wants"),
            ([log, "--size", "100000x5"], r"--size wants"),
            ([log, "-o"], r"-o needs a value"),
            ([log, "--util=yes"], r"--util takes no value"),
            ([log, "--per-gpu", "--per-process", "-o", "x.svg"],
             r"--per-gpu and --per-process cannot go together"),
            ([log, "-o", "-"], r"-o - needs --format png or --format svg"),
            ([log, "-o", "-", "--format", "svg", "--show"], r"not with --show"),
            ([log, "-o", "x.png", "--format", "jpg"], r"--format wants png or svg"),
            ([log, "--format", "png"], r"--format is for -o OUT"),
            # Issue 19 item 17: one value each, as for the sampler's options.
            ([log, "-o", "a.svg", "--output", "b.svg"], r"--output given twice"),
            ([log, "-o", "a.png", "--format", "png", "--format=svg"], r"--format given twice"),
            ([log, "--title", "a", "--title=b"], r"--title given twice"),
            ([log, "--size", "400x300", "--size=500x400"], r"--size given twice"),
        ]
        for args, pat in cases:
            with self.subTest(args=args):
                self.one_line_error(self.plot(*args), 2, pat)

    def test_help(self):
        r = self.plot("--help")
        self.assertEqual(r.returncode, 0)
        out = r.stdout.decode()
        for opt in ("--per-gpu", "--per-process", "--util", "--cpu", "--show", "--title",
                    "--size", "-o", "--format"):
            self.assertIn(opt, out)

    def test_malformed_rows_skipped_and_counted(self):
        header, rows = _rows(LOGS["spaced"])
        p = self.path("m.csv")
        with open(p, "w", newline="") as f:
            f.write(",".join(header) + "\n")
            w = csv.writer(f, lineterminator="\n")
            for i, r in enumerate(rows):
                w.writerow(r)
                if i == 5:
                    f.write("2025-01-10T14:02:30,0,401,too,few\n")
                if i == 9:
                    f.write("not a time,0,401,x,1,2,3\n")
                if i == 11:
                    f.write("2025-01-10T14:02:30,0,401,x,12MiB,2,3\n")
        out = self.path("m.svg")
        r = self.plot(p, "-o", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        err = r.stderr.decode()
        self.assertEqual(err.count("\n"), 1, err)
        self.assertRegex(err, r"warning: skipped 3 malformed rows of .*m\.csv \(the first at "
                              r"line 8\); plotting the other 80")
        root = self.svg(out)
        self.assertTrue(any("3 malformed rows skipped" in (t.text or "")
                            for t in root.iter(SVG_NS + "text")))

    def test_odd_bytes_in_commands(self):
        # Non-UTF-8 bytes, a terminal escape and non-ASCII text in cmd: the
        # SVG stays well-formed XML and the terminal gets no escape codes.
        p = self.path("odd.csv")
        with open(p, "wb") as f:
            f.write(SAMPLER_HDR.encode() + b"\n")
            for i in range(5):
                ts = f"2025-01-10T14:00:{i:02d}".encode()
                f.write(ts + b",0,7,python3 caf\xc3\xa9.py \xff\xfe \x1b[31mred,100,1,1\n")
                f.write(ts + b",0,8,\xe8\xae\xad\xe7\xbb\x83 \x7f\x1b]0;x\x07,200,1,1\n")
        out = self.path("odd.svg")
        r = self.plot(p, "-o", out, "--per-process", "--show")
        self.assertEqual(r.returncode, 0, r.stderr)
        names = {g.find(SVG_NS + "title").text.split(":")[0]
                 for g in self.series_groups(self.svg(out))}
        self.assertIn("7 python3 caf\u00e9.py ?? ?[31mred", names)
        self.assertIn("8 \u8bad\u7ec3 ??]0;x?", names)
        self.assertNotIn(b"\x1b", r.stdout)
        self.assertNotIn(b"\x07", r.stdout)
        r = self.plot(p, "-o", self.path("odd.png"), "--per-process")
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(self.path("odd.png"), "rb") as f:
            png_pixels(f.read())

    def test_all_rows_bad(self):
        p = self.path("b.csv")
        with open(p, "w") as f:
            f.write(SAMPLER_HDR + "\nx,y\n1,2,3\n")
        self.one_line_error(self.plot(p), 1, r"no readable rows: all 2 are malformed")

    def test_unwritable_output(self):
        r = self.plot(LOGS["busy"], "-o", self.path("no/such/dir/x.png"))
        self.one_line_error(r, 1, r"cannot write .*x\.png: No such file or directory")

    def test_file_size_limit_keeps_the_old_file(self):
        """Under ulimit -f, -o keep.png used to die of SIGXFSZ, silently,
        leaving keep.png truncated. Now: EFBIG said, keep.png untouched, no
        temporary file left."""
        import resource
        keep = self.path("keep.png")
        r = self.plot(LOGS["busy"], "-o", keep)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(keep, "rb") as f:
            good = f.read()
        self.assertGreater(len(good), 4096)

        def limit():
            resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
        r = subprocess.run([BIN, "plot", LOGS["series"], "-o", keep, "--util"],
                           env=self.env(), capture_output=True, timeout=30, cwd=self.tmp,
                           preexec_fn=limit)
        self.one_line_error(r, 1, r"cannot write .*keep\.png: File too large \(over the "
                                  r"file-size limit")
        with open(keep, "rb") as f:
            self.assertEqual(f.read(), good)
        self.assertFalse([n for n in os.listdir(self.tmp) if n.startswith("keep.png.tmp")])

    def test_failed_rename_leaves_nothing(self):
        d = self.path("taken.svg")
        os.mkdir(d)
        os.mkdir(os.path.join(d, "x"))  # a non-empty directory: rename fails
        r = self.plot(LOGS["busy"], "-o", d)
        self.one_line_error(r, 1, r"cannot write .*taken\.svg: ")
        self.assertFalse([n for n in os.listdir(self.tmp) if ".tmp" in n])
        self.assertTrue(os.path.isdir(d))

    def test_new_file_is_readable_like_any(self):
        out = self.path("mode.svg")
        r = self.plot(LOGS["busy"], "-o", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        umask = os.umask(0)
        os.umask(umask)
        self.assertEqual(os.stat(out).st_mode & 0o777, 0o666 & ~umask)


if __name__ == "__main__":
    unittest.main()
