"""Fresh stored pages are answered by page_cache.ServeHits, before sessions, authentication and
the view, in one round trip to the cache, with the headers they always had."""

from unittest import mock

import pytest
from django.conf import settings as configured
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from outages import page_cache
from tests.test_page_cache import any_cache  # noqa: F401 (a fixture: local memory and Redis)

WITHOUT_SERVE_HITS = [name for name in configured.MIDDLEWARE if not name.endswith(".ServeHits")]
# Headers that differ between two answers for reasons other than where the hit was served.
PER_RESPONSE = {"Date"}


@pytest.fixture
def pages(incident, customer):
    return [
        "/",
        "/incidents/",
        "/incidents/?q=incident",
        incident.get_absolute_url(),
        customer.get_absolute_url(),
    ]


def test_hits_are_answered_before_sessions_and_the_view(client, pages):
    for url in pages:
        client.get(url)
        with mock.patch("outages.web.views.incident_list") as view:
            hit = client.get(url)
        assert hit["X-Page-Cache"] == "hit", url
        assert not hasattr(hit.wsgi_request, "session"), url  # SessionMiddleware never ran
        assert not hasattr(hit.wsgi_request, "user"), url
        view.assert_not_called()


def test_hits_carry_the_same_headers_as_when_the_view_served_them(client, settings, pages):
    settings.MIDDLEWARE = WITHOUT_SERVE_HITS
    without = Client()  # a client's handler reads MIDDLEWARE at its first request
    for url in pages:
        for accept in ({}, {"accept-encoding": "gzip"}):
            client.get(url, headers=accept)
            early = client.get(url, headers=accept)
            late = without.get(url, headers=accept)

            assert early["X-Page-Cache"] == late["X-Page-Cache"] == "hit", url
            assert hasattr(late.wsgi_request, "session")  # the view served this one
            assert early.content == late.content, url
            early_headers = {k: v for k, v in early.headers.items() if k not in PER_RESPONSE}
            late_headers = {k: v for k, v in late.headers.items() if k not in PER_RESPONSE}
            assert early_headers == late_headers, url
            for name in ("Content-Security-Policy", "X-Frame-Options", "Content-Length", "ETag"):
                assert name in early, (url, name)


def test_an_unchanged_hit_is_a_304(client, pages):
    for url in pages:
        etag = client.get(url)["ETag"]
        client.get(url)

        again = client.get(url, headers={"If-None-Match": etag})

        assert again.status_code == 304, url
        assert again.content == b""
        assert not hasattr(again.wsgi_request, "session")


@pytest.mark.usefixtures("any_cache")
def test_a_hit_is_one_round_trip_to_the_cache_and_no_query(client, incident):
    # The incident page adds tags of its own while it renders (its services, regions and
    # customers): the first hit fetches those in a second round trip, then they are known.
    url = incident.get_absolute_url()
    client.get(url)
    client.get(url)
    with (
        mock.patch.object(cache, "get_many", wraps=cache.get_many) as get_many,
        mock.patch.object(cache, "add", wraps=cache.add) as add,
        CaptureQueriesContext(connection) as queries,
    ):
        hit = client.get(url)

    assert hit["X-Page-Cache"] == "hit"
    assert get_many.call_count == 1
    assert add.call_count == 0
    assert len(queries) == 0


def test_a_remembered_tag_that_moved_still_misses(client, incident, service):
    url = incident.get_absolute_url()
    client.get(url)
    assert client.get(url)["X-Page-Cache"] == "hit"

    page_cache.bump([page_cache.service_tag(service.provider.slug, service.slug)])

    assert client.get(url)["X-Page-Cache"] == "miss"
    assert client.get(url)["X-Page-Cache"] == "hit"


def test_forgotten_tags_cost_a_second_round_trip_not_a_wrong_page(client, incident, service):
    url = incident.get_absolute_url()
    client.get(url)
    page_cache._seen_tags.clear()  # another process, or a full memory
    page_cache.bump([page_cache.service_tag(service.provider.slug, service.slug)])

    assert client.get(url)["X-Page-Cache"] == "miss"


def test_the_probes_and_editors_never_wait_on_the_cache(client, admin_client, incident):
    url = incident.get_absolute_url()
    client.get(url)
    with mock.patch.object(cache, "get_many", side_effect=AssertionError("cache used")):
        assert client.get("/healthz").status_code == 200
        assert client.get("/no-such-page/").status_code == 404
        editor = admin_client.get(url)
    assert editor.status_code == 200
    assert "X-Page-Cache" not in editor
    assert "no-store" in editor["Cache-Control"]
