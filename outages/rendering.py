"""Markdown to safe HTML: pure functions of text, no models.

python-markdown turns editor text into HTML; nh3 (the Rust sanitiser ammonia) then keeps only
an explicit allowlist, so no editor input can run script in a reader's browser.

python-markdown has known slow paths on crafted input: deep nesting overflows the stack, and
many unclosed brackets make link parsing quadratic (README's performance section has figures).
`check_markdown` refuses the known slow shapes before a save. `render_markdown` never raises
and never hangs: text with many brackets is parsed in a separate process with a time limit, and
whatever the parser cannot handle is shown escaped instead. One save's fields share one
RenderBudget: costly text is rendered at validation and charged to it, and a field the save
cannot afford is refused there (README's security section).

docs/sanitiser.md writes down the policy below (tags, attributes, classes, ids, schemes).

Editors' headings sit under the page's own (h1 the title, h2 its sections): `# Heading`
becomes h3, `##` h4, and so on down to h6. Images are kept only when they are the site's own
media (figures uploaded in the admin); any other image becomes its alt text, so a reader never
loads a stranger's file and never loses what the image was meant to say. An image alone in its
paragraph with a title (`![alt](/media/… "Caption")`) becomes a figure with that caption.
"""

import contextvars
import functools
import re
import subprocess
import sys
import threading
import time
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
# python-markdown splits a paragraph at each line that could start another block (a heading, a
# rule, a setext underline) and tests the rest again: quadratic in such lines per paragraph
# (2,000 take half a second). No real paragraph has this many.
MAX_BLOCK_BREAKS = 50
# Each "[", "(" or tag-like "<" makes the inline parser scan ahead for its closer, to the end of
# the paragraph when there is none: the characters so scanned, added up, are its cost
# (6 million, 2,000 unclosed "[" in one paragraph, took 1.5 s).
MAX_SCAN = 2_000_000
# What one save (a form with its inlines, one imported or synced incident) may spend rendering,
# all its fields together; a field that would go beyond it is refused at that field.
SAVE_RENDER_SECONDS = 4
# Text this long or with this many brackets is rendered while the save is validated, under the
# save's budget; shorter, plainer text is rendered when saved (the limits above keep it cheap).
COSTLY_LENGTH = 5_000
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
# No attribute on every tag: ammonia's default would keep "title" and "lang" anywhere.
ALLOWED_ATTRIBUTES = {
    "*": set(),
    "a": {"href", "title", "id", "class"},
    "abbr": {"title"},
    "code": {"class"},
    "div": {"class"},
    "img": {"src", "alt", "title", "width", "height"},
    "li": {"id"},
    "ol": {"start"},
    "sup": {"id"},
    "td": {"align"},
    "th": {"align"},
}
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}
# Every id an editor's text brings is prefixed, as GitHub does, so none can take the name of
# something the page or a script relies on (DOM clobbering: <a id="csrf"> becomes a global
# `csrf`); links within the text ("#fn:1", the footnotes' own) are rewritten to match.
ID_PREFIX = "user-content-"
# The only classes kept: those the enabled extensions write (footnotes; fenced_code's language
# of a code block). Never the site's own (notice, badge, chip...), so no text can dress up as
# the site. The language class has no style here; it is kept for readers' own tools.
ALLOWED_CLASSES = {"a": {"footnote-ref", "footnote-backref"}, "div": {"footnote"}}
_CODE_LANGUAGE_RE = re.compile(r"language-[A-Za-z0-9_+#.-]{1,40}")

_NESTING_RE = re.compile(r"^[ \t]*((?:>[ \t]*){%d,})" % (MAX_NESTING + 1), re.MULTILINE)
_DEEP_LIST_RE = re.compile(r"^[ \t]{%d,}\S" % (4 * MAX_NESTING), re.MULTILINE)
_BRACKET_RUN_RE = re.compile(r"[\[\]()<>*_`]{%d,}" % (MAX_BRACKET_RUN + 1))
_BLOCK_BREAK_RE = re.compile(r"^ {0,3}(?:#|=+[ \t]*$|-+[ \t]*$|(?:[*_-][ \t]*){3,}$)", re.M)
_BLANK_LINE_RE = re.compile(r"\n[ \t]*\n")
_SCANNED_RE = re.compile(r"\n[ \t]*\n|[\[\]()>]|<(?=[A-Za-z/!?])")
_CLOSES = {"]": "[", ")": "(", ">": "<"}


def check_markdown(text):
    """Return a list of plain-language problems that make `text` unsafe to render."""
    return list(_markdown_problems(text))


# A pure function of the text, asked twice of each Markdown field a save validates (its
# validator, then its budget: budget_problem), a tenth of validating an imported incident: the
# last texts' answers are remembered. A few dozen cover every field of one save.
@functools.lru_cache(maxsize=64)
def _markdown_problems(text):
    problems = []
    if len(text) > MAX_MARKDOWN_LENGTH:
        problems.append(
            f"This text is {len(text):,} characters long; the limit is {MAX_MARKDOWN_LENGTH:,}."
        )
    if _too_deep(text):
        problems.append(f"Quotes or lists are nested more than {MAX_NESTING} levels deep.")
    if _BRACKET_RUN_RE.search(text):
        problems.append(
            f"A run of more than {MAX_BRACKET_RUN} brackets or emphasis marks in a row; "
            "shorten it or put it in a code block."
        )
    if _too_many_block_breaks(text):
        problems.append(
            f"A paragraph has more than {MAX_BLOCK_BREAKS} headings, rules or underlines without "
            "a blank line between; separate them with blank lines."
        )
    if _scan_cost(text) > MAX_SCAN:
        problems.append(
            "Too many unclosed brackets ([, ( or <) in one paragraph; close them, "
            "split the paragraph, or put the text in a code block."
        )
    return tuple(problems)


def _too_deep(text):
    # Each pattern asks for more than the text can hold, most often: more than MAX_NESTING
    # ">" in all, a run of 4 * MAX_NESTING spaces (or a tab among them). Counting is a pass in
    # C; the patterns' search is slower.
    return (text.count(">") > MAX_NESTING and bool(_NESTING_RE.search(text))) or (
        ("\t" in text or " " * (4 * MAX_NESTING) in text) and bool(_DEEP_LIST_RE.search(text))
    )


def _too_many_block_breaks(text):
    if text.count("\n") < MAX_BLOCK_BREAKS:
        return False  # each break is a line of its own: too few lines for too many breaks
    if len(_BLOCK_BREAK_RE.findall(text)) <= MAX_BLOCK_BREAKS:
        return False  # the usual case: one pass over the text
    return any(
        len(_BLOCK_BREAK_RE.findall(block)) > MAX_BLOCK_BREAKS
        for block in _BLANK_LINE_RE.split(text)
    )


def _scan_cost(text):
    """How far the inline parser scans for closers, added up over the openers (see MAX_SCAN):
    the distance to the closer, or to the end of the paragraph for an opener left open."""
    openers = text.count("[") + text.count("(") + text.count("<")
    if openers * len(text) <= MAX_SCAN:
        return 0  # cannot reach the limit: most texts stop here
    cost = 0
    open_at = {"[": [], "(": [], "<": []}
    for found in _SCANNED_RE.finditer(text):
        mark, at = found.group(), found.start()
        if mark in open_at:
            open_at[mark].append(at)
        elif mark in _CLOSES:
            if open_at[_CLOSES[mark]]:
                cost += at - open_at[_CLOSES[mark]].pop()
        else:  # a blank line ends the paragraph, and the scans of what it left open
            cost += sum(at - start for starts in open_at.values() for start in starts)
            for starts in open_at.values():
                starts.clear()
    return cost + sum(len(text) - start for starts in open_at.values() for start in starts)


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


def _kept_attribute(tag, name, value):
    """nh3's attribute_filter: keep only allowed classes; point in-text links at prefixed ids."""
    if name == "class":
        allowed = ALLOWED_CLASSES.get(tag, ())
        kept = [
            word
            for word in value.split()
            if word in allowed or (tag == "code" and _CODE_LANGUAGE_RE.fullmatch(word))
        ]
        return " ".join(kept) or None
    if name == "href" and value.startswith("#") and not value.startswith("#" + ID_PREFIX):
        return f"#{ID_PREFIX}{value[1:]}"
    return value


# Built once: nh3.clean() converts the allowlists on every call, which costs five times the
# cleaning of a timeline entry.
_CLEANER = nh3.Cleaner(
    tags=ALLOWED_TAGS,
    attributes=ALLOWED_ATTRIBUTES,
    attribute_filter=_kept_attribute,
    url_schemes=ALLOWED_URL_SCHEMES,
    id_prefix=ID_PREFIX,
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


# A plain line of printable ASCII: the sanitiser gives back exactly `<p>text</p>` for it (it
# writes the quotes that escape() encodes as they were, and nothing else here needs encoding),
# whatever check_markdown says of it (a refused single line is shown as that same paragraph),
# so rendering it needs neither the escaping nor the sanitiser.
_ASCII_PLAIN_LINE_RE = re.compile(r"[A-Za-z0-9\"'(][ -~]*")
_NOT_PLAIN_RE = re.compile(r"[\\`*_{}\[\]<>#!|~&^]")


def is_plain_ascii_line(text):
    return (
        len(text) <= MAX_MARKDOWN_LENGTH
        and bool(_ASCII_PLAIN_LINE_RE.fullmatch(text))
        and not _NOT_PLAIN_RE.search(text)
        and not _LIST_START_RE.match(text)
    )


def is_plain_line(text):
    return bool(_PLAIN_LINE_RE.fullmatch(text)) and not _LIST_START_RE.match(text)


def _convert(text):
    if is_plain_line(text):
        return f"<p>{escape(text)}</p>"
    converter = getattr(_converters, "markdown", None)
    if converter is None:
        # Building a converter (loading its extensions) costs more than most conversions.
        converter = _converters.markdown = markdown.Markdown(extensions=MARKDOWN_EXTENSIONS)
    return converter.reset().convert(text)


def render_markdown(text, media_url=None):
    """Render editor Markdown to sanitised HTML. Never raises; unsafe input is shown escaped.
    Images are kept when their source is under `media_url` (settings.MEDIA_URL by default).
    Under a save's RenderBudget the time is charged to it, and text it cannot afford is shown
    escaped (validation has refused such text before any save: budget_problem)."""
    if not text:
        return ""
    budget = _budget.get()
    if budget is None and is_plain_ascii_line(text):
        return f"<p>{text}</p>"
    if check_markdown(text):
        return sanitise_html(_escaped_paragraphs(text[:MAX_MARKDOWN_LENGTH]), media_url)
    if budget is not None:
        html = budget.render(text, media_url)
    else:
        html = _render(text, media_url, RENDER_TIMEOUT_SECONDS)
    return html if html is not None else sanitise_html(_escaped_paragraphs(text), media_url)


def _render(text, media_url, timeout, in_child=False):
    """Sanitised HTML, or None when the child parser ran out of `timeout` seconds."""
    if in_child or text.count("[") + text.count("<") > INLINE_BRACKET_LIMIT:
        try:
            html = _render_in_child(text, timeout)
        except subprocess.TimeoutExpired:
            return None
    else:
        try:
            html = _convert(text)
        except (RecursionError, ValueError, IndexError):
            html = None
    return sanitise_html(html if html is not None else _escaped_paragraphs(text), media_url)


def _render_in_child(text, timeout):
    try:
        done = subprocess.run(
            [sys.executable, "-c", _CHILD_RENDERER],
            input=text,
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=timeout,
            check=True,
        )
    except (subprocess.CalledProcessError, OSError):
        return None
    return done.stdout


# --- The rendering budget of one save ----------------------------------------------------------

_budget = contextvars.ContextVar("render_budget", default=None)


class RenderBudget:
    """The rendering time one save may spend, all its fields together. While it is active
    (`with RenderBudget():`), every render is charged to it, each parse in a child process is
    given no more than what is left, and results are kept so that validation's render is the
    one the save stores. Counts what it did (`renders`, `spent`, `refused`) for the tests.

    With `everything`, validation renders all text but plain lines, not only costly text: an
    admin form may carry some ninety texts just under COSTLY_LENGTH, each a few hundredths of
    a second, which rendered when saved would take the save past its budget with no field
    refused. Imports leave such text to their renderer process (markdown_process)."""

    def __init__(self, seconds=SAVE_RENDER_SECONDS, clock=time.monotonic, everything=False):
        self.seconds = seconds
        self.clock = clock
        self.everything = everything
        self.spent = 0.0
        self.renders = 0  # renders started
        self.refused = 0  # texts not rendered: the budget was spent, or ran out on them
        self.rendered = {}  # (text, media address) -> sanitised HTML
        self.token = None

    def __enter__(self):
        self.token = _budget.set(self)
        return self

    def __exit__(self, *exc_info):
        _budget.reset(self.token)

    def remaining(self):
        return self.seconds - self.spent

    def render(self, text, media_url=None, validating=False):
        """Sanitised HTML of checked text, or None when the budget cannot afford it. Text that
        is not costly is always rendered (and charged) when saved: the structural limits keep
        it cheap; at validation it too is refused once the budget is spent."""
        key = (text, media_url)
        if key in self.rendered:
            return self.rendered[key]
        if (validating or is_costly(text)) and self.remaining() <= 0:
            self.refused += 1
            return None
        began = self.clock()
        self.renders += 1
        # Costly text is parsed here only while the budget could absorb the slowest the checks
        # let through (50,000 characters of "*a*", no bracket: some 2.5 s on a busy machine);
        # past that, in the child, stopped when the budget runs out. Starting the child costs
        # a tenth of a second or more, too much to pay for every long section.
        limit = min(RENDER_TIMEOUT_SECONDS, self.remaining())
        in_child = is_costly(text) and limit < RENDER_TIMEOUT_SECONDS
        html = _render(text, media_url, limit, in_child=in_child)
        self.spent += self.clock() - began
        if html is None:
            self.refused += 1
        else:
            self.rendered[key] = html
        return html


def is_costly(text):
    return len(text) > COSTLY_LENGTH or text.count("[") + text.count("<") > INLINE_BRACKET_LIMIT


def kept_render(text, media_url=None):
    """The HTML the active budget already rendered for `text` (at validation), else None."""
    budget = _budget.get()
    return None if budget is None else budget.rendered.get((text, media_url))


def budget_problem(text, media_url=None):
    """At validation, under a save's budget: render costly text now (under a budget of
    `everything`, all text but plain lines), charged and kept for the save, and say plainly
    when the save cannot afford it, or when nothing is left for any more text. None when all
    is well or when no budget is active; the rest is rendered when saved."""
    budget = _budget.get()
    if budget is None or not text or check_markdown(text):
        return None
    if is_costly(text) or (budget.everything and not is_plain_line(text)):
        if budget.render(text, media_url, validating=True) is not None:
            return None
    elif budget.remaining() > 0:
        return None
    return (
        "Rendering this text would take this save past its rendering budget "
        f"({budget.seconds:g} seconds for all its fields together). Save it on its own, or "
        "simplify its formatting."
    )
