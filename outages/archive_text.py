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


def kind_of(content_type):
    """The kind of a content type, "html", "json" or "text" (parameters ignored)."""
    main = (content_type or "").split(";")[0].strip().lower()
    if main in {"text/html", "application/xhtml+xml"}:
        return "html"
    if main == "application/json" or main.endswith("+json"):
        return "json"
    return "text"


def decoded(body):
    return body.decode("utf-8", errors="replace")


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
    "added", long runs of unchanged lines cut to a few around each change ("…", kind "cut")."""
    old_lines, new_lines = old.splitlines(), new.splitlines()
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
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
    return lines
