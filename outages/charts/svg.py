"""Charts as SVG, drawn on the server from plain data (numbers, labels, links, dates): no models,
no queries, no JavaScript.

Horizontal positions are percentages and vertical ones pixels, so a chart fills whatever width
its box has (a 375-px phone or a desktop) while its text keeps its size. Colours come from CSS
classes (static/css/charts.css), never from attributes, so dark mode follows the site's colours.

Every chart is an `<svg role="group">` (not "img": an image may not hold links) named by its
`<title>` and `<desc>`. Assistive technology
reads that summary rather than the marks, so each page shows the same numbers and links in a
table beside the chart; the marks' own links serve pointing devices and are kept out of the tab
order (tabindex="-1") so that keyboard users do not tab through every link twice.

Text is escaped by format_html(); the results are safe strings for templates.
"""

import calendar
import math
from dataclasses import dataclass

from django.utils.html import format_html
from django.utils.safestring import mark_safe

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


def _pct(fraction):
    return f"{fraction * 100:.2f}%"


def _px(number):
    # format_html() escapes its arguments into strings, so numbers are formatted beforehand.
    return f"{number:.1f}"


def _join(parts):
    # Every part comes from format_html(), so joining them keeps them safe.
    return mark_safe("".join(parts))


def _truncate(text, length):
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


def _svg(chart_id, css_class, height, title, desc, body):
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" class="chart-svg {}" width="100%" height="{}"'
        ' role="group" aria-labelledby="{}-title" aria-describedby="{}-desc">'
        '<title id="{}-title">{}</title><desc id="{}-desc">{}</desc>{}</svg>',
        css_class,
        height,
        chart_id,
        chart_id,
        chart_id,
        title,
        chart_id,
        desc,
        body,
    )


def _link(href, content, tip=""):
    if not href:
        return content
    if tip:
        return format_html('<a href="{}" tabindex="-1"><title>{}</title>{}</a>', href, tip, content)
    return format_html('<a href="{}" tabindex="-1">{}</a>', href, content)


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
        format_html(
            '<text class="tick-label{}" x="{}" y="{}" text-anchor="middle">{}</text>',
            "" if index % narrow == 0 else " minor",
            _pct((index + 0.5) / count),
            y,
            text(index),
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
        if bar.note:
            note = _truncate(bar.note, max(8, label_length - len(label_text)))
            label = format_html(
                '<text class="label" x="0" y="{}">{}<tspan class="muted"> · {}</tspan></text>',
                y + 14,
                label_text,
                note,
            )
        else:
            label = format_html('<text class="label" x="0" y="{}">{}</text>', y + 14, label_text)
        shape = format_html(
            '<rect class="bar" x="0" y="{}" width="{}" height="{}" rx="2"></rect>'
            '<text class="value" x="{}" dx="6" y="{}">{}</text>',
            y + 20,
            width,
            BAR_HEIGHT,
            width,
            y + 31,
            bar.value,
        )
        rows.append(
            format_html(
                '<g class="row">{}{}</g>',
                _link(bar.label_href, label, bar.label),
                _link(bar.href, shape, bar.tip or f"{bar.label}: {bar.value}"),
            )
        )
    return _svg(chart_id, "bars", len(bars) * BAR_ROW + 4, title, desc, _join(rows))


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
    parts = [
        format_html(
            '<line class="axis" x1="0" x2="100%" y1="{}" y2="{}"></line>', baseline, baseline
        )
    ]
    for index, column in enumerate(columns):
        left = _pct((index + (1 - COLUMN_WIDTH) / 2) * slot)
        centre = _pct((index + 0.5) * slot)
        y = float(baseline)
        for segment in column.segments:
            height = segment.value / top * COLUMN_PLOT
            y -= height
            shape = format_html(
                '<rect class="segment {}" x="{}" y="{}" width="{}" height="{}"></rect>',
                segment.css_class,
                left,
                _px(y),
                _pct(COLUMN_WIDTH * slot),
                _px(height),
            )
            if height >= INSIDE_MIN and len(column.segments) > 1:
                shape = format_html(
                    '{}<text class="inside" x="{}" y="{}" text-anchor="middle">{}</text>',
                    shape,
                    centre,
                    _px(y + height / 2 + 4),
                    segment.value,
                )
            parts.append(_link(segment.href, shape, segment.tip))
        total = sum(segment.value for segment in column.segments)
        if total:
            text = format_html(
                '<text class="total" x="{}" y="{}" text-anchor="middle">{}</text>',
                centre,
                _px(y - 5),
                total,
            )
            parts.append(_link(column.href, text, f"{column.label}: {total}"))
    parts += slot_labels(count, baseline + 16, lambda index: columns[index].label)
    return _svg(chart_id, "columns", baseline + 24, title, desc, _join(parts))


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
        parts.append(
            format_html(
                '<line class="grid" x1="{}" x2="{}" y1="{}" y2="{}"></line>', x, x, top, axis
            )
        )
    for index, (value, label) in enumerate(ticks):
        anchor = "start" if index == 0 else "end" if index == len(ticks) - 1 else "middle"
        parts.append(
            format_html(
                '<text class="tick-label" x="{}" y="{}" text-anchor="{}">{}</text>',
                _pct(log_position(value, low, high)),
                axis + 16,
                anchor,
                label,
            )
        )
    parts.append(
        format_html('<line class="axis" x1="0" x2="100%" y1="{}" y2="{}"></line>', axis, axis)
    )
    for row, marker in enumerate(markers):
        position = log_position(marker.value, low, high)
        x = _pct(position)
        label_y = 6 + MARKER_ROW * row + 11
        anchor, dx = ("start", 5) if position < 0.6 else ("end", -5)
        parts.append(
            format_html(
                '<line class="marker" x1="{}" x2="{}" y1="{}" y2="{}"></line>'
                '<text class="marker-label" x="{}" dx="{}" y="{}" text-anchor="{}">{}</text>',
                x,
                x,
                label_y - 10,
                axis,
                x,
                dx,
                label_y,
                anchor,
                marker.label,
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
        circle = format_html(
            '<circle class="dot" cx="{}" cy="{}" r="{}"></circle>',
            _pct(position),
            axis - 6 - DOT_RADIUS - 1 - lane * DOT_LANE,
            DOT_RADIUS,
        )
        parts.append(_link(dot.href, circle, dot.tip))
    return _svg(chart_id, "dots", axis + 24, title, desc, _join(parts))


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
            format_html(
                '<rect class="bin" x="{}" y="{}" width="{}" height="{}"><title>{}</title></rect>',
                _pct(left),
                _px(axis - height),
                _pct(right - left),
                _px(height),
                b.tip,
            )
        )
    return _svg(chart_id, "histogram", axis + 24, title, desc, _join(parts))


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
    parts = [format_html('<line class="axis" x1="0" x2="100%" y1="{}" y2="{}"></line>', axis, axis)]
    for index in range(years + 1):
        x = _pct(index / years)
        parts.append(
            format_html(
                '<line class="year-tick" x1="{}" x2="{}" y1="{}" y2="{}"></line>',
                x,
                x,
                axis - 4,
                axis + 4,
            )
        )
    parts += slot_labels(years, axis + 16, lambda index: first_year + index, WIDE_STRIP)
    for moment, position, lane in zip(moments, positions, taken, strict=True):
        y = axis - 4 - STRIP_RADIUS - lane * STRIP_LANE
        mark = format_html(
            '<circle class="mark{}" cx="{}" cy="{}" r="{}"></circle>',
            " vague" if moment.until else "",
            _pct(position),
            y,
            STRIP_RADIUS,
        )
        if moment.until:
            mark = format_html(
                '<line class="period" x1="{}" x2="{}" y1="{}" y2="{}"></line>{}',
                _pct(place(moment.when)),
                _pct(place(moment.until)),
                y,
                y,
                mark,
            )
        parts.append(_link(moment.href, mark, moment.tip))
    return _svg(chart_id, "strip", axis + 21, title, desc, _join(parts))
