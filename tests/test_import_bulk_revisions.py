"""The importer writes revisions in bulk (bulk_revisions.py): each must hold what reversion's own
API (revisions.record) stores for the same rows, on the shipped documents, the shipped fixtures
exported as documents and the test corpus, new incidents and changed ones alike."""

import json
from glob import glob
from pathlib import Path

import pytest
from django.db import connection
from django.db.models import TextField
from django.db.models.functions import Cast
from reversion.models import Revision

from outages import revisions as history
from outages import search
from outages.interchange import bulk_revisions
from outages.interchange.documents import read
from outages.interchange.importing import Importer
from outages.interchange.yaml_export import dump, incidents_for_export
from outages.models import REVISION_OPTIONS, Incident, SearchDocument
from tests.shipped import load_shipped
from tests.test_import import MODELS
from tests.test_workflow import publisher  # noqa: F401 (fixture)

SHIPPED = sorted(glob("docs/incidents/*.yaml"))
RESOLVED = "tests/corpus/resolved/outage-archive.yaml"
# Rows stored only as followed from another (an incident's timeline, a provider's aliases).
FOLLOWED = {
    model._meta.get_field(name).related_model
    for model, options in REVISION_OPTIONS.items()
    for name in options.follow
}
# Rows with revisions of their own: incidents and reference rows.
OWNERS = [model for model in REVISION_OPTIONS if model not in FOLLOWED]


def document(name, text):
    found, problems = read(name, text)
    assert problems == []
    return found


def files(*paths):
    return [document(Path(path).name, Path(path).read_bytes()) for path in paths]


@pytest.fixture
def written(monkeypatch):
    """Calls to the bulk writer, to show the import went through it."""
    calls = []
    write = bulk_revisions.write

    def spy(groups, user=None, related=None, send=None):
        groups = [(comment, list(objects)) for comment, objects in groups]
        calls.append(len(groups))
        return write(groups, user, related, send)

    monkeypatch.setattr(bulk_revisions, "write", spy)
    return calls


def importing(documents, written, user=None):
    """Import; the revisions the run wrote (oldest first), its report, and the rows with
    revisions of their own it created, as {(model, pk)}."""
    last = {model: last_pk(model) for model in [Revision, *OWNERS]}
    calls = len(written)
    report = Importer(user=user, publish=True).run(documents)
    assert len(written) > calls
    created = {
        (model, pk)
        for model in OWNERS
        for pk in model.objects.filter(pk__gt=last[model]).values_list("pk", flat=True)
    }
    return Revision.objects.filter(pk__gt=last[Revision]).order_by("pk"), report, created


def last_pk(model):
    return model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def held(revision):
    """What a revision holds, its serialised rows compared as parsed JSON."""
    return sorted(
        (
            version.content_type_id,
            version.object_id,
            version.db,
            version.format,
            version.object_repr,
            json.dumps(json.loads(version.serialized_data), sort_keys=True),
        )
        for version in revision.version_set.all()
    )


def models_held(revision):
    return {version.content_type.model_class() for version in revision.version_set.all()}


def assert_reversion_agrees(imported):
    """Record each revision's rows again through reversion's API, reading them afresh, and
    compare. Each incident the run created or changed has exactly one revision of its own, and
    every row the run created is in one."""
    revisions, report, created = imported
    changed = {item.slug for item in report.incidents if item.action != "unchanged"}
    assert changed
    incidents, owners = [], set()
    for revision in revisions:
        roots = []
        for version in revision.version_set.order_by("pk"):
            model = version.content_type.model_class()
            if model not in FOLLOWED:
                roots.append(model._base_manager.get(pk=version.object_id))
        owners |= {(type(root), root.pk) for root in roots}
        incidents += [root.slug for root in roots if isinstance(root, Incident)]
        assert len(roots) == 1 or not any(isinstance(root, Incident) for root in roots)
        history.record(roots, revision.comment, revision.user)
        again = Revision.objects.latest("pk")
        assert (revision.comment, revision.user) == (again.comment, again.user)
        assert revision.comment.startswith("Imported from ")
        assert held(revision) == held(again), revision.comment
    assert sorted(incidents) == sorted(changed)
    assert created <= owners
    times = [revision.date_created for revision in revisions]
    assert times == sorted(times)


def assert_search_documents_agree():
    """The search documents the import wrote (from the rows in memory, for new incidents) are
    those search.update_index() makes from the database, vectors included."""

    def documents():
        fields = [f.attname for f in SearchDocument._meta.concrete_fields if f.name != "vector"]
        rows = SearchDocument.objects.order_by("pk")
        if connection.vendor == "postgresql":
            rows = rows.annotate(text=Cast("vector", TextField()))
            fields.append("text")
        return list(rows.values_list(*fields))

    imported = documents()
    assert len(imported) == Incident.objects.count()
    search.update_index(Incident.objects.values_list("pk", flat=True))
    assert documents() == imported


def test_the_shipped_documents_new_and_changed(db, written):
    assert_reversion_agrees(importing(files(*SHIPPED), written))
    assert_search_documents_agree()

    changed = []
    for item in files(*SHIPPED):
        data = item.data
        for incident in data["incidents"]:
            incident["title"] += " (revised)"
            incident["timeline"] = incident["timeline"][:-1]
        changed.append(document(f"changed-{item.name}", json.dumps(data).encode()))
    imported = importing(changed, written)

    assert {item.action for item in imported[1].incidents} == {"updated"}
    assert_reversion_agrees(imported)
    assert_search_documents_agree()


def test_the_shipped_fixtures_as_documents_imported_by_a_publisher(db, written, publisher):  # noqa: F811
    load_shipped()
    text = dump(incidents_for_export())
    for model in reversed(MODELS):
        model.objects.all().delete()

    imported = importing([document("fixtures.yaml", text.encode())], written, publisher)

    assert all(revision.user == publisher for revision in imported[0])
    models = [models_held(revision) for revision in imported[0]]
    assert any(Incident not in held_models for held_models in models)  # reference rows' own
    assert_reversion_agrees(imported)
    assert_search_documents_agree()


def test_the_test_corpus(db, written):
    load_shipped()

    assert_reversion_agrees(importing(files(RESOLVED), written))
    assert_search_documents_agree()
