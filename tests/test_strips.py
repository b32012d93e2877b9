"""The strips of incidents over the years on provider, service, region and customer pages, and
the pure SVG drawing functions behind every chart."""

import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import timezone

from outages.charts import svg
from outages.models import Customer, CustomerImpact, Incident
from outages.web import strips
from tests.factories import update_incidents

SVG = "{http://www.w3.org/2000/svg}"


def strip_of(html):
    """The page's strip, parsed as XML (which also proves it well-formed); None without one."""
    found = re.findall(r'<figure class="strip-figure">.*?</figure>', html, re.S)
    if not found:
        return None
    assert len(found) == 1
    return ET.fromstring(re.search(r"<svg\b.*?</svg>", found[0], re.S).group())


def marks(strip):
    return [a.get("href") for a in strip.iter(f"{SVG}a") if a.find(f"{SVG}circle") is not None]


def year_labels(strip):
    return [t.text for t in strip.iter(f"{SVG}text") if "tick-label" in t.get("class")]


def entity_urls(provider, service, region, customer):
    return {
        "provider": (provider.get_absolute_url(), f"provider={provider.slug}"),
        "service": (service.get_absolute_url(), f"service={provider.slug}.{service.slug}"),
        "region": (region.get_absolute_url(), f"region={provider.slug}.{region.code}"),
        "customer": (customer.get_absolute_url(), f"customer={customer.slug}"),
    }


# --- On the entity pages ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["provider", "service", "region", "customer"])
def test_strip_marks_each_incident_at_its_start_and_links_to_the_list(
    client, make_incidents, provider, service, region, customer, kind
):
    incidents = make_incidents(3)
    old = incidents[2]
    old.started_at = datetime(2009, 3, 1, tzinfo=UTC)
    old.save()
    url, parameter = entity_urls(provider, service, region, customer)[kind]

    html = client.get(url).content.decode()
    strip = strip_of(html)

    assert strip.get("role") == "group"
    assert sorted(marks(strip)) == sorted(i.get_absolute_url() for i in incidents)
    # Years from the first incident's to this one, labelled (every other one, if crowded).
    now = timezone.now().year
    labels = [int(label) for label in year_labels(strip)]
    assert labels[0] == 2009 and labels[-1] >= now - 1
    assert set(labels) <= set(range(2009, now + 1))
    title = strip.find(f"{SVG}title").text
    assert title.endswith(f"by start date, 2009 to {now}")
    assert "2009 (1), 2012 (2)" in strip.find(f"{SVG}desc").text
    assert f'href="/incidents/?{parameter}"' in html
    # The strip sits under the heading, before the incident list.
    assert html.index('class="strip-figure"') < html.index('id="incidents-heading"')


@pytest.mark.parametrize("kind", ["provider", "service", "region", "customer"])
def test_strip_counts_the_same_incidents_as_the_list_it_links_to(
    client, make_incidents, provider, service, region, customer, kind
):
    make_incidents(4)
    url, parameter = entity_urls(provider, service, region, customer)[kind]

    strip = strip_of(client.get(url).content.decode())
    listed = client.get(f"/incidents/?{parameter}").context["page"].paginator.count

    assert len(marks(strip)) == listed == 4


def test_strip_leaves_out_drafts_and_customers_not_affected(
    client, make_incidents, provider, customer
):
    first, second, third = make_incidents(3)
    Incident.objects.filter(pk=first.pk).update(status=Incident.Status.DRAFT)
    CustomerImpact.objects.filter(incident=second).update(level=CustomerImpact.Level.NOT_AFFECTED)

    provider_strip = strip_of(client.get(provider.get_absolute_url()).content.decode())
    assert sorted(marks(provider_strip)) == sorted(
        [second.get_absolute_url(), third.get_absolute_url()]
    )
    customer_strip = strip_of(client.get(customer.get_absolute_url()).content.decode())
    assert marks(customer_strip) == [third.get_absolute_url()]


def test_incidents_with_an_unknown_start_are_counted_but_not_marked(
    client, make_incidents, provider
):
    incidents = make_incidents(2)
    unknown = Incident.objects.filter(pk=incidents[0].pk)
    unknown.update(started_at=None, mitigated_at=None, resolved_at=None)

    html = client.get(provider.get_absolute_url()).content.decode()

    assert marks(strip_of(html)) == [incidents[1].get_absolute_url()]
    assert "(1 with an unknown start not shown)" in html


def test_no_strip_without_incidents(client, provider, service, region, customer):
    for url, _ in entity_urls(provider, service, region, customer).values():
        assert strip_of(client.get(url).content.decode()) is None


def test_hostile_titles_are_escaped_in_the_strip(client, make_incidents, provider):
    incident = make_incidents(1)[0]
    Incident.objects.filter(pk=incident.pk).update(title='<script>alert("x")</script>')

    html = client.get(provider.get_absolute_url()).content.decode()

    assert "<script" not in html
    assert strip_of(html).find(f"{SVG}a/{SVG}title").text.startswith('<script>alert("x")')


def test_customer_strip_with_hostile_name_is_escaped(client, make_incidents, customer):
    make_incidents(1)
    Customer.objects.filter(pk=customer.pk).update(name="<b>Evil</b> & co")

    html = client.get(customer.get_absolute_url()).content.decode()

    assert "<b>Evil" not in html
    assert strip_of(html).find(f"{SVG}title").text.startswith("Incidents that hit <b>Evil</b> & co")


@pytest.mark.parametrize("kind", ["provider", "service", "region", "customer"])
def test_past_its_bound_the_strip_counts_incidents_by_year_each_a_link(
    client, make_incidents, provider, service, region, customer, kind, monkeypatch
):
    monkeypatch.setattr(strips, "STRIP_MARKS", 2)
    incidents = make_incidents(4)
    update_incidents(
        Incident.objects.filter(pk=incidents[3].pk), started_at=datetime(2009, 3, 1, tzinfo=UTC)
    )
    update_incidents(
        Incident.objects.filter(pk=incidents[2].pk),
        started_at=None,
        mitigated_at=None,
        resolved_at=None,
    )
    url, parameter = entity_urls(provider, service, region, customer)[kind]

    html = client.get(url).content.decode()
    strip = strip_of(html)

    assert marks(strip) == []  # no mark per incident: a column per year
    links = {a.get("href") for a in strip.iter(f"{SVG}a")}
    assert f"/incidents/?{parameter}&year=2009" in links
    assert f"/incidents/?{parameter}&year=2012" in links
    assert not any("year=2010" in link for link in links)  # a year without incidents
    assert "2009 (1), 2012 (2)" in strip.find(f"{SVG}desc").text
    assert ": 4, counted by the year they started (1 with an unknown start not shown)" in html
    assert f'href="/incidents/?{parameter}"' in html
    # Each column's count equals the length of the list it links to.
    listed = client.get(f"/incidents/?{parameter}&year=2012").context["page"].paginator.count
    assert listed == 2


# --- The drawing functions, from plain data ---------------------------------------------------


def parse(markup):
    return ET.fromstring(str(markup))


def test_strip_spans_whole_years_and_places_marks_by_date():
    chart = parse(
        svg.strip(
            [
                svg.Moment(date(2010, 1, 1), "first", "/a/"),
                svg.Moment(date(2011, 7, 2), "middle", "/b/"),
            ],
            chart_id="s",
            title="t",
            desc="d",
            first_year=2010,
            last_year=2011,
        )
    )

    circles = list(chart.iter(f"{SVG}circle"))
    # 2 July is day 182 (from 0) of 365 in 2011, the second of the strip's two years.
    assert [c.get("cx") for c in circles] == ["0.00%", f"{(1 + 182 / 365) / 2 * 100:.2f}%"]
    assert year_labels(chart) == ["2010", "2011"]


def test_marks_that_would_overlap_are_stacked():
    same_day = [svg.Moment(date(2012, 6, 1), f"m{n}", f"/{n}/") for n in range(3)]

    chart = parse(
        svg.strip(same_day, chart_id="s", title="t", desc="d", first_year=2012, last_year=2012)
    )

    assert len({c.get("cy") for c in chart.iter(f"{SVG}circle")}) == 3
    assert svg.lanes([0.5, 0.1, 0.5, 0.9], radius=5) == [0, 0, 1, 0]


def test_many_years_label_fewer_years_on_phones():
    chart = parse(svg.strip([], chart_id="s", title="t", desc="d", first_year=2000, last_year=2029))

    labels = [t for t in chart.iter(f"{SVG}text") if "tick-label" in t.get("class")]
    always = [t.text for t in labels if "minor" not in t.get("class")]
    assert labels[0].text == "2000"
    assert 0 < len(always) < len(labels) <= 30
    assert len(always) * svg.LABEL_WIDTH <= svg.NARROWEST


def test_bar_chart_escapes_labels_and_scales_to_the_largest_value():
    chart = parse(
        svg.bar_chart(
            [
                svg.Bar("<script>x</script>", 4, "/incidents/?a=1&b=2", label_href="/c/"),
                svg.Bar("Two", 2, "/incidents/?a=2", note="Provider"),
            ],
            chart_id="b",
            title="Bars & more",
            desc="<desc>",
        )
    )

    assert chart.find(f"{SVG}title").text == "Bars & more"
    assert chart.find(f"{SVG}desc").text == "<desc>"
    widths = [r.get("width") for r in chart.iter(f"{SVG}rect")]
    assert widths == [f"{svg.BAR_SPAN * 100:.2f}%", f"{svg.BAR_SPAN * 50:.2f}%"]
    hrefs = [a.get("href") for a in chart.iter(f"{SVG}a")]
    assert hrefs == ["/c/", "/incidents/?a=1&b=2", "/incidents/?a=2"]
    assert "<script>x</script>" in [t.text for t in chart.iter(f"{SVG}text")]


def test_dot_plot_draws_markers_and_a_log_axis():
    ticks = svg.span_ticks(2, 30, [(1, "1 h"), (3, "3 h"), (12, "12 h"), (24, "1 d"), (48, "2 d")])
    assert [label for _, label in ticks] == ["1 h", "3 h", "12 h", "1 d", "2 d"]

    chart = parse(
        svg.dot_plot(
            [svg.Dot(2, "a", "/a/"), svg.Dot(30, "b", "/b/")],
            chart_id="d",
            title="t",
            desc="d",
            ticks=ticks,
            markers=[svg.Marker(10, "Median 10 h")],
        )
    )

    assert [c.get("cx") for c in chart.iter(f"{SVG}circle")] == [
        f"{svg.log_position(2, 1, 48) * 100:.2f}%",
        f"{svg.log_position(30, 1, 48) * 100:.2f}%",
    ]
    assert "Median 10 h" in [t.text for t in chart.iter(f"{SVG}text")]
    assert svg.log_position(1, 1, 48) == svg.EDGE
    assert svg.log_position(48, 1, 48) == pytest.approx(1 - svg.EDGE)


def test_span_ticks_always_give_an_axis_with_two_ends():
    candidates = [(1, "a"), (2, "b"), (4, "c")]

    assert svg.span_ticks(2, 2, candidates) == [(2, "b"), (4, "c")]
    assert svg.span_ticks(4, 4, candidates) == [(2, "b"), (4, "c")]
    assert svg.span_ticks(9, 9, candidates) == [(2, "b"), (4, "c")]
    assert svg.span_ticks(0.5, 3, candidates) == candidates


def test_stacked_columns_link_each_segment():
    chart = parse(
        svg.stacked_columns(
            [
                svg.Column("2011", (svg.Segment(1, "/y=2011&p=a", "A 2011", "series-1"),)),
                svg.Column("2012", ()),
                svg.Column(
                    "2013",
                    (
                        svg.Segment(2, "/y=2013&p=a", "A 2013", "series-1"),
                        svg.Segment(2, "/y=2013&p=b", "B 2013", "series-2"),
                    ),
                    href="/y=2013",
                ),
            ],
            chart_id="c",
            title="t",
            desc="d",
        )
    )

    hrefs = [a.get("href") for a in chart.iter(f"{SVG}a")]
    assert hrefs == ["/y=2011&p=a", "/y=2013&p=a", "/y=2013&p=b", "/y=2013"]
    heights = [float(r.get("height")) for r in chart.iter(f"{SVG}rect")]
    assert heights == [svg.COLUMN_PLOT / 4, svg.COLUMN_PLOT / 2, svg.COLUMN_PLOT / 2]


def test_year_fraction_counts_leap_years():
    assert svg.year_fraction(date(2012, 12, 31)) == pytest.approx(2012 + 365 / 366)
    assert svg.year_fraction(datetime(2011, 1, 1) + timedelta(days=73)) == pytest.approx(2011.2)
