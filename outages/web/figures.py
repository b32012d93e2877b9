"""The statistics page's figures from the numbers of outages.aggregates: incidents per year by
provider, time to resolve, and bars of the most frequent causes, customers, services and
regions; each a drawing (outages.charts.svg) and the table beside it. Every count links to the
incident list filtered to the incidents it counts, with the list's own query parameters."""

from bisect import bisect_left
from datetime import timedelta
from itertools import pairwise
from urllib.parse import urlencode

from django.urls import reverse

from outages import aggregates as stats
from outages import text
from outages.charts import svg

SERIES = 6  # colours for providers in charts (series-1 … series-6 in charts.css), then repeated
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


def hours(delta):
    return delta.total_seconds() / 3600


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
                        + text.counted(cell["count"], "incident"),
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
            desc=f"{text.counted(sum(totals.values()), 'incident')} in "
            f"{text.counted(len(table), 'year')} with incidents; the most, {busiest['total']}, "
            f"in {busiest['year']}. By provider: "
            + "; ".join(f"{p['name']} {p['total']}" for p in providers)
            + ".",
        )
    return {"svg": chart, "providers": providers, "rows": table, "undated": undated}


# Why an incident whose time to resolve is known only roughly is left out of the figures.
IMPRECISE_WORDS = "whose start or resolution is known only to the day or more coarsely"


def span_totals(counts):
    """How many incidents of the counts by time to resolve (stats.span_counts()) have an exact
    time, none known, and one known only to the day or more coarsely."""
    totals = [0, 0, 0]
    for span, exact, count in counts:
        totals[0 if span is not None and exact else 1 if span is None else 2] += count
    return totals


def times_to_list(counts):
    """Which incidents duration_chart() names, from the counts by time to resolve
    (stats.span_counts()): those with an exact time when few enough for one dot each, those
    whose time is not known when few enough to list. Keyword arguments of
    stats.resolution_times(); none when there is nothing to name."""
    known, unknown, _ = span_totals(counts)
    which = {"exact": 0 < known <= DOTS_UP_TO, "unknown": 0 < unknown <= UNKNOWN_LISTED_UP_TO}
    return which if any(which.values()) else None


def duration_chart(counts, rows=()):
    """Time to resolve on a logarithmic axis, with the median and the 90th percentile when
    there are enough times to summarise (stats.SUMMARISE_FROM): one dot per incident when there
    are few, a histogram beyond DOTS_UP_TO. Counts: (time to resolve or None, whether it is
    exact, how many incidents), shortest first (stats.span_counts()); rows: (slug, title,
    start, time to resolve, whether it is exact) of the incidents times_to_list() names, in any
    order. Times known only to the day or more coarsely at either end are left out, and counted
    as such."""
    known_count, unknown_count, imprecise = span_totals(counts)
    dots = known_count <= DOTS_UP_TO
    known = [
        (span, slug, title) for slug, title, _, span, exact in rows if span is not None and exact
    ]
    unknown = [(started, slug, title) for slug, title, started, span, _ in rows if span is None]
    if dots:
        known.sort(key=lambda item: item[:2])  # shortest first, ties by slug
        spans = [span for span, _, _ in known]
    else:  # only the spans are shown, each as many times as incidents took it
        spans = stats.Counted(
            (span, count) for span, exact, count in counts if span is not None and exact
        )
    median = stats.summary_percentile(spans, 0.5)
    ninetieth = stats.summary_percentile(spans, 0.9)
    listed = []
    if unknown_count <= UNKNOWN_LISTED_UP_TO:  # oldest first, those with no known start last
        unknown.sort(key=lambda item: (item[0] is None, item[0] or 0, item[1]))
        listed = [{"title": title, "href": incident_url(slug)} for _, slug, title in unknown]
    result = {
        "svg": None,
        "dots": dots,
        "known": known_count,
        "unknown": unknown_count,
        "unknown_listed": listed,
        "imprecise": imprecise,
        "median": median,
        "ninetieth": ninetieth,
        "summarise_from": stats.SUMMARISE_FROM,
        "total": known_count + unknown_count + imprecise,
        "longest_href": incidents_url(sort="longest"),
    }
    if not spans:
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
            svg.Marker(hours(median), f"Median {text.duration_text(median)}"),
            svg.Marker(hours(ninetieth), f"90th percentile {text.duration_text(ninetieth)}"),
        ]
        if median is not None
        else [],
    }
    shortest, longest = text.duration_text(spans[0]), text.duration_text(spans[-1])
    summary = (
        f"{text.counted(known_count, 'incident')} with a known time to resolve, from "
        f"{shortest} to {longest}. "
        + (
            f"Median {text.duration_text(median)}; "
            f"90th percentile {text.duration_text(ninetieth)}. "
            if median is not None
            else "Too few to summarise with a median: each is shown. "
        )
        + f"Not known for {text.counted(unknown_count, 'incident')}."
    )
    if imprecise:
        summary += f" Left out: {text.counted(imprecise, 'incident')} {IMPRECISE_WORDS}."
    if result["dots"]:
        result["rows"] = [
            {"title": title, "href": incident_url(slug), "span": span}
            for span, slug, title in known
        ]
        result["svg"] = svg.dot_plot(
            [
                svg.Dot(
                    max(hours(row["span"]), FLOOR),
                    f"{row['title']}: {text.duration_text(row['span'])}",
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
        f"fullest, {busiest['range']}, holds {text.counted(busiest['count'], 'incident')}.",
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
        # Edges under ten minutes keep their seconds, as bin_edge() rounds them.
        lowest, highest = (text.duration_text(edge, seconds=True) for edge in (low, high))
        if index == 0 and spans[0] < low:
            label = f"under {highest}"
        elif index == len(edges) - 2 and spans[-1] >= high:
            label = f"{lowest} or more"
        else:
            label = f"{lowest} to {highest}"
        bins.append(
            {
                "low": low,
                "high": high,
                "range": label,
                "count": count,
                "tip": text.counted(count, "incident"),
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
