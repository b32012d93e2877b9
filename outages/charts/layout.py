"""What the drawn incident timeline shows, as plain data and words (no models, no queries).

outages/templatetags/timeline.py fills a `Timeline` from a preloaded incident;
outages/charts/timeline.py draws it; the words for times come from outages.text. The rules for
what is drawn where live here, so the drawing and its data table agree:

- The axis covers the incident's span, trigger (started_at) to resolution (resolved_at), plus
  events a little outside it (up to a quarter of the span either side). Events further out, such
  as a postmortem published days later or a redesign months later, would squash the span into a
  sliver; they are drawn in narrow "earlier"/"later" margins beyond a break (//), in order but
  not to scale. Their titles and the data table give their real times.
- When the resolution time is not known, the span runs on through the events as long as no two
  are more than two days apart; a longer silence means what follows is aftermath.
- Phases are drawn only between two known milestones. A missing milestone merges the phases on
  either side of it, and the band's name says which time the provider does not state. No end is
  invented.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from outages import axis_text, text

MILESTONES = ("started_at", "detected_at", "mitigated_at", "resolved_at")
# Phase between two known milestones: (name, CSS class). Every ordered pair is here.
PHASES = {
    ("started_at", "detected_at"): ("Undetected", "undetected"),
    ("detected_at", "mitigated_at"): ("Detected, not yet mitigated", "responding"),
    ("mitigated_at", "resolved_at"): ("Mitigated, recovering", "recovering"),
    ("started_at", "mitigated_at"): (
        "Until mitigated (detection time not stated by the provider)",
        "responding",
    ),
    ("detected_at", "resolved_at"): (
        "Detected, until resolved (mitigation time not stated by the provider)",
        "recovering",
    ),
    ("started_at", "resolved_at"): (
        "Until resolved (detection and mitigation times not stated by the provider)",
        "recovering",
    ),
}
MILESTONE_WORDS = {
    "started_at": "start",
    "detected_at": "detection",
    "mitigated_at": "mitigation",
    "resolved_at": "resolution",
}
MIN_SPAN = timedelta(hours=1)
QUIET_GAP = timedelta(days=2)
STEPS = [timedelta(minutes=m) for m in (5, 10, 15, 30)]
STEPS += [timedelta(hours=h) for h in (1, 2, 3, 6, 12)]
STEPS += [timedelta(days=d) for d in (1, 2, 7, 14, 28)]
# Years and centuries: only a stored date gone wrong (year 1, year 9999) spans this long, and
# the axis should still have a few ticks rather than a hundred thousand.
STEPS += [timedelta(days=d) for d in (365, 3653, 36525, 365250)]
MAX_TICKS = 10
EPOCH = datetime(1970, 1, 1)  # ticks are whole steps of the zone's clock counted from here
FONT = 12  # the drawing's font size, as in static/css/timeline.css


@dataclass(frozen=True)
class Event:
    at: datetime
    kind: str  # trigger, detection, escalation, mitigation, recovery, communication, other
    kind_label: str
    anchor: str  # id of the event's row in the page's timeline table
    key: bool = False
    precision: str = "minute"  # a models.Precision value
    stated: str = ""  # the source's own wording of the time
    text: str = ""  # a short plain-text summary, for the hover title


@dataclass(frozen=True)
class Impact:
    name: str
    level: str  # outage, degraded, affected, not-affected: the CSS class of its bar
    level_label: str
    hit: bool  # whether the customer was hit (CustomerImpact.was_hit), or only named as spared
    started_at: datetime | None = None
    ended_at: datetime | None = None


@dataclass(frozen=True)
class Bracket:
    label: str  # e.g. "23 h 41 min to resolve"
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Timeline:
    title: str
    zone: str = "UTC"
    started_at: datetime | None = None
    detected_at: datetime | None = None
    mitigated_at: datetime | None = None
    resolved_at: datetime | None = None
    events: tuple[Event, ...] = ()
    impacts: tuple[Impact, ...] = ()
    brackets: tuple[Bracket, ...] = ()
    precisions: tuple[tuple[str, str], ...] = ()  # (milestone, precision) where not "minute"


@dataclass(frozen=True)
class Phase:
    name: str
    css: str
    start: datetime
    end: datetime
    start_precision: str = "minute"
    end_precision: str = "minute"


@dataclass(frozen=True)
class Extent:
    start: datetime
    end: datetime
    earlier: tuple[Event, ...]  # drawn in the left margin, not to scale
    later: tuple[Event, ...]  # drawn in the right margin, not to scale


# --- What to draw --------------------------------------------------------------------------


def phases(timeline):
    known = [(name, getattr(timeline, name)) for name in MILESTONES if getattr(timeline, name)]
    precision = dict(timeline.precisions)
    return [
        Phase(
            *PHASES[(first, second)],
            start,
            end,
            precision.get(first, "minute"),
            precision.get(second, "minute"),
        )
        for (first, start), (second, end) in zip(known, known[1:], strict=False)
    ]


def coarse_milestones(timeline):
    """The known milestones, in words ("start", "resolution"), known only to the day or more
    coarsely. Drawn to scale, such a milestone would stand at midnight (or 1 January) as if that
    were its time, and its phases would get ends no source states: an incident with one is not
    drawn at all (its page says why, and its timeline table gives every time)."""
    precision = dict(timeline.precisions)
    return [
        words
        for name, words in MILESTONE_WORDS.items()
        if getattr(timeline, name) and not text.has_clock(precision.get(name, "minute"))
    ]


def extent(timeline):
    """The stretch of time drawn to scale, and the events left outside it; None if nothing."""
    times = sorted(event.at for event in timeline.events)
    known = [getattr(timeline, name) for name in MILESTONES if getattr(timeline, name)]
    if not known and not times:
        return None
    start = timeline.started_at or min(known + times)
    end = timeline.resolved_at
    if end is None:
        end = max([start] + [getattr(timeline, name) or start for name in MILESTONES[1:3]])
        for at in times:
            if at > text.shifted(end, QUIET_GAP):
                break
            end = max(end, at)
    end = max(end, text.shifted(start, MIN_SPAN))
    pad = (end - start) / 4
    start = min([start] + [at for at in times if at >= text.shifted(start, -pad)])
    end = max([end] + [at for at in times if at <= text.shifted(end, pad)])
    events = sorted(timeline.events, key=lambda event: event.at)
    return Extent(
        start,
        end,
        tuple(event for event in events if event.at < start),
        tuple(event for event in events if event.at > end),
    )


def tick_step(span, max_ticks=MAX_TICKS):
    """The smallest step from 5 minutes to 4 weeks that gives at most ten ticks."""
    return next((step for step in STEPS if span / step <= max_ticks), STEPS[-1])


def tick_moments(start, end, step, zone_name="UTC"):
    """Moments from `start` to `end` at whole multiples of `step` on the zone's clock (6 PM,
    9 PM, midnight), so the zone's row reads in round numbers; UTC is written beneath them."""
    zone, seconds = text.zone_of(zone_name), int(step.total_seconds())
    since = int((text.local_time(start, zone_name).replace(tzinfo=None) - EPOCH).total_seconds())
    try:
        wall = EPOCH + timedelta(seconds=-(-since // seconds) * seconds)
    except OverflowError:  # the first tick would fall after year 9999
        return []
    moments = []
    while True:
        try:
            at = wall.replace(tzinfo=zone).astimezone(UTC)
        except (OverflowError, ValueError):  # past the last moment datetime can hold
            break
        if at > end:
            break
        if not moments or at > moments[-1]:  # a clock turned back gives a wall time twice
            moments.append(at)
        following = text.shifted(wall, step)
        if following == wall:
            break
        wall = following
    return moments


def tick_lines(at, before, daily, clock, day, year):
    """A tick's two lines on one row: its clock time and, where the day changes, the day; or,
    for ticks a day or more apart, the day and, where the year changes, the year."""
    if daily:
        return day(at), year(at) if before is None or year(before) != year(at) else ""
    return clock(at), day(at) if before is None or day(before) != day(at) else ""


def ticks(start, end, zone_name="UTC", max_ticks=MAX_TICKS):
    """(moment, rows) for each tick: rows holds the zone's (first line, second line) and,
    beneath, UTC's, or the zone's alone when UTC would say the same or be invented."""
    step = tick_step(end - start, max_ticks)
    moments = tick_moments(start, end, step, zone_name)
    daily = step >= timedelta(days=1)
    in_zone = (
        lambda m: axis_text.zone_clock(m, zone_name),
        lambda m: axis_text.zone_day(m, zone_name),
        lambda m: axis_text.zone_year(m, zone_name),
    )
    in_utc = (text.utc_clock, text.utc_day, lambda m: str(m.astimezone(UTC).year))
    rows = [in_zone, in_utc] if axis_text.has_utc_row(zone_name) else [in_zone]
    return [
        (at, [tick_lines(at, moments[i - 1] if i else None, daily, *row) for row in rows])
        for i, at in enumerate(moments)
    ]


def axis_rows(moments, zone_name):
    """The names of the axis's rows: the zone's (“PST”), then “UTC” where it has that row."""
    first = axis_text.zone_abbreviation(moments, zone_name)
    return [first, "UTC"] if axis_text.has_utc_row(zone_name) else [first]


# --- Labels -----------------------------------------------------------------------------------


def width_of(words, size=FONT, bold=False):
    """An estimate, a little generous: system sans-serif fonts run 0.54-0.58 em a character
    in these labels, a bold one about 8 % more."""
    return len(words) * size * (0.65 if bold else 0.6)


def hang_flags(flags, middle, low, high, gap=6):
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
        words = flag_box(x, width, right)
        fits = [n for n in range(len(rows)) if free(rows[n], *words, gap)] + [len(rows)]
        clear = [n for n in fits if all(free(rows[m], x - 1, x + 1, 2) for m in range(n))]
        row = (clear or fits)[0]
        if row == len(rows):
            rows.append([])
        rows[row].append(words)
        for above in rows[:row]:
            above.append((x - 1, x + 1))
        result[index] = (row, right)
    return [result[index] for index in range(len(flags))], len(rows)


def flag_box(x, width, rightward):
    """(left, right) of a flag's text, which starts or ends 4 units from its pole at x."""
    return (x + 4, x + 4 + width) if rightward else (x - 4 - width, x - 4)


# --- Words ------------------------------------------------------------------------------------


def event_title(event, zone):
    """A mark's hover text: kind, time in UTC and as stated, the source's words, a summary."""
    key = ", key event" if event.key else ""
    when = text.moment_text(event.at, zone, event.precision)
    utc = text.utc_beside(event.at, zone, event.precision)
    when = f"{utc} · {when}" if utc else when
    stated = f" As stated: “{event.stated}”." if event.stated else ""
    return f"{event.kind_label}{key}: {when}.{stated} {event.text}".strip()


def event_label(event, in_margin, zone_name):
    """The words beside a mark: its kind and its time in the zone, “Trigger 12:24 PM”."""
    at = axis_text.mark_time(event.at, zone_name, event.precision, in_margin)
    return f"{event.kind_label} {at}"


def zone_then_utc(moment, zone):
    """“about 12:30 PM PST (about 20:30 UTC)”: a customer's time as reported, UTC beside."""
    local = text.moment_text(moment, zone, "approximate", with_date=False)
    utc = text.utc_beside(moment, zone, "approximate", with_date=False)
    return f"{local} ({utc})" if utc else local


def impact_text(impact, zone):
    """A customer's window in words; an unknown end is said to be unknown."""
    level, start, end = impact.level_label, impact.started_at, impact.ended_at
    if start and end:
        return f"{level} from {zone_then_utc(start, zone)} to {zone_then_utc(end, zone)}"
    if start:
        return f"{level} from {zone_then_utc(start, zone)}; end not known"
    if end:
        return f"{level} until {zone_then_utc(end, zone)}; start not known"
    return f"{level}; times not reported"


def describe(timeline, span, drawn_phases):
    """The drawing in sentences, for its <desc>."""
    zone = timeline.zone
    start, end = (text.drawn_time(at, zone_name=zone) for at in (span.start, span.end))
    parts = [f"From {start} to {end}."]
    parts += [
        f"{phase.name}: {text.utc_between(phase.start, phase.end, zone)}." for phase in drawn_phases
    ]
    if not timeline.resolved_at:
        parts.append("Resolution time not stated by the provider.")
    keys = sum(event.key for event in timeline.events)
    parts.append(f"{text.counted(len(timeline.events), 'event')}, {keys} of them key.")
    for side, events in (("before", span.earlier), ("after", span.later)):
        if events:
            parts.append(
                f"{text.counted(len(events), 'event')} long {side} the span, drawn in a margin"
                " not to scale."
            )
    parts += [f"{impact.name}: {impact_text(impact, zone)}." for impact in hit(timeline)]
    if not_affected(timeline):
        parts.append(f"{not_affected(timeline)}.")
    return " ".join(parts)


def hit(timeline):
    """The customers that get a row: those hit (Impact.hit, from CustomerImpact.was_hit)."""
    return [impact for impact in timeline.impacts if impact.hit]


def not_affected(timeline):
    """The note under the drawing naming the customers only named as spared; "" for none."""
    names = [impact.name for impact in timeline.impacts if not impact.hit]
    return f"Not affected: {', '.join(names)}" if names else ""
