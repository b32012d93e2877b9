"""A whole postmortem as one Markdown document, to take away.

The document is built in Python rather than in a template: Markdown depends on exact blank lines,
list indentation and one table row per line, which template tags make hard to keep right, and
there is no HTML escaping to switch off. Sections are the editors' Markdown as written;
plain-text fields (titles, claims, promises, source notes) are escaped so they read as written.
Times are written by outages.text, as on the incident page.
"""

import re

from django.utils.text import capfirst

from outages import text as words
from outages.models import POSTMORTEM_SECTIONS, Incident

# --- Markdown text ----------------------------------------------------------------------------

MARKDOWN_PUNCTUATION = re.compile(r"([\\`*\[\]<])")
# What would make a line into a heading, quote, list item or thematic break if it began one.
BLOCK_START = re.compile(r"^([-+>#=]|\d+(?=[.)]))")
UNESCAPED_PIPE = re.compile(r"(\\*)\|")


def text(value):
    """Plain text on one line, with the characters that would start Markdown markup escaped.

    Underscores are left alone: CommonMark does not read them as emphasis inside words, and
    escaping them would break the URLs that notes quote.
    """
    return MARKDOWN_PUNCTUATION.sub(r"\\\1", " ".join(value.split()))


def starting_a_line(paragraph):
    """A paragraph of text() that begins a line, kept from reading as a list, quote or heading."""

    def escape(match):
        # "-" becomes "\-"; "12." becomes "12\." (a backslash before a digit would show).
        start = match.group(1)
        return start + "\\" if start.isdigit() else "\\" + start

    return BLOCK_START.sub(escape, paragraph)


def _escape_pipe(match):
    # An odd run of backslashes already escapes the pipe; an even run escapes only itself.
    slashes = match.group(1)
    return match.group(0) if len(slashes) % 2 else f"{slashes}\\|"


def cell(markdown):
    """Markdown for one table cell: its lines joined by <br>, and its pipes escaped."""
    lines = [line.strip() for line in markdown.strip().splitlines()]
    return UNESCAPED_PIPE.sub(_escape_pipe, "<br>".join(lines)) or "—"


def block(markdown):
    """An editor's Markdown as a block of the document: newlines normalised, ends trimmed."""
    return "\n".join(line.rstrip() for line in markdown.strip().splitlines())


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def numbered_list(items):
    """A Markdown numbered list; each item is its paragraphs, each on one line."""
    lines = []
    for number, paragraphs in enumerate(items, start=1):
        marker = f"{number}. "
        first, *rest = paragraphs
        lines.append(marker + starting_a_line(first))
        for paragraph in rest:
            lines += ["", " " * len(marker) + starting_a_line(paragraph)]
    return "\n".join(lines)


def link(label, url):
    return f"[{text(label)}](<{url}>)"


# --- The document ---------------------------------------------------------------------------


def postmortem(incident, absolute, relations=()):
    """The whole postmortem of an incident preloaded by Incident.objects.in_full(), as Markdown.

    `absolute` turns a path into an absolute URL (request.build_absolute_uri); `relations` as
    IncidentRelation.objects.seen_from() reads them.
    """
    tz = incident.time_zone
    numbers = {source.pk: number for number, source in enumerate(incident.sources.all(), 1)}

    def cite(source):
        """[n] for one of the incident's sources (listed at the end), else its address."""
        if source is None:
            return ""
        if source.pk in numbers:
            return f"[{numbers[source.pk]}]"
        return f"(<{source.url}>)"

    blocks = [f"# {text(incident.title)}", facts(incident, absolute)]
    blocks += ["## Milestones", milestones(incident, tz), "## Durations", durations(incident)]
    blocks += section(incident, "summary")

    blocks.append("## Timeline")
    blocks.append(timeline(incident, tz, cite) if incident.events.all() else "No timeline yet.")

    blocks.append("## Customers and how they were hit")
    for impact in incident.impacts.all():
        blocks += customer_impact(impact, tz, cite, absolute)
    if not incident.impacts.all():
        blocks.append("No customers named by the sources.")

    for name in POSTMORTEM_SECTIONS[1:]:
        blocks += section(incident, name)

    blocks.append(f"## What {text(incident.provider.name)} promised")
    blocks.append(promises(incident, cite) or "The sources record no action items.")

    if incident.corrections.all():
        blocks += [
            "## Corrections",
            "Where sources got facts wrong, and what the record shows instead.",
            corrections(incident, cite),
        ]

    if relations:  # only where there are some, so other documents read as before
        blocks += ["## Related incidents", related(relations, absolute)]

    blocks += ["## Sources", sources(incident) or "No sources yet."]
    blocks += [
        "---",
        f"From {absolute(incident.get_absolute_url())}, last updated "
        f"{words.utc_or_stated(incident.updated_at)}. {times_note(incident)}",
    ]
    return "\n\n".join(blocks) + "\n"


def stated(moment, zone_name, precision="minute"):
    """“24 Dec 2012, 12:24 PM PST”, as the incident page shows it."""
    return words.moment_text(moment, zone_name, precision) or words.NOT_KNOWN


def times_note(incident):
    if not incident.zone_stated:
        return f"Times are as the sources wrote them ({words.ZONE_UNSTATED_WORDS})."
    return f"Times are in UTC and as the sources state them ({incident.time_zone})."


def section(incident, name):
    """One postmortem section (summary, impact, ...): its heading and the editors' Markdown."""
    heading = capfirst(Incident._meta.get_field(name).verbose_name)
    return [f"## {heading}", block(getattr(incident, name)) or "*Not recorded.*"]


def facts(incident, absolute):
    provider = incident.provider
    services = ", ".join(
        link(service.name, absolute(service.get_absolute_url()))
        for service in incident.services.all()
    )
    regions = ", ".join(
        f"{link(region.code, absolute(region.get_absolute_url()))} ({text(region.name)})"
        for region in incident.regions.all()
    )
    return "\n".join(
        [
            f"- **Provider:** {link(provider.name, absolute(provider.get_absolute_url()))}",
            f"- **Services:** {services or 'not recorded'}",
            f"- **Regions:** {regions or 'not recorded'}",
            f"- **Root cause:** {incident.get_root_cause_category_display()}",
            *rating_line(incident),
            f"- **Time zone of the sources:** {words.zone_words(incident.time_zone)}",
        ]
    )


def rating_line(incident):
    """The provider's own rating, only when it gave one (older exports stay as they were)."""
    if not incident.provider_impact:
        return []
    return [f"- **Provider's rating:** {text(incident.provider_impact)}"]


def milestones(incident, tz):
    """The milestones as a table; one the provider does not state says so, and points at the
    timeline (models.Incident.milestone_facts)."""
    return table(
        ["Milestone", "UTC", f"As the sources state it ({words.zone_words(incident.time_zone)})"],
        [milestone_row(fact, tz) for fact in incident.milestone_facts(incident.events.all())],
    )


def milestone_row(fact, tz):
    """A milestone's row; one not stated gives the timeline's nearest event in each column."""
    if fact.moment is None:
        utc = fact.unstated
        if fact.pointer:
            event = fact.pointer.event
            at = words.utc_column(event.occurred_at, tz, event.precision)
            utc += f" · {fact.pointer.what}: {at}"
        return [capfirst(fact.label), cell(text(utc)), cell(text(fact.words))]
    return [
        capfirst(fact.label),
        words.utc_column(fact.moment, tz, fact.precision),
        stated(fact.moment, tz, fact.precision),
    ]


def durations(incident):
    return "\n".join(
        f"- **{label}:** "
        f"{said or at_least or ('not known precisely' if bounds else 'not known')}. {definition}"
        for label, said, definition, bounds, at_least in incident.duration_facts(
            incident.events.all()
        )
    )


def timeline(incident, tz, cite):
    rows = []
    for event in incident.events.all():
        kind = event.get_kind_display() + (", key event" if event.is_key_event else "")
        description = f"{cell(event.description)} {cite(event.source)}".rstrip()
        rows.append(
            [
                cell(text(event.time_as_stated)),
                words.utc_column(event.occurred_at, tz, event.precision),
                kind,
                description,
            ]
        )
    return table(["Time as stated", "UTC", "Kind", "What happened"], rows)


def customer_impact(impact, tz, cite, absolute):
    customer = impact.customer
    details = [f"How hit: **{impact.get_level_display()}**"]
    services = [
        link(service.name, absolute(service.get_absolute_url()))
        for service in impact.services.all()
    ]
    if services:
        details.append(f"through {', '.join(services)}")
    for word, moment in (("from", impact.started_at), ("until", impact.ended_at)):
        if moment:
            utc = words.utc_text(moment, tz, "approximate")
            utc = f" ({utc})" if utc else ""
            details.append(f"{word} {stated(moment, tz, 'approximate')}{utc}")
    if impact.source:
        details.append(f"source {cite(impact.source)}")
    return [
        f"### {link(customer.name, absolute(customer.get_absolute_url()))}",
        "; ".join(details) + ".",
        block(impact.description),
    ]


def promises(incident, cite):
    return numbered_list(
        [
            f"{text(item.description)} ({item.get_kind_display()}; status as stated: "
            f"{item.get_status_display()}) {cite(item.source)}".rstrip()
        ]
        for item in incident.action_items.all()
    )


def corrections(incident, cite):
    def said(label, claim, source, copy=None):
        by = f" by {text(source.publisher)} {cite(source)}" if source else ""
        if copy is not None:  # only where set, so other documents read as before
            by += f" (archived version {copy.number}, {words.calendar_day(copy.fetched_at)})"
        return f"**{label}**{by}: {text(claim)}"

    return numbered_list(
        [
            said("Claimed", correction.claim, correction.claimed_by, correction.claimed_in),
            said("Established", correction.fact, correction.settled_by),
        ]
        for correction in incident.corrections.all()
    )


def related(relations, absolute):
    """“Caused by [the other incident](…): the note (source: [its title](…))”, one a line."""
    return "\n".join(
        f"- {text(seen.wording.capitalize())} "
        f"{link(seen.other.title, absolute(seen.other.get_absolute_url()))}: {text(seen.note)} "
        f"(source: {link(seen.source.title, seen.source.url)})"
        for seen in relations
    )


def sources(incident):
    items = []
    for source in incident.sources.all():
        who = ", ".join(text(part) for part in [source.publisher, source.author] if part)
        day = source.published_on
        when = words.calendar_day(day) if day else "date unknown"
        if source.date_note:
            when += f" ({text(source.date_note).rstrip('.')})"
        paragraphs = [
            f"**{text(source.title)}**. {who}, {when}. {source.get_kind_display()}. <{source.url}>"
        ]
        if source.note:
            paragraphs.append(text(source.note))
        items.append(paragraphs)
    return numbered_list(items)
