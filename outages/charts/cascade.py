"""The cascade of one provider incident, drawn as a tree from plain data: the incident at the top,
a branch for each customer it hit, and under a customer the customer's own incidents the
provider's caused. No models, no queries.

The tree runs down the page, one line per node, so it reads the same on a phone as on a desktop:
only the text's room changes. Text is cut to fit the narrowest width (charts.svg.NARROWEST);
the table beside the drawing has every word, and the same links.
"""

from dataclasses import dataclass

from django.utils.safestring import SafeString

from outages.charts.svg import _link, _svg, _truncate, el

ROW = 30  # px per line
INDENT = 22  # px each level is drawn further right
DOT = 5  # radius of a node's dot
CHARACTERS = 44  # of a line of words on a phone (375 px), the first level's
WIDE_CHARACTERS = 64  # of a label on a wider screen


@dataclass(frozen=True)
class Node:
    label: str
    href: str = ""
    note: str = ""  # shown muted after the label: how a customer was hit, a provider's name
    css_class: str = ""  # e.g. "level-outage": colours the dot (static/css/charts.css)


@dataclass(frozen=True)
class Branch:
    """A customer and the incidents of its own that the provider's incident caused."""

    customer: Node
    caused: tuple = ()


def cascade_tree(root, branches, *, chart_id, title, desc):
    """The tree: `root` (a Node) at the top, each Branch below it, its caused incidents below
    the customer."""
    stems, parts = [], [node(root, 0, 0)]
    line = last_customer = 1
    for branch in branches:
        parts += [elbow(0, line), node(branch.customer, 1, line)]
        last_customer = line
        for caused in branch.caused:
            line += 1
            parts += [elbow(1, line), node(caused, 2, line, css="caused")]
        stems.append(stem(1, last_customer, line))
        line += 1
    stems.append(stem(0, 0, last_customer if branches else 0))
    return _svg(chart_id, "cascade", line * ROW + 4, title, desc, [*stems, *parts])


def y_of(line):
    return line * ROW + ROW // 2


def x_of(level):
    return DOT + 2 + level * INDENT


def stem(level, first, last):
    """The vertical line from a node down to its last child's line."""
    if last <= first:
        return ""
    x = x_of(level)
    return el("line", x1=x, y1=y_of(first), x2=x, y2=y_of(last), class_="link")


def elbow(level, line):
    """The horizontal line from the parent's stem to a child's dot."""
    y = y_of(line)
    return el("line", x1=x_of(level), y1=y, x2=x_of(level + 1), y2=y, class_="link")


def node(item, level, line, css=""):
    """A node's dot and its words: the label cut to what a desk's width holds, and, where that
    is longer than a phone holds, a shorter line shown there instead (class "narrow"; charts.css
    swaps them), its note only if it still fits."""
    x, y = x_of(level), y_of(line)
    classes = " ".join(filter(None, ["node", css, item.css_class]))
    dot = el("circle", cx=x, cy=y, r=DOT, class_=classes)
    wide = words(item.label, item.note, WIDE_CHARACTERS, x, y)
    budget = CHARACTERS - level * 3
    if len(item.label) + (len(item.note) + 3 if item.note else 0) <= budget:
        shown = wide
    else:
        short = _truncate(item.label, budget)
        note = item.note if len(short) + len(item.note) + 3 <= budget else ""
        shown = SafeString(
            words(item.label, item.note, WIDE_CHARACTERS, x, y, "wide")
            + words(short, note, budget, x, y, "narrow")
        )
    return el("g", dot, _link(item.href, shown, item.label), class_="row")


def words(label, note, length, x, y, css=""):
    note = el("tspan", f" · {note}", class_="muted") if note else ""
    css = f"label {css}".strip()
    return el("text", _truncate(label, length), note, x=x + DOT + 6, y=y + 4, class_=css)
