"""The quick schema check (quick_schema.py) must pass exactly the documents jsonschema finds no
error in: the shipped documents, the test corpus, the shipped fixtures exported as documents, the
benchmark's documents, and each of them broken at random places."""

import copy
import random
from glob import glob
from pathlib import Path

import pytest

from bench import import_doc
from outages import text
from outages.interchange import document_checks, documents, quick_schema
from outages.interchange.document_times import PERIOD_FORMS
from outages.interchange.documents import read
from outages.interchange.yaml_export import dump, incidents_for_export
from outages.models import TimelineEvent
from tests.shipped import load_shipped

FILES = sorted(glob("docs/incidents/*.yaml") + glob("tests/corpus/*/*.yaml"))
VALUES = [None, True, 0, 1.0, -1, 40000, "", "x y", "http://x", "a" * 301, [], {}, [1]]


def data_of(name, text):
    document, problems = read(name, text.encode() if isinstance(text, str) else text)
    assert problems == []
    return document.data


@pytest.fixture
def exported_fixtures(db):
    load_shipped()
    return data_of("fixtures.yaml", dump(incidents_for_export()))


@pytest.fixture
def benchmark_documents(tmp_path):
    return [
        data_of(str(path), path.read_bytes()) for path in import_doc.write_documents(tmp_path, 50)
    ]


def agrees(data):
    return quick_schema.passes(data) == (not any(document_checks.validator().iter_errors(data)))


@pytest.mark.parametrize("path", FILES)
def test_the_quick_check_agrees_with_jsonschema_on_each_shipped_and_test_document(path):
    data = data_of(path, Path(path).read_bytes())

    assert agrees(data)
    assert quick_schema.passes(data) or "foreign" in path  # the foreign collection may be refused


def test_the_quick_check_agrees_with_jsonschema_on_the_exported_fixtures(exported_fixtures):
    assert quick_schema.passes(exported_fixtures)
    assert agrees(exported_fixtures)


def test_the_quick_check_agrees_with_jsonschema_on_the_benchmark_documents(benchmark_documents):
    assert all(quick_schema.passes(data) for data in benchmark_documents)
    assert all(agrees(data) for data in benchmark_documents)


def test_the_quick_check_never_passes_what_jsonschema_refuses(
    exported_fixtures, benchmark_documents
):
    documents = [data_of(path, Path(path).read_bytes()) for path in FILES]
    documents += [exported_fixtures, benchmark_documents[0]]
    rng = random.Random(1)
    for _ in range(400):
        data = copy.deepcopy(rng.choice(documents))
        parent, key = pick(rng, data)
        if rng.random() < 0.7:
            parent[key] = rng.choice(VALUES)
        elif isinstance(parent, dict):
            parent.pop(key)
        assert agrees(data), (key, parent.get(key) if isinstance(parent, dict) else key)


def pick(rng, data):
    """A random (container, key) somewhere inside data."""
    places = []

    def walk(node):
        keys = node if isinstance(node, dict) else range(len(node))
        for key in list(keys):
            places.append((node, key))
            if isinstance(node[key], dict | list):
                walk(node[key])

    walk(data)
    return rng.choice(places)


# What planning gives a field document_checks.SETTLED names when the document leaves it out.
ABSENT = {
    (TimelineEvent, "precision"): [precision for _, precision in PERIOD_FORMS] + ["minute"],
    (TimelineEvent, "marks"): [""],
    (TimelineEvent, "is_key_event"): [False],
}


def test_the_fields_the_schema_settles_take_every_value_it_lets_through():
    """The models' full_clean() leaves out these fields of imported rows (planning.resolved):
    every value a document the schema passes can give them must be one they take, control
    characters included, or a problem would go unreported."""
    incident = documents.schema()["$defs"]["incident"]["properties"]
    for model, fields in document_checks.SETTLED.items():
        row = model()
        for name, (rows, key) in fields.items():
            items = incident[rows]["items"]
            allowed = items["properties"][key]
            values = allowed.get("enum") or (
                [True, False] if allowed == {"type": "boolean"} else []
            )
            assert values, f"{model.__name__}.{name}: the schema leaves {rows}.{key} open"
            if key not in items["required"]:
                values = values + ABSENT[(model, name)]
            field = model._meta.get_field(name)
            for value in values:
                assert field.clean(value, row) == value  # raises if the field refuses it
                assert not isinstance(value, str) or not text.control_character_problem(value)
