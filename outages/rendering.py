"""Markdown to safe HTML: pure functions of text, no models.

python-markdown turns editor text into HTML; nh3 (the Rust sanitiser ammonia) then keeps only
an explicit allowlist, so no editor input can run script in a reader's browser.

python-markdown has known slow paths on crafted input: deep nesting overflows the stack, and
many unclosed brackets make link parsing quadratic (README's performance section has figures).
`check_markdown` refuses the obvious cases before a save. `render_markdown` never raises and
never hangs: text with many brackets is parsed in a separate process with a time limit, and
whatever the parser cannot handle is shown escaped instead.

Editors' headings sit under the page's own (h1 the title, h2 its sections): `# Heading`
becomes h3, `##` h4, and so on down to h6. Images are kept only when they are the site's own
media (figures uploaded in the admin); any other image becomes its alt text, so a reader never
loads a stranger's file and never loses what the image was meant to say. An image alone in its
paragraph with a title (`![alt](/media/… "Caption")`) becomes a figure with that caption.
"""

import re
import subprocess
import sys
import threading
from html import escape, unescape

import markdown
import nh3
from django.conf import settings

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
    "a", "abbr", "blockquote", "br", "code", "dd", "del", "div", "dl", "dt", "em", "h1", "h2",
    "h3", "h4", "h5", "h6", "hr", "img", "li", "ol", "p", "pre", "strong", "sub", "sup", "table",
    "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title", "id", "class"},
    "abbr": {"title"},
    "div": {"class"},
    "img": {"src", "alt", "title", "width", "height"},
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


# The page's own headings: h1 its title, h2 its sections. Editors' headings go below them.
HEADING_SHIFT = 2

# What nh3 writes, and nothing else: it serialises every tag it keeps with double-quoted,
# escaped attribute values (no "<", ">" or quote inside), so these patterns read its output
# exactly. Never apply them to unsanitised HTML.
_HEADING_TAG_RE = re.compile(r"<(/?)h([1-6])>")
_IMG_TAG_RE = re.compile(r"<img((?:\s+[\w-]+=\"[^\"]*\")*)\s*/?>")
_ATTRIBUTE_RE = re.compile(r"([\w-]+)=\"([^\"]*)\"")
# An image alone in its paragraph, with a title: a figure, its title the caption readers see.
_CAPTIONED_RE = re.compile(r"<p>(<img[^>]*?) title=\"([^\"]*)\"([^>]*>)</p>")


# Built once: nh3.clean() converts the allowlists on every call, which costs five times the
# cleaning of a timeline entry.
_CLEANER = nh3.Cleaner(
    tags=ALLOWED_TAGS,
    attributes=ALLOWED_ATTRIBUTES,
    url_schemes=ALLOWED_URL_SCHEMES,
    link_rel="noopener noreferrer",
    strip_comments=True,
)


def sanitise_html(html, media_url=None):
    """Only the allowlist survives; headings are shifted below the page's own and images that
    are not the site's own media (`media_url`, settings.MEDIA_URL by default) become their alt
    text."""
    clean = _CLEANER.clean(html)
    clean = _HEADING_TAG_RE.sub(_shifted_heading, clean)
    media_url = settings.MEDIA_URL if media_url is None else media_url
    clean = _IMG_TAG_RE.sub(lambda match: _own_image_or_alt(match, media_url), clean)
    return _CAPTIONED_RE.sub(_as_figure, clean)


def _as_figure(match):
    before, title, after = match.groups()
    return f"<figure>{before}{after}<figcaption>{title}</figcaption></figure>"


def _shifted_heading(match):
    closing, level = match.groups()
    return f"<{closing}h{min(int(level) + HEADING_SHIFT, 6)}>"


def is_own_media(src, media_url):
    """True for a path under the site's media folder; never another host ("//host/…"), a
    scheme, or a path that climbs out of the folder."""
    return (
        bool(media_url)
        and media_url.startswith("/")
        and src.startswith(media_url)
        and not src.startswith("//")
        and ".." not in src
        and "\\" not in src
    )


def _own_image_or_alt(match, media_url):
    attributes = dict(_ATTRIBUTE_RE.findall(match.group(1)))
    if is_own_media(unescape(attributes.get("src", "")), media_url):
        return match.group(0)
    # The alt text is an attribute value, escaped for one; as text it is escaped again.
    return escape(unescape(attributes.get("alt", "")), quote=False)


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


def render_markdown(text, media_url=None):
    """Render editor Markdown to sanitised HTML. Never raises; unsafe input is shown escaped.
    Images are kept when their source is under `media_url` (settings.MEDIA_URL by default)."""
    if not text:
        return ""
    if check_markdown(text):
        return sanitise_html(_escaped_paragraphs(text[:MAX_MARKDOWN_LENGTH]), media_url)
    if text.count("[") + text.count("<") > INLINE_BRACKET_LIMIT:
        html = _render_in_child(text)
    else:
        try:
            html = _convert(text)
        except (RecursionError, ValueError, IndexError):
            html = None
    return sanitise_html(html if html is not None else _escaped_paragraphs(text), media_url)


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
