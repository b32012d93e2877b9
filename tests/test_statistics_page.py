"""The statistics page: counts, durations and top tens over published incidents, each chart an
accessible SVG with a table of the same numbers, every number linked to the list behind it."""

import re
import statistics as pystats
import xml.etree.ElementTree as ET
from collections import Counter
from datetime import timedelta
from itertools import pairwise

import pytest

from outages import aggregates as stats
from outages.charts import svg
from outages.models import Customer, CustomerImpact, Incident
from outages.text import duration_text as duration
from outages.web import figures
from tests.factories import update_incidents

SVG = "{http://www.w3.org/2000/svg}"
ELB = "aws-elb-us-east-2012-12-24"


@pytest.fixture
def real_data(shipped_data, db):
    pass


def svgs(html):
    """Every inline SVG of the page, parsed as XML (which also proves it well-formed)."""
    return [ET.fromstring(chunk) for chunk in re.findall(r"<svg\b.*?</svg>", html, re.S)]


def tables(html):
    """The charts' data tables, parsed as XML."""
    return [
        ET.fromstring(chunk)
        for chunk in re.findall(r'<table class="chart-table">.*?</table>', html, re.S)
    ]


def links(element):
    """(href, text) of every link in an element, SVG or HTML."""
    found = []
    for anchor in element.iter():
        if anchor.tag in ("a", f"{SVG}a") and anchor.get("href"):
            found.append((anchor.get("href"), "".join(anchor.itertext()).strip()))
    return found


def bar_values(chart):
    """{href: the number shown} of a bar chart's bars."""
    return {
        anchor.get("href"): int(anchor.find(f"{SVG}text").text)
        for anchor in chart.iter(f"{SVG}a")
        if anchor.find(f"{SVG}rect") is not None
    }


def svg_by_id(html, chart_id):
    return next(s for s in svgs(html) if s.get("aria-labelledby", "").startswith(chart_id))


def listed(client, href):
    """How many incidents the incident list shows at `href`."""
    response = client.get(href)
    assert response.status_code == 200
    return response.context["page"].paginator.count


def hit_counts():
    """Incidents that hit each customer (any level but not affected), from the rows themselves."""
    counts = Counter()
    for impact in CustomerImpact.objects.filter(incident__in=Incident.objects.published()):
        if impact.level != CustomerImpact.Level.NOT_AFFECTED:
            counts[impact.customer.slug] += 1
    return counts


# --- Queries ---------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 12])
def test_query_count_does_not_grow_with_incidents(
    client, make_incidents, count, django_assert_num_queries
):
    make_incidents(count)
    # All but 9 from the kept counts (outages.summaries), however many incidents there are: 1
    # incidents per year and provider, 2 incidents per time to resolve, 3 the few incidents the
    # chart names (slug, title and duration only), 4 incidents per root cause, 5 the ten
    # customers hit most, 6 the ten services involved most, 7 the ten regions involved most;
    # 8-9 the promised fixes by outcome (the ledger's rules: by status, then those linked).
    with django_assert_num_queries(9):
        response = client.get("/statistics/")
    assert response.status_code == 200


# --- What the charts show, on the shipped incidents ------------------------------------------


def test_each_year_bar_segment_links_to_that_year_and_provider(client, real_data):
    html = client.get("/statistics/").content.decode()
    published = Incident.objects.published().select_related("provider")
    expected = Counter((i.started_at.year, i.provider.slug) for i in published if i.started_at)

    chart = svg_by_id(html, "years-chart")
    segments = {
        anchor.get("href"): anchor.find(f"{SVG}title").text
        for anchor in chart.iter(f"{SVG}a")
        if anchor.find(f"{SVG}rect") is not None
    }
    for (year, provider), count in expected.items():
        href = f"/incidents/?year={year}&provider={provider}"
        assert segments[href].endswith(f": {count} incident{'s' if count > 1 else ''}")
    assert len(segments) == len(expected)
    # The example the reader sees: three AWS incidents in 2012, one of them at Christmas.
    assert expected[2012, "aws"] == 3
    assert segments["/incidents/?year=2012&provider=aws"].endswith(", 2012: 3 incidents")


def test_year_table_gives_the_same_counts_as_the_lists_it_links_to(client, real_data):
    html = client.get("/statistics/").content.decode()
    year_table = tables(html)[0]

    found = links(year_table)
    assert ("/incidents/?year=2012&provider=aws", "3") in found
    for href, text in found:
        assert listed(client, href) == int(text), href


def test_every_top_ten_number_matches_the_list_it_links_to(client, real_data):
    html = client.get("/statistics/").content.decode()

    checked = 0
    for table in tables(html)[2:]:  # causes, customers, services, regions
        for href, text in links(table):
            if href.startswith("/incidents/?"):
                assert listed(client, href) == int(text), href
                checked += 1
    assert checked >= 20


def test_too_few_durations_show_each_one_and_no_median_or_percentile(client, real_data):
    incidents = list(Incident.objects.published())
    known = [i for i in incidents if i.time_to_resolve is not None]
    assert 0 < len(known) < stats.SUMMARISE_FROM  # the shipped incidents are a handful

    response = client.get("/statistics/")
    html = response.content.decode()

    assert response.context["durations"]["median"] is None
    assert response.context["durations"]["ninetieth"] is None
    chart = svg_by_id(html, "durations-chart")
    assert [t for t in chart.iter(f"{SVG}text") if "marker-label" in t.get("class")] == []
    assert "Median" not in html and "90th percentile</dt>" not in html
    assert "Too few to summarise" in chart.find(f"{SVG}desc").text
    # Each incident with its time, linked, in a table that is not folded away.
    assert f"Only {len(known)} incidents have a known time to resolve" in html
    table = tables(html)[1]
    rows = {
        row.find("th").find("a").get("href"): "".join(row.find("td").itertext())
        for row in table.find("tbody").iter("tr")
    }
    for incident in known:
        assert rows[incident.get_absolute_url()] == duration(incident.time_to_resolve)
    before_table = html[: html.index('<caption class="visually-hidden">Time to resolve of each')]
    assert before_table.count("<details") == before_table.count("</details>")
    # One dot per incident with a known duration, each linking to it.
    dots = [a.get("href") for a in chart.iter(f"{SVG}a") if a.find(f"{SVG}circle") is not None]
    assert sorted(dots) == sorted(i.get_absolute_url() for i in known)


def test_enough_durations_mark_the_median_and_90th_percentile_not_the_mean(
    client, make_incidents, db
):
    # Only the incidents made here.
    update_incidents(Incident.objects.all(), status=Incident.Status.DRAFT)
    spans = [MINUTE * 7 ** (n / 2) for n in range(stats.SUMMARISE_FROM)]
    lasting(make_incidents(len(spans)), *spans)
    seconds = [span.total_seconds() for span in spans]
    median = timedelta(seconds=pystats.median(seconds))
    ninetieth = timedelta(seconds=pystats.quantiles(seconds, n=10, method="inclusive")[8])
    mean = timedelta(seconds=pystats.mean(seconds))

    response = client.get("/statistics/")
    html = response.content.decode()

    chart = svg_by_id(html, "durations-chart")
    labels = [text.text for text in chart.iter(f"{SVG}text") if "marker-label" in text.get("class")]
    assert labels == [f"Median {duration(median)}", f"90th percentile {duration(ninetieth)}"]
    assert abs(response.context["durations"]["median"] - median) < timedelta(seconds=1)
    assert abs(response.context["durations"]["ninetieth"] - ninetieth) < timedelta(seconds=1)
    assert f"<dt>Median</dt><dd>{duration(median)}</dd>" in html
    assert duration(mean) != duration(median)  # the spans do tell them apart
    assert f"Mean {duration(mean)}" not in html and "Average" not in html
    assert "heavy-tailed" in html and "rather than an average" in html
    assert "too few for a median" not in html
    # The times are still there, folded under the chart.
    assert "<summary>Every time to resolve, as a table</summary>" in html


def test_incidents_without_a_resolution_are_listed_as_not_known(client, real_data):
    html = client.get("/statistics/").content.decode()
    unknown = [i for i in Incident.objects.published() if i.time_to_resolve is None]

    assert unknown
    assert f"<strong>Not known</strong> for {len(unknown)} incidents" in html
    for incident in unknown:
        assert f'<a href="{incident.get_absolute_url()}">' in html
    assert html.count(">not known</td>") == len(unknown)


def test_causes_link_to_the_cause_filter(client, real_data):
    html = client.get("/statistics/").content.decode()
    expected = Counter(i.root_cause_category for i in Incident.objects.published())

    bars = bar_values(svg_by_id(html, "causes-chart"))
    assert bars == {f"/incidents/?cause={cause}": count for cause, count in expected.items()}


def test_customers_hit_most_counts_hits_only_and_links_both_ways(client, real_data):
    html = client.get("/statistics/").content.decode()
    counts = hit_counts()
    names = dict(Customer.objects.values_list("slug", "name"))
    top = sorted(counts, key=lambda slug: (-counts[slug], names[slug]))[: stats.TOP]

    customer_table = tables(html)[3]
    rows = [
        (row.find("th").find("a").get("href"), row.find("td").find("a").get("href"))
        for row in customer_table.iter("tr")
        if row.find("td") is not None
    ]
    assert rows == [(f"/customers/{slug}/", f"/incidents/?customer={slug}") for slug in top]
    assert ("/incidents/?customer=netflix", "3") in links(customer_table)
    # Amazon Prime Video was reported not affected by the ELB outage: that one does not count.
    assert counts["amazon-prime-video"] == 1


def test_services_and_regions_link_to_their_filters(client, real_data):
    html = client.get("/statistics/").content.decode()
    published = Incident.objects.published().prefetch_related("services__provider", "regions")
    services = Counter(
        f"{s.provider.slug}.{s.slug}" for incident in published for s in incident.services.all()
    )
    regions = Counter(
        f"{r.provider.slug}.{r.code}" for incident in published for r in incident.regions.all()
    )

    service_bars = bar_values(svg_by_id(html, "services-chart"))
    region_bars = bar_values(svg_by_id(html, "regions-chart"))
    top_service = max(services, key=services.get)
    assert service_bars[f"/incidents/?service={top_service}"] == services[top_service]
    assert service_bars["/incidents/?service=aws.elb"] == services["aws.elb"]
    assert len(service_bars) == stats.TOP
    assert region_bars == {f"/incidents/?region={key}": count for key, count in regions.items()}


def test_drafts_are_never_counted(client, real_data):
    update_incidents(Incident.objects.filter(slug=ELB), status=Incident.Status.DRAFT)

    response = client.get("/statistics/")
    html = response.content.decode()

    assert "Counts over the 7 published incidents" in html
    assert ("/incidents/?year=2012&provider=aws", "2") in links(tables(html)[0])
    assert ("/incidents/?customer=netflix", "2") in links(tables(html)[3])
    assert "Christmas" not in html
    assert f"/incidents/{ELB}/" not in html


def test_incidents_with_an_unknown_start_are_left_out_of_the_years_and_said_so(
    client, make_incidents
):
    first, _ = make_incidents(2)
    update_incidents(
        Incident.objects.filter(pk=first.pk), started_at=None, mitigated_at=None, resolved_at=None
    )

    html = client.get("/statistics/").content.decode()

    assert "Not shown: 1 incident whose start is not known." in html
    assert ("/incidents/?year=2012&provider=example-cloud", "1") in links(tables(html)[0])


# --- Many incidents: a histogram, and a count of those not known -----------------------------


def lasting(incidents, *spans):
    """Give the incidents these times to resolve (None: not known), in order."""
    for incident, span in zip(incidents, spans, strict=True):
        resolved = None if span is None else incident.started_at + span
        update_incidents(
            Incident.objects.filter(pk=incident.pk), mitigated_at=None, resolved_at=resolved
        )


MINUTE, HOUR, DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)


@pytest.fixture
def few_dots(monkeypatch, db):
    """Draw a histogram above three incidents, summarise from three, and name at most one not
    known; count only the incidents the test makes (the module's shipped ones, if loaded, become
    drafts)."""
    monkeypatch.setattr(figures, "DOTS_UP_TO", 3)
    monkeypatch.setattr(figures, "UNKNOWN_LISTED_UP_TO", 1)
    monkeypatch.setattr(stats, "SUMMARISE_FROM", 3)
    update_incidents(Incident.objects.all(), status=Incident.Status.DRAFT)


def test_many_durations_are_drawn_as_a_histogram_with_a_table_of_bins(
    client, make_incidents, few_dots
):
    spans = [timedelta(0), 5 * MINUTE, HOUR, HOUR, 3 * HOUR, 2 * DAY]
    lasting(make_incidents(len(spans)), *spans)

    response = client.get("/statistics/")
    html = response.content.decode()

    chart = svg_by_id(html, "durations-chart")
    assert chart.get("role") == "group"
    assert "counted in bins" in chart.find(f"{SVG}title").text
    assert chart.find(f"{SVG}circle") is None and chart.find(f"{SVG}a") is None
    bars = [rect for rect in chart.iter(f"{SVG}rect") if rect.get("class") == "bin"]
    tips = [rect.find(f"{SVG}title").text for rect in bars]
    assert sum(int(re.search(r": (\d+) incidents?$", tip)[1]) for tip in tips) == len(spans)
    assert tips[0] == "under 1 min 16 s: 1 incident"  # zero length, below the 1-minute tick
    assert "1 h to 1 h 15 min: 2 incidents" in tips  # a span on an edge counts above it
    assert tips[-1] == "1 d 14 h or more: 1 incident"  # the last tick, 2 days, counts too
    # The same markers as the dots would have: median and 90th percentile.
    labels = [t.text for t in chart.iter(f"{SVG}text") if t.get("class") == "marker-label"]
    median = stats.percentile(sorted(spans), 0.5)
    assert labels == [
        f"Median {duration(median)}",
        f"90th percentile {duration(stats.percentile(sorted(spans), 0.9))}",
    ]
    # The table lists the bins (from the first to the last that holds any, empty ones between
    # as 0), not the incidents.
    table = tables(html)[1]
    assert [th.text for th in table.find("thead").iter("th")] == ["Time to resolve", "Incidents"]
    rows = [
        (row.find("th").text, "".join(row.find("td").itertext()))
        for row in table.find("tbody").iter("tr")
    ]
    assert sum(int(count) for _, count in rows) == len(spans)
    hour = rows.index(("1 h to 1 h 15 min", "2"))
    assert rows[hour + 1] == ("1 h 15 min to 1 h 33 min", "0")
    # Contiguous: each bin ends where the next begins.
    ranges = [label.removeprefix("under ").split(" to ") for label, _ in rows[1:-1]]
    assert all(a[1] == b[0] for a, b in pairwise(ranges))
    assert "/incidents/incident-1/" not in html
    assert "Known for</dt><dd>6 of 6 incidents" in html
    assert " style=" not in html and "<style" not in html


def test_many_unknown_resolutions_are_counted_not_listed(client, make_incidents, few_dots):
    lasting(make_incidents(4), HOUR, None, None, 2 * HOUR)

    html = client.get("/statistics/").content.decode()

    assert "<strong>Not known</strong> for 2 incidents" in html
    assert "too many to name here" in html
    assert '<a href="/incidents/?sort=longest">' in html
    assert "/incidents/incident-2/" not in html and "/incidents/incident-3/" not in html
    # Dots still, as only two incidents have a known time, and the table has no unknown rows.
    chart = svg_by_id(html, "durations-chart")
    assert len(list(chart.iter(f"{SVG}circle"))) == 2
    assert ">not known</td>" not in html


def test_histogram_page_runs_the_same_queries(
    client, make_incidents, few_dots, django_assert_num_queries
):
    incidents = make_incidents(8)
    lasting(incidents, *[HOUR * (n + 1) for n in range(7)], None)

    # The same nine: the one incident not known is named.
    with django_assert_num_queries(9):
        response = client.get("/statistics/")
    assert b'class="bin"' in response.content
    assert b"/incidents/incident-8/" in response.content

    # Nothing to name: the third query is not needed.
    lasting(incidents[-1:], HOUR)
    with django_assert_num_queries(8):
        response = client.get("/statistics/")
    assert b"<strong>Not known</strong>" not in response.content


def test_bins_split_each_tick_interval_evenly_and_about_equally_wide():
    ticks = figures.DURATION_TICKS

    edges = svg.log_bins(ticks)

    assert {value for value, _ in ticks} <= set(edges)
    assert edges == sorted(edges) and edges[0] == ticks[0][0] and edges[-1] == ticks[-1][0]
    for low, high in pairwise(edges):
        assert 1.15 < high / low < 1.45  # three bins a doubling: about 1.26 each
    for (low, _), (high, _) in pairwise(ticks):  # within an interval, equal on the log axis
        inside = [edge for edge in edges if low <= edge <= high]
        ratios = [b / a for a, b in pairwise(inside)]
        assert max(ratios) == pytest.approx(min(ratios))


def test_bins_count_from_their_low_edge_up_to_their_high_edge():
    ticks = [(1, "1 h"), (2, "2 h")]
    spans = sorted([HOUR, HOUR + 10 * MINUTE, HOUR + 16 * MINUTE, 2 * HOUR, 5 * HOUR])

    bins = figures.duration_bins(spans, ticks)

    assert [(b["range"], b["count"]) for b in bins] == [
        ("1 h to 1 h 16 min", 2),
        ("1 h 16 min to 1 h 35 min", 1),
        ("1 h 35 min or more", 2),  # the last takes its high edge, and beyond
    ]


def test_empty_bins_before_the_shortest_and_after_the_longest_are_left_out():
    ticks = [(1, "1 h"), (3, "3 h")]
    spans = [HOUR + 40 * MINUTE, 2 * HOUR]  # in the third and fourth of five bins

    bins = figures.duration_bins(spans, ticks)

    assert [(b["range"], b["count"]) for b in bins] == [
        ("1 h 33 min to 1 h 56 min", 1),
        ("1 h 56 min to 2 h 24 min", 1),
    ]


# --- Markup --------------------------------------------------------------------------------


def test_charts_are_well_formed_accessible_svg(client, real_data):
    html = client.get("/statistics/").content.decode()

    charts = svgs(html)
    assert len(charts) == 6
    for chart in charts:
        assert chart.get("role") == "group"
        title_id, desc_id = chart.get("aria-labelledby"), chart.get("aria-describedby")
        assert chart.find(f"{SVG}title").get("id") == title_id
        assert chart.find(f"{SVG}desc").get("id") == desc_id
        assert chart.find(f"{SVG}title").text and chart.find(f"{SVG}desc").text
        # The marks' links stay out of the tab order: the table beside has the same links.
        assert all(a.get("tabindex") == "-1" for a in chart.iter(f"{SVG}a"))
    assert html.count("<figure") == 6
    assert len(tables(html)) == 6


def test_page_has_one_h1_labelled_sections_and_no_inline_styles_or_scripts(client, real_data):
    html = client.get("/statistics/").content.decode()

    assert len(re.findall(r"<h1[ >]", html)) == 1
    for heading_id in re.findall(r'<section aria-labelledby="([^"]+)">', html):
        assert f'id="{heading_id}"' in html
    assert " style=" not in html
    assert "<script" not in html


def test_hostile_names_are_escaped(client, make_incidents, customer):
    customer.name = '<script>alert("x")</script>'
    customer.save()
    make_incidents(2)

    html = client.get("/statistics/").content.decode()

    assert "<script" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    svgs(html)  # still well-formed


def test_empty_knowledge_base_says_so(client, db):
    update_incidents(Incident.objects.all(), status=Incident.Status.DRAFT)

    response = client.get("/statistics/")
    html = response.content.decode()

    assert response.status_code == 200
    assert "No published incidents with a known start yet." in html
    assert "No incident has both a known start and a known resolution yet." in html
    assert svgs(html) == []


# --- The percentile itself -------------------------------------------------------------------


@pytest.mark.parametrize(
    "values", [[7], [1, 2], [5, 1, 9, 3], [1, 1, 1, 50], list(range(1, 20)), [3, 600, 2, 8, 1]]
)
def test_percentile_interpolates_between_closest_ranks(values):
    ordered = sorted(values)

    assert stats.percentile(ordered, 0.5) == pytest.approx(pystats.median(ordered))
    if len(ordered) > 1:
        expected = pystats.quantiles(ordered, n=10, method="inclusive")[8]
        assert stats.percentile(ordered, 0.9) == pytest.approx(expected)
    assert stats.percentile(ordered, 0) == ordered[0]
    assert stats.percentile(ordered, 1) == ordered[-1]
    assert stats.percentile([], 0.5) is None
