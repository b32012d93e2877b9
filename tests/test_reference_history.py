"""Reference rows (provider, service, region, customer, source) have history like incidents:
every admin save is a revision with who and what, two revisions can be compared, and an old
one restored as a new revision, with search and cached pages following."""

import pytest
from django.urls import reverse

from outages import page_cache, revisions
from outages.models import Customer, Incident, Provider, Region, SearchDocument, Service, Source
from tests.test_import import NEW_INCIDENT, run, write
from tests.test_search import admin_form_data

MODELS = [Provider, Service, Region, Customer, Source]
RENAMED = {Provider: "name", Service: "name", Region: "name", Customer: "name", Source: "title"}


def url(obj, view, *args):
    return reverse(f"admin:outages_{obj._meta.model_name}_{view}", args=[obj.pk, *args])


def save(client, obj, **changes):
    data = admin_form_data(client.get(url(obj, "change")))
    data.update(changes)
    response = client.post(url(obj, "change"), data)
    assert response.status_code == 302, response.context and response.context["errors"]


@pytest.fixture
def row(request, incident):
    """The reference row of `incident` of the model in the test's parameter."""
    return request.param.objects.get()


def renamed(client, obj):
    """Save the row as it is, then with a new name; returns the old name."""
    name = RENAMED[type(obj)]
    old = getattr(obj, name)
    save(client, obj)
    save(client, obj, **{name: "Renamed by an editor"})
    return old


@pytest.mark.parametrize("row", MODELS, indirect=True)
def test_each_admin_save_of_a_reference_row_is_a_revision(admin_client, admin_user, row):
    renamed(admin_client, row)

    stored = list(revisions.versions(row))
    assert len(stored) == 2
    assert stored[0].revision.user == admin_user
    assert RENAMED[type(row)].capitalize() in revisions.comment_text(stored[0].revision.comment)


@pytest.mark.parametrize("row", MODELS, indirect=True)
def test_history_compares_two_revisions_of_a_reference_row(admin_client, row):
    old = renamed(admin_client, row)

    page = admin_client.get(url(row, "history")).content.decode()
    assert 'name="from"' in page and url(row, "compare") in page
    newer, older = revisions.versions(row)
    compare = admin_client.get(url(row, "compare"), {"from": older.pk, "to": newer.pk})

    html = compare.content.decode()
    assert compare.status_code == 200
    assert f"<del>{old}</del>" in html
    assert "<ins>Renamed by an editor</ins>" in html
    assert "Timeline, impacts" not in html


@pytest.mark.parametrize("row", MODELS, indirect=True)
def test_restoring_a_reference_row_is_a_new_revision_and_search_follows(
    admin_client, admin_user, row, incident
):
    old = renamed(admin_client, row)
    older = revisions.versions(row).last()
    version = page_cache._versions([page_cache.SITE])

    response = admin_client.post(url(row, "restore", older.pk))

    assert response.status_code == 302
    row.refresh_from_db()
    assert getattr(row, RENAMED[type(row)]) == old
    newest = revisions.versions(row).first()
    assert newest.revision.comment.startswith("Restored the revision of")
    assert newest.revision.user == admin_user
    assert revisions.versions(row).count() == 3
    document = SearchDocument.objects.get(incident=incident)
    assert "Renamed by an editor" not in f"{document.names} {document.sources}"
    assert page_cache._versions([page_cache.SITE]) != version  # every cached page dropped


def test_the_search_index_shows_a_renamed_reference_row(admin_client, incident):
    save(admin_client, Source.objects.get(), title="Renamed by an editor")

    assert "Renamed by an editor" in SearchDocument.objects.get(incident=incident).sources


def test_restoring_needs_post_and_change_permission(
    client, admin_client, incident, django_user_model
):
    source = Source.objects.get()
    renamed(admin_client, source)
    restore = url(source, "restore", revisions.versions(source).last().pk)
    reader = django_user_model.objects.create_user("reader", password="x", is_staff=True)

    assert admin_client.get(restore).status_code == 405
    client.force_login(reader)
    assert client.post(restore).status_code == 403
    assert Source.objects.get().title == "Renamed by an editor"


def test_restoring_an_imported_row_brings_back_that_row_only(admin_client, db, tmp_path):
    run("import_incidents", write(tmp_path, NEW_INCIDENT))
    changed = NEW_INCIDENT.replace("title: Storage incident", "title: Changed").replace(
        "name: Example Cloud", "name: Example Cloud Inc."
    )
    run("import_incidents", write(tmp_path, changed, "changed.yaml"), "--update-references")
    source, provider = Source.objects.get(), Provider.objects.get()
    imported = revisions.versions(source).last()
    assert (
        revisions.versions(source).first().revision == revisions.versions(provider).first().revision
    )

    admin_client.post(url(source, "restore", imported.pk))

    assert Source.objects.get().title == "Storage incident"
    assert Provider.objects.get().name == "Example Cloud Inc."  # in the same revision, kept


def test_old_revisions_naming_a_server_path_show_the_file_name(db):
    old = "Imported from /srv/uploads/tmp/elb.yaml"
    assert revisions.comment_text(old) == "Imported from elb.yaml"
    assert revisions.comment_text("Imported from elb.yaml") == "Imported from elb.yaml"


def test_the_public_change_log_names_the_imported_file_never_its_folder(client, db, tmp_path):
    run("import_incidents", write(tmp_path, NEW_INCIDENT), "--publish")
    changed = NEW_INCIDENT.replace("Storage is back.", "Storage is fully back.")
    path = write(tmp_path, changed, "changed.yaml")
    run("import_incidents", path)
    incident = Incident.objects.get()
    latest = revisions.versions(incident).first().revision
    assert latest.comment == "Imported from changed.yaml"
    latest.comment = f"Imported from {path}"  # as imports recorded it before
    latest.save()

    html = client.get(incident.get_absolute_url()).content.decode()

    assert "Imported from changed.yaml" in html
    assert str(tmp_path) not in html
