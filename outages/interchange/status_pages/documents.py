"""One provider incident as an incident document of our own format (docs/status-pages.md,
"Mapping"), for the importer: pure, no database.

    to_document(incident, *, provider, provider_name, fetched_at, page_url, updates=None,
                same_as=None, not_duplicate_of=(), source_known=False) -> dict
        updates=None: all of them; a subset when the sync only appends new ones to a stored
        incident. same_as: merge into that stored slug (the importer adds only new sources,
        events and customers); no event then marks a milestone, which the stored incident has.
        source_known: the incident's source is stored already, so it is named by its URL (its
        title and note, which carry the fetch date, would otherwise conflict with the stored row).
    incident_slug(provider, incident) -> str   # date, title words, short hash of the id
    canonical_json(incident) -> bytes          # the provider's own data, sorted keys
"""

import hashlib
import json
import re
from datetime import UTC, timedelta
from urllib.parse import urlsplit

from django.utils.text import slugify

from outages.text import CONTROL_CHARACTERS

# The format's limits (docs/incident-format.schema.json).
TEXT_LIMIT = 50_000
TITLE_LIMIT = 200
SLUG_LIMIT = 100
NAME_LIMIT = 100
REPORT_EVENT = (
    "*The provider published its incident report with this update; the full text is in the "
    "archived copy of this status page.*"
)
CUT_NOTE = "\n\n*Cut here: the full text is in the archived copy of this status page.*"

# The provider's word for an update -> the kind of timeline event it is.
KINDS = {
    "investigating": "detection",
    "identified": "escalation",
    "monitoring": "mitigation",
    "resolved": "recovery",
    "postmortem": "communication",
    "update": "communication",
    # Planned maintenance: announced, carried out, checked, done.
    "scheduled": "communication",
    "in_progress": "other",
    "verifying": "mitigation",
    "completed": "recovery",
    # Google Cloud: the service is available again.
    "available": "recovery",
}
# Updates announcing planned work ahead of time: not the start of anything.
ANNOUNCING = {"scheduled"}
MITIGATING = {"monitoring", "verifying"}
RESOLVING = {"resolved", "completed"}

# Postmortem headings -> the section they begin; the first list that matches wins.
SECTION_WORDS = [
    ("lessons", ["prevent", "lesson", "next step", "follow", "action item", "remediation"]),
    ("root_cause", ["root cause", "cause", "trigger", "contributing", "why"]),
    ("detection", ["detect"]),
    ("impact", ["impact", "scope", "affected"]),
    ("response", ["response", "resolution", "mitigation", "recovery", "timeline"]),
    ("summary", ["summary", "overview", "what happened", "incident report", "description"]),
]
SECTIONS = ["summary", "impact", "root_cause", "detection", "response", "lessons"]
HEADING = re.compile(
    r"^\s{0,3}(?:#{1,6}\s+(?P<hash>.+?)\s*#*|\*\*(?P<bold>[^*]+?):?\*\*:?|__(?P<under>[^_]+?)__:?)"
    r"\s*$"
)


def to_document(
    incident,
    *,
    provider,
    provider_name,
    fetched_at,
    page_url,
    updates=None,
    same_as=None,
    not_duplicate_of=(),
    source_known=False,
):
    """One incident of an incident document (a dict), valid under document_checks."""
    chosen = incident.updates if updates is None else updates
    host = urlsplit(page_url).hostname or page_url
    fetched_on = f"{fetched_at.day} {fetched_at:%b %Y}"
    title = cut(line(incident.title) or f"{provider_name} incident {incident.id}", TITLE_LIMIT)
    document = {
        "slug": incident_slug(provider, incident),
        "title": title,
        "provider": provider,
        "services": distinct([service(name) for name in incident.components], "slug"),
        "regions": distinct(
            [
                {
                    "code": code_of(code),
                    "name": cut(line(incident.location_names.get(code) or code), NAME_LIMIT),
                }
                for code in incident.locations
            ],
            "code",
        ),
        "time_zone": "UTC",
        "root_cause_category": "unclassified",
    }
    if incident.impact:
        document["provider_impact"] = cut(line(incident.impact), 50)
    events, milestones = timeline(incident, chosen, marking=same_as is None)
    document.update(milestones)
    document.update(sections(incident, host, fetched_on))
    first = incident.updates[0].at if incident.updates else None
    published = incident.created_at or first or incident.began_at
    source = {
        "url": incident.url,
        "title": cut(f"{provider_name} status page: {title}", 300),
        "publisher": cut(provider_name, 200),
        "kind": "status",
        "published_on": published.astimezone(UTC).date().isoformat() if published else None,
        "note": f"Read from {host} on {fetched_on} by a status-page sync.",
    }
    if published is None:
        source["date_note"] = "The status page gives no date."
    document["sources"] = [incident.url if source_known else source]
    document["timeline"] = events
    if same_as:
        document["same_as"] = same_as
    if not_duplicate_of:
        document["not_duplicate_of"] = list(not_duplicate_of)
    return {key: value for key, value in document.items() if value != []}


def incident_slug(provider, incident):
    """<provider>-<date>-<title words>-<hash of the provider's id>: the same on every sync
    while the provider keeps the incident's title (the sync finds a renamed one by its URL)."""
    when = incident.created_at or incident.began_at
    if when is None and incident.updates:
        when = incident.updates[0].at
    date = when.astimezone(UTC).date().isoformat() if when else "undated"
    tag = hashlib.sha256(f"{incident.id}".encode()).hexdigest()[:8]
    head = slugify(provider)[: SLUG_LIMIT - len(date) - len(tag) - 3] or "provider"
    room = SLUG_LIMIT - len(head) - len(date) - len(tag) - 3
    words = slugify(incident.title or "")[: max(room, 0)].rstrip("-")
    return "-".join(part for part in [head, date, words, tag] if part)


def canonical_json(incident):
    """The provider's own data of one incident, sorted keys: what is archived and compared."""
    return json.dumps(incident.raw, sort_keys=True, ensure_ascii=False, indent=1).encode()


# --- Parts ------------------------------------------------------------------------------------


def service(name):
    name = line(name)
    return {"slug": slug_of(name), "name": cut(name, NAME_LIMIT)}


def distinct(references, key):
    """Each reference once: two names can make one slug ("API" and "Api")."""
    kept = {}
    for reference in references:
        kept.setdefault(reference[key], reference)
    return list(kept.values())


def code_of(text):
    """A region code: the provider's own when it is one, else made from it."""
    if re.fullmatch(r"[-a-zA-Z0-9_]{1,100}", text):
        return text
    return slug_of(text)


def slug_of(text):
    return slugify(text)[:SLUG_LIMIT].strip("-") or hashlib.sha256(text.encode()).hexdigest()[:12]


def line(text):
    """A one-line field: the provider's control characters and line breaks would be refused."""
    return " ".join(CONTROL_CHARACTERS.sub("", text).split())


def cut(text, limit, note=""):
    text = text.strip()
    if len(text) <= limit:
        return text
    if note:
        return text[: limit - len(note)].rstrip() + note
    return text[: limit - 1].rstrip() + "…"


def at_text(moment):
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def timeline(incident, updates, *, marking):
    """(events, milestones given directly). The first update that is not an announcement
    marks the start, unless the provider gives an earlier start of its own; the first
    monitoring update the mitigation; the first resolved update, else the provider's end,
    the resolution."""
    milestones, marks = {}, {}
    all_updates = incident.updates or updates
    first = next((one for one in all_updates if one.status not in ANNOUNCING), None)
    started = incident.began_at
    # The provider's start counts when it is before every update (a start found afterwards);
    # only seconds before, it is that first update, and a planned maintenance's start is its
    # announcement, not the work.
    earliest = all_updates[0].at if all_updates else None
    if first is not None and (started is None or started > earliest - timedelta(minutes=1)):
        marks[first.id], started = "started", first.at
    elif started is not None:
        milestones["started_at"] = at_text(started)
    resolving = next((one for one in all_updates if one.status in RESOLVING), None)
    resolved = None
    if resolving is not None and (started is None or resolving.at >= started):
        marks[resolving.id], resolved = "resolved", resolving.at
    elif incident.resolved_at is not None and (started is None or incident.resolved_at >= started):
        milestones["resolved_at"], resolved = at_text(incident.resolved_at), incident.resolved_at
    mitigating = next((one for one in all_updates if one.status in MITIGATING), None)
    if (
        mitigating is not None
        and (started is None or mitigating.at >= started)
        and (resolved is None or mitigating.at <= resolved)
    ):
        marks[mitigating.id] = "mitigated"
    events = []
    for one in updates:
        event = {"at": at_text(one.at)}
        if one.display_at is not None:
            shown = one.display_at.astimezone(UTC)
            event["as_stated"] = f"{shown:%Y-%m-%d %H:%M} UTC, the time the status page shows"
        # The report closing an incident tells what happened; it is no recovery of its own.
        is_report = incident.postmortem and one.text.strip() == incident.postmortem.strip()
        event["kind"] = "communication" if is_report else KINDS.get(one.status, "communication")
        mark = marks.pop(one.id, None)  # once, should two updates share an id
        if marking and mark:
            event["marks"] = mark
        event["source"] = incident.url
        event["description"] = cut(as_markdown(one.text, incident.markdown), TEXT_LIMIT, CUT_NOTE)
        if is_report:
            # A whole report is no line of a timeline: it is quoted in the written sections of a
            # new draft and kept in full in the archived copy, which a merge also links.
            event["description"] = REPORT_EVENT
        if not event["description"]:
            event["description"] = "*The provider posted this update without text.*"
        events.append(event)
    return events, (milestones if marking else {})


def as_markdown(text, markdown):
    """The provider's text as Markdown: Markdown as it is; plain text with its line breaks
    kept (a Markdown line break is a backslash at the end of the line)."""
    text = CONTROL_CHARACTERS.sub("", text).strip().replace("\r\n", "\n")
    if markdown:
        return text
    return re.sub(r"(?<=\S)\n(?=\S)", "\\\\\n", text)


def provider_words(fetched_on):
    return (
        f"*The provider's own words, from its status page (fetched {fetched_on}); "
        "not yet summarised by an editor.*"
    )


def quoted(text):
    return "\n".join(f"> {line}".rstrip() for line in text.split("\n"))


def sections(incident, host, fetched_on):
    """The postmortem split by its headings into our sections, each marked as the provider's
    words; without one, a summary saying where the record came from and the latest update."""
    if not incident.postmortem.strip():
        summary = (
            f"This incident was synced from the status page at {host} and awaits an editor: "
            "no postmortem has been published there yet."
        )
        if incident.updates and incident.updates[-1].text.strip():
            latest = as_markdown(incident.updates[-1].text, incident.markdown)
            summary += (
                f"\n\n*The provider's own words, from its latest update (fetched {fetched_on}):*"
                f"\n\n{quoted(latest)}"
            )
        return {"summary": cut(summary, TEXT_LIMIT, CUT_NOTE)}
    parts = {}
    current = "summary"
    for line in incident.postmortem.strip().replace("\r\n", "\n").split("\n"):
        found = HEADING.match(line)
        if found:
            words = (found["hash"] or found["bold"] or found["under"]).lower()
            section = next(
                (name for name, keys in SECTION_WORDS if any(key in words for key in keys)),
                None,
            )
            if section is not None:
                current = section
                parts.setdefault(current, [])
                continue
        parts.setdefault(current, []).append(line)
    result = {}
    for name in SECTIONS:
        text = as_markdown("\n".join(parts.get(name, [])), incident.markdown)
        if text:
            head = provider_words(fetched_on) + "\n\n"
            result[name] = head + cut(quoted(text), TEXT_LIMIT - len(head), CUT_NOTE)
    return result
