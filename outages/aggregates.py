"""The numbers behind the statistics page, the customer map, the stack page and the entity
pages' strips.

Each function counts published incidents only (Incident.objects.published(), the one rule),
aggregates in the database, and runs a fixed number of queries, named in its docstring, however
many incidents there are. A customer counts as hit by the one rule (CustomerImpact.objects.hits()),
which the incident list's `customer` filter also asks, so every number here equals the length of
the filtered list it links to.
"""

import math

from django.db.models import (
    Case,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    IntegerField,
    Q,
    Subquery,
    When,
)
from django.db.models.functions import ExtractYear

from outages.models import Customer, CustomerImpact, Incident, Region, Service
from outages.text import CLOCK_PRECISIONS

TOP = 10


def published():
    return Incident.objects.published()


def published_hits():
    """Impacts on customers who were hit, by published incidents."""
    return CustomerImpact.objects.hits().filter(incident__in=published()).order_by()


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
    """One query: (slug, title, started_at, time to resolve, whether it is exact) of every
    incident, the time a timedelta or None when either end is not known, in no particular order
    (the caller sorts what it shows; a sort here would cost more than in Python at 100,000
    rows). The time is exact when both ends have a clock time (text.CLOCK_PRECISIONS); one known
    only to the day or more coarsely is left out of the figures. The percentiles are computed
    from the durations (percentile())."""
    span = ExpressionWrapper(F("resolved_at") - F("started_at"), output_field=DurationField())
    exact = Q(started_precision__in=CLOCK_PRECISIONS, resolved_precision__in=CLOCK_PRECISIONS)
    return list(
        published()
        .annotate(span=span, exact=Case(When(exact, then=True), default=False))
        .order_by()
        .values_list("slug", "title", "started_at", "span", "exact")
    )


# The fewest values a median or percentile is drawn from. From fewer, it describes the few
# incidents rather than outages: one more incident can move a median of nine by hours, and the
# 90th percentile of nine lies between the two longest. Below this, pages show the values.
SUMMARISE_FROM = 10


def summary_percentile(ordered, fraction):
    """percentile(), or None when there are too few values to summarise (SUMMARISE_FROM)."""
    return percentile(ordered, fraction) if len(ordered) >= SUMMARISE_FROM else None


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


# The counts below need no DISTINCT: a customer has at most one impact per incident (the
# constraint impact_once_per_customer) and an incident names a service or region at most once
# (the many-to-many tables' unique pairs), so each joined row is a different incident. Counting
# rows lets PostgreSQL aggregate by hashing rather than sorting every row.


def counted_customers():
    """Customers with `incident_count`, how many published incidents hit them (what every page
    counts), and `named_count`, how many name them at all, "not affected" included."""
    published_impact = Q(impacts__incident__in=published())
    return Customer.objects.annotate(
        named_count=Count("impacts", filter=published_impact),
        incident_count=Count(
            "impacts", filter=published_impact & CustomerImpact.hit_condition(via="impacts__")
        ),
    )


def customers_hit_most(incidents=None, limit=TOP):
    """One query: the customers hit by the most of `incidents` (every published incident unless
    given some), each with its `count`, ties by name."""
    incidents = published() if incidents is None else incidents
    return list(
        Customer.objects.filter(
            CustomerImpact.hit_condition(via="impacts__"),
            impacts__incident__in=incidents.order_by().values("pk"),
        )
        .annotate(count=Count("impacts"))
        .order_by("-count", "name", "slug")[:limit]
    )


def services_involved_most(limit=TOP):
    """One query: {slug, name, provider__slug, provider__name, count} of the services involved
    in the most incidents, ties by name."""
    return list(
        Service.objects.filter(incidents__in=published())
        .values("slug", "name", "provider__slug", "provider__name")
        .annotate(count=Count("incidents"))
        .order_by("-count", "name", "provider__slug")[:limit]
    )


def regions_involved_most(limit=TOP):
    """One query: {code, name, provider__slug, provider__name, count} of the regions involved in
    the most incidents, ties by code."""
    return list(
        Region.objects.filter(incidents__in=published())
        .values("code", "name", "provider__slug", "provider__name")
        .annotate(count=Count("incidents"))
        .order_by("-count", "code", "provider__slug")[:limit]
    )


class CountOf(Subquery):
    """How many rows a queryset has, as an expression: (SELECT COUNT(*) FROM (…))."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) counted)"
    output_field = IntegerField()


def customer_map_counts(limit):
    """Three queries, over the `limit` customers hit by the most incidents (ties by name): how
    many incidents hit each through each provider (1), through each service their impact names
    (2: rows with no service count those whose impact names none, by the incident's provider)
    and in each of the incidents' regions (3). Rows are dicts with the keys of their values()
    and `count`; a service or region is named by its provider and slug/code. The first query
    ranks the customers in the database, so only their rows are fetched, and its rows also
    carry `customers`, how many customers were hit in all; the other two take the customers it
    found and name them by id (`customer`) only.

    A service counts only where the sources say it hit the customer (CustomerImpact.services),
    never every service of the incident: an incident of fifteen services did not hit Netflix
    through each of them. The incident list's `through` filter asks the same.
    """
    ranked = (
        published_hits()
        .values("customer")
        .annotate(count=Count("incident"))  # one impact per customer and incident: no DISTINCT
        .order_by("-count", "customer__name", "customer__slug")
        .values("customer")
    )
    by_provider = list(
        published_hits()
        .filter(customer__in=ranked[:limit])
        .values(
            "customer",
            "customer__slug",
            "customer__name",
            "incident__provider__slug",
            "incident__provider__name",
        )
        .annotate(
            count=Count("incident"),
            customers=CountOf(published_hits().values("customer").distinct()),
        )
    )
    shown = {row["customer"] for row in by_provider}

    def counted(*fields):
        # By customer id, not name: no join to the customers, and rows hash rather than sort.
        # No DISTINCT: one impact per customer and incident, one row per impact and service it
        # names (or incident and region), so each (customer, service, incident) row differs.
        return list(
            published_hits()
            .filter(customer__in=shown)
            .values("customer", *fields)
            .annotate(count=Count("incident"))
        )

    return (
        by_provider,
        counted(
            "incident__provider__slug",
            "services__provider__slug",
            "services__slug",
            "services__name",
        ),
        counted(
            "incident__regions__provider__slug",
            "incident__regions__code",
            "incident__regions__name",
        ),
    )


def start_dates(**entity):
    """One query: (slug, title, started_at, started_precision, time_zone) of the published
    incidents of one provider, service, region or customer (`entity`, as Incident.objects.
    involving() takes it), oldest first (unknown starts last)."""
    return list(
        published()
        .involving(**entity)
        .oldest_first()
        .values_list("slug", "title", "started_at", "started_precision", "time_zone")
    )
