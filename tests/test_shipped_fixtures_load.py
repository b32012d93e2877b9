"""The shipped fixtures, loaded the one way the project loads them (manage.py load_fixtures):
into an empty database, in any order, alone, again without change, and through a dump."""

import json
import random
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import call_command
from reversion.models import Revision

from outages.models import Incident, SearchDocument, TimelineEvent
from tests.test_load_fixtures import dump

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
REFERENCE = FIXTURES / "reference.json"
INCIDENT_FILES = sorted(path for path in FIXTURES.glob("*.json") if path != REFERENCE)
ALL_FILES = [REFERENCE, *INCIDENT_FILES]
REFERENCE_MODELS = {
    "outages.provider",
    "outages.service",
    "outages.region",
    "outages.customer",
    "outages.source",
}
ELB = "aws-elb-us-east-2012-12-24"
# What the files say, so adding an incident changes no test.
SHIPPED_INCIDENTS = sorted(
    row["fields"]["slug"]
    for path in ALL_FILES
    for row in json.loads(path.read_text())
    if row["model"] == "outages.incident"
)


def load(*paths, **options):
    call_command("load_fixtures", *[str(path) for path in paths], verbosity=0, **options)


def row_counts():
    return {
        model.__name__: model.objects.count()
        for model in apps.get_app_config("outages").get_models()
    }


def test_there_is_a_reference_fixture_and_one_file_per_incident():
    assert REFERENCE.exists()
    assert SHIPPED_INCIDENTS == [path.stem for path in INCIDENT_FILES]
    assert (FIXTURES / f"{ELB}.json").exists()


def test_fixtures_load_into_an_empty_database_and_again_without_change(db):
    load(*ALL_FILES)
    counts, first, revisions = row_counts(), dump(), Revision.objects.count()

    load(*ALL_FILES, update=True)

    assert row_counts() == counts
    assert dump() == first
    assert Revision.objects.count() == revisions  # nothing changed, nothing recorded
    assert counts["Incident"] == counts["SearchDocument"] == len(SHIPPED_INCIDENTS)
    assert sorted(Incident.objects.published().values_list("slug", flat=True)) == SHIPPED_INCIDENTS


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fixtures_load_in_any_order(db, seed):
    shuffled = ALL_FILES[:]
    random.Random(seed).shuffle(shuffled)

    load(*shuffled)

    assert sorted(Incident.objects.values_list("slug", flat=True)) == SHIPPED_INCIDENTS
    first = dump()

    random.Random(seed).shuffle(shuffled)
    load(*shuffled, update=True)

    assert dump() == first


@pytest.mark.parametrize("path", INCIDENT_FILES, ids=lambda path: path.stem)
def test_each_incident_file_loads_alone(db, path):
    load(path)

    assert Incident.objects.get(slug=path.stem).events.exists()


@pytest.mark.parametrize("path", INCIDENT_FILES, ids=lambda path: path.stem)
def test_reference_rows_in_incident_files_match_the_reference_fixture(path):
    # Incident files repeat the reference rows they use so that they load alone and in any
    # order; this keeps the copies from drifting.
    reference = {}
    for row in json.loads(REFERENCE.read_text()):
        reference[json.dumps(row, sort_keys=True)] = row
    for row in json.loads(path.read_text()):
        if row["model"] in REFERENCE_MODELS:
            assert json.dumps(row, sort_keys=True) in reference, row
        assert "pk" not in row


def test_dumpdata_with_natural_keys_round_trips(db, tmp_path):
    load(*ALL_FILES)
    dumped = dump()
    for model in reversed(list(apps.get_app_config("outages").get_models())):
        model.objects.all().delete()

    path = tmp_path / "roundtrip.json"
    path.write_text(dumped)
    load(path)

    assert dump() == dumped
    assert SearchDocument.objects.count() == len(SHIPPED_INCIDENTS)


def test_every_fixture_row_passes_model_validation(db):
    load(*ALL_FILES)

    for model in apps.get_app_config("outages").get_models():
        for row in model.objects.all():
            row.full_clean()


def test_markdown_is_rendered_for_loaded_rows(db):
    load(*ALL_FILES)

    assert not Incident.objects.filter(summary_html="").exclude(summary="").exists()
    assert not TimelineEvent.objects.filter(description_html="").exists()
