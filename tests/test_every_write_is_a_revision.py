"""Every path that writes content records a revision of each incident and reference row it
writes, with who and why: nothing changes without a trace.

Each write path below sets up what it needs and returns a function that performs the write and
returns the rows it wrote; the test asserts each of them has a revision made by that write. A
new write path belongs in WRITE_PATHS."""

import json
from glob import glob

import pytest
from django.core.management import call_command
from django.urls import reverse
from reversion.models import Revision, Version

from outages import revisions, workflow
from outages.models import Customer, Incident, Provider, Region, Service, Source
from tests.test_admin_import import upload
from tests.test_import import NEW_INCIDENT, run, write
from tests.test_import_speed import many
from tests.test_search import admin_form_data

REFERENCE_MODELS = [Provider, Service, Region, Customer, Source]


def admin_save(client, obj, **changes):
    change = reverse(f"admin:outages_{obj._meta.model_name}_change", args=[obj.pk])
    data = admin_form_data(client.get(change))
    data.update(changes)
    response = client.post(change, data)
    assert response.status_code == 302, response.context and response.context["errors"]


def every_row():
    return [row for model in [Incident, *REFERENCE_MODELS] for row in model.objects.all()]


# --- The write paths ----------------------------------------------------------------------------


def admin_change_of_an_incident(ctx):
    def write():
        admin_save(ctx.client, ctx.incident, summary="Changed in the admin.")
        return [ctx.incident]

    return write


def admin_change_of_a_reference_row(model):
    def path(ctx):
        row = model.objects.get()
        name = "title" if model is Source else "name"

        def write():
            admin_save(ctx.client, row, **{name: "Changed in the admin"})
            return [row]

        return write

    path.__name__ = f"admin_change_of_a_{model._meta.model_name}"
    return path


def admin_import(ctx):
    Incident.objects.all().delete()
    for model in REFERENCE_MODELS[::-1]:
        model.objects.all().delete()

    def write():
        check = upload(ctx.client, NEW_INCIDENT)
        digest = check.context["upload"]["digest"]
        confirmed = ctx.client.post(ctx.import_url, {"confirm": "1", "digest": digest})
        assert confirmed.status_code == 302
        return every_row()

    return write


def import_incidents(ctx):
    ctx.by_command = True
    before = set(every_row())

    def write():
        run("import_incidents", write_file(ctx, NEW_INCIDENT))
        return [row for row in every_row() if row not in before]

    return write


def import_incidents_in_bulk(ctx):
    ctx.by_command = True
    before = set(every_row())

    def write():
        run("import_incidents", write_file(ctx, many(3)))
        return [row for row in every_row() if row not in before]

    return write


def import_incidents_changing_incidents_and_references(ctx):
    ctx.by_command = True
    run("import_incidents", write_file(ctx, many(3), "first.yaml"), "--publish")
    changed = (
        many(3)
        .replace("Storage is back.", "Back.")
        .replace("title: Storage incident", "title: Changed")
    )

    def write():
        run("import_incidents", write_file(ctx, changed, "changed.yaml"), "--update-references")
        return list(Incident.objects.filter(slug__startswith="example-outage-")) + list(
            Source.objects.filter(title="Changed")
        )

    return write


def empty_database():
    Incident.objects.all().delete()
    for model in REFERENCE_MODELS[::-1]:
        model.objects.all().delete()


def load_fixtures_into_an_empty_database(ctx):
    ctx.by_command = True
    empty_database()

    def write():
        call_command("load_fixtures", *sorted(glob("fixtures/*.json")), verbosity=0)
        return every_row()

    return write


def load_fixtures_updating_incidents_and_references(ctx):
    ctx.by_command = True
    empty_database()
    call_command("load_fixtures", *sorted(glob("fixtures/*.json")), verbosity=0)
    with open("fixtures/aws-elb-us-east-2012-12-24.json", encoding="utf-8") as file:
        objects = json.load(file)
    for obj in objects:
        if obj["model"] in {"outages.incident", "outages.source"}:
            obj["fields"]["title"] = "Changed by a fixture"
    changed = ctx.tmp_path / "elb.json"
    changed.write_text(json.dumps(objects), encoding="utf-8")

    def write():
        call_command("load_fixtures", str(changed), "--update", "--update-references", verbosity=0)
        return list(Incident.objects.filter(title="Changed by a fixture")) + list(
            Source.objects.filter(title="Changed by a fixture")
        )

    return write


def restore_of_an_incident(ctx):
    admin_save(ctx.client, ctx.incident, summary="Changed in the admin.")
    older = revisions.versions(ctx.incident).last()

    def write():
        url = reverse("admin:outages_incident_restore", args=[ctx.incident.pk, older.pk])
        assert ctx.client.post(url).status_code == 302
        return [ctx.incident]

    return write


def restore_of_a_reference_row(ctx):
    source = Source.objects.get()
    admin_save(ctx.client, source, title="Changed in the admin")
    older = revisions.versions(source).last()

    def write():
        url = reverse("admin:outages_source_restore", args=[source.pk, older.pk])
        assert ctx.client.post(url).status_code == 302
        return [source]

    return write


def recovery_of_a_deleted_incident(ctx):
    admin_save(ctx.client, ctx.incident)
    pk = ctx.incident.pk
    ctx.incident.delete()
    version = Version.objects.get_deleted(Incident).get(object_id=str(pk))

    def write():
        url = reverse("admin:outages_incident_recover", args=[version.pk])
        data = admin_form_data(ctx.client.get(url))
        assert ctx.client.post(url, data).status_code == 302
        return [Incident.objects.get(pk=pk)]

    return write


def recovery_of_a_deleted_reference_row(ctx):
    source = Source.objects.create(
        title="Unused", publisher="Nobody", url="https://example.com/unused", kind="other"
    )
    admin_save(ctx.client, source)
    pk = source.pk
    source.delete()
    version = Version.objects.get_deleted(Source).get(object_id=str(pk))

    def write():
        url = reverse("admin:outages_source_recover", args=[version.pk])
        data = admin_form_data(ctx.client.get(url))
        assert ctx.client.post(url, data).status_code == 302
        return [Source.objects.get(pk=pk)]

    return write


def workflow_transition(ctx):
    def write():
        workflow.apply(ctx.incident, "withdraw", ctx.user, reason="Taken down for a test.")
        return [ctx.incident]

    return write


WRITE_PATHS = [
    admin_change_of_an_incident,
    *[admin_change_of_a_reference_row(model) for model in REFERENCE_MODELS],
    admin_import,
    import_incidents,
    import_incidents_in_bulk,
    import_incidents_changing_incidents_and_references,
    load_fixtures_into_an_empty_database,
    load_fixtures_updating_incidents_and_references,
    restore_of_an_incident,
    restore_of_a_reference_row,
    recovery_of_a_deleted_incident,
    recovery_of_a_deleted_reference_row,
    workflow_transition,
]


def write_file(ctx, text, name="incident.yaml"):
    return write(ctx.tmp_path, text, name)


class Context:
    def __init__(self, client, user, incident, tmp_path):
        self.client, self.user, self.incident, self.tmp_path = client, user, incident, tmp_path
        self.import_url = reverse("admin:outages_incident_import")
        self.by_command = False  # the command acts for no user (an operator)


@pytest.mark.parametrize("path", WRITE_PATHS, ids=lambda path: path.__name__)
def test_every_write_path_records_a_revision_of_each_row_it_writes(
    admin_client, admin_user, incident, tmp_path, path
):
    ctx = Context(admin_client, admin_user, incident, tmp_path)
    write = path(ctx)
    last = Revision.objects.order_by("-pk").values_list("pk", flat=True).first() or 0

    written = write()

    assert written
    for row in written:
        made = revisions.versions(row).filter(revision_id__gt=last)
        assert made.exists(), f"{type(row).__name__} {row} was written without a revision"
        assert all(version.revision.comment for version in made), row  # why
        if not ctx.by_command:
            assert all(version.revision.user == admin_user for version in made), row  # who
