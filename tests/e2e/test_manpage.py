"""The manual page gpu_watch.1 against the --help texts: every flag of
`gpu_watch --help`, `gpu_watch plot --help`, `gpu_watch summary --help` and
`gpu_watch job --help`
is described in the page's matching OPTIONS section, and the page lists no
flag that --help lacks, so the two cannot drift."""
import os
import re
import shutil
import subprocess
import unittest

from tests.e2e.gw import BIN, ROOT

MAN = os.path.join(ROOT, "gpu_watch.1")
FLAG = re.compile(r"(?<![\w-])--?[a-zA-Z][\w-]*")


def help_flags(*args):
    """Flags in the option column of a --help text: lines that start with
    two spaces and a dash, up to the gap before the description."""
    out = subprocess.run([BIN, *args, "--help"], capture_output=True, text=True, timeout=10)
    assert out.returncode == 0, out.stderr
    flags = set()
    for line in out.stdout.splitlines():
        m = re.match(r"^  (-\S.*?)(?:\s{2,}|$)", line)
        if m:
            flags |= set(FLAG.findall(m.group(1)))
    return flags


def deroff(s):
    s = s.replace("\\-", "-").replace("\\:", "")
    s = re.sub(r"\\f[BIRP]", "", s)
    return re.sub(r'^\.(BR|BI|IR|RB|B|I)\s+', "", s)


def man_sections():
    """{section title: set of flags in its .TP tags}."""
    with open(MAN) as f:
        lines = f.read().splitlines()
    sections, title, tag_next = {}, None, False
    for line in lines:
        m = re.match(r'^\.S[HS]\s+"?([^"]*)"?$', line)
        if m:
            title = m.group(1).strip()
            sections.setdefault(title, set())
            continue
        if line.startswith(".TP"):
            tag_next = True
            continue
        if tag_next and title:
            sections[title] |= set(FLAG.findall(deroff(line)))
        tag_next = False
    return sections


class ManPage(unittest.TestCase):
    def setUp(self):
        self.sections = man_sections()

    def check(self, section, *args):
        want = help_flags(*args)
        got = self.sections.get(section)
        self.assertIsNotNone(got, f"no section {section} in gpu_watch.1")
        self.assertTrue(want, "no flags found in --help")
        self.assertEqual(sorted(want - got), [], f"in --help {args} but not in {section}")
        self.assertEqual(sorted(got - want), [], f"in {section} but not in --help {args}")

    def test_main_options(self):
        self.check("OPTIONS")

    def test_plot_options(self):
        self.check("PLOT OPTIONS", "plot")

    def test_summary_options(self):
        self.check("SUMMARY OPTIONS", "summary")

    def test_job_options(self):
        self.check("JOB OPTIONS", "job")

    def test_sections(self):
        for s in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "WATCHING A COMMAND", "COLUMNS",
                  "PLOT", "SUMMARY", "EXIT STATUS", "EXAMPLES"):
            self.assertIn(s, self.sections)
        with open(MAN) as f:
            text = "\n".join(deroff(l) for l in f.read().splitlines())
        # Every column of the three schemas, and every exit status.
        for col in ("timestamp", "gpu_index", "pid", "cmd", "gpu_mem_mib", "sm_util_pct",
                    "mem_util_pct", "cpu_pct", "cpu_cores", "rss_mib", "sys_used_mib",
                    "used_mib"):
            self.assertIsNotNone(re.search(rf"\b{col}\b", text), col)
        for status in ("0", "1", "2", "126", "127"):
            self.assertIsNotNone(re.search(rf"(?m)^\.TP\n{status}$", text), status)

    def test_when_the_summary_is_printed(self):
        # Issue 19 item 17: off a terminal, a run without a command prints no
        # summary (cron): neither the page nor summary --help says "every run".
        with open(MAN) as f:
            text = " ".join(deroff(l) for l in f.read().splitlines())
        self.assertNotRegex(text, r"(?i)end of every run")
        start = text.index(".SH DESCRIPTION")
        self.assertIn("--summary", text[start:text.index(".SH OPTIONS", start)])
        out = subprocess.run([BIN, "summary", "--help"], capture_output=True, text=True,
                             timeout=10).stdout
        self.assertNotIn("every run", out)
        self.assertIn("--summary", out)

    @unittest.skipUnless(shutil.which("groff"), "groff is not installed")
    def test_renders_without_warnings(self):
        r = subprocess.run(["groff", "-man", "-Tutf8", "-z", "-ww", MAN], capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "")


if __name__ == "__main__":
    unittest.main()
