"""Markdown to safe HTML: pure functions of text, no models.

python-markdown turns editor text into HTML; nh3 (the Rust sanitiser ammonia) then keeps only
an explicit allowlist, so no editor input can run script in a reader's browser.

python-markdown has known slow paths on crafted input: deep nesting overflows the stack, and
many unclosed brackets make link parsing quadratic (README's performance section has figures).
`check_markdown` refuses the obvious cases before a save. `render_markdown` never raises and
never hangs: text with many brackets is parsed in a separate process with a time limit, and
whatever the parser cannot handle is shown escaped instead.
"""

import re
import subprocess
import sys
import threading
from html import escape

import markdown
import nh3

# Large enough for a long postmortem section, small enough that one save stays cheap.
MAX_MARKDOWN_LENGTH = 50_000
MAX_NESTING = 20
MAX_BRACKET_RUN = 50
# Below this many "[" and "<" the parser stays fast even at the size limit; above it, parse in a
# child process that is killed after RENDER_TIMEOUT_SECONDS.
INLINE_BRACKET_LIMIT = 100
RENDER_TIMEOUT_SECONDS = 3
MARKDOWN_EXTENSIONS = ["tables", "fenced_code", "footnotes", "sane_lists"]
_CHILD_RENDERER = (
    "import sys, markdown; sys.setrecursionlimit(2000); "
    f"sys.stdout.write(markdown.markdown(sys.stdin.read(), extensions={MARKDOWN_EXTENSIONS!r}))"
)

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


# One line of plain prose, with nothing Markdown would act on: it can only become one paragraph.
# Most timeline entries are like this, and imports render them by the hundred thousand.
_PLAIN_LINE_RE = re.compile(r"[A-Za-z0-9\"'(\u00a0-\uffff][^\n\\`*_{}\[\]<>#!|~&^]*")
_LIST_START_RE = re.compile(r"\d+[.)](\s|$)")
_converters = threading.local()


def _convert(text):
    if _PLAIN_LINE_RE.fullmatch(text) and not _LIST_START_RE.match(text):
        return f"<p>{escape(text)}</p>"
    converter = getattr(_converters, "markdown", None)
    if converter is None:
        # Building a converter (loading its extensions) costs more than most conversions.
        converter = _converters.markdown = markdown.Markdown(extensions=MARKDOWN_EXTENSIONS)
    return converter.reset().convert(text)


def render_markdown(text):
    """Render editor Markdown to sanitised HTML. Never raises; unsafe input is shown escaped."""
    if not text:
        return ""
    if check_markdown(text):
        return sanitise_html(_escaped_paragraphs(text[:MAX_MARKDOWN_LENGTH]))
    if text.count("[") + text.count("<") > INLINE_BRACKET_LIMIT:
        html = _render_in_child(text)
    else:
        try:
            html = _convert(text)
        except (RecursionError, ValueError, IndexError):
            html = None
    return sanitise_html(html if html is not None else _escaped_paragraphs(text))


def _render_in_child(text):
    try:
        done = subprocess.run(
            [sys.executable, "-c", _CHILD_RENDERER],
            input=text,
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=RENDER_TIMEOUT_SECONDS,
            check=True,
        )
    except (subprocess.TimeoutExpired, subprocess.CalledProcessError, OSError):
        return None
    return done.stdout
