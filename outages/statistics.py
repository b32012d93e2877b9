"""The numbers behind the statistics page, the customer map and the entity pages' strips.

Each function counts published incidents only (Incident.objects.published(), the one rule),
aggregates in the database, and runs a fixed number of queries, named in its docstring, however
many incidents there are. A customer counts as hit unless the sources say it was not affected,
as in the incident list's `customer` filter (filters.WAS_HIT), so every number here equals the
length of the filtered list it links to.
"""

import math

from django.db.models import Count, DurationField, ExpressionWrapper, F
from django.db.models.functions import ExtractYear

from .filters import WAS_HIT
from .models import Customer, CustomerImpact, Incident, Region, Service

TOP = 10


def published():
    return Incident.objects.published()


def hits():
    """Impacts on customers who were hit, by published incidents."""
    return CustomerImpact.objects.filter(WAS_HIT, incident__in=published()).order_by()


def incidents_by_year_and_provider():
    """One query: {year, provider__slug, provider__name, count} for each year and provider.

    The year is that of the start in the site's time zone, as the `year` filter reads it; it is
    None for incidents whose start is not known.
    """
    return list(
        published()
        .annotate(year=ExtractYear("started_at"))
        .order_by()
        .values("year", "provider__slug", "provider__name")
        .annotate(count=Count("pk"))
    )


def resolution_times():
    """One query: (slug, title, time to resolve) of every incident, the time a timedelta or None
    when either end is not known. Only the durations are fetched; the percentiles are computed
    from them (percentile())."""
    span = ExpressionWrapper(F("resolved_at") - F("started_at"), output_field=DurationField())
    return list(
        published()
        .annotate(span=span)
        .order_by("started_at", "slug")
        .values_list("slug", "title", "span")
    )


def percentile(ordered, fraction):
    """The value below which `fraction` (0-1) of the sorted values lie, interpolating linearly
    between the closest ranks: the median is percentile(values, 0.5). The same definition as
    NumPy's default and statistics.quantiles(method="inclusive"). None for no values."""
    if not ordered:
        return None
    position = (len(ordered) - 1) * fraction
    lower = math.floor(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


def incidents_by_cause():
    """One query: (cause key, its label, count), most frequent first."""
    labels = dict(Incident.Cause.choices)
    rows = published().order_by().values("root_cause_category").annotate(count=Count("pk"))
    found = [
        (
            row["root_cause_category"],
            labels.get(row["root_cause_category"], "Unknown"),
            row["count"],
        )
        for row in rows
    ]
    return sorted(found, key=lambda item: (-item[2], item[1]))


def customers_hit_most(limit=TOP):
    """One query: {slug, name, count} of the customers hit by the most incidents, ties by name."""
    return list(
        Customer.objects.filter(impacts__in=hits())
        .values("slug", "name")
        .annotate(count=Count("impacts__incident", distinct=True))
        .order_by("-count", "name", "slug")[:limit]
    )


def services_involved_most(limit=TOP):
    """One query: {slug, name, provider__slug, provider__name, count} of the services involved
    in the most incidents, ties by name."""
    return list(
        Service.objects.filter(incidents__in=published())
        .values("slug", "name", "provider__slug", "provider__name")
        .annotate(count=Count("incidents", distinct=True))
        .order_by("-count", "name", "provider__slug")[:limit]
    )


def regions_involved_most(limit=TOP):
    """One query: {code, name, provider__slug, provider__name, count} of the regions involved in
    the most incidents, ties by code."""
    return list(
        Region.objects.filter(incidents__in=published())
        .values("code", "name", "provider__slug", "provider__name")
        .annotate(count=Count("incidents", distinct=True))
        .order_by("-count", "code", "provider__slug")[:limit]
    )


def customer_map():
    """Three queries: how many incidents hit each customer through each provider (1), each of
    the incidents' services (2) and each of their regions (3). Rows are dicts with the keys
    of their values() and `count`; a service or region is named by its provider and slug/code.
    """

    def counted(*fields):
        return list(hits().values(*fields).annotate(count=Count("incident", distinct=True)))

    return (
        counted(
            "customer__slug",
            "customer__name",
            "incident__provider__slug",
            "incident__provider__name",
        ),
        counted(
            "customer__slug",
            "incident__services__provider__slug",
            "incident__services__slug",
            "incident__services__name",
        ),
        counted(
            "customer__slug",
            "incident__regions__provider__slug",
            "incident__regions__code",
            "incident__regions__name",
        ),
    )


def incidents_of(*, provider=None, service=None, region=None, customer=None):
    """The published incidents of one provider, service or region, or those that hit a
    customer: the same set as the incident list filtered by it. (No query until evaluated.)"""
    incidents = published()
    if provider is not None:
        incidents = incidents.filter(provider=provider)
    if service is not None:
        incidents = incidents.filter(services=service)
    if region is not None:
        incidents = incidents.filter(regions=region)
    if customer is not None:
        hit = CustomerImpact.objects.filter(WAS_HIT, customer=customer)
        incidents = incidents.filter(pk__in=hit.values("incident"))
    return incidents


def start_dates(incidents):
    """One query: (slug, title, started_at) of the incidents, oldest first (unknown starts last)."""
    return list(
        incidents.order_by(F("started_at").asc(nulls_last=True), "slug").values_list(
            "slug", "title", "started_at"
        )
    )
