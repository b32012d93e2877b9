"""Markdown to safe HTML: pure functions of text, no models.

python-markdown turns editor text into HTML; nh3 (the Rust sanitiser ammonia) then keeps only
an explicit allowlist, so no editor input can run script in a reader's browser. bleach, the
sanitiser first planned, was retired by its maintainers on 2026-06-05.

python-markdown has known slow paths on crafted input (deep nesting, long runs of brackets).
`check_markdown` refuses such text before it is saved, and `render_markdown` still never raises
or hangs: if the parser fails, the text is shown escaped instead.
"""

import re
from html import escape

import markdown
import nh3

# Large enough for a long postmortem section, small enough that one save stays cheap.
MAX_MARKDOWN_LENGTH = 50_000
MAX_NESTING = 20
MAX_BRACKET_RUN = 50

ALLOWED_TAGS = {
    "a", "abbr", "blockquote", "br", "code", "dd", "del", "div", "dl", "dt", "em", "h2", "h3",
    "h4", "h5", "h6", "hr", "li", "ol", "p", "pre", "strong", "sub", "sup", "table", "tbody",
    "td", "tfoot", "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title", "id", "class"},
    "abbr": {"title"},
    "div": {"class"},
    "li": {"id"},
    "ol": {"start"},
    "sup": {"id", "class"},
    "td": {"align"},
    "th": {"align"},
    "code": {"class"},
}
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}
# Footnote markup links within the page ("#fn:1"); ammonia keeps relative URLs by default.

_NESTING_RE = re.compile(r"^[ \t]*((?:>[ \t]*){%d,})" % (MAX_NESTING + 1), re.MULTILINE)
_DEEP_LIST_RE = re.compile(r"^[ \t]{%d,}\S" % (4 * MAX_NESTING), re.MULTILINE)
_BRACKET_RUN_RE = re.compile(r"[\[\]()<>*_`]{%d,}" % (MAX_BRACKET_RUN + 1))


def check_markdown(text):
    """Return a list of plain-language problems that make `text` unsafe to render."""
    problems = []
    if len(text) > MAX_MARKDOWN_LENGTH:
        problems.append(
            f"This text is {len(text):,} characters long; the limit is {MAX_MARKDOWN_LENGTH:,}."
        )
    if _NESTING_RE.search(text) or _DEEP_LIST_RE.search(text):
        problems.append(f"Quotes or lists are nested more than {MAX_NESTING} levels deep.")
    if _BRACKET_RUN_RE.search(text):
        problems.append(
            f"A run of more than {MAX_BRACKET_RUN} brackets or emphasis marks in a row; "
            "shorten it or put it in a code block."
        )
    return problems


def sanitise_html(html):
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


def _escaped_paragraphs(text):
    paragraphs = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
    return "".join(f"<p>{escape(p)}</p>" for p in paragraphs)


def render_markdown(text):
    """Render editor Markdown to sanitised HTML. Never raises; unsafe input is shown escaped."""
    if not text:
        return ""
    if check_markdown(text):
        return sanitise_html(_escaped_paragraphs(text[:MAX_MARKDOWN_LENGTH]))
    try:
        html = markdown.markdown(
            text,
            extensions=["tables", "fenced_code", "footnotes", "sane_lists"],
            output_format="html",
        )
    except (RecursionError, ValueError, IndexError):
        html = _escaped_paragraphs(text)
    return sanitise_html(html)
