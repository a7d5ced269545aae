"""The README's real rows are the rows of the fixture it cites."""
import os
import re
import unittest

from tests.e2e.gw import ROOT


class ReadmeRows(unittest.TestCase):
    def test_recipe_rows_are_in_the_cited_log(self):
        with open(os.path.join(ROOT, "README.md")) as f:
            readme = f.read()
        sec = readme[readme.index("### Recipe: is my job starved"):]
        cited = re.search(r"the whole log is `(tests/fixtures/[^`]+)`", sec).group(1)
        block = re.findall(r"```\n(timestamp,.*?)```", sec, re.S)[0].splitlines()
        with open(os.path.join(ROOT, cited)) as f:
            log = f.read().splitlines()
        self.assertEqual(block[0], log[0])
        self.assertGreaterEqual(len(block), 3)
        for line in block[1:]:
            self.assertIn(line, log)


if __name__ == "__main__":
    unittest.main()
