"""Readers never see unpublished work: not on a page, feed, search, sitemap or API response."""

import pytest

from outages.models import Incident
from outages.search import update_index

HIDDEN = ["draft", "review", "withdrawn"]


@pytest.fixture
def doors(provider, service, region, customer):
    """Every public URL that lists or shows incidents."""
    return [
        "/",
        "/incidents/",
        "/incidents/?q=secret",
        f"/incidents/?provider={provider.slug}",
        provider.get_absolute_url(),
        service.get_absolute_url(),
        region.get_absolute_url(),
        customer.get_absolute_url(),
        "/customers/",
        "/providers/",
        "/incidents/feed.atom",
        "/incidents/feed.rss",
        "/incidents/feed.atom?q=secret",
        f"{provider.get_absolute_url()}feed.atom",
        f"{service.get_absolute_url()}feed.rss",
        f"{region.get_absolute_url()}feed.atom",
        f"{customer.get_absolute_url()}feed.atom",
        "/sitemap.xml",
        "/api/v1/incidents/",
        "/api/v1/incidents/?q=secret",
        f"/api/v1/providers/{provider.slug}/",
        f"/api/v1/customers/{customer.slug}/",
    ]


@pytest.mark.parametrize("status", HIDDEN)
def test_unpublished_incidents_are_behind_no_public_door(client, make_incidents, doors, status):
    published, hidden = make_incidents(2)
    Incident.objects.filter(pk=hidden.pk).update(
        status=status, title="Secret unpublished incident", slug="secret-unpublished"
    )
    update_index([hidden.pk])

    for url in doors:
        body = client.get(url).content.decode()
        assert "Secret unpublished" not in body, url
        assert "secret-unpublished" not in body, url
    expected = 410 if status == "withdrawn" else 404
    assert client.get("/incidents/secret-unpublished/").status_code == expected
    assert client.get("/api/v1/incidents/secret-unpublished/").status_code == 404
    assert client.get("/incidents/secret-unpublished/postmortem.md").status_code == 404


@pytest.mark.parametrize("status", HIDDEN)
def test_staff_preview_shows_a_banner(admin_client, incident, status):
    Incident.objects.filter(pk=incident.pk).update(status=status)

    response = admin_client.get(incident.get_absolute_url())

    assert response.status_code == 200
    assert "not public" in response.content.decode()
    assert "no-store" in response.headers["Cache-Control"]
