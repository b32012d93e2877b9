"""The statistics page, the customer–provider map, and the incident strips of the provider,
service, region and customer pages.

Numbers come from outages.statistics (aggregated in the database, a fixed number of queries),
drawings from outages.svg (pure functions). Every count links to the incident list filtered to
the incidents it counts, with the list's own query parameters (outages.filters).
"""

from urllib.parse import urlencode

from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from . import statistics as stats
from . import svg
from .filters import key_of
from .templatetags.outages import duration

SERIES = 6  # colours for providers in charts (series-1 … series-6 in charts.css), then repeated
MAP_SERVICES = 30  # service columns per provider on the map; any more are named below it
# Heat shading of the map's cells: the lowest count of each bucket, darkest first.
HEAT = [(5, "heat-4", "5 or more"), (3, "heat-3", "3–4"), (2, "heat-2", "2"), (1, "heat-1", "1")]
# Ticks for time to resolve, in hours: a logarithmic axis spans the run that covers the data.
DURATION_TICKS = [
    (1 / 60, "1 min"),
    (10 / 60, "10 min"),
    (0.5, "30 min"),
    (1, "1 h"),
    (3, "3 h"),
    (6, "6 h"),
    (12, "12 h"),
    (24, "1 day"),
    (48, "2 days"),
    (96, "4 days"),
    (168, "1 week"),
    (336, "2 weeks"),
    (720, "30 days"),
    (2160, "90 days"),
]


def incidents_url(**params):
    """The incident list filtered by `params`, in the order given: ?year=2012&provider=aws."""
    return f"{reverse('outages:incident_list')}?{urlencode(params)}"


def incident_url(slug):
    return reverse("outages:incident", args=[slug])


def plural(count, word):
    return f"{count} {word}{'' if count == 1 else 's'}"


def hours(delta):
    return delta.total_seconds() / 3600


# --- The statistics page ---------------------------------------------------------------------


def statistics(request):
    """Six queries: years by provider, durations, causes, customers, services and regions."""
    years = year_chart(stats.incidents_by_year_and_provider())
    durations = duration_chart(stats.resolution_times())
    return render(
        request,
        "outages/statistics.html",
        {
            "total": durations["total"],
            "years": years,
            "durations": durations,
            "bar_figures": bar_figures(),
        },
    )


def year_chart(rows):
    """Incidents per year stacked by provider, and the same as a table (years × providers)."""
    totals, names, counts, undated = {}, {}, {}, 0
    for row in rows:
        slug = row["provider__slug"]
        if row["year"] is None:
            undated += row["count"]
            continue
        names[slug] = row["provider__name"]
        totals[slug] = totals.get(slug, 0) + row["count"]
        counts[row["year"], slug] = row["count"]
    order = sorted(names, key=lambda slug: (-totals[slug], names[slug]))
    providers = [
        {
            "slug": slug,
            "name": names[slug],
            "total": totals[slug],
            "css": f"series-{index % SERIES + 1}",
            "href": incidents_url(provider=slug),
        }
        for index, slug in enumerate(order)
    ]
    years = sorted({year for year, _ in counts})
    span = list(range(years[0], years[-1] + 1)) if years else []
    columns, table = [], []
    for year in span:
        cells = [
            {
                "count": counts.get((year, p["slug"]), 0),
                "href": incidents_url(year=year, provider=p["slug"]),
                "provider": p,
            }
            for p in providers
        ]
        total = sum(cell["count"] for cell in cells)
        columns.append(
            svg.Column(
                label=str(year),
                href=incidents_url(year=year) if total else "",
                segments=tuple(
                    svg.Segment(
                        value=cell["count"],
                        href=cell["href"],
                        tip=f"{cell['provider']['name']}, {year}: "
                        + plural(cell["count"], "incident"),
                        css_class=cell["provider"]["css"],
                    )
                    for cell in cells
                    if cell["count"]
                ),
            )
        )
        if total:
            table.append(
                {"year": year, "cells": cells, "total": total, "href": incidents_url(year=year)}
            )
    chart = None
    if columns:
        busiest = max(table, key=lambda row: row["total"])
        chart = svg.stacked_columns(
            columns,
            chart_id="years-chart",
            title=f"Incidents per year, {span[0]} to {span[-1]}, by provider",
            desc=f"{plural(sum(totals.values()), 'incident')} in {plural(len(table), 'year')}"
            f" with incidents; the most, {busiest['total']}, in {busiest['year']}. By provider: "
            + "; ".join(f"{p['name']} {p['total']}" for p in providers)
            + ".",
        )
    return {"svg": chart, "providers": providers, "rows": table, "undated": undated}


def duration_chart(rows):
    """Time to resolve, one dot per incident, with the median and the 90th percentile."""
    known = sorted(
        ((slug, title, span) for slug, title, span in rows if span is not None),
        key=lambda item: (item[2], item[0]),
    )
    unknown = [
        {"title": title, "href": incident_url(slug)} for slug, title, span in rows if span is None
    ]
    spans = [span for _, _, span in known]
    median, ninetieth = stats.percentile(spans, 0.5), stats.percentile(spans, 0.9)
    table = [
        {"title": title, "href": incident_url(slug), "span": span} for slug, title, span in known
    ]
    chart = None
    if known:
        floor = 1 / 60  # a zero-length incident sits at the axis' first tick, one minute
        ticks = svg.span_ticks(
            max(hours(spans[0]), floor), max(hours(spans[-1]), floor), DURATION_TICKS
        )
        chart = svg.dot_plot(
            [
                svg.Dot(
                    max(hours(row["span"]), floor),
                    f"{row['title']}: {duration(row['span'])}",
                    row["href"],
                )
                for row in table
            ],
            chart_id="durations-chart",
            title="Time to resolve, one dot per incident, on a logarithmic axis",
            desc=f"{plural(len(known), 'incident')} with a known time to resolve, from "
            f"{duration(spans[0])} to {duration(spans[-1])}. Median {duration(median)}; "
            f"90th percentile {duration(ninetieth)}. Not known for "
            f"{plural(len(unknown), 'incident')}.",
            ticks=ticks,
            markers=[
                svg.Marker(hours(median), f"Median {duration(median)}"),
                svg.Marker(hours(ninetieth), f"90th percentile {duration(ninetieth)}"),
            ],
        )
    return {
        "svg": chart,
        "rows": table,
        "unknown": unknown,
        "median": median,
        "ninetieth": ninetieth,
        "total": len(rows),
    }


def bar_figure(slug, heading, caption, label_header, rows, note_header=""):
    """A bar chart and its table. Rows: label, page (the label's link, if any), note, count and
    href (the filtered incident list)."""
    bars = [
        svg.Bar(
            label=row["label"],
            note=row.get("note", ""),
            value=row["count"],
            href=row["href"],
            label_href=row.get("page", ""),
        )
        for row in rows
    ]
    listed = "; ".join(
        f"{bar.label}{f' ({bar.note})' if bar.note else ''}: {bar.value}" for bar in bars
    )
    chart = svg.bar_chart(
        bars,
        chart_id=f"{slug}-chart",
        title=heading,
        desc=f"Incidents by {label_header.lower()}: {listed}.",
    )
    return {
        "slug": slug,
        "heading": heading,
        "caption": caption,
        "label_header": label_header,
        "note_header": note_header,
        "rows": rows,
        "svg": chart if bars else None,
    }


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
                    "label": row["name"],
                    "page": reverse("outages:customer", args=[row["slug"]]),
                    "count": row["count"],
                    "href": incidents_url(customer=row["slug"]),
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
                    "label": row["name"],
                    "page": reverse("outages:service", args=[row["provider__slug"], row["slug"]]),
                    "note": row["provider__name"],
                    "count": row["count"],
                    "href": incidents_url(service=f"{row['provider__slug']}.{row['slug']}"),
                }
                for row in stats.services_involved_most()
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
                    "label": row["code"],
                    "page": reverse("outages:region", args=[row["provider__slug"], row["code"]]),
                    "note": row["provider__name"],
                    "count": row["count"],
                    "href": incidents_url(region=f"{row['provider__slug']}.{row['code']}"),
                }
                for row in stats.regions_involved_most()
            ],
            note_header="Provider",
        ),
    ]


# --- The customer–provider map ----------------------------------------------------------------


def heat(count):
    return next(css for lowest, css, _ in HEAT if count >= lowest)


def cell(count, start=False, **params):
    """A cell of the map: its count, shading and link; `start` begins a provider's columns."""
    if not count:
        return {"count": 0, "start": start}
    return {"count": count, "href": incidents_url(**params), "heat": heat(count), "start": start}


def customer_map(request):
    """Three queries: customers hit by provider, by service, and by region (statistics.py)."""
    providers, customers = map_data(*stats.customer_map())
    rows = []
    for customer in sorted(customers.values(), key=lambda c: (-c["total"], c["name"], c["slug"])):
        slug, counts = customer["slug"], customer["counts"]
        service_cells, region_cells = [], []
        for provider in providers:
            key = provider["slug"]
            service_cells.append(cell(counts.get(key), True, customer=slug, provider=key))
            service_cells += [
                cell(counts.get(("service", s["key"])), customer=slug, service=s["key"])
                for s in provider["shown"]
            ]
            region_cells += [
                cell(counts.get(("region", r["key"])), index == 0, customer=slug, region=r["key"])
                for index, r in enumerate(provider["regions"])
            ]
        rows.append(
            {
                "name": customer["name"],
                "page": reverse("outages:customer", args=[slug]),
                "total": cell(customer["total"], customer=slug),
                "service_cells": service_cells,
                "region_cells": region_cells,
            }
        )
    return render(
        request,
        "outages/customer_map.html",
        {
            "providers": providers,
            "rows": rows,
            "heat": [(css, label) for _, css, label in reversed(HEAT)],
            "map_services": MAP_SERVICES,
            "with_regions": any(provider["regions"] for provider in providers),
        },
    )


def map_data(by_provider, by_service, by_region):
    """The map's columns (providers, each with its services and regions, those hitting most
    customers first) and its customers, each with its counts by provider slug and by
    ("service", key) and ("region", key)."""
    customers, providers = {}, {}
    for row in by_provider:
        slug, provider = row["customer__slug"], row["incident__provider__slug"]
        customer = customers.setdefault(
            slug, {"slug": slug, "name": row["customer__name"], "total": 0, "counts": {}}
        )
        customer["total"] += row["count"]  # an incident has one provider: no double counting
        customer["counts"][provider] = row["count"]
        column = providers.setdefault(
            provider,
            {
                "slug": provider,
                "name": row["incident__provider__name"],
                "hits": 0,
                "service": {},
                "region": {},
            },
        )
        column["hits"] += row["count"]
    for kind, rows, field in [
        ("service", by_service, "slug"),
        ("region", by_region, "code"),
    ]:
        prefix = f"incident__{kind}s__"
        for row in rows:
            provider = providers.get(row[f"{prefix}provider__slug"])
            if provider is None:  # no incident of the service's own provider hit anyone
                continue
            key = f"{provider['slug']}.{row[prefix + field]}"
            column = provider[kind].setdefault(
                key,
                {"key": key, "slug": row[prefix + field], "name": row[f"{prefix}name"], "hits": 0},
            )
            column["hits"] += row["count"]
            customers[row["customer__slug"]]["counts"][kind, key] = row["count"]

    ordered = sorted(providers.values(), key=lambda p: (-p["hits"], p["name"]))
    for provider in ordered:
        slug = provider["slug"]
        services = sorted(provider.pop("service").values(), key=lambda s: (-s["hits"], s["name"]))
        for service in services:
            service["page"] = reverse("outages:service", args=[slug, service["slug"]])
        provider["shown"] = services[:MAP_SERVICES]
        provider["omitted"] = [
            {"name": s["name"], "href": incidents_url(service=s["key"])}
            for s in services[MAP_SERVICES:]
        ]
        provider["regions"] = sorted(
            provider.pop("region").values(), key=lambda r: (-r["hits"], r["slug"])
        )
        for region in provider["regions"]:
            region["page"] = reverse("outages:region", args=[slug, region["slug"]])
        provider["page"] = reverse("outages:provider", args=[slug])
        provider["span"] = len(provider["shown"]) + 1
    return ordered, customers


# --- Strips on the provider, service, region and customer pages -------------------------------


def strip_subject(kind, entity):
    """What the strip shows, in words, and the incident list parameter that shows the same."""
    if kind == "provider":
        return f"{entity.name} incidents", entity.slug
    if kind == "service":
        return f"{entity.provider.name} {entity.name} incidents", key_of(entity)
    if kind == "region":
        return f"{entity.provider.name} {entity.code} incidents", key_of(entity)
    return f"Incidents that hit {entity.name}", entity.slug


def incident_strip(**entity):
    """The strip of one provider, service, region or customer page (a single keyword argument):
    a mark per incident at its start date, from its first year to this one. One query."""
    ((kind, obj),) = entity.items()
    rows = stats.start_dates(stats.incidents_of(**entity))
    subject, key = strip_subject(kind, obj)
    # Years as the incident list's `year` filter reads them: in the site's time zone.
    dated = [(slug, title, timezone.localtime(started)) for slug, title, started in rows if started]
    result = {
        "count": len(rows),
        "undated": len(rows) - len(dated),
        "subject": subject,
        "href": incidents_url(**{kind: key}),
        "svg": None,
    }
    if not dated:
        return result
    first, last = dated[0][2].year, max(dated[-1][2].year, timezone.localdate().year)
    by_year = {}
    for _, _, started in dated:
        by_year[started.year] = by_year.get(started.year, 0) + 1
    result.update(first=first, last=last)
    result["svg"] = svg.strip(
        [
            svg.Moment(started, f"{title} ({started.day} {started:%b %Y})", incident_url(slug))
            for slug, title, started in dated
        ],
        chart_id="strip",
        title=f"{subject} by start date, {first} to {last}",
        desc=f"{plural(len(dated), 'incident')}: "
        + ", ".join(f"{year} ({count})" for year, count in sorted(by_year.items()))
        + ".",
        first_year=first,
        last_year=last,
    )
    return result
