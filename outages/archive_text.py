"""Archived bodies as text a person can read and compare: text extracted from HTML, JSON laid
out one value a line, and the changes between two versions. Pure: no models."""

import difflib
import json

from bs4 import BeautifulSoup

# Elements whose text is not what a reader of the page reads.
NOT_READ = ["script", "style", "noscript", "template", "head", "svg", "iframe", "object"]
# Elements that end a line of text; inline ones (links, emphasis) stay within theirs.
BLOCKS = [
    "p", "div", "li", "dt", "dd", "tr", "br", "hr", "pre", "blockquote", "section", "article",
    "header", "footer", "main", "nav", "aside", "table", "ul", "ol", "dl", "figure",
    "figcaption", "h1", "h2", "h3", "h4", "h5", "h6", "title",
]  # fmt: skip
# Unchanged lines shown around each change; longer runs are cut to "…".
CONTEXT = 3
# Line pairs the matcher may compare (the product of the two changed stretches' lengths): a
# second or so at worst. Beyond it a stretch is shown removed and added whole.
MATCHED = 4_000_000
# Lines of a diff shown at most.
SHOWN = 5_000


# Media types read as text (besides HTML and JSON, which kind_of() names).
TEXT_TYPES = ("text/", "application/xml")


def media_type(content_type):
    """The one reading of a Content-Type: “text/html” of “text/html; charset=utf-8”."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def kind_of(content_type):
    """The kind of a content type, "html", "json" or "text" (parameters ignored)."""
    main = media_type(content_type)
    if main in {"text/html", "application/xhtml+xml"}:
        return "html"
    if main == "application/json" or main.endswith("+json"):
        return "json"
    return "text"


def decoded(body):
    return body.decode("utf-8", errors="replace")


def is_text(content_type):
    """Whether a body of this type is text a person can read (a PDF or an image is not)."""
    main = media_type(content_type)
    return kind_of(main) != "text" or main.startswith(TEXT_TYPES) or main.endswith("+xml")


def extract_text(body, content_type):
    """The readable text of a stored body (bytes): HTML's text without scripts and styles, one
    block a line; JSON indented with sorted keys; other text as it is decoded."""
    kind = kind_of(content_type)
    if kind == "html":
        soup = BeautifulSoup(body, "html.parser")
        for element in soup(NOT_READ):
            element.decompose()
        for element in soup(BLOCKS):
            element.append("\n")
        lines = (" ".join(line.split()) for line in soup.get_text().splitlines())
        return "\n".join(line for line in lines if line)
    if kind == "json":
        try:
            data = json.loads(body)
        except ValueError:
            return decoded(body)
        return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False)
    return decoded(body)


def changes(old, new):
    """The lines of a readable diff of two texts: [(kind, line)] with kind "same", "removed" or
    "added", long runs of unchanged lines cut to a few around each change ("…", kind "cut").

    Bounded for any input (the bodies are up to the fetch limit, and the page is public): lines
    both versions share at the start and the end are set aside in linear time; when what is
    left is still too large to match line by line, it is shown as removed and added whole; and
    at most SHOWN lines are returned."""
    old_lines, new_lines = old.splitlines(), new.splitlines()
    matcher = BoundedMatcher(None, old_lines, new_lines, autojunk=False)
    lines = []
    for group in matcher.get_grouped_opcodes(CONTEXT):
        if lines:
            lines.append(("cut", "…"))
        for tag, old_from, old_to, new_from, new_to in group:
            if tag == "equal":
                lines += [("same", line) for line in old_lines[old_from:old_to]]
                continue
            lines += [("removed", line) for line in old_lines[old_from:old_to]]
            lines += [("added", line) for line in new_lines[new_from:new_to]]
    if len(lines) > SHOWN:
        left = sum(kind in ("added", "removed") for kind, _ in lines[SHOWN:])
        lines = lines[:SHOWN] + [("cut", f"… and {left} more changed lines, not shown here")]
    return lines


class BoundedMatcher(difflib.SequenceMatcher):
    """difflib's matcher with its quadratic worst case bounded (see changes())."""

    def get_opcodes(self):
        a, b = self.a, self.b
        start = 0
        while start < min(len(a), len(b)) and a[start] == b[start]:
            start += 1
        end = 0
        while end < min(len(a), len(b)) - start and a[-1 - end] == b[-1 - end]:
            end += 1
        middle_a, middle_b = a[start : len(a) - end], b[start : len(b) - end]
        if len(middle_a) * len(middle_b) <= MATCHED:
            inner = difflib.SequenceMatcher(None, middle_a, middle_b, autojunk=False)
            middle = [
                (tag, i1 + start, i2 + start, j1 + start, j2 + start)
                for tag, i1, i2, j1, j2 in inner.get_opcodes()
            ]
        else:
            middle = [("replace", start, len(a) - end, start, len(b) - end)]
        codes = [("equal", 0, start, 0, start)] if start else []
        codes += [code for code in middle if code[1] != code[2] or code[3] != code[4]]
        if end:
            codes.append(("equal", len(a) - end, len(a), len(b) - end, len(b)))
        return codes or [("equal", 0, 0, 0, 0)]
