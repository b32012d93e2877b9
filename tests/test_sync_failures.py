"""A sync that fails says why, in the command's output and on the status page the admin shows,
and writes nothing: no incident, source, archived copy or revision."""

import json
import time

import pytest
from django.core.management import CommandError
from werkzeug import Response

from outages.models import StatusPage
from tests.test_sync import PATH, Served, counts, recorded, sync


@pytest.fixture
def configured(httpserver, fetch_locally, provider):
    """A status page on the tests' server, configured as the admin would, answering as each
    test says."""

    def configure(handler):
        httpserver.expect_request(PATH).respond_with_handler(handler)
        url = httpserver.url_for(PATH)
        return StatusPage.objects.create(provider=provider, format="statuspage", url=url)

    return configure


def fails_cleanly(page, *words):
    """Sync `page`: the command refuses with a message holding `words`, the page records the
    same message, and nothing else is written."""
    before = counts()
    with pytest.raises(CommandError) as refused:
        sync(page.url)
    message = str(refused.value)
    for word in words:
        assert word in message
    page.refresh_from_db()
    assert page.last_ok is False
    assert page.last_result == message
    assert counts() == before
    return message


def json_response(data):
    return Response(json.dumps(data), content_type="application/json")


def test_a_redirect_is_followed(httpserver, fetch_locally, provider):
    served = Served(httpserver, recorded("sync_statuspage.json"), path="/moved.json")
    httpserver.expect_request(PATH).respond_with_response(
        Response(status=301, headers={"Location": served.url})
    )

    assert "3 new drafts" in sync(httpserver.url_for(PATH))


def test_a_timeout(configured, settings):
    settings.FETCH_TIMEOUT = 0.2

    def slow(request):
        time.sleep(1)
        return json_response(recorded("sync_statuspage.json"))

    fails_cleanly(configured(slow), "did not answer within")


def test_an_oversized_body(configured, settings):
    settings.FETCH_MAX_BYTES = 1000
    fails_cleanly(configured(lambda request: json_response(recorded("sync_statuspage.json"))))


def test_html_where_json_was_expected(configured):
    page = configured(
        lambda request: Response("<html><p>Status</p></html>", content_type="text/html")
    )
    fails_cleanly(page, "text/html")


def test_invalid_json(configured):
    page = configured(lambda request: Response('{"incidents": [', content_type="application/json"))
    fails_cleanly(page, "JSON")


def test_a_private_address_is_refused_unless_allowed(configured, settings):
    page = configured(lambda request: json_response(recorded("sync_statuspage.json")))
    settings.FETCH_ALLOW_PRIVATE = False
    fails_cleanly(page, "127.0.0.1")


def test_a_body_in_another_format(configured):
    fails_cleanly(configured(lambda request: json_response({"components": []})), "Statuspage")


def test_an_incident_the_importer_refuses(configured):
    data = recorded("sync_statuspage.json")
    # A typo in the year, as the importer refuses from any document.
    for update in data["incidents"][0]["incident_updates"]:
        update["created_at"] = update["display_at"] = "2096-11-03T06:00:00.000Z"
    data["incidents"][0]["created_at"] = data["incidents"][0]["started_at"] = (
        "2096-11-03T06:00:00.000Z"
    )
    message = fails_cleanly(configured(lambda request: json_response(data)), "nothing was written")
    assert "Test incident: elevated API errors again" in message  # which provider incident


def test_an_unknown_provider(httpserver, fetch_locally, provider):
    served = Served(httpserver, recorded("sync_statuspage.json"))
    before = counts()
    with pytest.raises(CommandError, match="no provider “nobody”"):
        sync(served.url, "nobody")
    assert counts() == before and served.requests == 0


def test_a_fault_of_ours_is_a_failure_like_the_others(configured, monkeypatch):
    def broken(*args, **kwargs):
        raise KeyError("components")

    monkeypatch.setattr("outages.interchange.sync_plan.mapping.to_document", broken)
    page = configured(lambda request: json_response(recorded("sync_statuspage.json")))
    fails_cleanly(page, "failed unexpectedly (KeyError", "nothing was written")


def test_one_unreadable_incident_is_left_out_and_said_the_others_are_synced(
    httpserver, fetch_locally, provider
):
    """One broken provider incident must not stop every later sync of its page."""
    data = recorded("sync_statuspage.json")
    data["incidents"][0]["created_at"] = "yesterday"
    data["incidents"][1]["shortlink"] = "javascript:alert(1)"
    page = Served(httpserver, data)

    output = sync(page.url)

    assert "3 incidents read; 1 new draft" in output
    assert (
        "Left out, as they cannot be read: incident sync0003 created_at: “yesterday” is not a"
        in (output)
    )
    assert "incident sync0002: “javascript:alert(1)” is not a web address" in output


def test_a_history_none_of_whose_incidents_can_be_read_fails_whole(
    httpserver, fetch_locally, provider
):
    data = recorded("sync_statuspage.json")
    for incident in data["incidents"]:
        incident["created_at"] = "yesterday"
    page = Served(httpserver, data)
    before = counts()

    with pytest.raises(CommandError, match="created_at: “yesterday” is not a time"):
        sync(page.url)

    assert counts() == before
