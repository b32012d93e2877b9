"""Atlassian Statuspage's public /api/v2/incidents.json: {"page": {...}, "incidents": [...]},
each incident with its updates (newest first there, oldest first here), components and, where
the provider wrote one, its postmortem.

    parse(body: bytes, *, url="") -> [ProviderIncident]   # raises ParseFailed
"""

from outages.interchange.status_pages import ParseFailed, ProviderIncident, Update
from outages.interchange.status_pages.reading import (
    each,
    identity,
    load_json,
    moment,
    names,
    origin,
    text_of,
    web_address,
)

WHAT = "a Statuspage incidents.json"


def parse(body, *, url="", skipped=None):
    data = load_json(body, WHAT)
    if not isinstance(data, dict) or not isinstance(data.get("incidents"), list):
        raise ParseFailed(f"not {WHAT}: there is no “incidents” list")
    page = data.get("page") if isinstance(data.get("page"), dict) else {}
    page_url = text_of(page.get("url"))
    if not page_url.startswith(("http://", "https://")):
        page_url = origin(url)
    return each(data["incidents"], lambda item, number: incident(item, number, page_url), skipped)


def incident(item, number, page_url):
    ident = identity(item, f"incident {number + 1} of {WHAT}")
    what = f"incident {ident}"
    created_at = moment(item.get("created_at"), f"{what} created_at", required=True)
    updates = [
        update(entry, f"{what} update {index + 1}")
        for index, entry in enumerate(item.get("incident_updates") or [])
    ]
    # Oldest first; the API lists them newest first, so equal times keep their posting order.
    updates = sorted(reversed(updates), key=lambda one: one.at)
    affected = [
        component
        for entry in item.get("incident_updates") or []
        if isinstance(entry, dict)
        for component in entry.get("affected_components") or []
    ]
    components = names(item.get("components"), "name")
    components += [name for name in names(affected, "name") if name not in components]
    shortlink = text_of(item.get("shortlink"))
    link = shortlink or (f"{page_url.rstrip('/')}/incidents/{ident}" if page_url else "")
    if not link:
        raise ParseFailed(f"{what} has no shortlink, and the page's address is not known")
    return ProviderIncident(
        id=ident,
        url=web_address(link, what),
        title=text_of(item.get("name")),
        impact=text_of(item.get("impact")),
        created_at=created_at,
        began_at=moment(item.get("started_at"), f"{what} started_at"),
        monitoring_at=moment(item.get("monitoring_at"), f"{what} monitoring_at"),
        resolved_at=moment(item.get("resolved_at"), f"{what} resolved_at"),
        modified_at=moment(item.get("updated_at"), f"{what} updated_at"),
        components=tuple(components),
        updates=updates,
        postmortem=postmortem(item, updates),
        raw=item,
    )


def update(entry, what):
    ident = identity(entry, what)
    at = moment(entry.get("created_at"), f"{what} created_at", required=True)
    display_at = moment(entry.get("display_at"), f"{what} display_at")
    return Update(
        id=ident,
        status=text_of(entry.get("status")).lower() or "update",
        text=entry.get("body") if isinstance(entry.get("body"), str) else "",
        at=at,
        display_at=display_at if display_at and display_at != at else None,
    )


def postmortem(item, updates):
    """The postmortem the provider published: its postmortem_body, else its latest
    postmortem update."""
    body = item.get("postmortem_body")
    if isinstance(body, str) and body.strip():
        return body.strip()
    written = [one.text.strip() for one in updates if one.status == "postmortem"]
    return written[-1] if written and written[-1] else ""
