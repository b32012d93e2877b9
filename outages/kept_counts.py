"""The definitions of the counts kept for the statistics page, the customer map, the ledger
and the entity pages' strips: each a function over some published incidents (a queryset of
published(), the one rule) giving the rows of one table of outages.models.summaries, its key
fields by id and `count`. outages.summaries keeps each table equal to its definition over every
published incident, by adding what a change to some incidents adds and taking away what it takes
away; the pages read the tables (outages.aggregates, outages.models.ledger.ledger_counts). What
is counted is said here and nowhere else.

No DISTINCT anywhere: a customer has at most one impact per incident (the constraint
impact_once_per_customer) and an incident names a service or region at most once (the
many-to-many tables' unique pairs), so each joined row is a different incident.
"""

from django.db.models import BooleanField, Case, Count, DurationField, ExpressionWrapper, F, Q, When
from django.db.models.functions import ExtractYear

from outages.models import (
    ActionItem,
    ActionItemCount,
    CustomerCount,
    CustomerImpact,
    CustomerRegionCount,
    CustomerServiceCount,
    CustomerTotal,
    CustomerYearCount,
    DurationCount,
    Incident,
    IncidentCount,
    RegionCount,
    RegionYearCount,
    ServiceCount,
    ServiceYearCount,
)
from outages.text import CLOCK_PRECISIONS


def published():
    return Incident.objects.published()


SPAN = ExpressionWrapper(F("resolved_at") - F("started_at"), output_field=DurationField())


def exact_span():
    """The time to resolve is exact when both ends have a clock time (text.CLOCK_PRECISIONS);
    one known only to the day or more coarsely is left out of the figures."""
    return Q(started_precision__in=CLOCK_PRECISIONS, resolved_precision__in=CLOCK_PRECISIONS)


def unknown_span():
    return Q(started_at=None) | Q(resolved_at=None)


def incidents_counted(incidents):
    """IncidentCount: by provider, year of the start in the site's time zone, as the `year`
    filter reads it (None when the start is not known), and root cause."""
    return (
        incidents.order_by()
        .values("provider", year=ExtractYear("started_at"), cause=F("root_cause_category"))
        .annotate(count=Count("pk"))
    )


def spans_counted(incidents):
    """DurationCount: by time to resolve (None when either end is not known) and exactness."""
    exact = Case(When(exact_span(), then=True), default=False, output_field=BooleanField())
    return incidents.order_by().values(span=SPAN, exact=exact).annotate(count=Count("pk"))


def services_counted(incidents):
    """ServiceCount: the incidents that involve each service."""
    links = Incident.services.through.objects.filter(incident__in=incidents.values("pk"))
    return links.values("service").annotate(count=Count("incident")).order_by()


def regions_counted(incidents):
    """RegionCount: the incidents that involve each region."""
    links = Incident.regions.through.objects.filter(incident__in=incidents.values("pk"))
    return links.values("region").annotate(count=Count("incident")).order_by()


def hits_of(incidents):
    return CustomerImpact.objects.hits().filter(incident__in=incidents.values("pk")).order_by()


def customers_counted(incidents):
    """CustomerTotal: the incidents that hit each customer."""
    return hits_of(incidents).values("customer").annotate(count=Count("incident"))


def hits_counted(incidents):
    """CustomerCount: the incidents that hit each customer, by the incident's provider."""
    return (
        hits_of(incidents)
        .values("customer", provider=F("incident__provider"))
        .annotate(count=Count("incident"))
    )


def hits_through_services_counted(incidents):
    """CustomerServiceCount: the same by each service the impact names, None when it names
    none. A service counts only where the sources say it hit the customer
    (CustomerImpact.services), never every service of the incident: an incident of fifteen
    services did not hit Netflix through each of them. The incident list's `through` filter
    asks the same."""
    return (
        hits_of(incidents)
        .values("customer", provider=F("incident__provider"), service=F("services"))
        .annotate(count=Count("incident"))
    )


def hits_in_regions_counted(incidents):
    """CustomerRegionCount: the incidents that hit each customer, in each of their regions."""
    return (
        hits_of(incidents)
        .annotate(region=F("incident__regions"))
        .filter(region__isnull=False)
        .values("customer", "region")
        .annotate(count=Count("incident"))
    )


def services_by_year_counted(incidents):
    """ServiceYearCount: the incidents that involve each service, by year of start (as
    IncidentCount's year)."""
    links = Incident.services.through.objects.filter(incident__in=incidents.values("pk"))
    year = ExtractYear("incident__started_at")
    return links.values("service", year=year).annotate(count=Count("incident")).order_by()


def regions_by_year_counted(incidents):
    """RegionYearCount: the incidents that involve each region, by year of start."""
    links = Incident.regions.through.objects.filter(incident__in=incidents.values("pk"))
    year = ExtractYear("incident__started_at")
    return links.values("region", year=year).annotate(count=Count("incident")).order_by()


def customers_by_year_counted(incidents):
    """CustomerYearCount: the incidents that hit each customer, by year of start."""
    year = ExtractYear("incident__started_at")
    return hits_of(incidents).values("customer", year=year).annotate(count=Count("incident"))


def action_items_counted(incidents):
    """ActionItemCount: the action items of these incidents (the promise ledger's fixes, as
    ledger_items() selects them) by the incident's provider, year of its start (as
    IncidentCount's year, and as ledger_items() reads its `year`) and the item's current
    status."""
    items = ActionItem.objects.filter(incident__in=incidents.values("pk")).order_by()
    year = ExtractYear("incident__started_at")
    return items.values("status", provider=F("incident__provider"), year=year).annotate(
        count=Count("pk")
    )


DEFINITIONS = {
    IncidentCount: incidents_counted,
    DurationCount: spans_counted,
    ServiceCount: services_counted,
    RegionCount: regions_counted,
    CustomerTotal: customers_counted,
    CustomerCount: hits_counted,
    CustomerServiceCount: hits_through_services_counted,
    CustomerRegionCount: hits_in_regions_counted,
    ServiceYearCount: services_by_year_counted,
    RegionYearCount: regions_by_year_counted,
    CustomerYearCount: customers_by_year_counted,
    ActionItemCount: action_items_counted,
}
