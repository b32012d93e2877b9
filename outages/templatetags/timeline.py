"""{% incident_timeline incident %}: the incident drawn as a timeline, with its legend and the
data behind it in tables (templates/outages/includes/timeline.html), so the drawing can be read
without seeing it.

It reads only what Incident.objects.in_full() preloads (events, impacts with their customers), so
the page's query count does not change, and hands plain data to outages.charts.
"""

import html

from django import template
from django.utils.html import strip_tags
from django.utils.text import Truncator

from outages import axis_text, text
from outages.charts import timeline as charts
from outages.charts.layout import (
    MILESTONES,
    Bracket,
    Event,
    Impact,
    Timeline,
    coarse_milestones,
    extent,
    hit,
    not_affected,
    phases,
)

register = template.Library()


KINDS = ["trigger", "detection", "escalation", "mitigation", "recovery", "communication", "other"]


def timeline_data(incident):
    """The plain data the drawing needs, from an incident loaded with Incident.objects.in_full()."""
    events = tuple(
        Event(
            at=event.occurred_at,
            kind=event.kind,
            kind_label=event.get_kind_display(),
            anchor=f"event-{event.position}",
            key=event.is_key_event,
            precision=event.precision,
            stated=event.time_as_stated,
            text=Truncator(html.unescape(strip_tags(event.description_html))).chars(200),
        )
        for event in incident.events.all()
    )
    impacts = tuple(
        Impact(
            name=impact.customer.name,
            level=impact.level,
            level_label=impact.get_level_display(),
            hit=impact.was_hit,
            started_at=impact.started_at,
            ended_at=impact.ended_at,
        )
        # Worst first, then in the loaded order (by name): Down, Degraded, Affected.
        for impact in sorted(incident.impacts.all(), key=lambda i: i.severity_rank)
    )
    # Only exact durations are drawn: bounds have no one end to draw.
    brackets = tuple(
        Bracket(
            f"{words} {label.lower().removeprefix('time ')}",
            incident.started_at,
            incident.started_at + bounds[0],
        )
        for label, words, _, bounds in incident.durations
        if bounds is not None and bounds[0] == bounds[1]
    )
    return Timeline(
        title=incident.title,
        zone=incident.time_zone,
        started_at=incident.started_at,
        detected_at=incident.detected_at,
        mitigated_at=incident.mitigated_at,
        resolved_at=incident.resolved_at,
        events=events,
        impacts=impacts,
        brackets=brackets,
        precisions=tuple(
            (name, incident.precision_of(name))
            for name in MILESTONES
            if incident.precision_of(name) != "minute"
        ),
    )


def legend(data):
    """(small drawing, words) for each kind of mark and each phase the drawing shows."""
    kinds = {event.kind: event.kind_label for event in data.events}
    items = [(charts.legend_mark(kind), kinds[kind]) for kind in KINDS if kind in kinds]
    if any(event.key for event in data.events):
        items.append((charts.legend_mark("detection", key=True), "key event (larger, ringed)"))
    items += [(charts.legend_swatch(phase.css), phase.name) for phase in charts.drawn_phases(data)]
    return items


def not_stated(data):
    """The milestones the provider does not state, as a sentence; "" when it states them all."""
    missing = [
        f"{name} time not stated by the provider"
        for name, moment in [
            ("Detection", data.detected_at),
            ("Mitigation", data.mitigated_at),
            ("Resolution", data.resolved_at),
        ]
        if moment is None
    ]
    return f"{'; '.join(missing)}." if missing else ""


def event_rows(data, span):
    """Each event with its number and where the drawing puts it."""
    places = {event.anchor: "earlier margin, not to scale" for event in span.earlier}
    places |= {event.anchor: "later margin, not to scale" for event in span.later}
    return [
        {
            "event": event,
            "number": event.anchor.removeprefix("event-"),
            "drawn": places.get(event.anchor, "on the time axis"),
        }
        for event in data.events
    ]


def phase_rows(data, zone):
    """Each phase with its length in words."""
    return [
        {
            "phase": phase,
            "length": text.duration_words(
                phase.start, phase.start_precision, phase.end, phase.end_precision, zone
            )
            or "not known precisely",
        }
        for phase in phases(data)
    ]


@register.inclusion_tag("outages/includes/timeline.html")
def incident_timeline(incident):
    """The drawing, its legend and its data; nothing when neither a start nor an event is known;
    a sentence saying why not, when a milestone is known only to the day or more coarsely."""
    data = timeline_data(incident)
    span = extent(data)
    if span is None:
        return {}
    zone = incident.time_zone
    coarse = coarse_milestones(data)
    if coarse:
        return {"not_drawn": text.coarse_milestones_note(coarse, bool(data.events))}
    return {
        "drawing": charts.timeline_svg(data),
        "narrow_drawing": charts.timeline_svg(data, charts.NARROW),
        "legend": legend(data),
        "axis_note": axis_text.axis_note(zone),
        "not_affected": not_affected(data),
        "hover_note": text.hover_note(zone),
        "margins": bool(span.earlier or span.later),
        "zone": zone,
        "phases": phase_rows(data, zone),
        "not_stated": not_stated(data),
        "events": event_rows(data, span),
        "impacts": hit(data),  # as drawn: the note under the drawing names the rest
    }
