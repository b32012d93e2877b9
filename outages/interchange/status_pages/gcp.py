"""Google Cloud's incidents.json: a list of incidents with begin, end, severity, affected
products and locations, and every update (newest first there, oldest first here). The last
update of a finished incident often is Google's full incident report: that is its postmortem.

    parse(body: bytes, *, url="") -> [ProviderIncident]   # raises ParseFailed
"""

import re

from outages.interchange.status_pages import ParseFailed, ProviderIncident, Update
from outages.interchange.status_pages.reading import (
    absolute,
    each,
    identity,
    load_json,
    moment,
    names,
    origin,
    stable_id,
    text_of,
    web_address,
)

WHAT = "a Google Cloud incidents.json"
HOME = "https://status.cloud.google.com"
# An incident report is long and has its headings; a last update that only says "resolved"
# has neither.
REPORT_LENGTH = 500
REPORT_HEADINGS = re.compile(
    r"incident report|^\W*(summary|root cause|remediation|prevention|detailed description)",
    re.IGNORECASE | re.MULTILINE,
)
# "South Carolina (us-east1)": the code is kept on its own, so the name need not repeat it.
CODE_IN_NAME = re.compile(r"\s*\(([^()]+)\)\s*$")


def parse(body, *, url="", skipped=None):
    data = load_json(body, WHAT)
    if not isinstance(data, list):
        raise ParseFailed(f"not {WHAT}: it is not a list of incidents")
    base = origin(url, HOME) + "/"
    return each(data, lambda item, number: incident(item, number, base), skipped)


def incident(item, number, base):
    ident = identity(item, f"incident {number + 1} of {WHAT}")
    what = f"incident {ident}"
    began_at = moment(item.get("begin"), f"{what} begin")
    created_at = moment(item.get("created"), f"{what} created")
    if began_at is None and created_at is None:
        raise ParseFailed(f"{what} has no time (neither begin nor created)")
    updates = [
        update(entry, ident, f"{what} update {index + 1}")
        for index, entry in enumerate(item.get("updates") or [])
    ]
    updates = sorted(reversed(updates), key=lambda one: one.at)
    locations = {}
    for entry in (
        (item.get("previously_affected_locations") or [])
        + (item.get("currently_affected_locations") or [])
        + [place for one in item.get("updates") or [] for place in affected(one)]
    ):
        if isinstance(entry, dict) and text_of(entry.get("id")):
            code = text_of(entry["id"])
            locations.setdefault(code, location_name(text_of(entry.get("title")), code))
    components = names(item.get("affected_products"), "title")
    if not components and text_of(item.get("service_name")):
        components = [text_of(item["service_name"])]
    uri = text_of(item.get("uri")) or f"incidents/{ident}"
    resolved_at = moment(item.get("end"), f"{what} end")
    return ProviderIncident(
        id=ident,
        url=web_address(absolute(uri, base), what),
        title=text_of(item.get("external_desc")) or text_of(item.get("service_name")),
        impact=text_of(item.get("severity")),
        created_at=created_at or began_at,
        began_at=began_at,
        resolved_at=resolved_at,
        modified_at=moment(item.get("modified"), f"{what} modified"),
        components=tuple(components),
        locations=tuple(locations),
        location_names=locations,
        updates=updates,
        postmortem=report(updates) if resolved_at else "",
        raw=item,
        markdown=True,
    )


def affected(entry):
    places = entry.get("affected_locations") if isinstance(entry, dict) else None
    return places if isinstance(places, list) else []


def location_name(title, code):
    found = CODE_IN_NAME.search(title)
    if found and found.group(1).strip() == code:
        title = title[: found.start()]
    return title.strip() or code


def update(entry, incident_id, what):
    if not isinstance(entry, dict):
        raise ParseFailed(f"{what} is not an object")
    at = moment(entry.get("created"), f"{what} created") or moment(
        entry.get("when"), f"{what} when", required=True
    )
    shown = moment(entry.get("when"), f"{what} when")
    return Update(
        # Google gives updates no id; when it was posted identifies one, its text may change.
        id=stable_id(incident_id, at.isoformat()),
        status=text_of(entry.get("status")).lower() or "update",
        text=entry.get("text") if isinstance(entry.get("text"), str) else "",
        at=at,
        display_at=shown if shown and shown != at else None,
    )


def report(updates):
    """The incident report, when the last update is one."""
    if not updates:
        return ""
    last = updates[-1].text.strip()
    if len(last) >= REPORT_LENGTH and len(REPORT_HEADINGS.findall(last)) >= 2:
        return last
    return ""
