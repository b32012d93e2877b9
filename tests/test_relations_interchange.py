"""Typed relations in incident documents: export, import (the other end by slug, in the same
file or stored), byte-identical round trips, clear errors naming the row, revisions."""

import pytest
import yaml
from reversion.models import Version

from outages.interchange.documents import ImportFailed, read
from outages.interchange.importing import Importer
from outages.interchange.quick_schema import passes
from outages.interchange.yaml_export import dump, incidents_for_export
from outages.models import Incident, IncidentRelation
from tests.test_load_fixtures import INCIDENT, PROVIDER, SERVICE, edit, load, load_fails, write

TWO_INCIDENTS = """\
incidents:
- slug: provider-outage
  title: Provider outage
  provider: {slug: cloudco, name: Cloudco}
  time_zone: UTC
  started_at: "2020-01-01T10:00:00Z"
  root_cause_category: configuration
  sources:
  - url: https://status.cloudco.example/1
    title: Cloudco report
    publisher: Cloudco
    kind: official
  relations:
  - kind: caused
    other: customer-outage
    note: The customer's report names the provider's outage as the cause.
    source: https://status.shopco.example/9
- slug: customer-outage
  title: Customer outage
  provider: {slug: shopco, name: Shopco}
  time_zone: UTC
  started_at: "2020-01-01T10:05:00Z"
  root_cause_category: configuration
  sources:
  - url: https://status.shopco.example/9
    title: Shopco report
    publisher: Shopco
    kind: customer
  relations: RELATIONS
"""


def document(relations="[]", text=TWO_INCIDENTS):
    return text.replace("RELATIONS", relations)


def run(text, name="relations.yaml", **options):
    parsed, problems = read(name, text.encode())
    assert not problems, problems
    return Importer(publish=True, **options).run([parsed])


def failure(text):
    with pytest.raises(ImportFailed) as raised:
        run(text)
    return str(raised.value)


def test_the_other_end_is_found_in_the_same_file(db):
    run(document())
    relation = IncidentRelation.objects.select_related("incident", "other", "source").get()
    assert (relation.incident.slug, relation.kind, relation.other.slug) == (
        "provider-outage",
        "caused",
        "customer-outage",
    )
    assert relation.source.url == "https://status.shopco.example/9"


def test_export_import_export_is_byte_identical(db):
    run(
        document(
            "\n  - kind: follow-up-of\n    other: provider-outage\n    note: A follow-up.\n"
            "    source: https://status.shopco.example/9"
        )
    )
    exported = dump(incidents_for_export())
    assert exported.count("relations:") == 2 and passes(yaml.safe_load(exported))

    IncidentRelation.objects.all().delete()  # an incident named by a relation is protected
    Incident.objects.all().delete()
    run(exported, name="exported.yaml")

    assert dump(incidents_for_export()) == exported


def test_importing_again_changes_nothing_and_records_no_revision(db):
    run(document())
    versions = Version.objects.count()
    report = run(document())
    assert Version.objects.count() == versions
    assert report.count("unchanged") == 2


def test_a_changed_relation_is_a_revision_of_its_incident(db):
    run(document())
    run(document().replace("names the provider's outage", "blames the provider's outage"))
    incident = Incident.objects.get(slug="provider-outage")
    latest = Version.objects.get_for_object(incident).first()
    assert latest.revision.comment == "Relations imported from relations.yaml"
    assert "blames" in IncidentRelation.objects.get().note
    stored = latest.revision.version_set.filter(content_type__model="incidentrelation")
    assert "blames" in stored.get().serialized_data


def without_first_relations(text):
    first_relations = text.split("  relations:\n", 1)[1].split("- slug: customer-outage")[0]
    return text.replace("  relations:\n" + first_relations, "")


def test_leaving_relations_out_removes_them(db):
    run(document())
    run(without_first_relations(document()))
    assert not IncidentRelation.objects.exists()


@pytest.mark.parametrize(
    "change, message",
    [
        (
            ("other: customer-outage", "other: no-such-incident"),
            "relations.yaml:15 incidents[0].relations[0].other: no incident has the slug "
            "“no-such-incident”",
        ),
        (
            ("other: customer-outage", "other: provider-outage"),
            "incidents[0].relations[0].other: an incident cannot be related to itself",
        ),
        (
            ("source: https://status.shopco.example/9", "source: https://elsewhere.example/"),
            "incidents[0].relations[0].source: no source has this URL",
        ),
        (("kind: caused", "kind: inspired"), "incidents[0].relations[0].kind"),
        (("note: The customer", "note: \x07The customer"), "incidents[0].relations[0].note"),
    ],
)
def test_bad_relations_are_refused_naming_the_row_and_nothing_is_written(db, change, message):
    text = document().replace(*change)
    assert message in failure(text)
    assert not Incident.objects.exists()


def test_the_same_relation_stored_on_both_ends_is_refused(db):
    twice = (
        "\n  - kind: caused\n    other: provider-outage\n    note: Again.\n"
        "    source: https://status.shopco.example/9"
    )
    assert "incidents[1].relations[0]: the same relation as relations.yaml incidents[0]" in (
        failure(document(twice))
    )
    assert not IncidentRelation.objects.exists()


def test_an_export_of_published_incidents_names_no_draft(db):
    run(document())
    Incident.objects.filter(slug="customer-outage").update(status=Incident.Status.DRAFT)
    published = dump(incidents_for_export(Incident.objects.published()))
    assert "customer-outage" not in published
    everything = dump(incidents_for_export(unpublished_ends=True))
    assert "other: customer-outage" in everything


# --- Fixtures -----------------------------------------------------------------------------


def test_fixtures_load_a_relation_with_a_revision_of_its_incident(db, tmp_path):
    url = "https://status.example.com/1"
    source = {
        "model": "outages.source",
        "fields": {"url": url, "title": "Report", "publisher": "Example", "kind": "official"},
    }
    other = edit(INCIDENT, slug="later-outage", title="Later outage", sources=[[url]])
    relation = {
        "model": "outages.incidentrelation",
        "fields": {
            "incident": ["later-outage"],
            "other": ["example-outage"],
            "kind": "recurrence-of",
            "note": "The report says the same failure came back.",
            "source": [url],
        },
    }
    path = write(tmp_path, "relations.json", [PROVIDER, SERVICE, source, INCIDENT, other, relation])

    load(path)
    load(path, update=True)  # again: nothing changes

    stored = IncidentRelation.objects.get()
    assert (stored.incident.slug, stored.other.slug) == ("later-outage", "example-outage")
    latest = Version.objects.get_for_object(stored.incident)
    assert latest.count() == 1
    assert latest.first().revision.version_set.filter(object_id=str(stored.pk)).exists()


def test_a_fixture_relation_to_itself_loads_nothing(db, tmp_path):
    relation = {
        "model": "outages.incidentrelation",
        "fields": {
            "incident": ["example-outage"],
            "other": ["example-outage"],
            "kind": "caused",
            "note": "Loops.",
            "source": ["https://status.example.com/1"],
        },
    }
    source = {
        "model": "outages.source",
        "fields": {
            "url": "https://status.example.com/1",
            "title": "Report",
            "publisher": "Example",
            "kind": "official",
        },
    }
    incident = edit(INCIDENT, sources=[["https://status.example.com/1"]])
    path = write(tmp_path, "loop.json", [PROVIDER, SERVICE, source, incident, relation])
    assert "itself" in load_fails(path)
    assert not Incident.objects.exists()


def test_an_editor_may_not_change_the_relations_of_a_published_incident(db, roles):
    from django.contrib.auth.models import Group, User

    run(without_first_relations(document()))
    editor = User.objects.create_user("ed", is_staff=True)
    editor.groups.add(Group.objects.get(name="Editors"))
    parsed, _ = read("relations.yaml", document().encode())

    with pytest.raises(ImportFailed) as raised:
        Importer(user=editor).run([parsed])

    assert "only publishers may" in str(raised.value)
    assert not IncidentRelation.objects.exists()
