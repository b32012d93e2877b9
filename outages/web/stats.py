"""The statistics page and the customer–provider map: their numbers come from
outages.aggregates (aggregated in the database, a fixed number of queries), their figures from
outages.web.figures and outages.web.hit_map."""

from django.shortcuts import render
from django.urls import reverse

from outages import aggregates as stats
from outages.models import Region, Service
from outages.web import hit_map
from outages.web.figures import (
    bar_figure,
    duration_chart,
    incidents_url,
    times_to_list,
    year_chart,
)
from outages.web.ledger_data import OUTCOMES, Filters, year_rows

# Customers on the map, those hit by the most incidents; the customer list has every one. A
# matrix of thousands of rows would be a page of megabytes that no reader could take in, and
# a phone shows about this many rows in a few screens.
MAP_CUSTOMERS = 20


def statistics(request):
    """Eight or nine queries, over the kept counts: years by provider, durations (and the
    incidents the chart names, when few enough), causes, customers, services and regions; and
    the promise ledger's outcomes (two)."""
    years = year_chart(stats.incidents_by_year_and_provider())
    figure = durations()
    return render(
        request,
        "outages/statistics.html",
        {
            "total": figure["total"],
            "years": years,
            "durations": figure,
            "bar_figures": bar_figures(),
            "ledger": ledger_outcomes(),
        },
    )


def ledger_outcomes():
    """What became of the promised fixes of published incidents, by outcome (the ledger's
    rules, outages.models.ledger): two queries."""
    _, totals = year_rows(Filters())
    return {
        "total": totals["total"],
        "outcomes": [
            (outcome.value, outcome.label, count)
            for outcome, count in zip(OUTCOMES, totals["counts"], strict=True)
        ],
    }


def durations():
    """The chart of times to resolve: one query, and one more for the incidents it names."""
    counts = stats.span_counts()
    which = times_to_list(counts)
    return duration_chart(counts, stats.resolution_times(**which) if which else ())


def bar_figures():
    """Four queries: causes, customers, services and regions, each with its chart."""
    top = stats.TOP
    return [
        bar_figure(
            "causes",
            "Root causes",
            "Incidents by the category of their root cause, as the postmortems state it.",
            "Root cause",
            [
                {"label": label, "count": count, "href": incidents_url(cause=key)}
                for key, label, count in stats.incidents_by_cause()
            ],
        ),
        bar_figure(
            "customers",
            "Customers hit most often",
            f"The {top} customers hit by the most incidents: down, degraded, or affected to an "
            "extent not reported. Customers the sources call not affected are not counted. "
            "Ties in alphabetical order.",
            "Customer",
            [
                {
                    "label": row.name,
                    "page": reverse("outages:customer", args=[row.slug]),
                    "count": row.count,
                    "href": incidents_url(customer=row.slug),
                }
                for row in stats.customers_hit_most()
            ],
        ),
        bar_figure(
            "services",
            "Services involved most often",
            f"The {top} services named in the most incidents. Ties in alphabetical order.",
            "Service",
            [
                {
                    "label": row["service__name"],
                    "page": reverse("outages:service", args=[provider, row["service__slug"]]),
                    "note": row["service__provider__name"],
                    "count": row["count"],
                    "href": incidents_url(service=Service.make_key(provider, row["service__slug"])),
                }
                for row in stats.services_involved_most()
                for provider in [row["service__provider__slug"]]
            ],
            note_header="Provider",
        ),
        bar_figure(
            "regions",
            "Regions involved most often",
            f"The {top} regions named in the most incidents. Ties in alphabetical order.",
            "Region",
            [
                {
                    "label": row["region__code"],
                    "page": reverse("outages:region", args=[provider, row["region__code"]]),
                    "note": row["region__provider__name"],
                    "count": row["count"],
                    "href": incidents_url(region=Region.make_key(provider, row["region__code"])),
                }
                for row in stats.regions_involved_most()
                for provider in [row["region__provider__slug"]]
            ],
            note_header="Provider",
        ),
    ]


def customer_map(request):
    """Three queries over the kept counts (outages.aggregates): the customers hit most, by
    provider; the same by service, and by region, of the providers shown. Its size is bounded
    whatever the data: MAP_CUSTOMERS rows, and hit_map's bounds on the columns."""
    by_provider = stats.customers_by_provider(MAP_CUSTOMERS)
    ranked = hit_map.provider_order(by_provider)
    shown = ranked[: hit_map.MAP_PROVIDERS]
    by_service, by_region = stats.customers_by_service_and_region(
        {row["customer"] for row in by_provider}, shown
    )
    providers, customers = hit_map.map_data(by_provider, by_service, by_region)
    providers = providers[: hit_map.MAP_PROVIDERS]
    return render(
        request,
        "outages/customer_map.html",
        {
            "providers": providers,
            "other_providers": len(ranked) - len(providers),
            "rows": hit_map.map_rows(providers, customers),
            "heat": hit_map.heat_legend(),
            "map_services": hit_map.MAP_SERVICES,
            "map_regions": hit_map.MAP_REGIONS,
            # How many customers were hit in all (the map may show only some of them).
            "customers_hit": by_provider[0]["customers"] if by_provider else 0,
            "customer_list": reverse("outages:customer_list"),
            "provider_list": reverse("outages:provider_list"),
            "with_regions": any(provider["regions"] for provider in providers),
        },
    )
