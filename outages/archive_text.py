"""Archived bodies as text a person can read and compare: text extracted from HTML, JSON laid
out one value a line, and the changes between two versions. Pure: no models.

INTERFACE (implemented by the archive work; others code against it):
"""


def extract_text(body, content_type):
    """The readable text of a stored body (bytes): HTML's text without scripts and styles, one
    block a line; JSON indented with sorted keys; other text as it is decoded."""
    raise NotImplementedError


def changes(old, new):
    """The lines of a readable diff of two texts: [(kind, line)] with kind "same", "removed" or
    "added", long runs of unchanged lines cut to a few around each change ("…")."""
    raise NotImplementedError
