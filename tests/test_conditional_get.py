"""Pages answer conditional GET: an unchanged page is a 304 with no body."""

import pytest

from outages import page_cache

PAGES = ["/", "/incidents/", "/incidents/?q=incident", "/providers/", "/customers/"]


@pytest.fixture
def pages(incident, provider, service, region, customer):
    return [
        *PAGES,
        incident.get_absolute_url(),
        provider.get_absolute_url(),
        service.get_absolute_url(),
        region.get_absolute_url(),
        customer.get_absolute_url(),
    ]


def test_pages_carry_an_etag_and_answer_304_when_unchanged(client, pages):
    for url in pages:
        first = client.get(url)
        assert first.status_code == 200, url
        etag = first.headers["ETag"]

        again = client.get(url, headers={"If-None-Match": etag})

        assert again.status_code == 304, url
        assert again.content == b""


def test_a_changed_incident_gets_a_new_etag(client, incident):
    url = incident.get_absolute_url()
    etag = client.get(url).headers["ETag"]
    with page_cache.changing([incident.pk]):  # as every writer does
        incident.title = "Renamed incident"
        incident.save()

    response = client.get(url, headers={"If-None-Match": etag})

    assert response.status_code == 200
    assert "Renamed incident" in response.content.decode()
