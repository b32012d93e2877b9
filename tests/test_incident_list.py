import re
from datetime import timedelta

import pytest
from django.db import connection

from outages import search
from outages.models import Customer, CustomerImpact, Incident
from outages.web import filters, results, views
from outages.web.filters import sort
from outages.web.views import PAGE_SIZE
from tests.factories import CustomerFactory, CustomerImpactFactory


def test_list_shows_newest_first_with_provider_services_regions_duration_customers(
    client, make_incidents, provider, service, region, customer
):
    make_incidents(3)

    html = client.get("/incidents/").content.decode()

    assert html.index("Incident 1<") < html.index("Incident 2<") < html.index("Incident 3<")
    for text in [provider.name, service.name, region.code, "23 h 41 min", customer.name]:
        assert text in html


def test_list_is_paginated(client, make_incidents):
    make_incidents(PAGE_SIZE + 1)

    first = client.get("/incidents/").content.decode()
    second = client.get("/incidents/?page=2").content.decode()

    assert f"Incident {PAGE_SIZE + 1}<" not in first
    assert f"Incident {PAGE_SIZE + 1}<" in second
    assert 'rel="next"' in first


@pytest.mark.parametrize("page", ["-1", "abc", "999999", "", "1.5", "\x00"])
def test_bad_page_numbers_still_give_a_page(client, incident, page):
    response = client.get("/incidents/", {"page": page})

    assert response.status_code == 200
    assert incident.title in response.content.decode()


def test_drafts_are_not_listed(client, make_incidents):
    make_incidents(2)
    Incident.objects.filter(slug="incident-2").update(status=Incident.Status.DRAFT)

    html = client.get("/incidents/").content.decode()

    assert "Incident 1<" in html
    assert "Incident 2<" not in html


@pytest.mark.parametrize("count", [1, 30])
def test_query_count_does_not_grow_with_incidents(
    client, make_incidents, count, django_assert_num_queries
):
    make_incidents(count)
    # 1 the result set (ids with provider, cause and year of at most results.LIMIT: the count
    # and three facets), 2 the page of incidents with providers and stored rows (none here), 3
    # those without one again, 4 their services with providers, 5 their regions with
    # providers, 6 customers hit, 7 the providers' names, 8-11 facet counts: services,
    # regions, customers, impact levels. Past results.LIMIT, whatever the number, one more on
    # PostgreSQL: the planner's estimate of the count. (tests/test_stored_rows.py: with rows.)
    with django_assert_num_queries(11):
        client.get("/incidents/")


@pytest.mark.parametrize("count", [1, 30])
def test_filtered_search_query_count_does_not_grow(
    client, make_incidents, customer, count, django_assert_num_queries
):
    make_incidents(count)
    # 1 the customer filter's lookup, 2 the result set, 3 page with stored rows, 4-7 the
    # incidents without one with services, regions, customers hit, 8 the snippets of the
    # page's incidents, 9 the providers' names, 10-13 facet counts: services, regions,
    # customers, impact levels.
    with django_assert_num_queries(13):
        response = client.get("/incidents/", {"q": "incident", "customer": customer.slug})
    assert response.status_code == 200


def test_filters_combine_and_live_in_the_url(client, make_incidents, provider, service, region):
    make_incidents(3)
    Incident.objects.filter(slug="incident-2").update(
        root_cause_category=Incident.Cause.SOFTWARE_BUG
    )

    html = client.get(
        "/incidents/",
        {
            "provider": provider.slug,
            "service": f"{provider.slug}.{service.slug}",
            "region": f"{provider.slug}.{region.code}",
            "cause": "software-bug",
        },
    ).content.decode()

    assert "Incident 2<" in html
    assert "Incident 1<" not in html and "Incident 3<" not in html
    assert "1 incident<" in html


def test_facets_count_the_current_results_and_link_to_narrower_lists(
    client, make_incidents, provider
):
    make_incidents(3)
    Incident.objects.filter(slug="incident-3").update(
        root_cause_category=Incident.Cause.SOFTWARE_BUG
    )

    response = client.get("/incidents/", {"provider": provider.slug})

    facets = dict(response.context["facets"])
    assert [(title, count) for title, count, _, _ in facets["Root cause"]] == [
        ("Operational error", 2),
        ("Software bug", 1),
    ]
    ((title, count, href, selected),) = facets["Provider"]
    assert (title, count, selected) == (provider.name, 3, True)
    assert href == "/incidents/"  # choosing a selected value again removes it
    _, _, bug_link, _ = facets["Root cause"][1]
    assert "cause=software-bug" in bug_link and f"provider={provider.slug}" in bug_link


def test_customer_facet_lists_those_hit_most_then_by_name_and_counts_reported_levels(
    client, make_incidents, monkeypatch
):
    """The customers hit most lead (ties at the limit by name), counted among the results with
    the impact levels in one query over their impacts; a customer only affected counts as hit
    but not as reported down or degraded."""
    monkeypatch.setattr(filters, "FACET_LIMIT", 2)
    incidents = make_incidents(3)  # each with an outage for the same customer
    names = {"zed": "Zed Bank", "amy": "Amy Air", "bob": "Bob Books"}
    customers = {key: CustomerFactory(name=name, slug=key) for key, name in names.items()}
    levels = [("zed", 0, "degraded"), ("zed", 1, "affected"), ("bob", 2, "outage")]
    levels += [("amy", 0, "affected"), ("amy", 1, "affected"), ("amy", 2, "not-affected")]
    for key, number, level in levels:
        CustomerImpactFactory(incident=incidents[number], customer=customers[key], level=level)

    facets = dict(client.get("/incidents/").context["facets"])

    hit = incidents[0].impacts.get(level="outage").customer
    assert [(title, count) for title, count, _, _ in facets["Customer hit"]] == [
        (hit.name, 3),
        ("Amy Air", 2),  # ties with Zed Bank, and comes first by name; Bob Books, 1, is left out
    ]
    assert [(title, count) for title, count, _, _ in facets["Customers reported"]] == [
        ("Down", 4),
        ("Degraded", 1),
    ]


@pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="parallel query is PostgreSQL's (migration 0028)"
)
def test_postgresql_walks_incidents_without_parallel_workers(db):
    """A common word's matches are found by walking the incidents newest first; started in
    parallel workers, that walk cost two to three times what it cost in one process."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reloptions FROM pg_class WHERE oid = %s::regclass", [Incident._meta.db_table]
        )
        assert cursor.fetchone()[0] == ["parallel_workers=0"]


@pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="the index is PostgreSQL's (migration 0028)"
)
def test_postgresql_reads_longest_first_from_an_index_not_a_sort(make_incidents):
    """Without parallel workers, sorting every published incident by duration would be slow:
    the order comes from an index instead, so the page's query has nothing to sort."""
    make_incidents(3)
    page = sort(Incident.objects.published(), "longest")[:20]
    with connection.cursor() as cursor:
        # The test's rows fit in one page and have no statistics, so the planner would as soon
        # scan and sort them: with both discouraged, a Sort left in the plan means no index
        # gives this order.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        sql, params = page.query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "incident_published_longest" in plan
    assert "Sort" not in plan


def test_year_and_date_range(client, make_incidents):
    make_incidents(3)  # started 24, 23 and 22 Dec 2012

    by_range = client.get("/incidents/", {"since": "2012-12-23", "until": "2012-12-23"})
    by_year = client.get("/incidents/", {"year": "2012"})
    other_year = client.get("/incidents/", {"year": "2013"})

    assert [i.slug for i in by_range.context["page"]] == ["incident-2"]
    assert len(by_year.context["page"]) == 3
    assert len(other_year.context["page"]) == 0
    assert "No incidents match" in other_year.content.decode()


def test_impact_filter_finds_incidents_where_customers_were_down(client, make_incidents):
    make_incidents(2)
    CustomerImpact.objects.filter(incident__slug="incident-2").update(level="degraded")

    outage = client.get("/incidents/", {"impact": "outage"})
    degraded = client.get("/incidents/", {"impact": "degraded"})

    assert [i.slug for i in outage.context["page"]] == ["incident-1"]
    assert [i.slug for i in degraded.context["page"]] == ["incident-2"]


@pytest.mark.parametrize(
    ("sort", "first"),
    [("newest", "incident-1"), ("oldest", "incident-3"), ("longest", "incident-2")],
)
def test_sort_orders(client, make_incidents, sort, first):
    incidents = make_incidents(3)
    longest = incidents[1]
    longest.resolved_at = longest.started_at + timedelta(days=3)
    longest.save()

    response = client.get("/incidents/", {"sort": sort})

    assert response.context["page"][0].slug == first


def test_most_customers_hit_sort(client, make_incidents, customer):
    incidents = make_incidents(3)
    other = Customer.objects.create(name="Heroku", slug="heroku")
    CustomerImpact.objects.create(incident=incidents[2], customer=other, level="outage")

    response = client.get("/incidents/", {"sort": "customers"})

    assert response.context["page"][0].slug == "incident-3"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"provider": "no-such-provider"}, "There is no provider by that name."),
        ({"service": "aws.nothing"}, "There is no service by that name."),
        ({"service": "no-dot"}, "There is no service by that name."),
        ({"region": "x" * 5000}, "There is no region by that name."),
        ({"customer": "../../etc/passwd"}, "There is no customer by that name."),
        ({"year": "abc"}, "Enter a number."),
        ({"since": "2012-13-45"}, "Enter a valid date."),
        ({"since": "2013-01-01", "until": "2012-01-01"}, "start of the date range is after"),
        ({"cause": "aliens"}, "Select a valid choice."),
        ({"sort": "random"}, "Select a valid choice."),
        ({"q": "nul\x00byte"}, "Null characters are not allowed."),
    ],
)
def test_invalid_filters_explain_themselves_and_show_nothing(
    client, make_incidents, params, message
):
    make_incidents(2)

    response = client.get("/incidents/", params)

    html = response.content.decode()
    assert response.status_code == 200
    assert message in html
    assert len(response.context["page"]) == 0
    assert 'role="alert"' in html


def test_pagination_keeps_the_filters(client, make_incidents, provider):
    make_incidents(PAGE_SIZE + 1)

    html = client.get("/incidents/", {"provider": provider.slug}).content.decode()

    assert f'href="?provider={provider.slug}&amp;page=2"' in html


def test_up_to_the_limit_everything_is_counted_exactly(client, make_incidents, monkeypatch):
    monkeypatch.setattr(results, "LIMIT", 3)
    make_incidents(3)

    response = client.get("/incidents/")

    assert not response.context["found"].estimated
    assert "3 incidents<" in response.content.decode()
    assert "estimated" not in response.content.decode()


def test_past_the_limit_the_count_says_it_is_an_estimate_and_pages_reach_the_first_results(
    client, make_incidents, provider, monkeypatch
):
    monkeypatch.setattr(results, "LIMIT", 3)
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    make_incidents(5)

    response = client.get("/incidents/", {"page": "99"})

    html = response.content.decode()
    found = response.context["found"]
    assert found.estimated
    # SQLite has no planner estimate to give; PostgreSQL's is shown when it is above the limit.
    assert re.search(r"(More than 3 incidents|About [\d,]+ incidents \(estimated\)), page 2", html)
    assert "More than 3 found, so the number is estimated" in html
    # The pages reach the first three, newest first; a later page number gives the last of them.
    assert [incident.slug for incident in response.context["page"]] == ["incident-3"]
    assert response.context["page"].paginator.num_pages == 2
    # The facets count the newest three, and say so.
    facets = dict(response.context["facets"])
    assert [(title, count) for title, count, _, _ in facets["Provider"]] == [(provider.name, 3)]
    assert "How many of the newest 3 incidents found" in html


def test_a_search_past_the_limit_lists_its_matches_newest_first(
    client, make_incidents, monkeypatch
):
    incidents = make_incidents(3)
    last = incidents[-1]
    last.title = "Incident incident incident"
    last.save()
    search.update_index([last.pk])
    ranked = client.get("/incidents/", {"q": "incident"})
    monkeypatch.setattr(results, "LIMIT", 2)

    newest = client.get("/incidents/", {"q": "incident", "sort": "relevance"})  # not cached

    assert ranked.context["page"][0].slug == "incident-3"  # the title weighs most
    assert [incident.slug for incident in newest.context["page"]] == ["incident-1", "incident-2"]
    assert "Too many matches to rank by relevance" in newest.content.decode()


@pytest.mark.parametrize(
    ("count", "estimated", "words"),
    [
        (1, False, "1 incident"),
        (1000, False, "1,000 incidents"),
        (61234, True, "about 61,000 incidents (estimated)"),
        (1049, True, "about 1,000 incidents (estimated)"),
        (0, True, "more than 1,000 incidents"),
    ],
)
def test_counts_are_written_one_way(count, estimated, words):
    assert results.Found(rows=[], count=count, estimated=estimated).words() == words


@pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="SQLite sorts NULLs last in DESC already"
)
def test_postgresql_reads_the_list_newest_first_from_an_index(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'incident_published_order'"
        )
        (definition,) = cursor.fetchone()
    assert "(status, started_at DESC NULLS LAST, slug)" in definition
