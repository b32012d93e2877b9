"""Status-page connectors: a provider's published history (Atlassian Statuspage, Google Cloud,
Atom/RSS) read into ProviderIncidents, then written as incident documents of our own format
(docs/status-pages.md) for the importer. Reading and mapping only; syncing.py applies them.

INTERFACE (implemented by the connectors work; syncing codes against it):

    parse(format, body: bytes, *, url="") -> list[ProviderIncident]   # raises ParseFailed
    documents.to_document(incident, *, provider, provider_name, fetched_at, page_url,
                          updates=None, same_as=None, not_duplicate_of=(), source_known=False)
        -> dict, one incident of a document (docs/incident-format.md)
    documents.incident_slug(provider, incident) -> str
    documents.canonical_json(incident) -> bytes

One module per format (statuspage.py, gcp.py, feed.py); reading.py holds what they share.
"""

from dataclasses import dataclass, field
from datetime import datetime


class ParseFailed(Exception):
    """The body is not the format asked for; str() is a plain sentence, e.g. "not a Statuspage
    incidents.json: there is no “incidents” list"."""


@dataclass
class Update:
    id: str  # the provider's id of the update (or a stable hash where it gives none)
    status: str  # the provider's word: investigating, identified, monitoring, resolved, …
    text: str  # as the provider wrote it
    at: datetime  # aware, UTC: when it was posted
    display_at: datetime | None = None  # the time the provider shows, when it differs


@dataclass
class ProviderIncident:
    id: str  # the provider's id
    url: str  # the incident's own page: its source in the knowledge base
    title: str
    impact: str  # the provider's rating as given ("major", "high"), or ""
    created_at: datetime | None = None
    began_at: datetime | None = None
    monitoring_at: datetime | None = None
    resolved_at: datetime | None = None
    modified_at: datetime | None = None
    components: tuple = ()  # names of the provider's components or products
    locations: tuple = ()  # codes of its locations (regions)
    updates: list = field(default_factory=list)  # [Update], oldest first
    postmortem: str = ""  # the provider's postmortem or incident report, as written
    raw: dict = field(default_factory=dict)  # the provider's own data of this incident
    location_names: dict = field(default_factory=dict)  # code -> the provider's name for it
    markdown: bool = False  # the texts are Markdown (Google); else plain text (line breaks kept)


def parse(format, body, *, url="", skipped=None):
    """[ProviderIncident] from a fetched body (bytes) in `format` ("statuspage", "gcp",
    "feed"); `url` is where it was read from, to make relative links absolute. Raises
    ParseFailed. With `skipped` (a list), an incident that cannot be read is left out and its
    reason added there, unless none can be."""
    # Imported here: each reader imports the dataclasses above.
    from outages.interchange.status_pages import feed, gcp, statuspage

    readers = {"statuspage": statuspage.parse, "gcp": gcp.parse, "feed": feed.parse}
    if format not in readers:
        raise ParseFailed(f"“{format}” is not a format this knows: {', '.join(readers)}")
    return readers[format](body, url=url, skipped=skipped)
