"""Status pages in the admin: Publishers configure them (each change kept in history) and sync
them now, as themselves; Editors see them and their last result but may not sync or edit.
And `sync_status_pages` syncs every enabled page, past failures, one line each."""

import json
from io import StringIO

import pytest
from django.contrib.messages import get_messages
from django.core.management import CommandError, call_command
from django.urls import reverse
from reversion.models import Version
from werkzeug import Response

from outages.models import Incident, StatusPage
from tests.test_reference_roles import editor, publisher  # noqa: F401 (fixtures)
from tests.test_sync import PATH, Served, counts, recorded


@pytest.fixture
def status_page(httpserver, fetch_locally, provider):
    served = Served(httpserver, recorded("sync_statuspage.json"))
    return StatusPage.objects.create(provider=provider, format="statuspage", url=served.url)


def sync_url(page):
    return reverse("admin:outages_statuspage_sync", args=[page.pk])


def test_a_publisher_syncs_now_from_the_change_page(client, publisher, status_page):  # noqa: F811
    client.force_login(publisher)
    change = reverse("admin:outages_statuspage_change", args=[status_page.pk])
    assert "Sync now" in client.get(change).content.decode()

    response = client.post(sync_url(status_page))

    assert response.status_code == 302
    assert [str(m) for m in get_messages(response.wsgi_request)][0].startswith("localhost: 3")
    assert Incident.objects.filter(status=Incident.Status.DRAFT).count() == 3
    status_page.refresh_from_db()
    assert status_page.last_ok is True
    page = client.get(change).content.decode()
    assert status_page.last_result in page  # in full


def test_a_publisher_syncs_with_the_list_action(client, publisher, status_page):  # noqa: F811
    client.force_login(publisher)
    changelist = reverse("admin:outages_statuspage_changelist")

    client.post(changelist, {"action": "sync_now", "_selected_action": [status_page.pk]})

    assert Incident.objects.count() == 3
    listed = client.get(changelist).content.decode()
    assert "OK" in listed and "3 incidents read" in listed


def test_a_failure_is_shown_as_a_message_and_in_the_list(
    client,
    publisher,  # noqa: F811
    httpserver,
    fetch_locally,
    provider,
):
    httpserver.expect_request("/broken.json").respond_with_response(
        Response("<html>down</html>", content_type="text/html")
    )
    page = StatusPage.objects.create(
        provider=provider, format="statuspage", url=httpserver.url_for("/broken.json")
    )
    client.force_login(publisher)

    response = client.post(sync_url(page))

    message = [str(m) for m in get_messages(response.wsgi_request)][0]
    assert message.startswith("Sync failed: ") and "text/html" in message
    listed = client.get(reverse("admin:outages_statuspage_changelist")).content.decode()
    assert "failed" in listed


def test_an_editor_sees_status_pages_but_may_not_sync_them(client, editor, status_page):  # noqa: F811
    client.force_login(editor)
    change = reverse("admin:outages_statuspage_change", args=[status_page.pk])
    assert client.get(change).status_code == 200
    assert "Sync now" not in client.get(change).content.decode()
    before = counts()

    assert client.post(sync_url(status_page)).status_code == 403
    client.post(
        reverse("admin:outages_statuspage_changelist"),
        {"action": "sync_now", "_selected_action": [status_page.pk]},
    )

    assert counts() == before
    status_page.refresh_from_db()
    assert status_page.last_fetched_at is None


@pytest.mark.parametrize("odd", ["abc", "99999", "1%2F2", "²"])
def test_syncing_a_page_that_is_not_there_is_not_found(client, publisher, odd):  # noqa: F811
    client.force_login(publisher)

    assert client.post(f"/admin/outages/statuspage/{odd}/sync/").status_code == 404


def test_configuration_changes_are_kept_in_history(client, publisher, status_page):  # noqa: F811
    client.force_login(publisher)
    change = reverse("admin:outages_statuspage_change", args=[status_page.pk])
    data = {
        "provider": status_page.provider_id,
        "format": "statuspage",
        "url": status_page.url,
        "enabled": "",
    }

    response = client.post(change, data)

    assert response.status_code == 302
    status_page.refresh_from_db()
    assert status_page.enabled is False
    assert Version.objects.get_for_object(status_page).count() == 1


def test_sync_status_pages_syncs_every_enabled_page_past_failures(
    httpserver, fetch_locally, provider
):
    good = Served(httpserver, recorded("sync_statuspage.json"))
    httpserver.expect_request("/broken.json").respond_with_response(
        Response(json.dumps({"nothing": []}), content_type="application/json")
    )
    off = Served(httpserver, recorded("sync_statuspage.json"), path="/off.json")
    pages = [
        StatusPage.objects.create(provider=provider, format="statuspage", url=url, enabled=on)
        for url, on in [
            (httpserver.url_for("/broken.json"), True),
            (good.url, True),
            (off.url, False),
        ]
    ]
    out, err = StringIO(), StringIO()

    with pytest.raises(CommandError, match="1 of 2 status pages failed"):
        call_command("sync_status_pages", stdout=out, stderr=err)

    assert "localhost: 3 incidents read; 3 new drafts" in out.getvalue()
    assert "Failed: " in err.getvalue()
    assert off.requests == 0
    for page in pages:
        page.refresh_from_db()
    assert [page.last_ok for page in pages] == [False, True, None]
    assert Incident.objects.count() == 3


def test_the_page_address_is_what_a_command_records_its_result_on(
    httpserver,
    fetch_locally,
    provider,
):
    served = Served(httpserver, recorded("sync_statuspage.json"), path=PATH)
    page = StatusPage.objects.create(provider=provider, format="statuspage", url=served.url)
    call_command(
        "sync_status_page", "--provider", "example-cloud", "--format", "statuspage", served.url,
        stdout=StringIO(),
    )  # fmt: skip
    page.refresh_from_db()
    assert page.last_ok is True and "3 new drafts" in page.last_result
