"""The customer–provider map's rows and columns: which customers were hit through which
providers, services and regions, and how often, each count linking to the incidents it counts.
Built from strings made once per row and column: a map has tens of thousands of cells."""

from collections import Counter
from urllib.parse import urlencode

from django.urls import reverse

from outages.models import ProviderScoped
from outages.web.figures import incidents_url
from outages.web.filters import NOT_STATED

# The map's size is bounded by design, whatever the data: the customers hit most as rows
# (outages.web.stats.MAP_CUSTOMERS), the providers behind the most of their hits as column
# groups, and within each the services and regions behind the most. The rest are counted in
# words below the tables, with a link to the pages that list them all.
MAP_PROVIDERS = 4
MAP_SERVICES = 3  # per provider
MAP_REGIONS = 3  # per provider
# Heat shading of the map's cells: the lowest count of each bucket, darkest first.
HEAT = [(5, "heat-4", "5 or more"), (3, "heat-3", "3–4"), (2, "heat-2", "2"), (1, "heat-1", "1")]


def heat(count):
    return next(css for lowest, css, _ in HEAT if count >= lowest)


def cell(count, row_href, column="", start=False):
    """A cell of the map: its count, classes (shading; `start` begins a provider's columns) and
    link, the row's incident list (the customer's) narrowed by the column's parameter."""
    css = "num"
    if count:
        css += f" {heat(count)}"
    if start:
        css += " group-start"
    if not count:
        return {"count": 0, "css": css}
    return {"count": count, "css": css, "href": f"{row_href}&{column}" if column else row_href}


def heat_legend():
    """(CSS class, words) of each shade, lightest first, for the legend above the map."""
    return [
        (css, f"{label} incident{'' if label == '1' else 's'}") for _, css, label in reversed(HEAT)
    ]


def map_rows(providers, customers):
    """A row per customer, those hit most first: its page, its total and its cells by provider
    and service, and by region."""
    rows = []
    for customer in sorted(customers.values(), key=lambda c: (-c["total"], c["name"], c["slug"])):
        slug, counts = customer["slug"], customer["counts"]
        href = incidents_url(customer=slug)
        service_cells, region_cells = [], []
        for provider in providers:
            service_cells.append(cell(counts.get(provider["slug"]), href, provider["param"], True))
            if provider["not_stated"]:
                service_cells.append(
                    cell(counts.get(("not-stated", provider["slug"])), href, provider["unstated"])
                )
            service_cells += [
                cell(counts.get(("service", s["key"])), href, s["param"]) for s in provider["shown"]
            ]
            region_cells += [
                cell(counts.get(("region", r["key"])), href, r["param"], index == 0)
                for index, r in enumerate(provider["regions"])
            ]
        rows.append(
            {
                "name": customer["name"],
                "page": reverse("outages:customer", args=[slug]),
                "total": cell(customer["total"], href),
                "service_cells": service_cells,
                "region_cells": region_cells,
            }
        )
    return rows


def provider_order(by_provider):
    """The providers' slugs, those behind the most hits of the customers shown first (ties by
    name): the order of the map's column groups, of which it shows the first MAP_PROVIDERS."""
    hits, names = Counter(), {}
    for row in by_provider:
        hits[row["provider__slug"]] += row["count"]
        names[row["provider__slug"]] = row["provider__name"]
    return sorted(hits, key=lambda slug: (-hits[slug], names[slug]))


def map_data(by_provider, by_service, by_region):
    """The map's columns (providers, each with its services and regions, those behind the most
    hits first, and how many hits name no service) and its customers by id, each with its
    counts by provider slug and by ("service", key), ("not-stated", provider slug) and
    ("region", key). Rows as aggregates.customers_by_provider() and
    customers_by_service_and_region() give them. Every provider is returned, in
    provider_order(); the map shows the first MAP_PROVIDERS."""
    customers, providers = {}, {}
    for row in by_provider:
        slug, provider = row["customer__slug"], row["provider__slug"]
        customer = customers.setdefault(
            row["customer"],
            {"slug": slug, "name": row["customer__name"], "total": 0, "counts": {}},
        )
        customer["total"] += row["count"]  # an incident has one provider: no double counting
        customer["counts"][provider] = row["count"]
        providers.setdefault(
            provider,
            {
                "slug": provider,
                "name": row["provider__name"],
                "not_stated": 0,
                "service": {},
                "region": {},
            },
        )
    for row in by_service:
        if row["service__slug"] is None:  # the impact names no service
            slug = row["provider__slug"]
            providers[slug]["not_stated"] += row["count"]
            customers[row["customer"]]["counts"]["not-stated", slug] = row["count"]
    for kind, rows, prefix, field in [
        ("service", by_service, "service__", "slug"),
        ("region", by_region, "region__", "code"),
    ]:
        for row in rows:
            if row[prefix + field] is None:
                continue
            provider = providers.get(row[f"{prefix}provider__slug"])
            if provider is None:  # no incident of the service's own provider hit anyone
                continue
            key = ProviderScoped.make_key(provider["slug"], row[prefix + field])
            column = provider[kind].setdefault(
                key,
                {"key": key, "slug": row[prefix + field], "name": row[f"{prefix}name"], "hits": 0},
            )
            column["hits"] += row["count"]
            customers[row["customer"]]["counts"][kind, key] = row["count"]

    ordered = [providers[slug] for slug in provider_order(by_provider)]
    for provider in ordered:
        slug = provider["slug"]
        services = sorted(provider.pop("service").values(), key=lambda s: (-s["hits"], s["name"]))
        for service in services:
            service["page"] = reverse("outages:service", args=[slug, service["slug"]])
            service["param"] = urlencode({"through": service["key"]})
        provider["shown"] = services[:MAP_SERVICES]
        provider["more_services"] = len(services) - len(provider["shown"])
        regions = sorted(provider.pop("region").values(), key=lambda r: (-r["hits"], r["slug"]))
        provider["regions"] = regions[:MAP_REGIONS]
        provider["more_regions"] = len(regions) - len(provider["regions"])
        for region in provider["regions"]:
            region["page"] = reverse("outages:region", args=[slug, region["slug"]])
            region["param"] = urlencode({"region": region["key"]})
        provider["page"] = reverse("outages:provider", args=[slug])
        provider["param"] = urlencode({"provider": slug})
        provider["unstated"] = urlencode({"provider": slug, "through": NOT_STATED})
        provider["span"] = len(provider["shown"]) + 1 + bool(provider["not_stated"])
    return ordered, customers
