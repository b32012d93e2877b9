"""Atom and RSS feeds of published incidents: all of them (with the incident list's filters), and
those of one provider, service, region or customer; and the Atom feed of one incident's changes
(its public change log and its sources' revisions).

Every text field carries plain text as its format defines it, and the generator escapes it for
XML once. Atom's titles and subtitles are text constructs (type="text"), author names and
category terms plain text; RSS's titles and descriptions are read as HTML by readers, so they
carry the text HTML-escaped first (rss_text); RSS's categories and dc:creator are plain text.
Entry summaries are stored sanitised HTML in either format (Atom's type="html").
"""

import re
from dataclasses import dataclass
from datetime import datetime

from django.contrib.syndication.views import Feed
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import escape

from outages import revisions, text
from outages.models import (
    ArchivedCopy,
    Customer,
    Incident,
    Provider,
    Region,
    Service,
    TimelineEvent,
    latest_copies,
    source_revisions,
)
from outages.web import results
from outages.web.filters import IncidentFilter
from outages.web.stack_selection import read_stack

FEED_SIZE = 50

# Characters XML 1.0 cannot carry. Django's feed generator raises on the C0 controls (a 500),
# lone surrogates cannot be encoded at all, and U+FFFE/U+FFFF would make readers reject the feed.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(text):
    """Text as a feed can carry it, whatever an editor typed."""
    return NOT_XML.sub("", str(text))


class PlainText:
    """Names and words in the fields of a feed that readers render: as they are in Atom, whose
    text constructs are plain text, and HTML-escaped in RSS, whose titles and descriptions are
    HTML (a provider named "<b>Acme</b>" must not turn bold, nor "AT&T" into an entity)."""

    def text(self, text):
        text = xml_text(text)
        return text if issubclass(self.feed_type, Atom1Feed) else escape(text)


def feed_items(incidents):
    """The first incidents, with everything an item shows preloaded: a fixed number of queries
    (the sources and their latest copies, for the drift line, are two)."""
    return incidents.select_related("provider").prefetch_related(
        "services",
        "regions",
        Prefetch(
            "events", queryset=TimelineEvent.objects.filter(is_key_event=True), to_attr="key_events"
        ),
        "sources",
        latest_copies(),
    )[:FEED_SIZE]


class IncidentFeed(PlainText, Feed):
    """What every item looks like; subclasses choose the object (`kind` names it, as
    Incident.objects.involving() takes it) and its incidents."""

    item_guid_is_permalink = False

    def incidents(self, obj):
        return Incident.objects.published().involving(**{self.kind: obj})

    def items(self, obj):
        return feed_items(self.incidents(obj).newest_first())

    def name(self, obj):
        # Worded as the page's <link rel="alternate"> names its feed.
        return text.incidents_of(self.kind, obj)

    def title(self, obj):
        return self.text(f"postmortems: {self.name(obj)}")

    def link(self, obj):
        return obj.get_absolute_url()

    def description(self, obj):
        return self.text(f"{self.name(obj)}, from postmortems, a knowledge base of cloud outages.")

    def subtitle(self, obj):
        return self.description(obj)

    def item_title(self, incident):
        return self.text(incident.title)

    def item_description(self, incident):
        # The summary and key events are stored sanitised HTML (rendering.py); the template
        # escapes everything else.
        events = [
            {
                "stated": event.time_as_stated,
                "utc": text.utc_or_stated(event.occurred_at, incident.time_zone, event.precision),
                "html": event.description_html,
            }
            for event in incident.key_events
        ]
        html = render_to_string(
            "outages/includes/feed_item.html",
            {
                "summary_html": incident.summary_html,
                "events": events,
                "drift": source_revisions(incident.sources.all()),
            },
        )
        return xml_text(html)

    def item_guid(self, incident):
        # The primary key, not the slug: an edited slug must not make readers see a new entry.
        return f"urn:postmortems:incident:{incident.pk}"

    def item_pubdate(self, incident):
        return incident.started_at or incident.updated_at

    def item_updateddate(self, incident):
        # Also what the feed's own date and its Last-Modified header are taken from. A source's
        # revision changes the entry (its drift line) without touching the incident.
        revised = source_revisions(incident.sources.all())
        return max([incident.updated_at, *(copy.fetched_at for _, copy in revised)])

    def item_author_name(self, incident):
        # Plain text in both formats (Atom's <name>, RSS's dc:creator).
        return xml_text(incident.provider.name)

    def item_categories(self, incident):
        names = [incident.get_root_cause_category_display()]
        names += [service.name for service in incident.services.all()]
        names += [region.code for region in incident.regions.all()]
        return [xml_text(name) for name in names]


class IncidentsFeed(IncidentFeed):
    """All published incidents, narrowed by the incident list's query string."""

    def get_object(self, request):
        return IncidentFilter(request.GET, queryset=Incident.objects.published(), request=request)

    def items(self, filters):
        # In the list page's order: newest first, unless ?q= or ?sort= says otherwise, and a
        # search's best matches first only when its page ranks them too (outages.web.results).
        incidents = filters.qs
        if filters.form.is_valid() and filters.sort_order() == "relevance":
            incidents, _ = results.in_order(filters, results.found(incidents))
        return feed_items(incidents)

    def name(self, filters):
        active = [
            f"{(filters.form[name].label or name).lower()} “{value}”"
            for name, value in filters.data.items()
            if name in filters.filters and name != "sort" and value
        ]
        return f"Incidents matching {', '.join(active)}" if active else "All incidents"

    def link(self, filters):
        params = filters.data.copy()
        params.pop("page", None)
        query = f"?{params.urlencode()}" if params else ""
        return reverse("outages:incident_list") + query

    def feed_url(self, filters):
        return filters.request.get_full_path()


class ProviderFeed(IncidentFeed):
    kind = "provider"

    def get_object(self, request, slug):
        return get_object_or_404(Provider.objects.visible(), slug=slug)


class ServiceFeed(IncidentFeed):
    kind = "service"

    def get_object(self, request, provider_slug, slug):
        return get_object_or_404(
            Service.objects.visible().select_related("provider"),
            provider__slug=provider_slug,
            slug=slug,
        )


class RegionFeed(IncidentFeed):
    kind = "region"

    def get_object(self, request, provider_slug, code):
        return get_object_or_404(
            Region.objects.visible().select_related("provider"),
            provider__slug=provider_slug,
            code=code,
        )


class CustomerFeed(IncidentFeed):
    kind = "customer"

    def get_object(self, request, slug):
        return get_object_or_404(Customer.objects.visible(), slug=slug)


class IncidentsAtom(IncidentsFeed):
    feed_type = Atom1Feed


class IncidentsRss(IncidentsFeed):
    pass


class ProviderAtom(ProviderFeed):
    feed_type = Atom1Feed


class ProviderRss(ProviderFeed):
    pass


class ServiceAtom(ServiceFeed):
    feed_type = Atom1Feed


class ServiceRss(ServiceFeed):
    pass


class RegionAtom(RegionFeed):
    feed_type = Atom1Feed


class RegionRss(RegionFeed):
    pass


class CustomerAtom(CustomerFeed):
    feed_type = Atom1Feed


class CustomerRss(CustomerFeed):
    pass


class StackAtom(IncidentFeed):
    """The incidents of a reader's stack: /my-stack/'s selection, read from the same query string
    (unknown keys ignored, as on the page). Like the incident list's feed, a query that names no
    provider, service or region gives all incidents, and one whose keys are all unknown gives
    none: a mistyped selection never widens to everything."""

    feed_type = Atom1Feed
    url_name = "outages:stack_atom"
    NAMES_IN_TITLE = 5

    def get_object(self, request):
        return read_stack(request.GET)

    def incidents(self, stack):
        return stack.incidents() if stack.asked else Incident.objects.published()

    def name(self, stack):
        # Worded as the page's <link rel="alternate"> names its feed when nothing is asked.
        if not stack.asked:
            return "All incidents"
        names = [choice.name for choice in stack.chosen]
        if not names:
            return "Incidents involving nothing known (no key in the address matched)"
        shown = ", ".join(names[: self.NAMES_IN_TITLE])
        if len(names) > self.NAMES_IN_TITLE:
            shown += f" and {len(names) - self.NAMES_IN_TITLE} more"
        return f"Incidents involving {shown}"

    def link(self, stack):
        return reverse("outages:my_stack") + stack.query

    def feed_url(self, stack):
        return reverse(self.url_name) + stack.query


class StackRss(StackAtom):
    feed_type = Feed.feed_type  # RSS 2.0, as the other RSS feeds, which leave it unset
    url_name = "outages:stack_rss"


@dataclass
class Change:
    """One entry of an incident's changes feed: an edit of its page or a source's revision."""

    title: str
    link: str
    updated: datetime
    guid: str
    description: str


@dataclass
class Changes:
    incident: Incident
    entries: list


class IncidentChangesAtom(Feed):
    """What changed in one published incident: its public change log, as the page shows it, and
    each revision of a source it cites that the archive kept (the drift rule of
    ArchivedCopy.objects.revisions()), newest first. Three queries."""

    feed_type = Atom1Feed
    item_guid_is_permalink = False

    def get_object(self, request, slug):
        incident = Incident.objects.published().select_related("provider").filter(slug=slug).first()
        if incident is None:
            raise Http404("No such incident.")
        page = incident.get_absolute_url()
        edits = [
            Change(
                title=xml_text(f"{incident.title}: {what}"),
                link=f"{page}#changes",
                updated=when,
                guid=f"urn:postmortems:incident:{incident.pk}:revision:{revision.pk}",
                # The summary is HTML (type="html"); the change is words an editor typed.
                description=escape(xml_text(what)),
            )
            for when, what, revision in revisions.public_changes(incident)
        ]
        copies = (
            ArchivedCopy.objects.revisions()
            .filter(source__incidents=incident)
            .select_related("source")
            .defer("body")
        )
        base = request.build_absolute_uri("/").rstrip("/")
        revised = [
            Change(
                title=xml_text(f"{copy.source.publisher} revised {copy.source.title}"),
                link=reverse("outages:archived_copy_changes", args=[copy.pk]),
                updated=copy.fetched_at,
                guid=f"urn:postmortems:archived-copy:{copy.pk}",
                description=xml_text(
                    render_to_string(
                        "outages/includes/drift_line.html",
                        {"source": copy.source, "copy": copy, "changes_base": base},
                    )
                ),
            )
            for copy in copies
        ]
        entries = sorted(edits + revised, key=lambda entry: entry.updated, reverse=True)
        return Changes(incident, entries[:FEED_SIZE])

    def items(self, changes):
        return changes.entries

    def title(self, changes):
        return xml_text(f"postmortems: changes to {changes.incident.title}")

    def link(self, changes):
        return changes.incident.get_absolute_url()

    def description(self, changes):
        return xml_text(
            f"Changes to the postmortem of {changes.incident.title}, and revisions its sources'"
            " publishers made after the archive kept them."
        )

    def subtitle(self, changes):
        return self.description(changes)

    def item_title(self, entry):
        return entry.title

    def item_link(self, entry):
        return entry.link

    def item_description(self, entry):
        return entry.description

    def item_guid(self, entry):
        return entry.guid

    def item_pubdate(self, entry):
        return entry.updated

    def item_updateddate(self, entry):
        return entry.updated
