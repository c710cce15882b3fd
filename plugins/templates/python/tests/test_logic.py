import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))

from logic import next_key_point, parse_shown  # noqa: E402

POINTS = ["first", "second", "third"]


class NextKeyPointTest(unittest.TestCase):
    def test_in_order_then_start_over(self):
        shown, seen = [], []
        for _ in range(4):
            nxt = next_key_point(POINTS, shown)
            seen.append(nxt["point"])
            shown = nxt["shown"]
        self.assertEqual(seen, ["first", "second", "third", "first"])

    def test_no_key_points(self):
        self.assertIsNone(next_key_point([], []))

    def test_bad_state_counts_as_nothing_shown(self):
        self.assertEqual(parse_shown("nonsense"), [])
        self.assertEqual(parse_shown(None), [])
        self.assertEqual(next_key_point(POINTS, [7, "x"])["index"], 0)


if __name__ == "__main__":
    unittest.main()
