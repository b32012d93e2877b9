"""field_checks.clean_fields() must do what Django's Model.clean_fields() does: for every field
of every model and values of every kind, good and bad, the same values kept and the same
errors, with the same messages, codes and order."""

import copy
import datetime
import warnings
from datetime import UTC

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import models

from outages.models import field_checks

NOW = datetime.datetime.now(UTC)
VALUES = [
    None,
    "",
    " ",
    "ok",
    "a-slug",
    "https://example.com/status",
    "not a url",
    "Europe/Paris",
    "Mars/Olympus",
    "minute",
    "published",
    "nonsense",
    "x" * 99,
    "x" * 200,
    "x" * 100_001,
    "nul\x00byte",
    "**bold** and [a link](https://example.com)",
    "[" * 5000,
    0,
    1,
    -1,
    32767,
    32768,
    2**31,
    2**63,
    True,
    False,
    1.5,
    NOW,
    NOW.replace(tzinfo=None),
    datetime.datetime(1969, 12, 31, 23, 59, tzinfo=UTC),
    NOW + datetime.timedelta(days=400),
    NOW.date(),
    datetime.date(1969, 12, 31),
    datetime.date(1, 1, 1),
    [],
    {},
]
MODELS = [model for model in apps.get_app_config("outages").get_models() if not model._meta.proxy]


def outcome(clean, template, name, value, exclude):
    obj = copy.copy(template)  # the same defaults (of now(), uuid4()) both ways
    model = type(obj)
    setattr(obj, model._meta.get_field(name).attname, value)
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")  # Django's warning of a naive time: warned both ways
        found = errors_of(clean, obj, exclude)
    values = {field.attname: getattr(obj, field.attname) for field in model._meta.fields}
    typed = {name: (type(value), value) for name, value in values.items()}
    return found, [str(warning.message) for warning in warned], typed


def errors_of(clean, obj, exclude):
    try:
        clean(obj, exclude)
    except ValidationError as error:
        found = {
            field: [(e.message, e.code, e.params) for e in errors]
            for field, errors in error.error_dict.items()
        }
    except (TypeError, ValueError, OverflowError) as error:  # Django's own, for odd types
        found = (type(error), str(error))
    else:
        found = {}
    return found


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.__name__)
def test_every_field_is_checked_as_django_checks_it(model):
    names = [
        field.name
        for field in model._meta.fields
        if not field.is_relation and not isinstance(field, models.FileField)
    ]
    template = model()
    for name in names:
        exclude = [other for other in names if other != name]
        limit = model._meta.get_field(name).max_length
        edges = ["x" * limit, "x" * (limit + 1)] if limit else []
        for value in VALUES + edges:
            expected = outcome(models.Model.clean_fields, template, name, value, exclude)
            found = outcome(field_checks.clean_fields, template, name, value, exclude)
            assert found == expected, (model.__name__, name, value)


def test_values_that_pass_take_the_quick_answer():
    from outages.models import TimelineEvent

    checks = dict(field_checks.checks(TimelineEvent, frozenset()))
    description = TimelineEvent._meta.get_field("description")
    assert checks[description]("**bold** text") is True
    assert checks[description]("x" * 100_001) is False
