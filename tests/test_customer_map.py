"""The customer–provider map: which customers were hit through which providers, services and
regions, as tables whose every number links to the incident list it counts."""

import re
import xml.etree.ElementTree as ET
from collections import Counter

import pytest

from outages import page_cache, summaries
from outages.models import Customer, CustomerImpact, Incident
from outages.web import hit_map
from outages.web import stats as stats_views
from tests.conftest import add_incident
from tests.factories import RegionFactory, ServiceFactory, update_incidents

NETWORK_2021 = "aws-us-east-1-network-2021-12-07"


@pytest.fixture
def real_data(shipped_data, db):
    pass


def maps(html):
    """The map's tables, parsed as XML (which also proves them well-formed)."""
    return [
        ET.fromstring(chunk) for chunk in re.findall(r'<table class="map">.*?</table>', html, re.S)
    ]


def row_of(table, name):
    """{href: (count, classes)} of one customer's cells."""
    for row in table.iter("tr"):
        header = row.find("th")
        if header is not None and "".join(header.itertext()).strip() == name:
            return {
                cell.find("a").get("href"): (int(cell.find("a").text), cell.get("class"))
                for cell in row.findall("td")
                if cell.find("a") is not None
            }
    raise AssertionError(f"no row for {name}")


def hit_impacts(customer_slug):
    """The impacts of published incidents that hit a customer, read from the rows themselves."""
    return [
        impact
        for impact in CustomerImpact.objects.filter(customer__slug=customer_slug)
        .select_related("incident__provider")
        .prefetch_related(
            "services__provider", "incident__services__provider", "incident__regions__provider"
        )
        if impact.level != CustomerImpact.Level.NOT_AFFECTED
        and impact.incident.status == Incident.Status.PUBLISHED
    ]


def hits(customer_slug):
    """The published incidents that hit a customer."""
    return [impact.incident for impact in hit_impacts(customer_slug)]


def expected_cells(slug):
    impacts = hit_impacts(slug)
    cells = Counter({f"/incidents/?customer={slug}": len(impacts)})
    for impact in impacts:
        incident = impact.incident
        cells[f"/incidents/?customer={slug}&provider={incident.provider.slug}"] += 1
        # Under a service only when the impact names it; otherwise "not stated".
        for service in impact.services.all():
            cells[f"/incidents/?customer={slug}&through={service.key}"] += 1
        if not impact.services.all():
            provider = incident.provider.slug
            cells[f"/incidents/?customer={slug}&provider={provider}&through=not-stated"] += 1
        for region in incident.regions.all():
            cells[f"/incidents/?customer={slug}&region={region.provider.slug}.{region.code}"] += 1
    return cells


@pytest.mark.parametrize("count", [1, 12])
def test_query_count_does_not_grow_with_incidents(
    client, make_incidents, count, django_assert_num_queries
):
    make_incidents(count)
    # 1 incidents that hit each customer, by provider; 2 the same by each of the incidents'
    # services; 3 the same by each of their regions.
    with django_assert_num_queries(3):
        response = client.get("/map/")
    assert response.status_code == 200


def test_netflix_and_heroku_were_both_hit_by_aws_us_east_1_several_times(client, real_data):
    html = client.get("/map/").content.decode()
    services, regions = maps(html)

    for name, slug in [("Netflix", "netflix"), ("Heroku", "heroku")]:
        expected = expected_cells(slug)
        cells = {href: count for href, (count, _) in row_of(services, name).items()}
        cells.update({href: count for href, (count, _) in row_of(regions, name).items()})
        assert cells == expected
        assert expected[f"/incidents/?customer={slug}&region=aws.us-east-1"] >= 3
    # The numbers the reader is told about.
    netflix = row_of(services, "Netflix")
    assert netflix["/incidents/?customer=netflix&provider=aws"][0] == 3
    assert row_of(regions, "Netflix")["/incidents/?customer=netflix&region=aws.us-east-1"][0] == 3
    elb = [i for i in hit_impacts("netflix") if any(s.slug == "elb" for s in i.services.all())]
    assert netflix["/incidents/?customer=netflix&through=aws.elb"][0] == len(elb) == 2


def test_a_service_counts_only_where_the_impact_names_it(client, real_data):
    # The 2021 network incident involved STS and Fargate among fifteen services; the sources
    # say Netflix was affected, not through which of them.
    network = CustomerImpact.objects.get(incident__slug=NETWORK_2021, customer__slug="netflix")
    assert {"sts", "fargate"} <= {s.slug for s in network.incident.services.all()}
    assert not network.services.exists()
    html = client.get("/map/").content.decode()
    services = maps(html)[0]
    headers = ["".join(th.itertext()).strip() for th in services.find("thead").iter("th")]
    assert "AWS STS" not in headers and "AWS Fargate" not in headers

    netflix = row_of(services, "Netflix")
    assert not [href for href in netflix if "sts" in href or "fargate" in href]
    # Counted under "Service not stated", which links to the list of exactly that incident.
    unstated = "/incidents/?customer=netflix&provider=aws&through=not-stated"
    assert netflix[unstated][0] == 1
    listed = client.get(unstated).context["page"].object_list
    assert [incident.slug for incident in listed] == [NETWORK_2021]

    # Once the sources say so, it counts there, and only there.
    sts = network.incident.services.get(slug="sts")
    with page_cache.changing([network.incident.pk]), summaries.changing([network.incident.pk]):
        network.services.add(sts)
    html = client.get("/map/").content.decode()
    netflix = row_of(maps(html)[0], "Netflix")
    assert netflix[f"/incidents/?customer=netflix&through={sts.key}"][0] == 1
    assert unstated not in netflix
    assert not [href for href in netflix if "fargate" in href]


def test_every_cell_of_a_row_matches_the_list_it_links_to(client, real_data):
    html = client.get("/map/").content.decode()

    for table in maps(html):
        for name in ["Netflix", "Heroku", "Nest"]:
            for href, (count, _) in row_of(table, name).items():
                response = client.get(href)
                assert response.context["page"].paginator.count == count, href


def test_customers_hit_most_come_first_and_cells_are_shaded_by_count(client, real_data):
    html = client.get("/map/").content.decode()
    services = maps(html)[0]

    rows = services.find("tbody").iter("tr")
    totals = [int(row.findall("td")[0].find("a").text) for row in rows]
    assert totals == sorted(totals, reverse=True)
    heroku = row_of(services, "Heroku")
    assert heroku["/incidents/?customer=heroku"] == (4, "num heat-3")
    assert heroku["/incidents/?customer=heroku&provider=aws"] == (4, "num heat-3 group-start")
    assert row_of(services, "Netflix")["/incidents/?customer=netflix&through=aws.elb"][1] == (
        "num heat-2"
    )


def test_not_affected_customers_and_drafts_are_not_counted(client, real_data):
    # Amazon Prime Video was reported not affected by the ELB outage, affected in 2021.
    html = client.get("/map/").content.decode()
    prime = row_of(maps(html)[0], "Amazon Prime Video")
    assert prime["/incidents/?customer=amazon-prime-video"][0] == len(hits("amazon-prime-video"))

    network = Incident.objects.filter(slug=NETWORK_2021)
    with page_cache.changing(list(network.values_list("pk", flat=True))):
        update_incidents(network, status=Incident.Status.DRAFT)
    html = client.get("/map/").content.decode()

    services = maps(html)[0]
    assert row_of(services, "Netflix")["/incidents/?customer=netflix&provider=aws"][0] == 2
    assert "Amazon Prime Video" not in html  # hit only by the 2021 incident, now a draft
    assert "Disney+" not in html


def test_map_is_an_accessible_table_in_its_own_box(client, real_data):
    html = client.get("/map/").content.decode()

    assert len(re.findall(r"<h1[ >]", html)) == 1
    assert html.count('<div class="table-scroll map-scroll">') == 2
    for table in maps(html):
        assert table.find("caption").text
        assert table.find("thead").find("tr").find("th").get("scope") == "col"
        assert all(row.find("th").get("scope") == "row" for row in table.find("tbody"))
        groups = [th for th in table.iter("th") if th.get("scope") == "colgroup"]
        assert [th.find("a").text for th in groups] == ["Amazon Web Services", "Google Cloud"]
    assert "Each row is a customer" in html
    assert " style=" not in html and "<script" not in html


def shown_customers(table):
    return ["".join(row.find("th").itertext()).strip() for row in table.find("tbody")]


def test_only_the_customers_hit_most_are_shown_with_a_link_to_the_rest(
    client, real_data, monkeypatch, django_assert_num_queries
):
    monkeypatch.setattr(stats_views, "MAP_CUSTOMERS", 3)
    names = dict(Customer.objects.values_list("slug", "name"))
    counts = {slug: len(hits(slug)) for slug in names}
    hit = [slug for slug in names if counts[slug]]
    top = sorted(hit, key=lambda slug: (-counts[slug], names[slug], slug))[:3]

    # Still three queries: the customers are ranked and cut in the database.
    with django_assert_num_queries(3):
        html = client.get("/map/").content.decode()

    assert len(hit) > 3
    for table in maps(html):
        assert shown_customers(table) == [names[slug] for slug in top]
    assert (
        f"The map shows the 3 customers hit by the most incidents (ties in alphabetical order), "
        f"of the {len(hit)} customers that published incidents hit." in html
    )
    assert '<a href="/customers/">list of customers</a> has every one' in html
    # Those shown keep every number.
    netflix = row_of(maps(html)[0], "Netflix")
    assert netflix["/incidents/?customer=netflix&provider=aws"][0] == 3


def test_only_the_providers_behind_the_most_hits_are_column_groups_the_rest_a_link(
    client, real_data, monkeypatch, django_assert_num_queries
):
    monkeypatch.setattr(hit_map, "MAP_PROVIDERS", 1)

    with django_assert_num_queries(3):  # the columns are chosen before their rows are read
        html = client.get("/map/").content.decode()

    for table in maps(html):
        groups = [th for th in table.iter("th") if th.get("scope") == "colgroup"]
        assert [th.find("a").text for th in groups] == ["Amazon Web Services"]
    assert "Incidents of 1 more provider hit these customers less often" in html
    assert '<a href="/providers/">list of providers</a> has every one' in html
    # A row keeps every provider's incidents in its total.
    netflix = row_of(maps(html)[0], "Netflix")
    assert netflix["/incidents/?customer=netflix"][0] == len(hits("netflix"))


def test_only_the_services_and_regions_behind_the_most_hits_are_columns_the_rest_a_link(
    client, provider, customer, source, monkeypatch
):
    monkeypatch.setattr(hit_map, "MAP_SERVICES", 1)
    monkeypatch.setattr(hit_map, "MAP_REGIONS", 1)
    update_incidents(Incident.objects.all(), status=Incident.Status.DRAFT)  # only those made here
    services = ServiceFactory.create_batch(3, provider=provider)
    regions = RegionFactory.create_batch(3, provider=provider)
    for number, (service, region) in enumerate(zip(services, regions, strict=True), start=1):
        add_incident(provider, service, region, customer, source, number)
    summaries.rebuild()

    html = client.get("/map/").content.decode()

    services_table, regions_table = maps(html)
    # Customer, All incidents; the provider's group: all of it and one service.
    assert len(list(services_table.find("thead").iter("th"))) == 5
    assert len(list(regions_table.find("thead").iter("tr"))[1].findall("th")) == 1
    assert "2 more Example Cloud services hit these customers less often" in html
    assert "2 more Example Cloud regions hit these customers less often" in html
    assert html.count('the <a href="/providers/example-cloud/">page of Example Cloud</a>') == 2


def test_every_customer_is_shown_when_they_are_few(client, real_data, monkeypatch):
    monkeypatch.setattr(stats_views, "MAP_CUSTOMERS", 100)
    html = client.get("/map/").content.decode()

    hit = [slug for slug in Customer.objects.values_list("slug", flat=True) if hits(slug)]
    assert len(hit) <= stats_views.MAP_CUSTOMERS
    for table in maps(html):
        assert len(shown_customers(table)) == len(hit)
    assert "The map shows the" not in html


def test_hostile_names_are_escaped(client, make_incidents, customer):
    customer.name = '<script>alert("x")</script>'
    customer.save()
    make_incidents(1)

    html = client.get("/map/").content.decode()

    assert "<script" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    maps(html)


def test_empty_map_says_so(client, db):
    update_incidents(Incident.objects.all(), status=Incident.Status.DRAFT)

    html = client.get("/map/").content.decode()

    assert "No published incident names a customer it hit yet." in html
    assert maps(html) == []
