"""The SVG toolkit (el(), labels, links, lanes) and the charts drawn with it from plain data
(numbers, labels, links, dates): bars, stacked columns, dots and histograms on a logarithmic
axis, strips over the years. No models, no queries, no JavaScript. The incident timeline
(charts/timeline.py) is drawn with the same toolkit.

Horizontal positions are percentages and vertical ones pixels, so a chart fills whatever width
its box has (a 375-px phone or a desktop) while its text keeps its size. Colours come from CSS
classes (static/css/charts.css), never from attributes, so dark mode follows the site's colours.

Every chart is an `<svg role="group">` (not "img": an image may not hold links) named by its
`<title>` and `<desc>`. Assistive technology reads that summary rather than the marks, so each
page shows the same numbers and links in a table beside the chart; the marks' own links serve
pointing devices and are kept out of the tab order (tabindex="-1") so that keyboard users do not
tab through every link twice.

Every element is written by el(), which escapes text and attribute values; the results are safe
strings for templates.
"""

import calendar
import math
from dataclasses import dataclass
from html import escape

from django.utils.safestring import SafeString

# The narrowest width (px) a chart is drawn for: marks closer than this allows are stacked,
# and axis labels thinned, so that nothing overlaps on a phone.
NARROWEST = 320
# Below this width charts.css hides labels of class "minor"; above it every label shown fits.
WIDE = 520
LABEL_WIDTH = 36  # px taken by a year label ("2012") and the space around it


@dataclass(frozen=True)
class Bar:
    """One bar of a horizontal bar chart; `label_href` links the label, `href` the bar."""

    label: str
    value: int
    href: str
    label_href: str = ""
    note: str = ""  # shown muted after the label, e.g. the provider of a service
    tip: str = ""  # tooltip of the bar; defaults to "label: value"


@dataclass(frozen=True)
class Segment:
    """One series' part of a stacked column, coloured by `css_class` (e.g. "series-1")."""

    value: int
    href: str
    tip: str
    css_class: str


@dataclass(frozen=True)
class Column:
    label: str
    segments: tuple
    href: str = ""  # the whole column's link, on its total


@dataclass(frozen=True)
class Dot:
    value: float
    tip: str
    href: str


@dataclass(frozen=True)
class Bin:
    """One bar of a histogram: how many values lie from `low` up to `high`."""

    low: float
    high: float
    count: int
    tip: str


@dataclass(frozen=True)
class Marker:
    """A labelled vertical line across a dot plot or histogram, e.g. the median."""

    value: float
    label: str


@dataclass(frozen=True)
class Moment:
    """One mark on a strip, at a date; or, with `until` (the end of a month or year known only
    as that), hollow in the middle of that period, with a line across it: not at its first day,
    which would say the day is known."""

    when: object  # a date or datetime
    tip: str
    href: str
    until: object = None


# --- The toolkit -----------------------------------------------------------------------------


def safe_text(value):
    """Django's conditional_escape, without its lazy-string wrapper: a drawing has a few hundred
    elements, and that wrapper would take a third of the time of drawing one. Numbers (most
    coordinates) have nothing to escape."""
    if type(value) in NUMBERS:
        return str(value)
    return value.__html__() if hasattr(value, "__html__") else escape(str(value))


NUMBERS = (int, float)
# Keyword to attribute name (`class_` is `class`, text_anchor is text-anchor), found once for
# each of the few keywords rather than once for each of the thousands of attributes drawn.
ATTRIBUTE_NAMES = {}


def attribute_name(key):
    name = ATTRIBUTE_NAMES.get(key)
    if name is None:
        name = ATTRIBUTE_NAMES[key] = key.rstrip("_").replace("_", "-")
    return name


def el(name, *children, **attrs):
    """One SVG element. Attribute values and text children are escaped; `class_` is `class`,
    other underscores become hyphens (text_anchor); None leaves an attribute out."""
    attributes = "".join(
        f' {attribute_name(key)}="{safe_text(value)}"'
        for key, value in attrs.items()
        if value is not None
    )
    if not children:
        return SafeString(f"<{name}{attributes}/>")
    inner = "".join(safe_text(child) for child in children)
    return SafeString(f"<{name}{attributes}>{inner}</{name}>")


def label(x, y, words, css, anchor="start"):
    """A line of text at (x, y), anchored at its start, middle or end."""
    return el("text", words, x=x, y=y, class_=css, text_anchor=anchor)


def _pct(fraction):
    return f"{fraction * 100:.2f}%"


def _px(number):
    return f"{number:.1f}"


def _truncate(text, length):
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


def _svg(chart_id, css_class, height, title, desc, parts):
    return el(
        "svg",
        el("title", title, id=f"{chart_id}-title"),
        el("desc", desc, id=f"{chart_id}-desc"),
        *parts,
        xmlns="http://www.w3.org/2000/svg",
        class_=f"chart-svg {css_class}",
        width="100%",
        height=height,
        role="group",
        aria_labelledby=f"{chart_id}-title",
        aria_describedby=f"{chart_id}-desc",
    )


def _link(href, content, tip=""):
    if not href:
        return content
    return el("a", el("title", tip) if tip else "", content, href=href, tabindex="-1")


def label_step(count, label_width=LABEL_WIDTH, width=NARROWEST):
    """Label every n-th of `count` evenly spaced slots so labels never overlap at `width`."""
    if count <= 0:
        return 1
    return max(1, math.ceil(count * label_width / width))


def slot_labels(count, y, text, wide_width=WIDE):
    """Labels centred under `count` evenly spaced slots, `text(index)` each: as many as fit at
    `wide_width`, those that would crowd a phone marked "minor" (hidden there by CSS)."""
    wide, narrow = label_step(count, width=wide_width), label_step(count)
    narrow = math.ceil(narrow / wide) * wide  # the phone's labels are some of the wide ones
    return [
        label(
            _pct((index + 0.5) / count),
            y,
            text(index),
            "tick-label" if index % narrow == 0 else "tick-label minor",
            "middle",
        )
        for index in range(0, count, wide)
    ]


def lanes(positions, radius, width=NARROWEST):
    """Stack marks that would overlap: for each position (0-1, in any order) the lane it takes,
    the lowest whose previous mark is at least a diameter away at `width` pixels."""
    gap = (2 * radius + 1) / width
    ends = []  # the last position placed in each lane
    taken = [0] * len(positions)
    for index in sorted(range(len(positions)), key=lambda i: positions[i]):
        position = positions[index]
        for lane, end in enumerate(ends):
            if position - end >= gap:
                ends[lane] = position
                taken[index] = lane
                break
        else:
            ends.append(position)
            taken[index] = len(ends) - 1
    return taken


# --- Horizontal bars -------------------------------------------------------------------------

BAR_ROW = 40  # px per bar: a label line, then the bar
BAR_HEIGHT = 13
BAR_SPAN = 0.86  # the longest bar's share of the width, leaving room for its number


def bar_chart(bars, *, chart_id, title, desc, label_length=44):
    """Horizontal bars, longest first as given, each label above its bar and the value after it."""
    top = max((bar.value for bar in bars), default=0) or 1
    rows = []
    for index, bar in enumerate(bars):
        y = index * BAR_ROW
        width = _pct(bar.value / top * BAR_SPAN)
        label_text = _truncate(bar.label, label_length)
        note = ""
        if bar.note:
            note = _truncate(bar.note, max(8, label_length - len(label_text)))
            note = el("tspan", f" · {note}", class_="muted")
        words = el("text", label_text, note, class_="label", x=0, y=y + 14)
        shape = SafeString(
            el("rect", class_="bar", x=0, y=y + 20, width=width, height=BAR_HEIGHT, rx=2)
            + el("text", bar.value, class_="value", x=width, dx=6, y=y + 31)
        )
        rows.append(
            el(
                "g",
                _link(bar.label_href, words, bar.label),
                _link(bar.href, shape, bar.tip or f"{bar.label}: {bar.value}"),
                class_="row",
            )
        )
    return _svg(chart_id, "bars", len(bars) * BAR_ROW + 4, title, desc, rows)


# --- Stacked columns -------------------------------------------------------------------------

COLUMN_TOP = 20  # room for the totals above the tallest column
COLUMN_PLOT = 170
COLUMN_WIDTH = 0.64  # of each slot
INSIDE_MIN = 16  # px: a segment this tall shows its own count, when its column has several


def stacked_columns(columns, *, chart_id, title, desc):
    """Vertical columns, one per slot (e.g. year), each a stack of segments (e.g. providers)."""
    count = len(columns)
    slot = 1 / count if count else 1
    top = max((sum(s.value for s in column.segments) for column in columns), default=0) or 1
    baseline = COLUMN_TOP + COLUMN_PLOT
    parts = [el("line", class_="axis", x1=0, x2="100%", y1=baseline, y2=baseline)]
    for index, column in enumerate(columns):
        left = _pct((index + (1 - COLUMN_WIDTH) / 2) * slot)
        centre = _pct((index + 0.5) * slot)
        y = float(baseline)
        for segment in column.segments:
            height = segment.value / top * COLUMN_PLOT
            y -= height
            shape = el(
                "rect",
                class_=f"segment {segment.css_class}",
                x=left,
                y=_px(y),
                width=_pct(COLUMN_WIDTH * slot),
                height=_px(height),
            )
            if height >= INSIDE_MIN and len(column.segments) > 1:
                inside = label(centre, _px(y + height / 2 + 4), segment.value, "inside", "middle")
                shape = SafeString(shape + inside)
            parts.append(_link(segment.href, shape, segment.tip))
        total = sum(segment.value for segment in column.segments)
        if total:
            text = label(centre, _px(y - 5), total, "total", "middle")
            parts.append(_link(column.href, text, f"{column.label}: {total}"))
    parts += slot_labels(count, baseline + 16, lambda index: columns[index].label)
    return _svg(chart_id, "columns", baseline + 24, title, desc, parts)


# --- Dots on a logarithmic axis ---------------------------------------------------------------

DOT_RADIUS = 5
DOT_LANE = 2 * DOT_RADIUS + 2
MARKER_ROW = 17
EDGE = 0.02  # keep dots at either end of the axis inside the box


def span_ticks(low, high, candidates):
    """The run of candidate ticks, (value, label) in increasing order, from the last at or below
    `low` to the first at or above `high`: at least two, so an axis always has a span."""
    values = [value for value, _ in candidates]
    start = max([i for i, value in enumerate(values) if value <= low], default=0)
    end = min([i for i, value in enumerate(values) if value >= high], default=len(values) - 1)
    if end <= start:
        start, end = (start, start + 1) if start + 1 < len(values) else (start - 1, start)
    return candidates[start : end + 1]


def log_position(value, low, high):
    """Where `value` falls between `low` and `high` on a logarithmic scale, as 0-1 (clamped)."""
    value = min(max(value, low), high)
    return EDGE + (math.log(value) - math.log(low)) / (math.log(high) - math.log(low)) * (
        1 - 2 * EDGE
    )


def _log_axis(ticks, markers, top, axis):
    """The frame of a chart on a logarithmic axis: a grid line and label per tick from `top` to
    the axis line at `axis`, and each marker a labelled line on its own row above `top`."""
    low, high = ticks[0][0], ticks[-1][0]
    parts = []
    for value, _ in ticks:
        x = _pct(log_position(value, low, high))
        parts.append(el("line", class_="grid", x1=x, x2=x, y1=top, y2=axis))
    for index, (value, words) in enumerate(ticks):
        anchor = "start" if index == 0 else "end" if index == len(ticks) - 1 else "middle"
        x = _pct(log_position(value, low, high))
        parts.append(label(x, axis + 16, words, "tick-label", anchor))
    parts.append(el("line", class_="axis", x1=0, x2="100%", y1=axis, y2=axis))
    for row, marker in enumerate(markers):
        position = log_position(marker.value, low, high)
        x = _pct(position)
        label_y = 6 + MARKER_ROW * row + 11
        anchor, dx = ("start", 5) if position < 0.6 else ("end", -5)
        parts.append(el("line", class_="marker", x1=x, x2=x, y1=label_y - 10, y2=axis))
        parts.append(
            el(
                "text",
                marker.label,
                class_="marker-label",
                x=x,
                dx=dx,
                y=label_y,
                text_anchor=anchor,
            )
        )
    return parts


def dot_plot(dots, *, chart_id, title, desc, ticks, markers=()):
    """One dot per item on a logarithmic axis whose ticks, (value, label), also set its span;
    dots that would overlap are stacked; each marker is a labelled line on its own row."""
    low, high = ticks[0][0], ticks[-1][0]
    positions = [log_position(dot.value, low, high) for dot in dots]
    taken = lanes(positions, DOT_RADIUS)
    lane_count = max(taken, default=0) + 1
    dots_top = 6 + MARKER_ROW * len(markers)
    axis = dots_top + lane_count * DOT_LANE + 6
    parts = _log_axis(ticks, markers, dots_top, axis)
    for dot, position, lane in zip(dots, positions, taken, strict=True):
        circle = el(
            "circle",
            class_="dot",
            cx=_pct(position),
            cy=axis - 6 - DOT_RADIUS - 1 - lane * DOT_LANE,
            r=DOT_RADIUS,
        )
        parts.append(_link(dot.href, circle, dot.tip))
    return _svg(chart_id, "dots", axis + 24, title, desc, parts)


# --- A histogram on a logarithmic axis --------------------------------------------------------

BINS_PER_DOUBLING = 3  # bins of a histogram on a log axis: each about 26 % wider than the last
HISTOGRAM_PLOT = 140  # px from the axis to the top of the tallest bar


def log_bins(ticks, per_doubling=BINS_PER_DOUBLING):
    """Edges of bins covering the axis of `ticks`, (value, label), from the first tick to the
    last: each interval between ticks split into bins of equal width on the logarithmic axis,
    as many as its width holds at `per_doubling` bins per doubling (at least one), so that every
    bin spans about the same factor and the bars' heights compare fairly. Ticks are edges."""
    edges = [ticks[0][0]]
    for (low, _), (high, _) in zip(ticks, ticks[1:], strict=False):
        count = max(1, round(math.log2(high / low) * per_doubling))
        edges += [low * (high / low) ** (step / count) for step in range(1, count)] + [high]
    return edges


def histogram(bins, *, chart_id, title, desc, ticks, markers=()):
    """Bars between the edges of `bins`, each as tall as its count, on the logarithmic axis of
    `ticks`; each marker a labelled line on its own row. Empty bins draw nothing."""
    low, high = ticks[0][0], ticks[-1][0]
    top = max((b.count for b in bins), default=0) or 1
    bars_top = 6 + MARKER_ROW * len(markers)
    axis = bars_top + HISTOGRAM_PLOT
    parts = _log_axis(ticks, markers, bars_top, axis)
    for b in bins:
        if not b.count:
            continue
        left, right = log_position(b.low, low, high), log_position(b.high, low, high)
        height = max(b.count / top * HISTOGRAM_PLOT, 1)  # a single incident still shows
        parts.append(
            el(
                "rect",
                el("title", b.tip),
                class_="bin",
                x=_pct(left),
                y=_px(axis - height),
                width=_pct(right - left),
                height=_px(height),
            )
        )
    return _svg(chart_id, "histogram", axis + 24, title, desc, parts)


# --- A strip of moments over the years --------------------------------------------------------

STRIP_RADIUS = 5
STRIP_LANE = 9  # marks in neighbouring lanes overlap a little: the strip stays compact
WIDE_STRIP = 580  # a strip is at least this wide wherever minor labels show (charts.css)


def year_fraction(when):
    """How far through the years `when` is, as a year number plus a fraction: 2012.98."""
    days = 366 if calendar.isleap(when.year) else 365
    day = when.timetuple().tm_yday - 1
    return when.year + day / days


def strip(moments, *, chart_id, title, desc, first_year, last_year):
    """A compact strip from the start of `first_year` to the end of `last_year`: a mark per
    moment at its date, stacked where they would overlap, years labelled below."""
    years = last_year - first_year + 1

    def place(when):
        return (year_fraction(when) - first_year) / years

    positions = [
        (place(m.when) + place(m.until)) / 2 if m.until else place(m.when) for m in moments
    ]
    taken = lanes(positions, STRIP_RADIUS)
    lane_count = max(taken, default=0) + 1
    axis = 4 + 2 * STRIP_RADIUS + (lane_count - 1) * STRIP_LANE + 4
    parts = [el("line", class_="axis", x1=0, x2="100%", y1=axis, y2=axis)]
    for index in range(years + 1):
        x = _pct(index / years)
        parts.append(el("line", class_="year-tick", x1=x, x2=x, y1=axis - 4, y2=axis + 4))
    parts += slot_labels(years, axis + 16, lambda index: first_year + index, WIDE_STRIP)
    for moment, position, lane in zip(moments, positions, taken, strict=True):
        y = axis - 4 - STRIP_RADIUS - lane * STRIP_LANE
        mark = el(
            "circle",
            class_="mark vague" if moment.until else "mark",
            cx=_pct(position),
            cy=y,
            r=STRIP_RADIUS,
        )
        if moment.until:
            x1, x2 = _pct(place(moment.when)), _pct(place(moment.until))
            mark = SafeString(el("line", class_="period", x1=x1, x2=x2, y1=y, y2=y) + mark)
        parts.append(_link(moment.href, mark, moment.tip))
    return _svg(chart_id, "strip", axis + 21, title, desc, parts)
