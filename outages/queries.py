"""Preloading shared by every reader-facing door (pages, feeds, API, exports): querysets that
fetch what their templates and serialisers touch, in a fixed number of queries."""

from django.db.models import Prefetch

from outages.models import (
    ActionItem,
    Correction,
    CustomerImpact,
    Incident,
    Region,
    Service,
    TimelineEvent,
)

PAGE_SIZE = 20


def services_with_provider():
    return Prefetch("services", queryset=Service.objects.select_related("provider"))


def regions_with_provider():
    return Prefetch("regions", queryset=Region.objects.select_related("provider"))


def hit_impacts():
    """Impacts of customers who were actually hit, with the customer preloaded."""
    return CustomerImpact.objects.exclude(level=CustomerImpact.Level.NOT_AFFECTED).select_related(
        "customer"
    )


def incident_rows(queryset):
    """Incidents with everything a list row shows: provider, services, regions, customers hit."""
    return queryset.select_related("provider").prefetch_related(
        services_with_provider(),
        regions_with_provider(),
        Prefetch("impacts", queryset=hit_impacts(), to_attr="customers_hit"),
    )


def full_incidents(incidents=None):
    """Incidents (published ones unless given others) with every row a whole postmortem shows,
    in nine queries:
    1 the incident with its provider, 2 services, 3 regions (each with its provider), 4 sources,
    5 timeline events with their source, 6 customer impacts with customer and source, 7 the
    impacts' services, 8 action items with their source, 9 corrections with both sources."""
    incidents = Incident.objects.published() if incidents is None else incidents
    return incidents.select_related("provider").prefetch_related(
        services_with_provider(),
        regions_with_provider(),
        "sources",
        Prefetch("events", queryset=TimelineEvent.objects.select_related("source")),
        Prefetch(
            "impacts",
            queryset=CustomerImpact.objects.select_related("customer", "source").prefetch_related(
                services_with_provider()
            ),
        ),
        Prefetch("action_items", queryset=ActionItem.objects.select_related("source")),
        Prefetch(
            "corrections",
            queryset=Correction.objects.select_related("claimed_by", "settled_by"),
        ),
    )
