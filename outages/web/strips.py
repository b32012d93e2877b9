"""The strips of incidents over the years on the provider, service, region and customer pages."""

from datetime import timedelta

from django.utils import timezone

from outages import aggregates as stats
from outages import text
from outages.charts import svg
from outages.web.figures import incident_url, incidents_url


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


# An entity with more incidents than this is drawn as a column per year rather than a mark per
# incident: the busiest customer of a large corpus has tens of thousands, and marking each made
# a page of megabytes that took more than a second to build.
STRIP_MARKS = 300


def incident_strip(**entity):
    """The strip of one provider, service, region or customer page (a single keyword argument):
    a mark per incident at its start date, from its first year to this one; one query. Past
    STRIP_MARKS incidents, a column of incidents per year instead, each a link to that year's
    list; one more query."""
    ((kind, obj),) = entity.items()
    rows = stats.start_dates(limit=STRIP_MARKS + 1, **entity)
    subject = text.incidents_of(kind, obj)
    key = obj.slug if kind in ("provider", "customer") else obj.key
    if len(rows) > STRIP_MARKS:
        return years_strip(kind, key, subject, stats.start_years(**entity))
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
        desc=describe(by_year),
        first_year=first,
        last_year=last,
    )
    return result


def describe(by_year):
    """The drawing's words: "3 incidents: 2009 (1), 2012 (2)."."""
    return (
        f"{text.counted(sum(by_year.values()), 'incident')}: "
        + ", ".join(f"{year} ({count})" for year, count in sorted(by_year.items()))
        + "."
    )


def years_strip(kind, key, subject, years):
    """The strip of an entity with more than STRIP_MARKS incidents: a column per year from the
    first to this one, each linking to the incident list of that entity and year. `years`:
    (year or None, count) from aggregates.start_years()."""
    by_year = {year: count for year, count in years if year is not None}
    count = sum(count for _, count in years)
    result = {
        "count": count,
        "undated": count - sum(by_year.values()),
        "vague": 0,
        "by_year": True,
        "subject": subject,
        "href": incidents_url(**{kind: key}),
        "svg": None,
    }
    if not by_year:
        return result
    first = min(by_year)
    last = max(max(by_year), timezone.localdate().year)
    columns = [
        svg.Column(
            label=str(year),
            href=incidents_url(**{kind: key, "year": year}) if by_year.get(year) else "",
            segments=(
                svg.Segment(
                    value=by_year.get(year, 0),
                    href=incidents_url(**{kind: key, "year": year}),
                    tip=f"{year}: {text.counted(by_year.get(year, 0), 'incident')}",
                    css_class="series-1",
                ),
            )
            if by_year.get(year)
            else (),
        )
        for year in range(first, last + 1)
    ]
    result.update(first=first, last=last)
    result["svg"] = svg.stacked_columns(
        columns,
        chart_id="strip",
        title=f"{subject} by year of start, {first} to {last}",
        desc=describe(by_year),
    )
    return result
