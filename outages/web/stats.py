"""The statistics page, the customer–provider map, and the incident strips of the provider,
service, region and customer pages.

Numbers come from outages.aggregates (aggregated in the database, a fixed number of queries),
drawings from outages.charts.svg (pure functions). Every count links to the incident list
filtered to the incidents it counts, with the list's own query parameters (outages.web.filters).
"""

from bisect import bisect_left
from datetime import timedelta
from itertools import pairwise
from urllib.parse import urlencode

from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from outages import aggregates as stats
from outages import text
from outages.charts import svg
from outages.models import ProviderScoped, Region, Service
from outages.templatetags.outages import duration

SERIES = 6  # colours for providers in charts (series-1 … series-6 in charts.css), then repeated
MAP_SERVICES = 30  # service columns per provider on the map; any more are named below it
# Customers on the map, those hit by the most incidents; the customer list has every one. A
# matrix of thousands of rows would be a page of megabytes that no reader could take in.
MAP_CUSTOMERS = 100
# Heat shading of the map's cells: the lowest count of each bucket, darkest first.
HEAT = [(5, "heat-4", "5 or more"), (3, "heat-3", "3–4"), (2, "heat-2", "2"), (1, "heat-1", "1")]
# Time to resolve: one dot per incident up to this many incidents with a known time, a histogram
# beyond (100,000 dots would be an unreadable smear, and a page of megabytes).
DOTS_UP_TO = 200
# Incidents whose time to resolve is not known are listed by name up to this many, counted beyond.
UNKNOWN_LISTED_UP_TO = 50
FLOOR = 1 / 60  # hours: a zero-length incident sits at the axis' first tick, one minute
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


# Why an incident whose time to resolve is known only roughly is left out of the figures.
IMPRECISE_WORDS = "whose start or resolution is known only to the day or more coarsely"


def duration_chart(rows):
    """Time to resolve on a logarithmic axis, with the median and the 90th percentile: one dot
    per incident when there are few, a histogram beyond DOTS_UP_TO. Rows: (slug, title, start,
    time to resolve, whether it is exact), in any order. Times known only to the day or more
    coarsely at either end are left out, and counted as such."""
    known = [
        (span, slug, title) for slug, title, _, span, exact in rows if span is not None and exact
    ]
    unknown = [(started, slug, title) for slug, title, started, span, _ in rows if span is None]
    imprecise = sum(1 for _, _, _, span, exact in rows if span is not None and not exact)
    dots = len(known) <= DOTS_UP_TO
    if dots:
        known.sort(key=lambda item: item[:2])  # shortest first, ties by slug
        spans = [span for span, _, _ in known]
    else:  # only the spans are shown: sorting them alone is ten times as fast
        spans = sorted(span for span, _, _ in known)
    median, ninetieth = stats.percentile(spans, 0.5), stats.percentile(spans, 0.9)
    listed = []
    if len(unknown) <= UNKNOWN_LISTED_UP_TO:  # oldest first, those with no known start last
        unknown.sort(key=lambda item: (item[0] is None, item[0] or 0, item[1]))
        listed = [{"title": title, "href": incident_url(slug)} for _, slug, title in unknown]
    result = {
        "svg": None,
        "dots": dots,
        "known": len(known),
        "unknown": len(unknown),
        "unknown_listed": listed,
        "imprecise": imprecise,
        "median": median,
        "ninetieth": ninetieth,
        "total": len(rows),
        "longest_href": incidents_url(sort="longest"),
    }
    if not known:
        return result
    ticks = svg.span_ticks(
        max(hours(spans[0]), FLOOR), max(hours(spans[-1]), FLOOR), DURATION_TICKS
    )
    drawing = {
        "title": "Time to resolve, "
        + ("one dot per incident" if result["dots"] else "incidents counted in bins")
        + ", on a logarithmic axis",
        "ticks": ticks,
        "markers": [
            svg.Marker(hours(median), f"Median {duration(median)}"),
            svg.Marker(hours(ninetieth), f"90th percentile {duration(ninetieth)}"),
        ],
    }
    summary = (
        f"{plural(len(known), 'incident')} with a known time to resolve, from "
        f"{duration(spans[0])} to {duration(spans[-1])}. Median {duration(median)}; "
        f"90th percentile {duration(ninetieth)}. Not known for "
        f"{plural(len(unknown), 'incident')}."
    )
    if imprecise:
        summary += f" Left out: {plural(imprecise, 'incident')} {IMPRECISE_WORDS}."
    if result["dots"]:
        result["rows"] = [
            {"title": title, "href": incident_url(slug), "span": span}
            for span, slug, title in known
        ]
        result["svg"] = svg.dot_plot(
            [
                svg.Dot(
                    max(hours(row["span"]), FLOOR),
                    f"{row['title']}: {duration(row['span'])}",
                    row["href"],
                )
                for row in result["rows"]
            ],
            chart_id="durations-chart",
            desc=summary,
            **drawing,
        )
        return result
    result["bins"] = bins = duration_bins(spans, ticks)
    busiest = max(bins, key=lambda b: b["count"])
    result["svg"] = svg.histogram(
        [
            svg.Bin(hours(b["low"]), hours(b["high"]), b["count"], f"{b['range']}: {b['tip']}")
            for b in bins
        ],
        chart_id="durations-chart",
        desc=f"{summary} Counted in {len(bins)} bins of about equal width on the axis; the "
        f"fullest, {busiest['range']}, holds {plural(busiest['count'], 'incident')}.",
        **drawing,
    )
    return result


def duration_bins(spans, ticks):
    """The histogram of sorted `spans` over the axis of `ticks`: {low, high, range, count, tip}
    per bin, each counting the spans from its low edge up to (not including) its high edge; the
    first also counts any shorter and the last any longer (the axis begins at one minute).
    Empty bins before the first span and after the last are left out."""
    edges = [bin_edge(value) for value in svg.log_bins(ticks)]
    # Spans are sorted, so the number below each edge is where it would be inserted.
    below = [0] + [bisect_left(spans, edge) for edge in edges[1:-1]] + [len(spans)]
    bins = []
    for index, (low, high) in enumerate(pairwise(edges)):
        count = below[index + 1] - below[index]
        if index == 0 and spans[0] < low:
            label = f"under {edge_label(high)}"
        elif index == len(edges) - 2 and spans[-1] >= high:
            label = f"{edge_label(low)} or more"
        else:
            label = f"{edge_label(low)} to {edge_label(high)}"
        bins.append(
            {
                "low": low,
                "high": high,
                "range": label,
                "count": count,
                "tip": plural(count, "incident"),
            }
        )
    # The axis runs from tick to tick; bins beyond the shortest and longest span stay empty.
    counted = [index for index, b in enumerate(bins) if b["count"]]
    return bins[counted[0] : counted[-1] + 1]


def bin_edge(value):
    """A bin edge (hours) as a timedelta, rounded to what its label shows: seconds under ten
    minutes, minutes under a day, hours beyond, so that labels and counts agree exactly."""
    seconds = value * 3600
    unit = 1 if seconds < 600 else 60 if seconds < 86400 else 3600
    return timedelta(seconds=round(seconds / unit) * unit)


def edge_label(delta):
    """duration() with the seconds of a bin edge under ten minutes: “1 min 16 s”."""
    seconds = int(delta.total_seconds())
    if seconds < 600 and seconds % 60:
        return f"{seconds // 60} min {seconds % 60} s" if seconds >= 60 else f"{seconds} s"
    return duration(delta)


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
                    "label": row["name"],
                    "page": reverse("outages:service", args=[row["provider__slug"], row["slug"]]),
                    "note": row["provider__name"],
                    "count": row["count"],
                    "href": incidents_url(
                        service=Service.make_key(row["provider__slug"], row["slug"])
                    ),
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
                    "href": incidents_url(
                        region=Region.make_key(row["provider__slug"], row["code"])
                    ),
                }
                for row in stats.regions_involved_most()
            ],
            note_header="Provider",
        ),
    ]


# --- The customer–provider map ----------------------------------------------------------------


def heat(count):
    return next(css for lowest, css, _ in HEAT if count >= lowest)


def cell(count, row_href, column="", start=False):
    """A cell of the map: its count, classes (shading; `start` begins a provider's columns) and
    link, the row's incident list (the customer's) narrowed by the column's parameter. Built
    from strings made once per row and column: a map has tens of thousands of cells."""
    css = "num"
    if count:
        css += f" {heat(count)}"
    if start:
        css += " group-start"
    if not count:
        return {"count": 0, "css": css}
    return {"count": count, "css": css, "href": f"{row_href}&{column}" if column else row_href}


def customer_map(request):
    """Three queries: the customers hit most, by provider; the same by service, and by region
    (statistics.py)."""
    by_provider, by_service, by_region = stats.customer_map_counts(MAP_CUSTOMERS)
    providers, customers = map_data(by_provider, by_service, by_region)
    rows = []
    for customer in sorted(customers.values(), key=lambda c: (-c["total"], c["name"], c["slug"])):
        slug, counts = customer["slug"], customer["counts"]
        href = incidents_url(customer=slug)
        service_cells, region_cells = [], []
        for provider in providers:
            service_cells.append(cell(counts.get(provider["slug"]), href, provider["param"], True))
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
    return render(
        request,
        "outages/customer_map.html",
        {
            "providers": providers,
            "rows": rows,
            "heat": [(css, label) for _, css, label in reversed(HEAT)],
            "map_services": MAP_SERVICES,
            # How many customers were hit in all (the map may show only some of them).
            "customers_hit": by_provider[0]["customers"] if by_provider else 0,
            "customer_list": reverse("outages:customer_list"),
            "with_regions": any(provider["regions"] for provider in providers),
        },
    )


def map_data(by_provider, by_service, by_region):
    """The map's columns (providers, each with its services and regions, those hitting most
    customers first) and its customers by id, each with its counts by provider slug and by
    ("service", key) and ("region", key)."""
    customers, providers = {}, {}
    for row in by_provider:
        slug, provider = row["customer__slug"], row["incident__provider__slug"]
        customer = customers.setdefault(
            row["customer"],
            {"slug": slug, "name": row["customer__name"], "total": 0, "counts": {}},
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
            key = ProviderScoped.make_key(provider["slug"], row[prefix + field])
            column = provider[kind].setdefault(
                key,
                {"key": key, "slug": row[prefix + field], "name": row[f"{prefix}name"], "hits": 0},
            )
            column["hits"] += row["count"]
            customers[row["customer"]]["counts"][kind, key] = row["count"]

    ordered = sorted(providers.values(), key=lambda p: (-p["hits"], p["name"]))
    for provider in ordered:
        slug = provider["slug"]
        services = sorted(provider.pop("service").values(), key=lambda s: (-s["hits"], s["name"]))
        for service in services:
            service["page"] = reverse("outages:service", args=[slug, service["slug"]])
            service["param"] = urlencode({"service": service["key"]})
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
            region["param"] = urlencode({"region": region["key"]})
        provider["page"] = reverse("outages:provider", args=[slug])
        provider["param"] = urlencode({"provider": slug})
        provider["span"] = len(provider["shown"]) + 1
    return ordered, customers


# --- Strips on the provider, service, region and customer pages -------------------------------


def strip_subject(kind, entity):
    """What the strip shows, in words, and the incident list parameter that shows the same."""
    if kind == "provider":
        return f"{entity.name} incidents", entity.slug
    if kind == "service":
        return f"{entity.provider.name} {entity.name} incidents", entity.key
    if kind == "region":
        return f"{entity.provider.name} {entity.code} incidents", entity.key
    return f"Incidents that hit {entity.name}", entity.slug


def strip_moment(slug, title, started, precision, zone):
    """An incident's mark on a strip. A start with a clock time is placed on its day in the
    site's time zone, as the incident list's `year` filter reads it; one known only to the day,
    month or year on that period in the incident's own zone, where it was stored, and a month
    or year spans it rather than standing on its first day (svg.Moment)."""
    if text.has_clock(precision):
        local = timezone.localtime(started)
        return svg.Moment(local, f"{title} ({text.short_date(local)})", incident_url(slug))
    local = text.local_time(started, zone)
    until = None
    if precision in ("month", "year"):
        end = text.period_end(started, precision, zone)
        until = text.local_time(end, zone) - timedelta(microseconds=1) if end else None
    return svg.Moment(
        local, f"{title} ({text.day_text(started, zone, precision)})", incident_url(slug), until
    )


def incident_strip(**entity):
    """The strip of one provider, service, region or customer page (a single keyword argument):
    a mark per incident at its start date, from its first year to this one. One query."""
    ((kind, obj),) = entity.items()
    rows = stats.start_dates(**entity)
    subject, key = strip_subject(kind, obj)
    dated = [strip_moment(*row) for row in rows if row[2]]
    result = {
        "count": len(rows),
        "undated": len(rows) - len(dated),
        "vague": sum(1 for moment in dated if moment.until),
        "subject": subject,
        "href": incidents_url(**{kind: key}),
        "svg": None,
    }
    if not dated:
        return result
    first = min(moment.when.year for moment in dated)
    last = max(max(moment.when.year for moment in dated), timezone.localdate().year)
    by_year = {}
    for moment in dated:
        by_year[moment.when.year] = by_year.get(moment.when.year, 0) + 1
    result.update(first=first, last=last)
    result["svg"] = svg.strip(
        dated,
        chart_id="strip",
        title=f"{subject} by start date, {first} to {last}",
        desc=f"{plural(len(dated), 'incident')}: "
        + ", ".join(f"{year} ({count})" for year, count in sorted(by_year.items()))
        + ".",
        first_year=first,
        last_year=last,
    )
    return result
