"""Roles hold in imports as in the admin: an Editor's import may create drafts and change drafts
or incidents in review; a change to a published or withdrawn incident, publishing, and writing
over stored reference rows are for Publishers. The command acts with publisher rights."""

import html

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from outages import revisions
from outages.interchange.documents import ImportFailed, read
from outages.interchange.importing import Importer
from outages.models import Incident, Source
from tests.test_import import NEW_INCIDENT, run, write
from tests.test_import_speed import many
from tests.test_workflow import editor, publisher  # noqa: F401 (fixtures)

URL = reverse("admin:outages_incident_import")
CHANGED = NEW_INCIDENT.replace("Example Cloud outage", "Example Cloud storage outage")


def document(text, name="incident.yaml"):
    found, problems = read(name, text.encode())
    assert problems == []
    return found


def set_status(status, slug="example-outage-2020-01-01"):
    Incident.objects.filter(slug=slug).update(status=status)


@pytest.fixture
def imported(db, tmp_path):
    run("import_incidents", write(tmp_path, NEW_INCIDENT))
    return Incident.objects.get()


def upload(client, text, **fields):
    check = client.post(URL, {"file": SimpleUploadedFile("incident.yaml", text.encode()), **fields})
    if check.context is None or check.context["report"] is None:
        return check
    return client.post(URL, {"confirm": "1", "digest": check.context["upload"]["digest"]})


# --- The Importer and the command ---------------------------------------------------------------


def test_an_editor_creates_drafts(db, editor):  # noqa: F811
    report = Importer(user=editor).run([document(NEW_INCIDENT)])

    assert report.count("created") == 1
    assert Incident.objects.get().status == Incident.Status.DRAFT


@pytest.mark.parametrize("status", [Incident.Status.DRAFT, Incident.Status.REVIEW])
def test_an_editor_changes_drafts_and_incidents_in_review(imported, editor, status):  # noqa: F811
    set_status(status)

    report = Importer(user=editor).run([document(CHANGED)])

    assert report.count("updated") == 1
    assert Incident.objects.get().title == "Example Cloud storage outage"


@pytest.mark.parametrize("status", [Incident.Status.PUBLISHED, Incident.Status.WITHDRAWN])
def test_an_editor_may_not_change_what_readers_see(imported, editor, status):  # noqa: F811
    set_status(status)

    with pytest.raises(ImportFailed) as failure:
        Importer(user=editor).run([document(CHANGED)])

    [problem] = failure.value.problems
    assert str(problem) == (
        "incident.yaml: only publishers may change published or withdrawn incidents; this "
        "import would change 1: example-outage-2020-01-01 “Example Cloud outage” "
        "(incident.yaml:2)"
    )
    assert Incident.objects.get().title == "Example Cloud outage"


def test_one_message_names_every_published_incident_an_editor_would_change(
    db,
    tmp_path,
    editor,  # noqa: F811
):
    text = many(3)
    run("import_incidents", write(tmp_path, text), "--publish")
    set_status(Incident.Status.DRAFT, slug="example-outage-1")

    with pytest.raises(ImportFailed) as failure:
        Importer(user=editor).run([document(text.replace("Storage is back.", "Back."))])

    [problem] = failure.value.problems
    assert "this import would change 2: example-outage-0 “Example Cloud outage number 0”" in str(
        problem
    )
    assert "; example-outage-2 “Example Cloud outage number 2”" in str(problem)
    assert "example-outage-1" not in str(problem)


def test_an_unchanged_published_incident_is_no_change(imported, editor):  # noqa: F811
    set_status(Incident.Status.PUBLISHED)

    report = Importer(user=editor).run([document(NEW_INCIDENT)])

    assert report.count("unchanged") == 1


def test_an_editor_may_neither_publish_nor_update_references(db, editor):  # noqa: F811
    for options in [{"publish": True}, {"update_references": True}]:
        with pytest.raises(ImportFailed) as failure:
            Importer(user=editor, **options).run([document(NEW_INCIDENT)])

        assert "only publishers may" in str(failure.value.problems[0])
        assert Incident.objects.count() == 0


def test_the_command_acts_with_publisher_rights(imported, tmp_path):
    set_status(Incident.Status.PUBLISHED)

    output = run("import_incidents", write(tmp_path, CHANGED, "changed.yaml"))

    assert "1 updated" in output
    assert Incident.objects.get().title == "Example Cloud storage outage"


# --- The admin's import page ---------------------------------------------------------------------


@pytest.mark.parametrize("role", ["editor", "publisher"])
def test_both_roles_create_drafts_on_the_import_page(client, request, role):
    user = request.getfixturevalue(role)
    client.force_login(user)

    response = upload(client, NEW_INCIDENT)

    assert response.status_code == 302
    incident = Incident.objects.get()
    assert incident.status == Incident.Status.DRAFT
    revision = revisions.versions(incident).get().revision
    assert (revision.user, revision.comment) == (user, "Imported from incident.yaml")


def test_an_editor_cannot_change_a_published_incident_on_the_import_page(
    client,
    imported,
    editor,  # noqa: F811
):
    set_status(Incident.Status.PUBLISHED)
    client.force_login(editor)

    html = upload(client, CHANGED).content.decode()

    assert "nothing was written" in html
    assert "only publishers may change published or withdrawn incidents" in html
    assert "example-outage-2020-01-01 “Example Cloud outage”" in html
    assert Incident.objects.get().title == "Example Cloud outage"
    assert revisions.versions(imported).count() == 1


def test_a_publisher_changes_a_published_incident_with_a_revision(
    client,
    imported,
    publisher,  # noqa: F811
):
    set_status(Incident.Status.PUBLISHED)
    client.force_login(publisher)

    response = upload(client, CHANGED)

    assert response.status_code == 302
    incident = Incident.objects.get()
    assert incident.title == "Example Cloud storage outage"
    assert incident.status == Incident.Status.PUBLISHED
    newest = revisions.versions(incident).first()
    assert newest.revision.user == publisher
    assert newest.revision.comment == "Imported from incident.yaml"
    assert revisions.versions(incident).count() == 2


@pytest.mark.parametrize("checkbox", ["update_references", "publish"])
def test_only_publishers_see_the_checkboxes_only_they_may_tick(
    client,
    db,
    editor,  # noqa: F811
    publisher,  # noqa: F811
    checkbox,
):
    client.force_login(editor)
    assert f'name="{checkbox}"' not in client.get(URL).content.decode()
    client.force_login(publisher)
    assert f'name="{checkbox}"' in client.get(URL).content.decode()


def test_an_editor_posting_reference_updates_anyway_is_refused(
    client,
    imported,
    editor,  # noqa: F811
):
    client.force_login(editor)
    text = NEW_INCIDENT.replace("title: Storage incident", "title: Another title")

    html = upload(client, text, update_references="on").content.decode()

    assert "Only publishers may update stored reference rows." in html
    assert Source.objects.get().title == "Storage incident"


def test_a_publisher_updates_references_from_the_import_page(
    client,
    imported,
    publisher,  # noqa: F811
):
    client.force_login(publisher)
    text = NEW_INCIDENT.replace("title: Storage incident", "title: Another title")

    conflict = html.unescape(upload(client, text).content.decode())
    assert 'title "Storage incident" → "Another title"' in conflict
    response = upload(client, text, update_references="on")

    assert response.status_code == 302
    source = Source.objects.get()
    assert source.title == "Another title"
    newest = revisions.versions(source).first()
    assert (newest.revision.user, newest.revision.comment) == (
        publisher,
        "Imported from incident.yaml",
    )
