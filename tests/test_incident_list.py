import pytest

from outages.models import Incident
from outages.views import PAGE_SIZE


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
    # 1 count for the paginator, 2 the page of incidents with providers,
    # 3 their services with providers, 4 their regions with providers, 5 customers hit.
    with django_assert_num_queries(5):
        client.get("/incidents/")
