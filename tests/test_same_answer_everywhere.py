"""Every door gives the same answer to the same question: which incidents hit Netflix, which
customers ELB's incidents hit, and which the sources say ELB hit. Pages, feeds, the API, the
statistics, the map, the customer list and the stack page all ask the models' rules
(Incident.objects.involving() and hit_through(), CustomerImpact.objects.hits()).

The data names customers "not affected" on purpose: Netflix in an S3 incident and Pinterest in
the ELB one. A door that counted them as hit would answer differently, and fail here. A draft
that hit both must not count anywhere.
"""

import re
from datetime import UTC, datetime
from xml.etree import ElementTree

import pytest
from django.urls import reverse

from outages import summaries
from outages.models import Customer, CustomerImpact, Incident, Provider, Region, Service
from outages.search import update_index

ATOM = "{http://www.w3.org/2005/Atom}"
Level = CustomerImpact.Level

# Newest first, the undated incident last: the one order.
HIT_NETFLIX = ["aws-elb-2012", "aws-ebs-2012", "aws-elb-undated"]
# Each customer hit by an ELB incident, with how many of them hit it.
HIT_BY_ELB = {"Heroku": 2, "Netflix": 2}


def incident(slug, provider, started_at, services, impacts, status=Incident.Status.PUBLISHED):
    """An incident of `services` and `impacts` ({customer: level, or (level, [the services
    the sources say hit it])})."""
    row = Incident.objects.create(
        title=slug.replace("-", " ").title(),
        slug=slug,
        provider=provider,
        time_zone="UTC",
        started_at=started_at,
        root_cause_category=Incident.Cause.SOFTWARE_BUG,
        status=status,
        summary=f"What happened in {slug}.",
    )
    row.services.set(services)
    row.regions.set(provider.regions.all())
    for customer, level in impacts.items():
        level, through = level if isinstance(level, tuple) else (level, [])
        impact = CustomerImpact.objects.create(incident=row, customer=customer, level=level)
        impact.services.set(through)
    return row


@pytest.fixture
def world(db):
    aws = Provider.objects.create(name="Amazon Web Services", slug="aws")
    Region.objects.create(provider=aws, code="us-east-1", name="US East (N. Virginia)")
    elb = Service.objects.create(provider=aws, name="Elastic Load Balancing", slug="elb")
    ebs = Service.objects.create(provider=aws, name="Elastic Block Store", slug="ebs")
    s3 = Service.objects.create(provider=aws, name="Simple Storage Service", slug="s3")
    netflix, heroku, pinterest, zynga = [
        Customer.objects.create(name=name, slug=name.lower())
        for name in ["Netflix", "Heroku", "Pinterest", "Zynga"]
    ]
    rows = [
        incident(
            "aws-elb-2012",
            aws,
            datetime(2012, 12, 24, 20, 24, tzinfo=UTC),
            [elb],
            {
                netflix: (Level.OUTAGE, [elb]),
                heroku: (Level.DEGRADED, [elb]),
                pinterest: Level.NOT_AFFECTED,
            },
        ),
        incident(
            "aws-ebs-2012",
            aws,
            datetime(2012, 10, 22, 17, 0, tzinfo=UTC),
            [ebs],
            {netflix: Level.AFFECTED, zynga: Level.OUTAGE},
        ),
        incident(
            "aws-s3-2017",
            aws,
            datetime(2017, 2, 28, 17, 37, tzinfo=UTC),
            [s3, elb],
            {netflix: Level.NOT_AFFECTED, heroku: (Level.OUTAGE, [s3])},
        ),
        incident("aws-elb-undated", aws, None, [elb], {netflix: Level.DEGRADED}),
        incident(
            "aws-elb-draft",
            aws,
            datetime(2020, 1, 1, tzinfo=UTC),
            [elb],
            {netflix: (Level.OUTAGE, [elb]), pinterest: (Level.OUTAGE, [elb])},
            status=Incident.Status.DRAFT,
        ),
    ]
    update_index([row.pk for row in rows])
    summaries.rebuild()  # written by hand, around the site's write paths
    return {"netflix": netflix, "elb": elb, "aws": aws}


def slug_of(url):
    return re.search(r"/incidents/([-\w]+)/", url).group(1)


def feed_slugs(response):
    """The incidents of an Atom or RSS feed, in its order, read from the XML."""
    assert response.status_code == 200
    root = ElementTree.fromstring(response.content)
    if root.tag == f"{ATOM}feed":
        links = [entry.find(f"{ATOM}link").get("href") for entry in root.iter(f"{ATOM}entry")]
    else:
        links = [item.findtext("link") for item in root.iter("item")]
    return [slug_of(link) for link in links]


def api(client, url, **params):
    response = client.get(url, params)
    assert response.status_code == 200
    return response.json()


# --- Incidents that hit Netflix ------------------------------------------------------------


def test_the_customer_page_lists_as_hit_and_counts_the_same_incidents(client, world):
    response = client.get(world["netflix"].get_absolute_url())
    html = response.content.decode()
    rows = re.findall(
        r'<th scope="row"><a href="([^"]+)">.*?<span class="level level-([-\w]+)">', html, re.S
    )
    # Every incident that names Netflix is listed, with how it was hit.
    assert [(slug_of(url), level) for url, level in rows] == [
        ("aws-s3-2017", "not-affected"),
        ("aws-elb-2012", "outage"),
        ("aws-ebs-2012", "affected"),
        ("aws-elb-undated", "degraded"),
    ]
    hit = [slug_of(url) for url, level in rows if level != "not-affected"]
    assert hit == HIT_NETFLIX
    # The strip counts the incidents that hit it, and links to the list filtered by them.
    assert response.context["strip"]["count"] == len(HIT_NETFLIX)
    assert response.context["strip"]["href"] == "/incidents/?customer=netflix"


@pytest.mark.parametrize("kind", ["atom", "rss"])
def test_the_customer_feed_lists_the_incidents_that_hit_it(client, world, kind):
    url = reverse(f"outages:customer_{kind}", args=["netflix"])
    assert feed_slugs(client.get(url)) == HIT_NETFLIX


@pytest.mark.parametrize("kind", ["atom", "rss"])
def test_the_incident_list_feed_filtered_by_customer_lists_the_same(client, world, kind):
    url = reverse(f"outages:incidents_{kind}")
    assert feed_slugs(client.get(url, {"customer": "netflix"})) == HIT_NETFLIX


def test_the_incident_list_filtered_by_customer_lists_the_same(client, world):
    response = client.get(reverse("outages:incident_list"), {"customer": "netflix"})
    page = response.context["page"]
    assert [incident.slug for incident in page.object_list] == HIT_NETFLIX
    assert page.paginator.count == len(HIT_NETFLIX)


def test_the_incident_list_counts_the_same_in_its_customer_facet(client, world):
    response = client.get(reverse("outages:incident_list"))
    customers = dict(response.context["facets"])["Customer hit"]
    assert {title: count for title, count, *_ in customers} == {
        "Netflix": 3,
        "Heroku": 2,
        "Zynga": 1,
    }


def test_the_api_lists_the_same_filtered_by_customer(client, world):
    data = api(client, reverse("outages:api_incidents"), customer="netflix")
    assert [row["slug"] for row in data["results"]] == HIT_NETFLIX
    assert data["count"] == len(HIT_NETFLIX)
    for row in data["results"]:
        levels = {hit["slug"]: hit["level"] for hit in row["customers_hit"]}
        assert levels["netflix"] != "not-affected"


def test_the_api_customer_names_every_incident_and_links_to_those_that_hit_it(client, world):
    data = api(client, reverse("outages:api_customer", args=["netflix"]))
    levels = {row["slug"]: row["impact"]["level"] for row in data["incidents"]["results"]}
    assert [slug for slug, level in levels.items() if level != "not-affected"] == HIT_NETFLIX
    assert levels["aws-s3-2017"] == "not-affected"
    # The list it links to holds those that hit it, and only those.
    linked = client.get(data["incidents_api"])
    assert [row["slug"] for row in linked.json()["results"]] == HIT_NETFLIX


def test_the_api_customer_counts_the_incidents_that_hit_it(client, world):
    data = api(client, reverse("outages:api_customer", args=["netflix"]))
    assert data["incident_count"] == len(HIT_NETFLIX)
    assert data["named_count"] == len(HIT_NETFLIX) + 1  # and the S3 one, "not affected"
    listed = api(client, reverse("outages:api_customers"))
    counts = {row["name"]: row["incident_count"] for row in listed["results"]}
    assert counts == {"Netflix": 3, "Heroku": 2, "Zynga": 1, "Pinterest": 0}


def test_the_customer_list_counts_the_same(client, world):
    response = client.get(reverse("outages:customer_list"))
    counts = {customer.name: customer.incident_count for customer in response.context["customers"]}
    # Pinterest is named only as not affected (the draft does not count): listed, never counted.
    assert counts == {"Heroku": 2, "Netflix": 3, "Pinterest": 0, "Zynga": 1}
    html = response.content.decode()
    assert re.search(r">Netflix</a>\s*<span class=\"count\">hit by 3 incidents<", html)
    assert re.search(r">Pinterest</a>\s*<span class=\"count\">named, not affected<", html)


def test_the_customers_hit_with_netflix_are_counted_by_the_incidents_that_hit_both(client, world):
    response = client.get(world["netflix"].get_absolute_url())
    shared = {other.name: other.shared for other in response.context["neighbours"]}
    # The ELB incident hit Heroku with Netflix; Pinterest was not affected by it, and Heroku's
    # S3 outage did not hit Netflix. Zynga shares the EBS incident.
    assert shared == {"Heroku": 1, "Zynga": 1}


def test_the_statistics_count_the_same(client, world):
    response = client.get(reverse("outages:statistics"))
    figures = {figure["slug"]: figure for figure in response.context["bar_figures"]}
    counts = {row["label"]: row["count"] for row in figures["customers"]["rows"]}
    assert counts == {"Netflix": 3, "Heroku": 2, "Zynga": 1}
    netflix = next(row for row in figures["customers"]["rows"] if row["label"] == "Netflix")
    assert netflix["href"] == "/incidents/?customer=netflix"


def test_the_home_page_counts_the_same(client, world):
    response = client.get(reverse("outages:home"))
    counts = {customer.name: customer.count for customer in response.context["customers"]}
    assert counts == {"Netflix": 3, "Heroku": 2}  # customers hit more than once


def test_the_customer_map_counts_the_same(client, world):
    response = client.get(reverse("outages:customer_map"))
    totals = {row["name"]: row["total"]["count"] for row in response.context["rows"]}
    assert totals == {"Netflix": 3, "Heroku": 2, "Zynga": 1}
    assert response.context["customers_hit"] == 3


def test_the_stack_page_counts_the_same(client, world):
    response = client.get(reverse("outages:my_stack"), {"provider": "aws"})
    counts = {customer.name: customer.count for customer in response.context["customers"]}
    assert counts == {"Netflix": 3, "Heroku": 2, "Zynga": 1}


# --- Customers hit by ELB ------------------------------------------------------------------


def customers_of_rows(incidents):
    """{customer name: how many of the incidents hit it}, from the list rows' customers hit."""
    counts = {}
    for incident in incidents:
        for impact in incident.customers_hit:
            counts[impact.customer.name] = counts.get(impact.customer.name, 0) + 1
    return counts


def test_the_service_page_shows_the_customers_its_incidents_hit(client, world):
    response = client.get(world["elb"].get_absolute_url())
    incidents = list(response.context["page"].object_list)
    assert [incident.slug for incident in incidents] == [
        "aws-s3-2017",
        "aws-elb-2012",
        "aws-elb-undated",
    ]
    assert customers_of_rows(incidents) == HIT_BY_ELB
    assert "Pinterest" not in response.content.decode()


def test_the_incident_list_filtered_by_service_counts_the_same_customers(client, world):
    response = client.get(reverse("outages:incident_list"), {"service": world["elb"].key})
    customers = dict(response.context["facets"])["Customer hit"]
    assert {title: count for title, count, *_ in customers} == HIT_BY_ELB
    assert customers_of_rows(response.context["page"].object_list) == HIT_BY_ELB


def test_the_api_names_the_same_customers_for_the_service(client, world):
    service = api(client, reverse("outages:api_service", args=["aws", "elb"]))
    assert service["key"] == "aws.elb"
    data = api(client, service["incidents_api"])
    counts = {}
    for row in data["results"]:
        for hit in row["customers_hit"]:
            counts[hit["name"]] = counts.get(hit["name"], 0) + 1
    assert counts == HIT_BY_ELB
    assert [row["slug"] for row in data["results"]] == [
        row["slug"] for row in service["incidents"]["results"]
    ]


def test_the_stack_page_counts_the_same_customers_for_the_service(client, world):
    response = client.get(reverse("outages:my_stack"), {"service": "aws.elb"})
    counts = {customer.name: customer.count for customer in response.context["customers"]}
    assert counts == HIT_BY_ELB


def test_the_incident_page_mentions_only_the_customers_it_hit(client, world):
    html = client.get(reverse("outages:incident", args=["aws-elb-2012"])).content.decode()
    (script,) = re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    assert "Netflix" in script and "Heroku" in script
    assert "Pinterest" not in script


# --- Customers hit through ELB, as the sources say ------------------------------------------
# The map's service columns ask a narrower question than "customers of ELB's incidents": which
# customers the sources say ELB hit (the impact names the service). Heroku's S3 outage involved
# ELB too, but hit Heroku through S3; the undated incident does not say through what.

HIT_THROUGH_ELB = {"Heroku": 1, "Netflix": 1}


def map_column(response, key):
    """{customer: count} of one column of the map's first table (a provider's cells: its own,
    then "service not stated" if any, then one per service shown)."""
    (aws,) = response.context["providers"]
    keys = ["all"] + (["not-stated"] if aws["not_stated"] else [])
    keys += [service["key"] for service in aws["shown"]]
    column = keys.index(key)
    return {
        row["name"]: row["service_cells"][column]["count"]
        for row in response.context["rows"]
        if row["service_cells"][column]["count"]
    }


def test_the_customer_map_counts_the_customers_hit_through_the_service(client, world):
    response = client.get(reverse("outages:customer_map"))
    assert map_column(response, "aws.elb") == HIT_THROUGH_ELB
    # Hits whose impact names no service: Netflix in the undated ELB incident, Zynga in EBS.
    assert map_column(response, "not-stated") == {"Netflix": 2, "Zynga": 1}
    assert map_column(response, "aws.s3") == {"Heroku": 1}


def test_the_incident_list_and_the_api_count_the_same_hit_through_the_service(client, world):
    response = client.get(reverse("outages:incident_list"), {"through": world["elb"].key})
    customers = dict(response.context["facets"])["Customer hit"]
    assert {title: count for title, count, *_ in customers} == {"Heroku": 1, "Netflix": 1}
    data = api(client, reverse("outages:api_incidents"), through=world["elb"].key)
    assert [row["slug"] for row in data["results"]] == ["aws-elb-2012"]
    for customer in ["netflix", "heroku"]:
        listed = client.get(
            reverse("outages:incident_list"), {"customer": customer, "through": world["elb"].key}
        )
        assert [i.slug for i in listed.context["page"].object_list] == ["aws-elb-2012"]
