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

from outages import text

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


def tick_step(span):
    """The smallest step from 5 minutes to 4 weeks that gives at most ten ticks."""
    return next((step for step in STEPS if span / step <= MAX_TICKS), STEPS[-1])


def ticks(start, end):
    """UTC ticks at whole multiples of the step, with the date where the day changes."""
    step = tick_step(end - start)
    seconds = int(step.total_seconds())
    first = -(-int(start.timestamp()) // seconds) * seconds
    try:
        at = datetime.fromtimestamp(first, UTC)
    except (OverflowError, ValueError):  # the first tick would fall after year 9999
        return []
    moments = []
    while at <= end:
        moments.append(at)
        if text.shifted(at, step) == at:  # at the last moment datetime can hold
            break
        at = text.shifted(at, step)
    result = []
    for index, at in enumerate(moments):
        new_day = index == 0 or at.date() != moments[index - 1].date()
        if step >= timedelta(days=1):
            new_year = index == 0 or at.year != moments[index - 1].year
            result.append((at, text.utc_day(at), str(at.year) if new_year else ""))
        else:
            result.append((at, text.utc_clock(at), text.utc_day(at) if new_day else ""))
    return result


# --- Words ------------------------------------------------------------------------------------


def event_title(event, zone):
    """A mark's hover text: kind, time in UTC and as stated, the source's words, a summary."""
    key = ", key event" if event.key else ""
    when = text.moment_text(event.at, zone, event.precision)
    utc = text.utc_beside(event.at, zone, event.precision)
    when = f"{utc} · {when}" if utc else when
    stated = f" As stated: “{event.stated}”." if event.stated else ""
    return f"{event.kind_label}{key}: {when}.{stated} {event.text}".strip()


def event_label(event, in_margin):
    dated = in_margin or not text.has_clock(event.precision)
    at = text.utc_day(event.at) if dated else text.utc_clock(event.at)
    return f"{event.kind_label} {at}"


def impact_text(impact, zone):
    """A customer's window in words; an unknown end is said to be unknown."""
    if impact.started_at and impact.ended_at:
        return f"{impact.level_label}, {text.utc_between(impact.started_at, impact.ended_at, zone)}"
    if impact.started_at:
        local = text.moment_text(impact.started_at, zone, "approximate", with_date=False)
        if text.is_unstated(zone):
            return f"{impact.level_label} from {local}; end not known"
        utc = text.utc_text(impact.started_at, zone, "approximate", with_date=False)
        return f"{impact.level_label} from {utc} ({local}); end not known"
    ended = f"{text.utc_clock(impact.ended_at)} {text.axis_zone(zone)}"
    return f"{impact.level_label} until {ended}; start not known"


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
    for impact in timeline.impacts:
        if not impact.hit:
            parts.append(f"{impact.name}: not affected.")
        elif impact.started_at or impact.ended_at:
            parts.append(f"{impact.name}: {impact_text(impact, timeline.zone)}.")
    return " ".join(parts)
