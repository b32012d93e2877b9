"""{% incident_timeline incident %}: the incident drawn as a timeline, with its legend and the
data behind it in a table, so the drawing can be read without seeing it.

It reads only what Incident.objects.in_full() preloads (events, impacts with their customers), so
the page's query count does not change, and hands plain data to outages/charts.py.
"""

import html

from django import template
from django.utils.html import format_html, format_html_join, strip_tags
from django.utils.text import Truncator

from outages import text
from outages.charts import timeline as charts
from outages.charts.layout import (
    MILESTONES,
    Bracket,
    Event,
    Impact,
    Timeline,
    coarse_milestones,
    extent,
    phases,
)
from outages.templatetags.outages import when

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
            started_at=impact.started_at,
            ended_at=impact.ended_at,
        )
        for impact in incident.impacts.all()
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
    kinds = {event.kind: event.kind_label for event in data.events}
    items = [(charts.legend_mark(kind), kinds[kind]) for kind in KINDS if kind in kinds]
    if any(event.key for event in data.events):
        items.append((charts.legend_mark("detection", key=True), "key event (larger, ringed)"))
    items += [(charts.legend_swatch(phase.css), phase.name) for phase in charts.drawn_phases(data)]
    return format_html(
        '<ul class="chart-legend">{}</ul>', format_html_join("", "<li>{} {}</li>", items)
    )


def table(caption, headings, rows):
    """A small table in its scroll box; each row's first cell heads the row."""
    head = format_html_join("", '<th scope="col">{}</th>', ((h,) for h in headings))
    body = format_html_join(
        "",
        '<tr><th scope="row">{}</th>{}</tr>',
        (
            (first, format_html_join("", "<td>{}</td>", ((c,) for c in rest)))
            for first, *rest in rows
        ),
    )
    return format_html(
        '<div class="table-scroll"><table class="chart-data-table"><caption>{}</caption>'
        "<thead><tr>{}</tr></thead><tbody>{}</tbody></table></div>",
        caption,
        head,
        body,
    )


def data_table(data, span, zone):
    """The drawing's content as tables: phases, events (with where each is drawn), customers."""
    missing = [
        f"{name} time not stated by the provider"
        for name, moment in [
            ("Detection", data.detected_at),
            ("Mitigation", data.mitigated_at),
            ("Resolution", data.resolved_at),
        ]
        if moment is None
    ]
    places = {event.anchor: "earlier margin, not to scale" for event in span.earlier}
    places |= {event.anchor: "later margin, not to scale" for event in span.later}
    parts = [
        table(
            "Phases",
            ["Phase", "From", "Until", "Length"],
            [
                (
                    phase.name,
                    when(phase.start, zone, phase.start_precision),
                    when(phase.end, zone, phase.end_precision),
                    format_html(
                        '<span class="nowrap">{}</span>',
                        text.duration_words(
                            phase.start, phase.start_precision, phase.end, phase.end_precision, zone
                        )
                        or "not known precisely",
                    ),
                )
                for phase in phases(data)
            ]
            or [("None drawn: fewer than two milestone times are known.", "", "", "")],
        ),
        format_html("<p>{}.</p>", "; ".join(missing)) if missing else "",
        table(
            "Events",
            ["#", text.when_heading(zone), "Kind", "Key event", "Drawn"],
            [
                (
                    format_html(
                        '<a href="#{}">{}</a>', event.anchor, event.anchor.removeprefix("event-")
                    ),
                    when(event.at, zone, event.precision),
                    event.kind_label,
                    "yes" if event.key else "",
                    places.get(event.anchor, "on the time axis"),
                )
                for event in data.events
            ],
        ),
    ]
    if data.impacts:
        parts.append(
            table(
                "Customers",
                ["Customer", "How hit", "From", "Until"],
                [
                    (
                        impact.name,
                        impact.level_label,
                        when(impact.started_at, zone, "approximate")
                        if impact.started_at
                        else "not known",
                        when(impact.ended_at, zone, "approximate")
                        if impact.ended_at
                        else "not known",
                    )
                    for impact in data.impacts
                ],
            )
        )
    return format_html(
        '<details class="chart-data"><summary>Data behind the drawing</summary>{}</details>',
        format_html_join("", "{}", ((part,) for part in parts)),
    )


@register.simple_tag
def incident_timeline(incident):
    """The drawing, its legend and its data; empty when neither a start nor an event is known;
    a sentence saying why not, when a milestone is known only to the day or more coarsely."""
    data = timeline_data(incident)
    span = extent(data)
    if span is None:
        return ""
    coarse = coarse_milestones(data)
    if coarse:
        return format_html(
            '<p class="chart-not-drawn">{}</p>',
            text.coarse_milestones_note(coarse, bool(data.events)),
        )
    margins = ""
    if span.earlier or span.later:
        margins = (
            " Events long before or after the incident sit beyond a break (//) at the edge,"
            " in order but not to scale."
        )
    return format_html(
        '<figure class="timeline-figure">'
        '<p class="scroll-hint" aria-hidden="true">Scroll the drawing sideways to see it all.</p>'
        '<div class="chart-scroll" role="region" tabindex="0" aria-label="{}">{}</div>'
        "<figcaption>{}<p>{} Select a mark to go to its row in the timeline table; {}"
        "{}</p></figcaption></figure>{}",
        "Timeline drawing (scrolls sideways on narrow screens)",
        charts.timeline_svg(data),
        legend(data),
        text.axis_note(incident.time_zone),
        text.hover_note(incident.time_zone),
        margins,
        data_table(data, span, incident.time_zone),
    )
