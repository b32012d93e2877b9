"""import_incidents at scale: new incidents written in bulk and stored ones read up front must
give exactly what the slow way gives (row by row); revisions hold what reversion would store.
The quick schema check has its own tests (test_import_quick_schema.py). None of them measures
time."""

import json
import threading
from datetime import date, timedelta
from pathlib import Path

import pytest
import reversion
import yaml
from django.core.management import CommandError
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext
from reversion.models import Version

from outages import restoring, summaries
from outages import revisions as history
from outages.interchange import bulk as importing_bulk
from outages.interchange import copying, documents, markdown_process
from outages.models import Incident, IncidentCount, Source, TimelineEvent
from tests.shipped import load_shipped
from tests.test_import import DOCS, MODELS, NEW_INCIDENT, run, snapshot, write

SHIPPED = sorted(str(path) for path in DOCS.glob("*.yaml"))


def many(count, first=0):
    """A document of `count` incidents like NEW_INCIDENT, each with its own slug, title, source
    and day (three days apart, so that none looks like a duplicate of another)."""
    body = NEW_INCIDENT.removeprefix("incidents:\n")
    return "incidents:\n" + "".join(
        body.replace("example-outage-2020-01-01", f"example-outage-{number}")
        .replace(
            "https://status.example.com/incident/1", f"https://status.example.com/incident/{number}"
        )
        .replace("title: Example Cloud outage", f"title: Example Cloud outage number {number}")
        .replace('"2020-01-01T', f'"{date(2000, 1, 1) + timedelta(days=3 * number)}T')
        for number in range(first, first + count)
    )


def stubs(paths, tmp_path):
    """The shipped incidents with their own fields only: no text, links or rows."""
    kept = ["slug", "title", "provider", "time_zone", "root_cause_category"]
    incidents = []
    for path in paths:
        document, _ = documents.read(path, Path(path).read_bytes())
        incidents += [{key: data[key] for key in kept} for data in document.data["incidents"]]
    return write(tmp_path, yaml.safe_dump({"incidents": incidents}), "stubs.yaml")


def versions_of(revision):
    return {
        (v.content_type_id, v.object_id, v.db, v.format, v.serialized_data, v.object_repr)
        for v in revision.version_set.all()
    }


def reversions_own(incident):
    """The versions reversion itself stores for the incident as it is now."""
    with reversion.create_revision(manage_manually=True):
        reversion.add_to_revision(Incident.objects.get(pk=incident.pk))
    return versions_of(history.versions(incident).first().revision)


@pytest.fixture
def from_fixtures(db):
    """The shipped fixtures' records as snapshot() gives them, the database empty again."""
    load_shipped()
    rows = snapshot()
    for model in reversed(MODELS):
        model.objects.all().delete()
    return rows


# --- Rows -------------------------------------------------------------------------------------


def test_incidents_inserted_in_bulk_match_incidents_saved_row_by_row(db, tmp_path):
    run("import_incidents", *SHIPPED, "--publish")
    in_bulk = snapshot()
    for model in reversed(MODELS):
        model.objects.all().delete()

    # New incidents without rows, then everything else as changes saved one row at a time.
    run("import_incidents", stubs(SHIPPED, tmp_path), "--publish")
    run("import_incidents", *SHIPPED)

    assert snapshot() == in_bulk


@pytest.mark.parametrize("child", ["renders", "dies"])
def test_markdown_rendered_in_a_second_process_gives_the_same_rows(
    from_fixtures, monkeypatch, child
):
    monkeypatch.setattr(markdown_process, "RENDER_ELSEWHERE_FROM", 0)
    monkeypatch.setattr(markdown_process, "RENDER_BATCH", 7)
    if child == "dies":
        monkeypatch.setattr(markdown_process, "RENDERER", "import sys; sys.exit(3)")
    rendered, result = [], markdown_process.Renderer.result

    def spy(renderer):
        rendered.append(result(renderer))
        return rendered[-1]

    monkeypatch.setattr(markdown_process.Renderer, "result", spy)

    run("import_incidents", *SHIPPED, "--publish")

    assert snapshot() == from_fixtures
    assert len(rendered) > 1
    assert all(rendered) if child == "renders" else not any(rendered)


def test_a_database_that_returns_no_ids_from_bulk_inserts_gets_the_same_rows(
    from_fixtures, monkeypatch
):
    monkeypatch.setattr(type(connection.features), "can_return_rows_from_bulk_insert", False)

    run("import_incidents", *SHIPPED, "--publish")

    assert snapshot() == from_fixtures
    incident = Incident.objects.get(slug="aws-elb-us-east-2012-12-24")
    assert versions_of(history.versions(incident).get().revision) == reversions_own(incident)


def test_a_reference_changed_by_unchanged_incidents_is_still_updated(db, tmp_path):
    path = write(tmp_path, NEW_INCIDENT)
    run("import_incidents", path)

    output = run(
        "import_incidents",
        write(tmp_path, NEW_INCIDENT.replace("Storage incident", "S")),
        "--update-references",
    )

    assert "1 unchanged" in output
    assert Source.objects.get().title == "S"


def test_references_given_in_full_serve_later_incidents_by_key(db, tmp_path):
    later = many(1, 1).replace(
        "  provider:\n    slug: example-cloud\n    name: Example Cloud\n",
        "  provider: example-cloud\n",
    )
    later = later.replace("  - slug: storage\n    name: Storage\n", "  - storage\n")
    later = later.replace(
        "  - customer:\n      slug: example-shop\n      name: Example Shop\n",
        "  - customer: example-shop\n",
    )
    assert "name: Example Cloud" not in later and "name: Example Shop" not in later

    output = run("import_incidents", write(tmp_path, many(1) + later.removeprefix("incidents:\n")))

    assert "2 created" in output
    second = Incident.objects.get(slug="example-outage-1")
    assert second.provider.name == "Example Cloud"
    assert second.impacts.get().services.get().name == "Storage"


def test_problems_in_json_documents_name_the_line(db, tmp_path):
    data = yaml.safe_load(NEW_INCIDENT)
    data["incidents"][0]["resolved_at"] = "2019-01-01T12:30:00-08:00"
    text = json.dumps(data, indent=2)
    line = next(n for n, row in enumerate(text.splitlines(), 1) if '"resolved_at"' in row)

    with pytest.raises(CommandError) as error:
        run("import_incidents", write(tmp_path, text, "order.json"))

    assert f"order.json:{line} incidents[0].resolved_at: Resolved at cannot be before" in str(
        error.value
    )


def test_importing_takes_the_same_number_of_queries_however_many_incidents(db, tmp_path):
    def queries(count, first):
        path = write(tmp_path, many(count, first), f"many-{count}.yaml")
        with CaptureQueriesContext(connection) as creating:
            assert f"{count} created" in run("import_incidents", path)
        with CaptureQueriesContext(connection) as reimporting:
            assert f"{count} unchanged" in run("import_incidents", path)
        return len(creating), len(reimporting)

    run("import_incidents", write(tmp_path, many(1, 1000)))  # the shared references
    # Revisions too are written in bulk (bulk_revisions.py): within one INSERT on SQLite too.
    assert queries(3, 0) == queries(20, 100)


def test_a_database_refusal_in_a_bulk_insert_names_the_incident(db, tmp_path, monkeypatch):
    insert = importing_bulk.insert

    def refusing(model, rows, **options):
        if any(getattr(row, "description", "") == "Boom." for row in rows):
            raise DatabaseError("boom")
        insert(model, rows, **options)

    monkeypatch.setattr(importing_bulk, "insert", refusing)

    import_refused(tmp_path)


def import_refused(tmp_path):
    """Import three incidents, the second with a timeline event "Boom." that the database
    refuses: one problem names it, and nothing is written."""
    first, rest = many(3).split("Storage is back.", 1)
    text = first + "Storage is back." + rest.replace("Storage is back.", "Boom.", 1)
    line = text.splitlines().index("- slug: example-outage-1") + 1

    with pytest.raises(CommandError) as error:
        run("import_incidents", write(tmp_path, text, "boom.yaml"))

    lines = str(error.value).splitlines()
    assert lines[0] == "1 problem; nothing was written."
    assert lines[1].endswith(f"boom.yaml:{line} incidents[1]: the database refused it: boom")
    assert Incident.objects.count() == 0


@pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY is PostgreSQL's")
def test_a_refused_copy_sent_to_the_worker_names_the_incident(db, tmp_path, monkeypatch):
    """A chunk's COPYs are sent to the worker thread (copying.Sender): the database's refusal
    comes back within the chunk's savepoint, and the incidents are then written one at a time,
    from this thread, to name the one refused."""
    copy_text_rows = copying.copy_text_rows
    from_main_thread = set()

    def refusing(cursor, table, columns, text, quote):
        if table == TimelineEvent._meta.db_table and "Boom." in text:
            from_main_thread.add(threading.current_thread() is threading.main_thread())
            raise DatabaseError("boom")
        copy_text_rows(cursor, table, columns, text, quote)

    monkeypatch.setattr(copying, "copy_text_rows", refusing)

    import_refused(tmp_path)
    assert from_main_thread == {False, True}


# --- Revisions --------------------------------------------------------------------------------


def test_bulk_revisions_hold_what_reversion_would_store(db, tmp_path):
    run("import_incidents", *SHIPPED)
    changed = NEW_INCIDENT.replace("Storage is back.", "Storage is fully back.")
    run("import_incidents", write(tmp_path, NEW_INCIDENT))
    run("import_incidents", write(tmp_path, changed, "changed.yaml"))  # read back, not bulk

    for incident in Incident.objects.all():
        written = versions_of(history.versions(incident).first().revision)
        assert written == reversions_own(incident), incident.slug


def test_each_imported_incident_gets_its_own_revision_naming_the_file(db, tmp_path):
    path = write(tmp_path, many(2))
    run("import_incidents", path)

    first, second = Incident.objects.order_by("slug")
    revision = history.versions(first).get().revision
    assert revision.comment == "Imported from incident.yaml"
    held = {(v.content_type.model_class(), v.object_id) for v in revision.version_set.all()}
    assert {object_id for model, object_id in held if model is Incident} == {str(first.pk)}
    # The incident, its two events, its impact, its action item and that item's state (ledger).
    assert sorted(model.__name__ for model, _ in held) == [
        "ActionItem",
        "ActionItemState",
        "CustomerImpact",
        "Incident",
        "TimelineEvent",
        "TimelineEvent",
    ]
    assert history.versions(second).get().revision != revision


def test_a_bulk_written_revision_can_be_restored(db, tmp_path, admin_user):
    run("import_incidents", write(tmp_path, NEW_INCIDENT))
    incident = Incident.objects.get()
    imported = history.versions(incident).get()
    start, end = (
        NEW_INCIDENT.index('  - at: "2020-01-01T10'),
        NEW_INCIDENT.index('  - at: "2020-01-01T12'),
    )
    shorter = NEW_INCIDENT.replace(NEW_INCIDENT[start:end], "")
    shorter = shorter.replace("A configuration push", "A push")
    run("import_incidents", write(tmp_path, shorter, "shorter.yaml"))
    assert incident.events.count() == 1

    restored = restoring.restore(incident, imported, admin_user)

    assert restored.summary.startswith("A configuration push")
    assert list(restored.events.values_list("position", flat=True)) == [1, 2]
    assert (
        restored.events.get(position=1).description_html == "<p>A bad configuration is pushed.</p>"
    )


def test_reversion_can_revert_a_bulk_written_revision(db, tmp_path):
    run("import_incidents", write(tmp_path, NEW_INCIDENT))
    incident = Incident.objects.get()
    imported = Version.objects.get_for_object(incident).get()
    run("import_incidents", write(tmp_path, NEW_INCIDENT.replace("Storage is back.", "Gone.")))

    imported.revision.revert(delete=True)

    assert TimelineEvent.objects.get(position=2).description == "Storage is back."


def test_a_first_import_rebuilds_the_kept_counts_as_they_are_defined(db, monkeypatch):
    """Into a database with no incident, the counts are computed anew in the database
    (summaries.rebuild); into one with incidents, the change's contributions are added."""
    rebuilt = []
    rebuild = summaries.rebuild
    monkeypatch.setattr(summaries, "rebuild", lambda: rebuilt.append(1) or rebuild())
    run("import_incidents", SHIPPED[0], "--publish")
    assert rebuilt == [1]
    assert IncidentCount.objects.exists()
    assert summaries.differences() == []

    run("import_incidents", *SHIPPED[1:], "--publish")
    assert rebuilt == [1]
    assert summaries.differences() == []
