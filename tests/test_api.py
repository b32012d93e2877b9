import pytest
from django.core.management import call_command

from outages.models import Customer, CustomerImpact, Incident, Provider, TimelineEvent
from outages.search import update_index
from outages.web import results
from outages.web.views import PAGE_SIZE
from tests.factories import update_incidents
from tests.shipped import load_shipped

ELB = "aws-elb-us-east-2012-12-24"


def get_json(client, url, data=None, status=200):
    response = client.get(url, data)
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    return response.json()


def titles(listing):
    return [row["title"] for row in listing["results"]]


# --- The index ------------------------------------------------------------------------------


def test_index_lists_every_endpoint_with_absolute_urls(client, db):
    endpoints = get_json(client, "/api/v1/")["endpoints"]

    assert endpoints["incidents"] == "http://testserver/api/v1/incidents/"
    assert endpoints["incident"] == "http://testserver/api/v1/incidents/{slug}/"
    assert endpoints["service"] == (
        "http://testserver/api/v1/providers/{provider_slug}/services/{slug}/"
    )
    assert (
        endpoints["region"] == "http://testserver/api/v1/providers/{provider_slug}/regions/{code}/"
    )
    for name in ["providers", "services", "regions", "customers"]:
        assert get_json(client, endpoints[name])["results"] == []


def test_only_get_and_head_are_allowed(client, incident):
    assert client.head("/api/v1/incidents/incident-1/").status_code == 200
    assert client.post("/api/v1/incidents/").status_code == 405
    assert client.delete("/api/v1/incidents/incident-1/").status_code == 405


# --- The incident list ----------------------------------------------------------------------


def test_incident_list_gives_rows_newest_first(client, make_incidents, service, region, customer):
    make_incidents(3)

    listing = get_json(client, "/api/v1/incidents/")

    assert listing["count"] == 3
    assert (listing["page"], listing["pages"], listing["next"], listing["previous"]) == (
        1,
        1,
        None,
        None,
    )
    assert titles(listing) == ["Incident 1", "Incident 2", "Incident 3"]
    row = listing["results"][0]
    assert row["url"] == "http://testserver/incidents/incident-1/"
    assert row["api"] == "http://testserver/api/v1/incidents/incident-1/"
    assert row["provider"]["slug"] == "example-cloud"
    assert row["root_cause_category"] == "operational-error"
    assert row["root_cause_category_label"] == "Operational error"
    assert row["started_at"] == "2012-12-24T20:24:00Z"
    assert row["resolved_at"] == "2012-12-25T20:05:00Z"
    assert row["time_to_resolve"] == {"seconds": 23 * 3600 + 41 * 60, "text": "23 h 41 min"}
    assert [s["key"] for s in row["services"]] == ["example-cloud.lb"]
    assert [r["key"] for r in row["regions"]] == ["example-cloud.east-1"]
    assert row["customers_hit"][0]["slug"] == customer.slug
    assert row["customers_hit"][0]["level"] == "outage"


def test_incident_list_is_paginated_with_absolute_links_that_keep_the_query(client, make_incidents):
    make_incidents(PAGE_SIZE + 1)

    first = get_json(client, "/api/v1/incidents/", {"provider": "example-cloud"})
    second = get_json(client, first["next"])

    assert (first["count"], first["pages"], len(first["results"])) == (PAGE_SIZE + 1, 2, PAGE_SIZE)
    assert first["next"] == ("http://testserver/api/v1/incidents/?provider=example-cloud&page=2")
    assert titles(second) == [f"Incident {PAGE_SIZE + 1}"]
    assert second["next"] is None
    assert second["previous"] == (
        "http://testserver/api/v1/incidents/?provider=example-cloud&page=1"
    )


def test_incident_list_says_when_its_count_is_an_estimate(client, make_incidents, monkeypatch):
    make_incidents(3)
    exact = get_json(client, "/api/v1/incidents/")
    monkeypatch.setattr(results, "LIMIT", 2)

    estimated = get_json(client, "/api/v1/incidents/", {"sort": "newest"})  # not cached

    assert (exact["count"], exact["count_estimated"]) == (3, False)
    # Past the limit: the planner's estimate on PostgreSQL, none (null) on SQLite; the pages
    # reach the first two, as on the page.
    assert estimated["count_estimated"] is True
    assert estimated["count"] is None or estimated["count"] > 2
    assert (estimated["pages"], titles(estimated)) == (1, ["Incident 1", "Incident 2"])


@pytest.mark.parametrize("page", ["-1", "0", "999999", "abc", "1.5", "\x00", "9" * 5000])
def test_a_page_that_does_not_exist_is_a_json_404(client, incident, page):
    body = get_json(client, "/api/v1/incidents/", {"page": page}, status=404)

    assert "page" in body["error"]


def test_an_empty_page_parameter_means_the_first_page(client, incident):
    assert get_json(client, "/api/v1/incidents/", {"page": ""})["page"] == 1


def test_filters_are_those_of_the_list_page(client, make_incidents, customer):
    make_incidents(3)
    second = Incident.objects.get(slug="incident-2")
    second.root_cause_category = Incident.Cause.SOFTWARE_BUG
    second.summary = "Expired Kerberos tickets locked every operator out."
    second.save()
    update_index([second.pk])
    Provider.objects.create(name="Other Cloud", slug="other-cloud", published=True)

    def listed(**query):
        return titles(get_json(client, "/api/v1/incidents/", query))

    assert listed(provider="example-cloud") == ["Incident 1", "Incident 2", "Incident 3"]
    assert listed(provider="other-cloud") == []
    assert listed(cause="software-bug") == ["Incident 2"]
    assert listed(q="kerberos") == ["Incident 2"]
    assert listed(year="2011") == []
    assert listed(
        service="example-cloud.lb", region="example-cloud.east-1", since="2012-12-24"
    ) == ["Incident 1"]
    assert listed(customer=customer.slug, sort="oldest") == [
        "Incident 3",
        "Incident 2",
        "Incident 1",
    ]


@pytest.mark.parametrize(
    "query, field, message",
    [
        ({"year": "abc"}, "year", "Enter a number."),
        ({"provider": "no-such-cloud"}, "provider", "There is no provider by that name."),
        ({"service": "example-cloud"}, "service", "There is no service by that name."),
        ({"cause": "gremlins"}, "cause", "Select a valid choice."),
        ({"since": "2013-01-01", "until": "2012-01-01"}, "__all__", "The start of the date"),
    ],
)
def test_a_bad_filter_is_a_400_that_says_what_is_wrong(client, incident, query, field, message):
    body = get_json(client, "/api/v1/incidents/", query, status=400)

    assert body["errors"][field][0].startswith(message)


# --- One incident ---------------------------------------------------------------------------


def test_incident_has_every_field_a_reader_sees(
    client, incident, provider, service, region, customer, source
):
    data = get_json(client, "/api/v1/incidents/incident-1/")

    assert data["title"] == "Incident 1"
    assert data["url"] == "http://testserver/incidents/incident-1/"
    assert data["markdown_url"] == "http://testserver/incidents/incident-1/postmortem.md"
    assert data["provider"] == {
        "name": provider.name,
        "slug": provider.slug,
        "url": "http://testserver/providers/example-cloud/",
        "api": "http://testserver/api/v1/providers/example-cloud/",
    }
    assert data["services"][0]["api"] == (
        "http://testserver/api/v1/providers/example-cloud/services/lb/"
    )
    assert data["regions"][0]["code"] == region.code
    assert data["time_zone"] == "America/Los_Angeles"
    assert data["milestones"] == {
        "started_at": "2012-12-24T20:24:00Z",
        "detected_at": None,
        "mitigated_at": "2012-12-25T00:24:00Z",
        "resolved_at": "2012-12-25T20:05:00Z",
    }
    assert data["durations"]["time_to_detect"] is None
    assert data["durations"]["time_to_mitigate"] == {"seconds": 4 * 3600, "text": "4 h"}
    assert data["root_cause"] == "A *maintenance* process."
    assert data["root_cause_html"] == "<p>A <em>maintenance</em> process.</p>"
    assert data["summary"] == "Summary of incident 1."
    assert [event["occurred_at"] for event in data["timeline"]] == [
        "2012-12-24T21:24:00Z",
        "2012-12-24T22:24:00Z",
    ]
    event = data["timeline"][0]
    assert event["time_as_stated"] == "12:24 PM PST"
    assert (event["precision"], event["kind"], event["is_key_event"]) == (
        "minute",
        "mitigation",
        False,
    )
    assert event["description_html"] == "<p>Workflows disabled.</p>"
    assert event["source"] == {
        "title": source.title,
        "publisher": source.publisher,
        "url": source.url,
    }
    impact = data["customers"][0]
    assert impact["customer"]["api"] == "http://testserver/api/v1/customers/streamy/"
    assert (impact["level"], impact["level_label"]) == ("outage", "Down")
    assert impact["services"][0]["key"] == "example-cloud.lb"
    assert data["sources"][0]["kind"] == "official"
    assert data["sources"][0]["published_on"] is None
    assert data["action_items"][0]["status_label"] == "Done"
    assert data["corrections"][0]["claimed_by"]["url"] == source.url
    assert data["updated_at"].endswith("Z")


def test_incident_html_is_the_stored_html_not_rendered_again(client, incident):
    Incident.objects.filter(pk=incident.pk).update(summary_html="<p>As stored.</p>")

    assert get_json(client, "/api/v1/incidents/incident-1/")["summary_html"] == "<p>As stored.</p>"


def test_json_is_utf8_not_escaped(client, incident):
    incident.title = "Panne à Montréal"
    incident.save()

    response = client.get("/api/v1/incidents/incident-1/")

    assert "Panne à Montréal" in response.content.decode("utf-8")


# --- Drafts and unknown names ---------------------------------------------------------------


def test_drafts_are_invisible_everywhere(client, make_incidents, provider, service, region):
    make_incidents(2)
    update_incidents(Incident.objects.filter(slug="incident-2"), status=Incident.Status.DRAFT)
    draft = Incident.objects.get(slug="incident-2")
    only_in_draft = Customer.objects.create(name="Hidden Co", slug="hidden-co")
    CustomerImpact.objects.create(
        incident=draft, customer=only_in_draft, level="outage", description="Down."
    )

    assert titles(get_json(client, "/api/v1/incidents/")) == ["Incident 1"]
    assert "error" in get_json(client, "/api/v1/incidents/incident-2/", status=404)
    assert get_json(client, "/api/v1/customers/hidden-co/", status=404)
    for url in [
        "/api/v1/providers/",
        "/api/v1/services/",
        "/api/v1/regions/",
        "/api/v1/customers/",
    ]:
        assert [row["incident_count"] for row in get_json(client, url)["results"]] == [1]
    for url in [
        "/api/v1/providers/example-cloud/",
        "/api/v1/providers/example-cloud/services/lb/",
        "/api/v1/providers/example-cloud/regions/east-1/",
        "/api/v1/customers/streamy/",
    ]:
        data = get_json(client, url)
        assert data["incident_count"] == 1
        assert titles(data["incidents"]) == ["Incident 1"]
    provider_data = get_json(client, "/api/v1/providers/example-cloud/")
    assert [s["incident_count"] for s in provider_data["services"]] == [1]
    assert [r["incident_count"] for r in provider_data["regions"]] == [1]


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/incidents/no-such-incident/",
        "/api/v1/providers/nope/",
        "/api/v1/providers/example-cloud/services/nope/",
        "/api/v1/providers/nope/services/lb/",
        "/api/v1/providers/example-cloud/regions/nope/",
        "/api/v1/customers/nope/",
    ],
)
def test_unknown_names_are_a_json_404(client, service, region, url):
    assert get_json(client, url, status=404)["error"].startswith("There is no ")


# --- Providers, services, regions, customers ---------------------------------------------------


def test_provider_has_services_regions_links_and_incidents(client, incident, provider):
    Customer.objects.create(
        name=provider.name, slug="example-customer", provider=provider, published=True
    )

    data = get_json(client, "/api/v1/providers/example-cloud/")

    assert data["url"] == "http://testserver/providers/example-cloud/"
    assert data["also_a_customer"]["slug"] == "example-customer"
    assert data["services"][0]["key"] == "example-cloud.lb"
    assert data["regions"][0]["code"] == "east-1"
    assert data["incidents_api"] == "http://testserver/api/v1/incidents/?provider=example-cloud"
    assert data["incidents_url"] == "http://testserver/incidents/?provider=example-cloud"
    summary = data["incidents"]["results"][0]
    assert summary["api"] == "http://testserver/api/v1/incidents/incident-1/"
    assert summary["started_at"] == "2012-12-24T20:24:00Z"


def test_service_and_region_link_to_their_filtered_incident_lists(client, incident):
    service = get_json(client, "/api/v1/providers/example-cloud/services/lb/")
    region = get_json(client, "/api/v1/providers/example-cloud/regions/east-1/")

    assert service["provider"]["slug"] == "example-cloud"
    assert (
        service["incidents_api"] == "http://testserver/api/v1/incidents/?service=example-cloud.lb"
    )
    assert region["incidents_api"] == (
        "http://testserver/api/v1/incidents/?region=example-cloud.east-1"
    )
    for data in (service, region):
        assert titles(get_json(client, data["incidents_api"])) == ["Incident 1"]


def test_customer_lists_its_incidents_with_how_it_was_hit(client, make_incidents, customer):
    make_incidents(2)

    data = get_json(client, "/api/v1/customers/streamy/")

    assert data["incident_count"] == 2
    assert data["also_a_provider"] is None
    assert titles(data["incidents"]) == ["Incident 1", "Incident 2"]
    impact = data["incidents"]["results"][0]["impact"]
    assert (impact["level"], impact["description"]) == ("outage", "Streaming down.")
    assert impact["source"]["url"] == "https://example.com/summary"


def test_detail_pages_of_incidents_are_paginated_too(client, make_incidents):
    make_incidents(PAGE_SIZE + 1)

    first = get_json(client, "/api/v1/customers/streamy/")
    second = get_json(client, first["incidents"]["next"])

    assert first["incidents"]["next"] == "http://testserver/api/v1/customers/streamy/?page=2"
    assert titles(second["incidents"]) == [f"Incident {PAGE_SIZE + 1}"]
    assert get_json(client, "/api/v1/providers/example-cloud/", {"page": "3"}, status=404)


def test_customer_list_holds_only_customers_of_published_incidents(client, incident):
    Customer.objects.create(name="Bystander", slug="bystander")

    listing = get_json(client, "/api/v1/customers/")

    assert [row["slug"] for row in listing["results"]] == ["streamy"]


# --- Query counts ---------------------------------------------------------------------------

QUERIES = [
    # Nothing from the database.
    ("/api/v1/", 0),
    # 1 the results counted (up to results.LIMIT of them), 2 the page of incidents with
    # providers, 3 their services with providers, 4 their regions with providers, 5 the
    # customers hit.
    ("/api/v1/incidents/", 5),
    # 1 the provider named by ?provider= (form validation), then as above.
    ("/api/v1/incidents/?provider=example-cloud&sort=longest", 6),
    # 1 the incident with its provider, 2 services, 3 regions, 4 sources, 5 timeline events with
    # sources, 6 impacts with customers and sources, 7 impact services, 8 action items,
    # 9 corrections with both sources, 10 its typed relations with the other ends and sources,
    # 11 its current version (the citation).
    ("/api/v1/incidents/incident-1/", 11),
    # 1 count, 2 the page of providers with their counts.
    ("/api/v1/providers/", 2),
    # 1 the provider with counts and customer entry, 2 its services, 3 its regions with counts,
    # 4 the count of its incidents, 5 the page of them with providers.
    ("/api/v1/providers/example-cloud/", 5),
    # 1 count, 2 the page of services with providers and counts.
    ("/api/v1/services/", 2),
    # 1 the service with its provider and count, 2 the count of its incidents, 3 the page.
    ("/api/v1/providers/example-cloud/services/lb/", 3),
    # 1 count, 2 the page of regions with providers and counts.
    ("/api/v1/regions/", 2),
    # 1 the region with its provider and count, 2 the count of its incidents, 3 the page.
    ("/api/v1/providers/example-cloud/regions/east-1/", 3),
    # 1 count, 2 the page of customers with counts.
    ("/api/v1/customers/", 2),
    # 1 the customer with its count and provider entry, 2 the count of its impacts, 3 the page
    # of impacts with incidents, providers and sources, 4 the impacts' services.
    ("/api/v1/customers/streamy/", 4),
]


@pytest.mark.parametrize("count", [1, 5])
@pytest.mark.parametrize("url, expected", QUERIES, ids=[url for url, _ in QUERIES])
def test_query_count_does_not_grow_with_incidents(
    client, make_incidents, count, url, expected, django_assert_num_queries
):
    make_incidents(count)

    with django_assert_num_queries(expected):
        assert client.get(url).status_code == 200


# --- The shipped fixtures -------------------------------------------------------------------


@pytest.fixture
def loaded(db):
    load_shipped()
    call_command("update_search_index", verbosity=0)


def test_elb_incident_keeps_the_sources_wording_beside_utc(client, loaded):
    data = get_json(client, f"/api/v1/incidents/{ELB}/")

    trigger = next(e for e in data["timeline"] if e["occurred_at"] == "2012-12-24T20:24:00Z")
    assert trigger["time_as_stated"] == "12:24 PM PST on December 24th"
    assert trigger["kind"] == "trigger"
    assert data["time_zone"] == "America/Los_Angeles"
    assert data["durations"]["time_to_resolve"]["text"] == "23 h 41 min"
    assert len(data["timeline"]) == TimelineEvent.objects.filter(incident__slug=ELB).count()
    assert {impact["customer"]["slug"] for impact in data["customers"]} >= {"netflix", "heroku"}


def test_netflix_lists_the_elb_incident(client, loaded):
    data = get_json(client, "/api/v1/customers/netflix/")

    assert ELB in [row["slug"] for row in data["incidents"]["results"]]
    assert ELB in [row["slug"] for row in get_json(client, data["incidents_api"])["results"]]


def test_search_and_filters_work_on_the_fixtures(client, loaded):
    def slugs(**query):
        return [row["slug"] for row in get_json(client, "/api/v1/incidents/", query)["results"]]

    assert ELB in slugs(q="christmas netflix")
    assert ELB in slugs(service="aws.elb", year="2012")
    assert ELB not in slugs(provider="google-cloud")
