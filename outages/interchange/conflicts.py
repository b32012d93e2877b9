"""How a difference between a stored row and a file's values is written in a report: one wording
for every path that compares them (fixtures, imports). Pure: plain values in, text out.

    describe("title", "Summary of the…", "Summary of a…")
    -> 'title "Summary of the…" → "Summary of a…"'
"""

import datetime
import json

# Longer texts are shown around their first difference, so that two long notes that differ in
# one word do not fill the report.
LONGEST = 80
CONTEXT = 20


def describe(field, old, new):
    """`field old → new`, each value as in a JSON file (text quoted, empty as null)."""
    if isinstance(old, str) and isinstance(new, str):
        old, new = _around_difference(old, new)
        return f"{field} {_quoted(old)} → {_quoted(new)}"
    return f"{field} {shown(old)} → {shown(new)}"


def shown(value):
    """One value as a file would write it: text quoted, keys as lists, times in ISO 8601."""
    if isinstance(value, datetime.date | datetime.datetime):
        return _quoted(value.isoformat())
    if isinstance(value, tuple):
        value = list(value)
    if isinstance(value, str):
        return _quoted(_shortened(value))
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(value)


def _quoted(text):
    return json.dumps(text, ensure_ascii=False)


def _shortened(text):
    return text if len(text) <= LONGEST else text[: LONGEST - 1] + "…"


def _around_difference(old, new):
    if len(old) <= LONGEST and len(new) <= LONGEST:
        return old, new
    same = 0
    for a, b in zip(old, new, strict=False):
        if a != b:
            break
        same += 1
    start = max(0, same - CONTEXT)
    lead = "…" if start else ""
    return (
        _shortened(lead + old[start:]),
        _shortened(lead + new[start:]),
    )
