"""The incident timeline as SVG, from plain data.

No models and no queries: it draws a `layout.Timeline` (filled by
outages/templatetags/timeline.py) with the toolkit of charts/svg.py, whose `el()` escapes every
text. What is drawn where (axis extent, margins, phases) is decided in charts/layout.py; this
module decides only how it looks.
"""

from dataclasses import dataclass

from outages import axis_text, text
from outages.charts.layout import (
    FONT,
    Event,
    axis_rows,
    coarse_milestones,
    describe,
    event_label,
    event_title,
    extent,
    flag_box,
    hang_flags,
    hit,
    impact_text,
    phases,
    ticks,
    width_of,
)
from outages.charts.svg import el, label

# Geometry, in viewBox units (the drawing scales to its box; see static/css/timeline.css).
WIDTH, LABELS, MARGIN, GUTTER = 960, 150, 16, 120
SMALL = 11.5  # the labels' font size, as in static/css/timeline.css
LANE, BAND, BRACKET, LABEL_ROW, IMPACT_ROW, UNTIMED_ROW = 22, 30, 22, 18, 34, 22
NO_PHASES = "too few milestone times known to draw phases"
AXIS_ROW = 32  # each row of ticks under the axis: a clock time, and the day where it changes


# --- Marks ------------------------------------------------------------------------------------


def mark_shape(kind, x, y, r):
    """Each kind has its own shape as well as its own colour."""
    if kind in ("detection", "communication"):  # filled and hollow circles
        return el("circle", class_="shape", cx=x, cy=y, r=r)
    h = round(r * 0.85, 1)
    corners = {
        "trigger": [(0, -r), (r, h), (-r, h)],
        "escalation": [(-r, -h), (r, -h), (0, r)],
        "mitigation": [(-h, -h), (h, -h), (h, h), (-h, h)],
        "recovery": [(0, -r), (r, 0), (0, r), (-r, 0)],
    }.get(kind)
    if corners:
        return el(
            "polygon", class_="shape", points=" ".join(f"{x + a:g},{y + b:g}" for a, b in corners)
        )
    d = f"M{x - h:g},{y - h:g}L{x + h:g},{y + h:g}M{x - h:g},{y + h:g}L{x + h:g},{y - h:g}"
    return el("path", class_="shape cross", d=d)  # other


def legend_mark(kind, key=False):
    """A small drawing of one kind's mark, for the legend beside the chart."""
    r = 7 if key else 6
    halo = el("circle", class_="halo", cx=0, cy=0, r=r + 2) if key else ""
    return el(
        "svg",
        halo,
        mark_shape(kind, 0, 0, r),
        class_=f"legend-mark kind-{kind}{' key' if key else ''}",
        viewBox="-10 -10 20 20",
        width=20,
        height=20,
        aria_hidden="true",
        focusable="false",
    )


def first_free_row(rows, left, right, gap=6):
    """Greedy packing: the first row whose last item ends before `left`."""
    for index, end in enumerate(rows):
        if end + gap <= left:
            rows[index] = right
            return index
    rows.append(right)
    return len(rows) - 1


# --- The drawing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Frame:
    """The drawing's width and columns, in viewBox units. The wide frame names each row in a
    column on the left; the narrow one, drawn for phones at about its own size so its text
    stays readable, names customers above their rows and leaves the other rows to the legend."""

    width: int
    labels: int  # the column of row names on the left
    gutter: int  # each margin for far-off events
    max_ticks: int
    suffix: str = ""  # keeps the ids of the two drawings on one page apart

    @property
    def narrow(self):
        return self.labels < LABELS


WIDE = Frame(WIDTH, LABELS, GUTTER, 10)
NARROW = Frame(340, 44, 96, 4, "-narrow")


class Scale:
    """Where times go across the drawing: the span to scale, margins for far-off events."""

    def __init__(self, span, frame=WIDE):
        self.span, self.frame, width, labels = span, frame, frame.width, frame.labels
        self.left = labels + (frame.gutter if span.earlier else 0) + MARGIN
        self.right = width - (frame.gutter if span.later else 0) - MARGIN
        self.margins = [
            (span.earlier, labels + MARGIN, self.left - 2 * MARGIN, self.left - MARGIN, "Earlier"),
            (span.later, self.right + 2 * MARGIN, width - MARGIN, self.right + MARGIN, "Later"),
        ]

    def row_name(self, y, words, css="row-label"):
        """A row's name in the left column; none in the narrow frame, whose legend says it."""
        return [] if self.frame.narrow else [label(0, y, words, css)]

    def x(self, moment):
        start, end = self.span.start, self.span.end
        share = (min(max(moment, start), end) - start) / (end - start)
        return round(self.left + share * (self.right - self.left), 1)

    def placed(self, events):
        """(event, x, in a margin) in drawing order; margin events spread evenly, in time order."""
        result = [
            (event, self.x(event.at), False)
            for event in events
            if event not in self.span.earlier and event not in self.span.later
        ]
        for far, low, high, _edge, _word in self.margins:
            step = (high - low) / max(len(far) - 1, 1)
            first = low if len(far) > 1 else (low + high) / 2
            result += [(event, round(first + i * step, 1), True) for i, event in enumerate(far)]
        return sorted(result, key=lambda item: (item[1], item[0].at))


def draw_brackets(timeline, scale, y):
    out = []
    brackets = sorted(timeline.brackets, key=lambda b: b.end - b.start, reverse=True)
    for top, bracket in zip(range(y, y + BRACKET * len(brackets), BRACKET), brackets, strict=True):
        x1, x2, words = scale.x(bracket.start), scale.x(bracket.end), bracket.label
        out.append(el("path", class_="bracket", d=f"M{x1},{top + 21}V{top + 15}H{x2}V{top + 21}"))
        if width_of(words) + 8 < x2 - x1:
            out.append(label(round((x1 + x2) / 2, 1), top + 11, words, "figure", "middle"))
        elif x2 + 6 + width_of(words) < scale.frame.width:
            out.append(label(x2 + 6, top + 19, words, "figure"))
        else:
            out.append(label(x1 - 6, top + 19, words, "figure", "end"))
    if brackets:
        out += scale.row_name(y + 19, "Durations")
    return out, (BRACKET * len(brackets) + 6) if brackets else 0


def drawn_phases(timeline):
    """Phases long enough to draw; zero-length ones are only listed in the data table."""
    return [phase for phase in phases(timeline) if phase.end > phase.start]


def draw_phases(timeline, scale, y):
    out, middle = scale.row_name(y + BAND / 2 + 4, "Phases"), y + BAND / 2 + 4
    shown = drawn_phases(timeline)
    for index, phase in enumerate(shown):
        x1, x2 = scale.x(phase.start), scale.x(phase.end)
        start, end = (
            text.drawn_time(at, zone_name=timeline.zone) for at in (phase.start, phase.end)
        )
        title = el("title", f"{phase.name}: {start} to {end}")
        width = round(max(x2 - x1, 1), 1)
        out.append(
            el(
                "rect",
                title,
                class_=f"phase phase-{phase.css}",
                x=x1,
                y=y,
                width=width,
                height=BAND,
            )
        )
        short = phase.name.split(" (")[0]
        inside = [name for name in (phase.name, short) if width_of(name, SMALL) + 12 < x2 - x1]
        if inside:
            out.append(label(x1 + 6, middle, inside[0], "phase-name"))
        elif index == len(shown) - 1 and x2 + 6 + width_of(short, SMALL) < scale.right - 130:
            out.append(label(x2 + 6, middle, short, "phase-name"))  # room after the last band
    narrow = scale.frame.narrow
    if not shown:
        words = "too few times known for phases" if narrow else NO_PHASES
        out.append(label(scale.left, middle, words, "note"))
    below = narrow and not timeline.resolved_at  # in the narrow frame, on a line of its own
    if not timeline.resolved_at:
        out.append(
            label(
                scale.right, middle + (18 if below else 0), "resolution not stated", "note", "end"
            )
        )
    return out, BAND + 8 + (18 if below else 0)


@dataclass(frozen=True)
class MarkLabel:
    """A mark and its label: where the mark sits (x, lane) and where its words hang (row,
    running rightward or leftward from the mark's pole, over `box`, left to right)."""

    event: Event
    x: float
    lane: int
    words: str
    row: int
    rightward: bool
    box: tuple[float, float]


def mark_labels(timeline, scale):
    """Every mark with its label, in drawing order, and how many lanes and label rows they take.
    Marks that would touch stack into lanes; labels hang in rows below them, none overlapping."""
    placed, lanes = scale.placed(timeline.events), []
    lane_of = [first_free_row(lanes, x - 8, x + 8, gap=2) for _, x, _ in placed]
    words = [event_label(event, far, timeline.zone) for event, _, far in placed]
    widths = [width_of(w, SMALL, event.key) for w, (event, _, _) in zip(words, placed, strict=True)]
    flags, rows = hang_flags(
        [(x, width) for (_, x, _), width in zip(placed, widths, strict=True)],
        (scale.left + scale.right) / 2,
        scale.frame.labels,
        scale.frame.width - 4,
    )
    result = [
        MarkLabel(event, x, lane, w, row, right, flag_box(x, width, right))
        for (event, x, _), lane, w, width, (row, right) in zip(
            placed, lane_of, words, widths, flags, strict=True
        )
    ]
    return result, max(len(lanes), 1), rows


def draw_events(timeline, scale, y):
    marks, lane_count, row_count = mark_labels(timeline, scale)
    lane_y = [y + LANE / 2 + lane * LANE for lane in range(lane_count)]
    below = y + lane_count * LANE + 4
    out = scale.row_name(y + LANE / 2 + 4, "Events")
    for mark in marks:
        base = below + (mark.row + 1) * LABEL_ROW - 5
        x = mark.x
        out.append(el("line", class_="leader", x1=x, y1=lane_y[mark.lane] + 9, x2=x, y2=base + 2))
        out.append(
            label(
                x + 4 if mark.rightward else x - 4,
                base,
                mark.words,
                f"mark-label{' key' if mark.event.key else ''}",
                "start" if mark.rightward else "end",
            )
        )
    for mark in marks:
        event, x, r, cy = mark.event, mark.x, (8 if mark.event.key else 6), lane_y[mark.lane]
        out.append(
            el(
                "a",
                el("title", event_title(event, timeline.zone)),
                el("circle", class_="hit", cx=x, cy=cy, r=12),
                el("circle", class_="ring", cx=x, cy=cy, r=r + 6),
                el("circle", class_="halo", cx=x, cy=cy, r=r + 3) if event.key else "",
                mark_shape(event.kind, x, cy, r),
                href=f"#{event.anchor}",
                class_=f"mark kind-{event.kind}{' key' if event.key else ''}",
            )
        )
    return out, below - y + row_count * LABEL_ROW + (8 if row_count else 0)


def draw_impacts(timeline, scale, y):
    """A row per customer hit: a bar where its times are known (fading where an end is not),
    its level and "times not reported" where they are not. Customers named only as not
    affected get no row: the note under the drawing names them."""
    out, gradients, top, frame = [], [], y, scale.frame
    rows = hit(timeline)
    untimed = [impact for impact in rows if not (impact.started_at or impact.ended_at)]
    heading = None
    for impact in untimed:  # first, so that the bars lie next to the axis that times them
        x = scale.left
        if frame.narrow:  # too narrow for a column of names: each level heads its customers
            if impact.level != heading:
                heading = impact.level
                out += level_chip(impact, 0, y)
                y += UNTIMED_ROW - 2
            out.append(label(16, y + 13, short_name(impact.name, 44), "row-label customer"))
            y += UNTIMED_ROW - 4
            continue
        out.append(label(0, y + 15, short_name(impact.name), "row-label customer"))
        out += level_chip(impact, x, y)
        y += UNTIMED_ROW
    if untimed:
        above = "customer above" if len(untimed) == 1 else "customers above"
        x = 0 if frame.narrow else scale.left
        out.append(label(x, y + 12, f"Times not reported for the {above}.", "note"))
        y += UNTIMED_ROW
    for impact in rows:
        if impact in untimed:
            continue
        words = impact_text(impact, timeline.zone)
        lines = [words]
        if frame.narrow:  # the name on a line of its own, the words wrapped where they must be
            out.append(label(0, y + 13, short_name(impact.name, 44), "row-label customer"))
            if width_of(words, SMALL) > frame.width - MARGIN:
                lines = [f"{part};" for part in words.split("; ")]
                lines[-1] = lines[-1].removesuffix(";")
            y += 14 * len(lines)
        else:
            out.append(label(0, y + 27, short_name(impact.name), "row-label customer"))
        x1 = scale.x(impact.started_at) if impact.started_at else scale.left
        x2 = scale.x(impact.ended_at) if impact.ended_at else scale.right
        fill = None
        if not (impact.started_at and impact.ended_at):  # the unknown end fades out
            gradients.append(("end" if impact.started_at else "start", impact.level))
            fill = "url(#tl-fade-{}-{}{})".format(*gradients[-1], frame.suffix)
        out.append(
            el(
                "rect",
                el("title", f"{impact.name}: {words}"),
                class_=f"{'bar-open' if fill else 'bar'} level-{impact.level}",
                x=x1,
                y=y + 18,
                width=round(max(x2 - x1, 2), 1),
                height=10,
                fill=fill,
            )
        )
        longest = max(width_of(line, SMALL) for line in lines)
        for index, line in enumerate(lines):
            line_y = y + 13 - 14 * (len(lines) - 1 - index)
            if frame.narrow:
                out.append(label(0, line_y, line, "bar-label"))
            elif x1 + longest < frame.width - MARGIN:
                out.append(label(x1, line_y, line, "bar-label"))
            else:
                out.append(label(frame.width - MARGIN, line_y, line, "bar-label", "end"))
        y += IMPACT_ROW
    defs = [
        el(
            "linearGradient",
            el("stop", offset="0.5", class_="solid"),
            el("stop", offset="1", class_="faded"),
            id=f"tl-fade-{way}-{level}{frame.suffix}",
            class_=f"level-{level}",
            x1="1" if way == "start" else None,
            x2="0" if way == "start" else None,
        )
        for way, level in dict.fromkeys(gradients)
    ]
    return out, y - top + (4 if y > top else 0), defs


def level_chip(impact, x, y):
    """A small square in the level's colour, and the level in words."""
    return [
        el("rect", class_=f"bar level-{impact.level}", x=x, y=y + 6, width=10, height=10),
        label(x + 16, y + 15, impact.level_label, "bar-label"),
    ]


def short_name(name, limit=20):
    """A customer's name as its row shows it: long ones cut to fit the column of row names."""
    return name if len(name) <= limit else f"{name[: limit - 1]}…"


def margin_days(events, zone, in_utc):
    """The first and last far-off events' days, for the lines under a break."""
    first, last = (
        axis_text.margin_day(event.at, zone, event.precision, in_utc)
        for event in (events[0], events[-1])
    )
    return (first, f"to {last}") if len(events) > 1 else (first, "")


def fit_line(items, y, gap=4):
    """Tick labels on one line, (x, words, css) from left to right, centred under their ticks.
    Where two would meet (days a few ticks apart on a narrow drawing), the earlier one ends at
    its tick instead; if it still meets the next, it is left out: a later label, naming the day
    a change of date brings, matters more."""
    out, limit = [], float("inf")  # the left edge of the label kept to the right
    for x, words, css in reversed(items):
        half = width_of(words, FONT, bold="date" in css) / 2
        if x + half + gap <= limit:
            out.append(label(x, y, words, css, "middle"))
            limit = x - half
        elif x + gap <= limit:
            out.append(label(x, y, words, css, "end"))
            limit = x - 2 * half
    return out[::-1]


def draw_axis(scale, top, axis, zone="UTC"):
    """Grid lines, and under the axis a row of ticks in the source's zone with UTC's beneath;
    breaks (//) before the margins for far-off events."""
    grid, out = [], [el("line", class_="axis", x1=scale.left, y1=axis, x2=scale.right, y2=axis)]
    marked = ticks(scale.span.start, scale.span.end, zone, scale.frame.max_ticks)
    names = axis_rows([scale.span.start, scale.span.end], zone)
    lines = {}  # y: [(x, words, css)] of the tick labels on that line
    for at, rows in marked:
        x = scale.x(at)
        grid.append(el("line", x1=x, y1=top - 4, x2=x, y2=axis + 5))
        for row, pair in enumerate(rows):
            css = "tick utc" if row else "tick"
            for offset, words, kind in zip((17, 31), pair, (css, f"{css} date"), strict=True):
                if words:
                    lines.setdefault(axis + offset + row * AXIS_ROW, []).append((x, words, kind))
    for y, items in lines.items():
        out += fit_line(items, y)
    for row, name in enumerate(names):
        out.append(label(0, axis + 17 + row * AXIS_ROW, name, "row-label"))
    for events, low, high, edge, word in scale.margins:
        if not events:
            continue
        middle = round((low + high) / 2, 1)
        out.append(el("line", class_="break", x1=edge, y1=top - 4, x2=edge, y2=axis + 5))
        out.append(label(edge, axis + 5, "//", "break-mark", "middle"))
        out.append(label(middle, top + 12, f"{word},", "note", "middle"))
        out.append(label(middle, top + 26, "not to scale", "note", "middle"))
        for row in range(len(names)):
            css = "tick utc" if row else "tick"
            lines = margin_days(events, zone, in_utc=row > 0)
            for offset, words in zip((17, 31), lines, strict=True):
                if words:
                    out.append(label(middle, axis + offset + row * AXIS_ROW, words, css, "middle"))
    return [el("g", *grid, class_="grid"), *out], len(names) * AXIS_ROW + 8


def timeline_svg(timeline, frame=WIDE):
    """The incident drawn against one time axis, in the source's zone with UTC beneath:
    durations, phases, events, customers hit; "" when nothing is known or a milestone is known
    only to the day or more coarsely."""
    span = extent(timeline)
    if span is None or coarse_milestones(timeline):
        return ""
    scale, y, out, suffix = Scale(span, frame), 8, [], frame.suffix
    for draw in (draw_brackets, draw_phases, draw_events):
        if draw is draw_phases:
            top = y
        parts, height = draw(timeline, scale, y)
        out += parts
        y += height
    parts, height, defs = draw_impacts(timeline, scale, y)
    axis = y + height + 4
    drawn_axis, axis_height = draw_axis(scale, top, axis, timeline.zone)
    return el(
        "svg",
        el("title", f"Timeline of {timeline.title}", id=f"tl-title{suffix}"),
        el("desc", describe(timeline, span, phases(timeline)), id=f"tl-desc{suffix}"),
        el("defs", *defs) if defs else "",
        *drawn_axis,
        *out,
        *parts,
        xmlns="http://www.w3.org/2000/svg",
        class_="timeline-drawing narrow" if frame.narrow else "timeline-drawing",
        viewBox=f"0 0 {frame.width} {axis + axis_height}",
        role="group",
        aria_labelledby=f"tl-title{suffix}",
        aria_describedby=f"tl-desc{suffix}",
    )


def legend_swatch(css):
    """A small sample of a phase band, for the legend beside the chart."""
    return el(
        "svg",
        el("rect", class_=f"phase phase-{css}", x=0, y=3, width=20, height=14),
        class_="legend-mark",
        viewBox="0 0 20 20",
        width=20,
        height=20,
        aria_hidden="true",
        focusable="false",
    )
