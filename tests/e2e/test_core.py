"""End-to-end: the sampler against replayed H100 captures."""
import os

from tests.e2e.gw import GwTest, HEADER, read_csv


class Basics(GwTest):
    def test_busy_rows_match_capture(self):
        r = self.run_gw("--count", "1", "-o", "out.csv")
        self.assertEqual(r.returncode, 0, r.stderr)
        header, rows = read_csv(self.path("out.csv"))
        self.assertEqual(header, HEADER)
        got = [row[1:] for row in rows]
        self.assertEqual(got, [
            ["0", "442", 'python3 /tmp/work dir/train,v2.py 200 --lr=3e-4 --note=a "quoted" arg',
             "1642", "39", "2"],
            ["0", "443", "python3 /tmp/idle_hold.py 200", "3590", "", ""],
            ["0", "444", "python3 /tmp/grow.py 200 --name=grow;job", "1764", "59", "3"],
        ])
        self.assertRegex(rows[0][0], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$")
