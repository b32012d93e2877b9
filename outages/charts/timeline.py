"""The incident timeline as SVG, from plain data.

No models and no queries: it draws a `layout.Timeline` (filled by
outages/templatetags/timeline.py) with the toolkit of charts/svg.py, whose `el()` escapes every
text. What is drawn where (axis extent, margins, phases) is decided in charts/layout.py; this
module decides only how it looks.
"""

from outages import text
from outages.charts.layout import (
    coarse_milestones,
    describe,
    event_label,
    event_title,
    extent,
    impact_text,
    phases,
    ticks,
)
from outages.charts.svg import el, label

# Geometry, in viewBox units (the drawing scales to its box; see static/css/timeline.css).
WIDTH, LABELS, MARGIN, GUTTER = 960, 150, 16, 120
FONT, SMALL = 12, 11.5  # font sizes, as in static/css/timeline.css
LANE, BAND, BRACKET, LABEL_ROW, IMPACT_ROW, AXIS = 22, 30, 22, 18, 34, 48


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


def width_of(words, size=FONT):
    """An estimate: system sans-serif fonts run 0.54-0.58 em a character in these labels."""
    return len(words) * size * 0.58


def first_free_row(rows, left, right, gap=6):
    """Greedy packing: the first row whose last item ends before `left`."""
    for index, end in enumerate(rows):
        if end + gap <= left:
            rows[index] = right
            return index
    rows.append(right)
    return len(rows) - 1


def hang_flags(flags, middle, low=LABELS, high=WIDTH - 4, gap=6):
    """Rows for labels hung like flags from poles under their marks: (row, runs rightward) for
    each (x, width). Text runs away from the middle of the drawing. Rightward flags are placed
    right to left, then leftward ones left to right, so a pole meets only rows it finds free
    and no pole cuts through a label unless no row avoids it."""

    def free(row, start, end, space):
        return all(end + space <= s or e + space <= start for s, e in row)

    def rightward(index):
        x, width = flags[index]
        return x + 4 + width <= high and (x <= middle or x - 4 - width < low)

    ahead = [i for i in range(len(flags)) if rightward(i)]
    behind = [i for i in range(len(flags)) if not rightward(i)]
    order = sorted(ahead, key=lambda i: -flags[i][0]) + sorted(behind, key=lambda i: flags[i][0])
    rows, result = [], {}
    for index in order:
        (x, width), right = flags[index], rightward(index)
        text = (x + 4, x + 4 + width) if right else (x - 4 - width, x - 4)
        fits = [n for n in range(len(rows)) if free(rows[n], *text, gap)] + [len(rows)]
        clear = [n for n in fits if all(free(rows[m], x - 1, x + 1, 2) for m in range(n))]
        row = (clear or fits)[0]
        if row == len(rows):
            rows.append([])
        rows[row].append(text)
        for above in rows[:row]:
            above.append((x - 1, x + 1))
        result[index] = (row, right)
    return [result[index] for index in range(len(flags))], len(rows)


# --- The drawing ------------------------------------------------------------------------------


class Scale:
    """Where times go across the drawing: the span to scale, margins for far-off events."""

    def __init__(self, span):
        self.span = span
        self.left = LABELS + (GUTTER if span.earlier else 0) + MARGIN
        self.right = WIDTH - (GUTTER if span.later else 0) - MARGIN
        self.margins = [
            (span.earlier, LABELS + MARGIN, self.left - 2 * MARGIN, self.left - MARGIN, "Earlier"),
            (span.later, self.right + 2 * MARGIN, WIDTH - MARGIN, self.right + MARGIN, "Later"),
        ]

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
        elif x2 + 6 + width_of(words) < WIDTH:
            out.append(label(x2 + 6, top + 19, words, "figure"))
        else:
            out.append(label(x1 - 6, top + 19, words, "figure", "end"))
    if brackets:
        out.append(label(0, y + 19, "Durations", "row-label"))
    return out, (BRACKET * len(brackets) + 6) if brackets else 0


def drawn_phases(timeline):
    """Phases long enough to draw; zero-length ones are only listed in the data table."""
    return [phase for phase in phases(timeline) if phase.end > phase.start]


def draw_phases(timeline, scale, y):
    out, middle = [label(0, y + BAND / 2 + 4, "Phases", "row-label")], y + BAND / 2 + 4
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
    if not shown:
        out.append(
            label(scale.left, middle, "too few milestone times known to draw phases", "note")
        )
    if not timeline.resolved_at:
        out.append(label(scale.right, middle, "resolution not stated", "note", "end"))
    return out, BAND + 8


def draw_events(timeline, scale, y):
    placed, lanes = scale.placed(timeline.events), []
    lane_of = [first_free_row(lanes, x - 8, x + 8, gap=2) for _, x, _ in placed]
    keys = [
        (x, lane, event_label(event, in_margin))
        for (event, x, in_margin), lane in zip(placed, lane_of, strict=True)
        if event.key
    ]
    flags, row_count = hang_flags(
        [(x, width_of(words, SMALL)) for x, _, words in keys], (scale.left + scale.right) / 2
    )
    lane_y = [y + LANE / 2 + lane * LANE for lane in range(max(len(lanes), 1))]
    below = y + len(lane_y) * LANE + 4
    out = [label(0, y + LANE / 2 + 4, "Events", "row-label")]
    for (x, lane, words), (row, rightward) in zip(keys, flags, strict=True):
        base = below + (row + 1) * LABEL_ROW - 5
        out.append(el("line", class_="leader", x1=x, y1=lane_y[lane] + 9, x2=x, y2=base + 2))
        out.append(
            label(
                x + 4 if rightward else x - 4,
                base,
                words,
                "key-label",
                "start" if rightward else "end",
            )
        )
    for (event, x, _), lane in zip(placed, lane_of, strict=True):
        r, cy = (8 if event.key else 6), lane_y[lane]
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
    """A bar per customer whose times are known; "not affected" rows; one line for the rest."""
    impacts = timeline.impacts
    unaffected = [i for i in impacts if not i.hit]
    timed = [i for i in impacts if i not in unaffected and (i.started_at or i.ended_at)]
    untimed = [i for i in impacts if i not in unaffected and i not in timed]
    out, gradients, top = [], [], y
    for impact in timed + unaffected:
        name = impact.name if len(impact.name) <= 20 else f"{impact.name[:19]}…"
        out.append(label(0, y + 27, name, "row-label customer"))
        if impact in unaffected:
            out.append(label(scale.left, y + 27, "not affected", "level-not-affected"))
            y += IMPACT_ROW
            continue
        x1 = scale.x(impact.started_at) if impact.started_at else scale.left
        x2 = scale.x(impact.ended_at) if impact.ended_at else scale.right
        words, fill = impact_text(impact, timeline.zone), None
        if not (impact.started_at and impact.ended_at):  # the unknown end fades out
            gradients.append(("end" if impact.started_at else "start", impact.level))
            fill = "url(#tl-fade-{}-{})".format(*gradients[-1])
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
        if x1 + width_of(words, SMALL) < WIDTH - MARGIN:
            out.append(label(x1, y + 13, words, "bar-label"))
        else:
            out.append(label(WIDTH - MARGIN, y + 13, words, "bar-label", "end"))
        y += IMPACT_ROW
    if untimed and y > top:
        names = ", ".join(impact.name for impact in untimed)
        if width_of(names) > scale.right - scale.left - 200:
            names = f"{len(untimed)} customers"
        out.append(label(0, y + 16, f"Also hit, times not reported: {names}", "note"))
        y += 24
    defs = [
        el(
            "linearGradient",
            el("stop", offset="0.5", class_="solid"),
            el("stop", offset="1", class_="faded"),
            id=f"tl-fade-{way}-{level}",
            class_=f"level-{level}",
            x1="1" if way == "start" else None,
            x2="0" if way == "start" else None,
        )
        for way, level in dict.fromkeys(gradients)
    ]
    return out, y - top, defs


def draw_axis(scale, top, axis, zone="UTC"):
    """Grid lines and UTC ticks; breaks (//) before the margins for far-off events."""
    grid, out = [], [el("line", class_="axis", x1=scale.left, y1=axis, x2=scale.right, y2=axis)]
    for at, first_line, second_line in ticks(scale.span.start, scale.span.end):
        x = scale.x(at)
        grid.append(el("line", x1=x, y1=top - 4, x2=x, y2=axis + 5))
        out.append(label(x, axis + 19, first_line, "tick", "middle"))
        if second_line:
            out.append(label(x, axis + 34, second_line, "tick date", "middle"))
    out.append(label(0, axis + 19, text.axis_zone(zone), "row-label"))
    for events, low, high, edge, word in scale.margins:
        if not events:
            continue
        middle = round((low + high) / 2, 1)
        out.append(el("line", class_="break", x1=edge, y1=top - 4, x2=edge, y2=axis + 5))
        out.append(label(edge, axis + 5, "//", "break-mark", "middle"))
        out.append(label(middle, top + 12, f"{word},", "note", "middle"))
        out.append(label(middle, top + 26, "not to scale", "note", "middle"))
        out.append(
            label(middle, axis + 19, text.drawn_time(events[0].at, "date"), "tick", "middle")
        )
        if len(events) > 1:
            last = text.drawn_time(events[-1].at, "date")
            out.append(label(middle, axis + 34, f"to {last}", "tick", "middle"))
    return [el("g", *grid, class_="grid"), *out]


def timeline_svg(timeline):
    """The incident drawn against one UTC axis: durations, phases, events, customers hit; ""
    when nothing is known or a milestone is known only to the day or more coarsely."""
    span = extent(timeline)
    if span is None or coarse_milestones(timeline):
        return ""
    scale, y, out = Scale(span), 8, []
    for draw in (draw_brackets, draw_phases, draw_events):
        if draw is draw_phases:
            top = y
        parts, height = draw(timeline, scale, y)
        out += parts
        y += height
    parts, height, defs = draw_impacts(timeline, scale, y)
    axis = y + height + 4
    return el(
        "svg",
        el("title", f"Timeline of {timeline.title}", id="tl-title"),
        el("desc", describe(timeline, span, phases(timeline)), id="tl-desc"),
        el("defs", *defs) if defs else "",
        *draw_axis(scale, top, axis, timeline.zone),
        *out,
        *parts,
        xmlns="http://www.w3.org/2000/svg",
        class_="timeline-drawing",
        viewBox=f"0 0 {WIDTH} {axis + AXIS}",
        role="group",
        aria_labelledby="tl-title",
        aria_describedby="tl-desc",
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
