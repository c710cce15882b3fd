"""The tool's logic, kept free of host imports so it can be unit-tested with
plain Python (python3 -m unittest discover -s tests)."""

import json


def parse_shown(text):
    """Indexes of the key points already shown, from state; anything unreadable counts as none."""
    try:
        value = json.loads(text if text is not None else "[]")
    except ValueError:
        return []
    return value if isinstance(value, list) else []


def next_key_point(key_points, shown):
    """The first key point not shown yet, starting over once all have been shown.

    Returns None when there are no key points, else a dict with the point's
    index, the point, the new list of shown indexes and whether it restarted.
    """
    if not key_points:
        return None
    seen = [i for i in shown if isinstance(i, int) and 0 <= i < len(key_points)]
    restarted = False
    if len(seen) >= len(key_points):
        seen, restarted = [], True
    index = next(i for i in range(len(key_points)) if i not in seen)
    return {"index": index, "point": key_points[index], "shown": seen + [index], "restarted": restarted}
