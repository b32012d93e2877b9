"""The 404 and 500 pages readers see, with DEBUG on (`make run`) as in production, and the
favicon every browser asks for."""

import re

import pytest
from django.test import Client

from outages.web import views

# What a reader must never see: Django's debug pages list the URL patterns and the settings.
DEBUG_PAGE_MARKS = ["URLconf", "DEBUG = True", "Traceback", "technical_404", "Request Method"]


def alternate_links(html):
    return re.findall(r'<link rel="alternate"[^>]*>', html) + re.findall(
        r'<a href="[^"]*" type="application/(?:json|atom\+xml|rss\+xml)"', html
    )


@pytest.fixture
def debug_on(settings):
    settings.DEBUG = True


@pytest.mark.parametrize(
    "url",
    [
        "/no-such-page/",  # no URL pattern matches
        "/providers/no-such-provider/",  # a view finds no row
        "/incidents/no-such-incident/",
    ],
)
def test_a_reader_gets_the_sites_own_404_under_debug(client, db, debug_on, url):
    response = client.get(url)
    html = response.content.decode()

    assert response.status_code == 404
    assert "<h1>Page not found</h1>" in html
    assert '<nav aria-label="Main">' in html
    for mark in DEBUG_PAGE_MARKS:
        assert mark not in html


@pytest.mark.parametrize("debug", [True, False])
def test_the_404_page_offers_no_feed_or_json(client, db, settings, debug):
    # The provider route would otherwise point its JSON and feeds at a provider that is not there.
    settings.DEBUG = debug

    html = client.get("/providers/no-such-provider/").content.decode()

    assert "<h1>Page not found</h1>" in html
    assert alternate_links(html) == []
    assert "as JSON" not in html


def test_a_withdrawn_incident_offers_no_feed_or_json(client, incident):
    incident.status = incident.Status.WITHDRAWN
    incident.withdrawn_reason = "Duplicate."
    incident.save()

    response = client.get(incident.get_absolute_url())

    assert response.status_code == 410
    assert alternate_links(response.content.decode()) == []


def test_a_page_that_exists_still_offers_its_feeds_and_json(client, incident, provider):
    response = client.get(provider.get_absolute_url())  # public: a published incident names it
    html = response.content.decode()

    assert response.status_code == 200

    assert len(alternate_links(html)) == 6  # Atom, RSS and JSON, in the head and as links


def test_staff_keep_djangos_debug_404(admin_client, debug_on):
    html = admin_client.get("/no-such-page/").content.decode()

    assert "URLconf" in html


def test_a_missing_slash_is_still_added_under_debug(client, provider, debug_on):
    response = client.get(provider.get_absolute_url().rstrip("/"))

    assert response.status_code == 301
    assert response["Location"] == provider.get_absolute_url()


@pytest.fixture
def broken_provider_list(monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("the provider list broke")

    monkeypatch.setattr(views, "paginate", fail)


def test_a_reader_gets_the_sites_own_500_under_debug(db, debug_on, broken_provider_list, caplog):
    response = Client(raise_request_exception=False).get("/providers/")
    html = response.content.decode()

    assert response.status_code == 500
    assert "Something went wrong on our side" in html
    assert "the provider list broke" not in html
    # The developer still finds the traceback in the log.
    logged = [record for record in caplog.records if record.name == "django.request"]
    assert logged and logged[0].exc_info[1].args == ("the provider list broke",)


def test_staff_keep_djangos_debug_500(admin_user, debug_on, broken_provider_list):
    client = Client(raise_request_exception=False)
    client.force_login(admin_user)

    response = client.get("/providers/")

    assert response.status_code == 500
    assert "the provider list broke" in response.content.decode()


def test_favicon_is_linked_and_favicon_ico_leads_to_it(client, db):
    html = client.get("/").content.decode()
    icon = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', html)

    redirect = client.get("/favicon.ico")
    served = client.get(icon[1])

    assert redirect.status_code == 302
    assert redirect["Location"] == icon[1]
    assert served.status_code == 200
    assert served["Content-Type"] == "image/svg+xml"
    assert b"<script" not in b"".join(served.streaming_content)
