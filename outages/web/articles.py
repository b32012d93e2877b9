"""The incident page's stored article (IncidentArticle): the parts of the page that follow only
the incident's own rows and the names of the reference rows it shows, rendered here and kept,
so a cold page prints them instead of loading every row of the postmortem and rendering it.

What follows other incidents or the request (related incidents, typed relations, the promise
links, the cascade link, the archived copies of the sources, the change log, the citation, the
preview banner) is rendered live around the parts (templates/outages/incident_detail.html).
Writes forget the articles they change (IncidentArticle.objects.forget, called where the page
cache works out what a write changed); the first read after stores the article again.
"""

import hashlib
import logging
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

import django
from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import F, prefetch_related_objects
from django.template.loader import get_template
from django.utils.safestring import mark_safe
from django.utils.text import slugify

import outages
from outages.models import (
    Customer,
    CustomerImpact,
    Incident,
    IncidentArticle,
    Provider,
    Region,
    Service,
    Source,
    latest_copies,
)
from outages.web.gist import incident_gist
from outages.web.ledger_data import add_ledger_history

log = logging.getLogger(__name__)

# Each part, in the order of the page, and its template.
PARTS = {
    "header": "outages/article/header.html",
    "gist": "outages/article/gist.html",
    "contents": "outages/includes/incident_contents.html",
    "story": "outages/article/story.html",
    "promises": "outages/article/promises.html",
    "corrections": "outages/article/corrections.html",
}
# The incident's row in a list that fixes no provider, service or region, in two halves around
# the passage a search shows there (includes/incident_table.html); stored apart (row).
ROW = {
    "head": "outages/includes/incident_row_head.html",
    "tail": "outages/includes/incident_row_tail.html",
}
FILL_BATCH = 100  # incidents loaded in full at a time by fill()


@cache
def build():
    """A digest of the code and templates that render an article: an article stored by another
    build may be worded or laid out differently, so it is not shown (and is stored again)."""
    digest = hashlib.sha256(django.__version__.encode())
    package = Path(outages.__file__).parent
    for root in [package, *(Path(folder) for folder in settings.TEMPLATES[0]["DIRS"])]:
        for path in sorted(root.rglob("*")):
            if path.suffix in (".py", ".html"):
                digest.update(path.relative_to(root).as_posix().encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


def with_article(incidents):
    """The incidents with their providers and stored articles (one query)."""
    return incidents.select_related("provider", "article")


def with_stored_rows(incidents):
    """The incidents (of a list that fixes no provider, service or region) with their providers
    and, of their stored articles, only the build and the row's two halves (one query, reading
    no other part)."""
    return incidents.select_related("provider").annotate(
        row_build=F("article__build"), stored_halves=F("article__row")
    )


def listed(incidents):
    """The incidents of a list page, as with_stored_rows() reads them: each with `stored_row`
    (its row's halves) when this build stored its article; those without one are read again
    for_lists(), to be rendered (four more queries, only when one lacks its article)."""
    page = list(incidents)
    missing = []
    for incident in page:
        if incident.row_build == build() and incident.stored_halves is not None:
            head, tail = map(mark_safe, incident.stored_halves)  # rendered here, then stored
            incident.stored_row = {"head": head, "tail": tail}
        else:
            missing.append(incident.pk)
    if missing:
        loaded = Incident.objects.filter(pk__in=missing).for_lists().in_bulk()
        page = [loaded.get(incident.pk, incident) for incident in page]
    return page


def around_article(shown):
    """Load what the page reads besides an incident's stored article and `shown` (Shown, as
    stored with it): the latest archived copies of its sources (one query, none without
    sources), for the list of sources and the drift notice. Archiving a copy writes no row the
    article shows, so the copies are read at every render."""
    prefetch_related_objects(shown.sources, latest_copies(via=""))


@dataclass
class Shown:
    """What the page reads, around the article, of an incident's services and regions (the
    related incidents, the page's tags, the structured data), of its impacts with their
    customers (the same, and the cascade link) and of its sources (the list of sources, with
    their archived copies, and the drift notice)."""

    services: list
    regions: list
    impacts: list
    sources: list

    @classmethod
    def loaded(cls, incident):
        """Those loaded with an incident (for_page(): its sources with their latest copies)."""
        return cls(
            list(incident.services.all()),
            list(incident.regions.all()),
            list(incident.impacts.all()),
            list(incident.sources.all()),
        )

    @classmethod
    def from_rows(cls, incident, rows):
        """Those stored with its article (as_rows()): rows made from the stored data, with
        only the fields it keeps."""
        return cls(
            [
                Service(pk=pk, provider=Provider(pk=of, slug=provider), slug=slug, name=name)
                for pk, of, provider, slug, name in rows["services"]
            ],
            [
                Region(pk=pk, provider=Provider(pk=of, slug=provider), code=code)
                for pk, of, provider, code in rows["regions"]
            ],
            [
                CustomerImpact(
                    pk=pk,
                    incident=incident,
                    level=level,
                    customer=Customer(pk=customer, slug=slug, name=name, url=url),
                )
                for pk, level, customer, slug, name, url in rows["impacts"]
            ],
            [
                Source(
                    pk=pk,
                    title=title,
                    publisher=publisher,
                    author=author,
                    published_on=published_on and date.fromisoformat(published_on),
                    date_note=date_note,
                    url=url,
                    kind=kind,
                    note=note,
                )
                for pk, title, publisher, author, published_on, date_note, url, kind, note in rows[
                    "sources"
                ]
            ],
        )

    def as_rows(self):
        """Plain data, to store with the article."""
        return {
            "services": [
                [service.pk, service.provider_id, service.provider.slug, service.slug, service.name]
                for service in self.services
            ],
            "regions": [
                [region.pk, region.provider_id, region.provider.slug, region.code]
                for region in self.regions
            ],
            "impacts": [
                [impact.pk, impact.level, customer.pk, customer.slug, customer.name, customer.url]
                for impact in self.impacts
                for customer in [impact.customer]
            ],
            "sources": [
                [
                    source.pk,
                    source.title,
                    source.publisher,
                    source.author,
                    source.published_on and source.published_on.isoformat(),
                    source.date_note,
                    source.url,
                    source.kind,
                    source.note,
                ]
                for source in self.sources
            ],
        }


def stored_article(incident):
    """(parts, Shown) as stored for an incident loaded with_article(), if this build stored
    them; else None."""
    try:
        article = incident.article
    except IncidentArticle.DoesNotExist:
        return None
    if article.parts is None or article.build != build():
        return None
    parts = {name: mark_safe(html) for name, html in article.parts.items()}  # noqa: S308
    return parts, Shown.from_rows(incident, article.rows)


def claim(incident):
    """Claim the storing of an incident's article, before its rows are read for it: the token,
    or None when another read is storing it now."""
    try:
        stored = incident.article
    except IncidentArticle.DoesNotExist:
        stored = None
    return refusable(lambda: IncidentArticle.claim_for(incident.pk, build(), stored))


def keep(incident, token, parts, shown):
    """Store the parts rendered after claiming; nothing if a write came since the claim.
    Whether they were stored."""
    if token is None:
        return False
    stored = {name: str(html) for name, html in parts.items()}
    row = render_row(incident)
    return bool(
        refusable(lambda: IncidentArticle.store(incident.pk, token, stored, shown.as_rows(), row))
    )


def render_row(incident):
    """[head, tail] of the list row (ROW) of an incident loaded by for_page(), as a list that
    fixes no provider, service or region renders it."""
    if not hasattr(incident, "customers_hit"):  # as for_lists() loads them
        incident.customers_hit = [impact for impact in incident.impacts.all() if impact.was_hit]
    context = {"incident": incident}
    return [get_template(path).render(context) for path in ROW.values()]


def refusable(write):
    """A reader's write of the stored article, or None if the database refuses it (SQLite busy
    with an editor's save, a read-only moment): the page is then rendered and shown without
    storing it, never an error. In a savepoint, so a refusal leaves any open transaction
    usable."""
    try:
        with transaction.atomic():
            return write()
    except DatabaseError as error:
        # An expected refusal (the database busy, or going away): its reason is enough.
        log.warning("The stored incident article was not written: %s", error)
        return None


def render_parts(incident, frozen=False):
    """Each part of the article of an incident loaded by for_page(), rendered (one query: its
    action items' histories). `frozen`: for a published version, whose contents leave out the
    sections that follow the collection."""
    events = incident.events.all()  # preloaded by in_full()
    milestones = incident.milestone_facts(events)
    durations = incident.duration_facts(events)
    add_ledger_history(incident)
    context = {
        "incident": incident,
        "gist": incident_gist(incident, milestones, durations),
        "milestones": milestones,
        "durations": durations,
        "sections": postmortem_sections(incident),
        # The copies a reader may open from here: those of a source this incident cites.
        "cited": {source.pk for source in incident.sources.all()},
        "frozen": frozen,
    }
    return {name: mark_safe(get_template(path).render(context)) for name, path in PARTS.items()}  # noqa: S308


def postmortem_sections(incident):
    """(anchor, heading, html) of each written section after the summary. The anchor comes
    from the heading (“root-cause”), so a link to a section survives sections added or left
    empty."""
    return [
        (slugify(heading), heading, html) for heading, html in incident.postmortem_sections if html
    ]


def fill(for_page, incidents=None, batch=FILL_BATCH):
    """Store the article of every published incident (of `incidents`, a queryset, if given)
    that has none from this build, a batch at a time (`for_page`: the views' loader of an
    incident in full); how many were stored."""
    current = IncidentArticle.objects.filter(build=build(), parts__isnull=False)
    published = Incident.objects.published()
    if incidents is not None:
        published = published.filter(pk__in=incidents.values("pk"))
    missing = published.exclude(pk__in=current.values("incident"))
    pks = list(missing.order_by("pk").values_list("pk", flat=True))
    stored = 0
    for start in range(0, len(pks), batch):
        chunk = with_article(Incident.objects.filter(pk__in=pks[start : start + batch]))
        tokens = {incident.pk: claim(incident) for incident in chunk}
        # Read after claiming, as a page does.
        for incident in for_page(Incident.objects.published()).filter(pk__in=list(tokens)):
            if tokens[incident.pk] is not None:
                parts = render_parts(incident)
                stored += keep(incident, tokens[incident.pk], parts, Shown.loaded(incident))
    return stored
