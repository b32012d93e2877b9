"""The numbers behind the statistics page, the customer map, the stack page and the entity
pages' strips.

Each function counts published incidents only (Incident.objects.published(), the one rule) and
runs a fixed number of queries, named in its docstring, however many incidents there are. The
statistics page and the map read counts kept by every write (outages.models.summaries, kept by
outages.summaries), each table defined by a function over published incidents
(outages.kept_counts), so that what they count is said once. A customer counts as hit by the one
rule (CustomerImpact.objects.hits()), which the incident list's `customer` filter also asks, so
every number here equals the length of the filtered list it links to.
"""

import math
from bisect import bisect_right
from collections.abc import Sequence

from django.db.models import (
    Case,
    Count,
    F,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Sum,
    When,
)
from django.db.models.functions import Coalesce

from outages.kept_counts import SPAN, exact_span, published, unknown_span
from outages.models import (
    Customer,
    CustomerCount,
    CustomerImpact,
    CustomerRegionCount,
    CustomerServiceCount,
    CustomerTotal,
    CustomerYearCount,
    DurationCount,
    Incident,
    IncidentCount,
    Provider,
    RegionCount,
    RegionYearCount,
    Service,
    ServiceCount,
    ServiceYearCount,
)

TOP = 10


def published_hits():
    """Impacts on customers who were hit, by published incidents."""
    return CustomerImpact.objects.hits().filter(incident__in=published()).order_by()


# --- Reading the kept counts ----------------------------------------------------------------


def incidents_by_year_and_provider():
    """One query: {year, provider__slug, provider__name, count} for each year and provider.

    The year is that of the start in the site's time zone, as the `year` filter reads it; it is
    None for incidents whose start is not known.
    """
    return list(
        IncidentCount.objects.values("year", "provider__slug", "provider__name")
        .annotate(count=Sum("count"))
        .order_by()
    )


def provider_kept_count():
    """How many published incidents the outer provider has (kept counts; 0 for none)."""
    total = (
        IncidentCount.objects.filter(provider=OuterRef("pk"))
        .order_by()
        .values("provider")
        .annotate(total=Sum("count"))
        .values("total")
    )
    return Coalesce(Subquery(total, output_field=IntegerField()), 0)


def kept_count(kept, field):
    """How many published incidents the outer row has (kept: a table keyed by `field` alone)."""
    count = Subquery(kept.objects.filter(**{field: OuterRef("pk")}).values("count"))
    return Coalesce(count, 0)


def providers_by_incidents(limit=None):
    """One query over the kept counts: the providers with published incidents, as Providers
    with `incident_count`, most first and ties by name; the first `limit` of them if given."""
    counted = (
        Provider.objects.annotate(incident_count=provider_kept_count())
        .filter(incident_count__gt=0)
        .order_by("-incident_count", "name")
    )
    return list(counted[:limit] if limit else counted)


def with_kept_counts(rows, kept, field, *ties):
    """Services or regions (a queryset) with `incident_count`, how many published incidents
    involve each (kept: ServiceCount or RegionCount; 0 for none), most first, then by `ties`."""
    return rows.annotate(incident_count=kept_count(kept, field)).order_by("-incident_count", *ties)


def counted_providers():
    """Providers readers may see, with `incident_count` (kept counts) and `service_count`, how
    many of their services readers may see: one query, whose cost follows the providers and
    services, not the incidents."""
    shown = (
        Service.objects.visible()
        .filter(provider=OuterRef("pk"))
        .order_by()
        .values("provider")
        .annotate(total=Count("pk"))
        .values("total")
    )
    return Provider.objects.visible().annotate(
        incident_count=provider_kept_count(),
        service_count=Coalesce(Subquery(shown, output_field=IntegerField()), 0),
    )


def published_total():
    """One query: how many incidents are published (kept counts)."""
    return IncidentCount.objects.aggregate(total=Sum("count"))["total"] or 0


def span_counts():
    """One query: (time to resolve or None, whether it is exact, how many incidents), shortest
    first and those not known last."""
    rows = (
        DurationCount.objects.values_list("span", "exact")
        .annotate(total=Sum("count"))
        .order_by(F("span").asc(nulls_last=True), "exact")
    )
    return list(rows)


def resolution_times(exact=True, unknown=True):
    """One query: (slug, title, started_at, time to resolve, whether it is exact) of the
    incidents whose time to resolve is exact (if `exact`) or not known (if `unknown`), the time
    a timedelta or None, in no particular order (the caller sorts what it shows)."""
    wanted = Q(pk=None)  # nothing, unless asked
    if exact:
        wanted |= exact_span() & ~unknown_span()
    if unknown:
        wanted |= unknown_span()
    return list(
        published()
        .filter(wanted)
        .annotate(span=SPAN, exact=Case(When(exact_span(), then=True), default=False))
        .order_by()
        .values_list("slug", "title", "started_at", "span", "exact")
    )


class Counted(Sequence):
    """Sorted values given as (value, how many times) pairs, read as the sorted list they
    stand for: percentile() and bisect take it as they take that list."""

    def __init__(self, pairs):
        self.values, self.ends, total = [], [], 0
        for value, count in pairs:
            total += count
            self.values.append(value)
            self.ends.append(total)  # the index just past the value's last copy

    def __len__(self):
        return self.ends[-1] if self.ends else 0

    def __getitem__(self, index):
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self.values[bisect_right(self.ends, index)]


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
    rows = IncidentCount.objects.values("cause").annotate(count=Sum("count")).order_by()
    found = [(row["cause"], labels.get(row["cause"], "Unknown"), row["count"]) for row in rows]
    return sorted(found, key=lambda item: (-item[2], item[1]))


def counted_customers():
    """Customers with `incident_count`, how many published incidents hit them (what every page
    counts; kept counts), and `named_count`, how many name them at all, "not affected" included
    (counted for the rows asked for only, by the index of their impacts)."""
    named = (
        CustomerImpact.objects.filter(customer=OuterRef("pk"), incident__in=published())
        .order_by()
        .values("customer")
        .annotate(total=Count("pk"))
        .values("total")
    )
    return Customer.objects.annotate(
        named_count=Coalesce(Subquery(named, output_field=IntegerField()), 0),
        incident_count=kept_count(CustomerTotal, "customer"),
    )


def customers_ranked():
    """The customers hit by the most published incidents, most first and ties by name, as a
    queryset of their ids (kept counts)."""
    return CustomerTotal.objects.order_by("-count", "customer__name", "customer__slug").values(
        "customer"
    )


def customers_hit_most(incidents=None, limit=TOP):
    """One query: the customers hit by the most of `incidents` (every published incident, from
    the kept counts, unless given some), each with its `count`, ties by name."""
    if incidents is None:
        counted = Customer.objects.filter(pk__in=customers_ranked()[:limit]).annotate(
            count=Subquery(CustomerTotal.objects.filter(customer=OuterRef("pk")).values("count"))
        )
    else:
        counted = Customer.objects.filter(
            CustomerImpact.hit_condition(via="impacts__"),
            impacts__incident__in=incidents.order_by().values("pk"),
        ).annotate(count=Count("impacts"))
    return list(counted.order_by("-count", "name", "slug")[:limit])


def services_involved_most(limit=TOP):
    """One query: {slug, name, provider__slug, provider__name, count} of the services involved
    in the most incidents, ties by name (kept counts)."""
    return list(
        ServiceCount.objects.values(
            "count",
            "service__slug",
            "service__name",
            "service__provider__slug",
            "service__provider__name",
        ).order_by("-count", "service__name", "service__provider__slug")[:limit]
    )


def regions_involved_most(limit=TOP):
    """One query: {code, name, provider__slug, provider__name, count} of the regions involved in
    the most incidents, ties by code (kept counts)."""
    return list(
        RegionCount.objects.values(
            "count",
            "region__code",
            "region__name",
            "region__provider__slug",
            "region__provider__name",
        ).order_by("-count", "region__code", "region__provider__slug")[:limit]
    )


def customers_by_provider(limit):
    """One query over the kept counts: how many incidents hit each of the `limit` customers hit
    by the most incidents (ties by name) through each provider, as dicts with the keys of their
    values() and `customers`, how many customers were hit in all."""
    return list(
        CustomerCount.objects.filter(customer__in=customers_ranked()[:limit])
        .annotate(customers=CountOf(CustomerTotal.objects.all()))
        .values(
            "customer",
            "customer__slug",
            "customer__name",
            "provider__slug",
            "provider__name",
            "count",
            "customers",
        )
    )


def customers_by_service_and_region(customers, providers):
    """Two queries over the kept counts: how many incidents hit these customers (ids) through
    each service of these providers (slugs) that their impact names (`service` None for those
    whose impact names none, by the incident's provider), and in each region of theirs. Dicts
    with the keys of their values(), naming the customer by id."""
    by_service = CustomerServiceCount.objects.filter(
        Q(service__provider__slug__in=providers) | Q(service=None, provider__slug__in=providers),
        customer__in=customers,
    ).values(
        "customer",
        "provider__slug",
        "service__provider__slug",
        "service__slug",
        "service__name",
        "count",
    )
    by_region = CustomerRegionCount.objects.filter(
        customer__in=customers, region__provider__slug__in=providers
    ).values("customer", "region__provider__slug", "region__code", "region__name", "count")
    return list(by_service), list(by_region)


class CountOf(Subquery):
    """How many rows a queryset has, as an expression: (SELECT COUNT(*) FROM (…))."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) counted)"
    output_field = IntegerField()


def start_dates(limit=None, **entity):
    """One query: (slug, title, started_at, started_precision, time_zone) of the published
    incidents of one provider, service, region or customer (`entity`, as Incident.objects.
    involving() takes it), oldest first (unknown starts last); the first `limit` if given."""
    rows = (
        published()
        .involving(**entity)
        .oldest_first()
        .values_list("slug", "title", "started_at", "started_precision", "time_zone")
    )
    return list(rows[:limit] if limit else rows)


def start_years(**entity):
    """One query over the kept counts: (year, count) of the published incidents of one
    provider, service, region or customer (a single keyword argument), by the year of their
    start in the site's time zone (as the `year` filter reads it; None for an unknown start),
    oldest first."""
    ((kind, obj),) = entity.items()
    kept = {
        "provider": IncidentCount,
        "service": ServiceYearCount,
        "region": RegionYearCount,
        "customer": CustomerYearCount,
    }[kind]
    rows = kept.objects.filter(**{kind: obj}).values_list("year").annotate(Sum("count"))
    return sorted(rows.order_by(), key=lambda row: (row[0] is None, row[0] or 0))


def kept_total(**entity):
    """One query over the kept counts: how many published incidents one provider, service or
    region (a single keyword argument) has, the length of its page's list."""
    ((kind, obj),) = entity.items()
    kept = {"provider": IncidentCount, "service": ServiceCount, "region": RegionCount}[kind]
    return kept.objects.filter(**{kind: obj}).aggregate(total=Sum("count"))["total"] or 0
