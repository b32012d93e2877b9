"""new_rows.new_row(model, values) must make the row Model(**values) makes: the same
attributes, the same rows cached for its relations, the same databases noted."""

import datetime
from datetime import UTC

import pytest

from outages.interchange.new_rows import new_row
from outages.models import ActionItem, Customer, CustomerImpact, Incident, Source, TimelineEvent

AT = datetime.datetime(2024, 3, 1, 12, 30, tzinfo=UTC)
INCIDENT = {"slug": "a", "title": "A"}
ROWS = [
    (
        TimelineEvent,
        {
            "incident": (Incident, INCIDENT),
            "position": 3,
            "occurred_at": AT,
            "precision": "minute",
            "time_as_stated": "",
            "kind": "update",
            "is_key_event": False,
            "marks": "",
            "description": "Errors **rose**.",
            "source": None,
        },
    ),
    (
        TimelineEvent,
        {
            "incident": (Incident, {"pk": 9, **INCIDENT}),
            "position": 1,
            "occurred_at": AT,
            "description": "Errors.",
            "source": (Source, {"url": "https://example.com/a"}),
        },
    ),
    (
        ActionItem,
        {
            "incident": (Incident, {"pk": 7, **INCIDENT}),
            "position": 2,
            "description": "Add capacity.",
            "kind": "fix",
            "status": "open",
            "source": None,
        },
    ),
    (
        CustomerImpact,
        {
            "incident": (Incident, INCIDENT),
            "customer": (Customer, {"pk": 4, "slug": "c", "name": "C"}),
            "level": "outage",
            "description": "",
            "started_at": AT,
            "ended_at": None,
            "source": None,
        },
    ),
]


def made(make, model, spec):
    """What make(model, values) gives, as comparable data: its attributes, which given row
    each relation caches, the databases noted on it and on the rows given."""
    linked = {
        name: value[0](**value[1])
        for name, value in spec.items()
        if isinstance(value, tuple)  # (model, fields): a row, made anew each time
    }
    values = {name: linked.get(name, value) for name, value in spec.items()}
    obj = make(model, values)
    attributes = {name: value for name, value in vars(obj).items() if name != "_state"}
    named = {id(row): name for name, row in linked.items()}
    cached = {
        name: None if row is None else named.get(id(row), "another row")
        for name, row in obj._state.fields_cache.items()
    }
    noted = {name: row._state.db for name, row in linked.items()}
    return attributes, cached, obj._state.db, obj._state.adding, noted


@pytest.mark.parametrize("model, spec", ROWS)
def test_a_new_row_is_the_row_django_makes(model, spec):
    expected = made(lambda model, values: model(**values), model, spec)
    assert made(new_row, model, spec) == expected
