"""The admin's import page: upload, check, see the dry run, confirm. Same code as the command."""

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from outages.models import Incident
from tests.test_import import NEW_INCIDENT
from tests.test_workflow import editor  # noqa: F401 (fixture)

URL = reverse("admin:outages_incident_import")


def upload(client, text, **fields):
    document = SimpleUploadedFile("incident.yaml", text.encode(), "application/yaml")
    return client.post(URL, {"file": document, **fields})


def test_upload_shows_the_dry_run_then_confirm_imports(admin_client):
    check = upload(admin_client, NEW_INCIDENT)

    html = check.content.decode()
    assert "Would import 1 incident: 1 created" in html
    assert "timeline event 1: created" in html
    assert Incident.objects.count() == 0

    digest = check.context["upload"]["digest"]
    done = admin_client.post(URL, {"confirm": "1", "digest": digest})

    assert done.status_code == 302
    incident = Incident.objects.get()
    assert incident.status == Incident.Status.DRAFT
    assert incident.events.count() == 2


def test_problems_are_listed_and_nothing_is_written(admin_client):
    broken = NEW_INCIDENT.replace("kind: trigger", "kind: triger").replace("  summary:", "  sumry:")

    html = upload(admin_client, broken).content.decode()

    assert "nothing was written" in html
    assert "incidents[0].timeline[0].kind" in html
    assert "incidents[0].sumry: unknown field" in html
    assert Incident.objects.count() == 0


def test_a_stale_confirmation_does_nothing(admin_client):
    upload(admin_client, NEW_INCIDENT)

    response = admin_client.post(URL, {"confirm": "1", "digest": "not-the-digest"})

    assert response.status_code == 200
    assert Incident.objects.count() == 0


def test_editors_import_drafts_but_cannot_publish(client, editor):  # noqa: F811
    client.force_login(editor)

    html = upload(client, NEW_INCIDENT, publish="on").content.decode()

    assert "Only publishers may import incidents as published." in html


def test_readers_cannot_reach_the_import_page(client, db):
    assert client.get(URL).status_code == 302
