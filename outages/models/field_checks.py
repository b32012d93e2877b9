"""Model.clean_fields() as Django runs it, with a quick answer for the values that pass.

An import validates every field of some 190,000 rows; most of that time went to Django's calls
per field (to_python(), validate(), run_validators(), each validator's own), not to the checks
themselves. For a value of the very type its field's to_python() returns unchanged, the checks
those calls make are made here directly: the choices, the length limit, the range, and every
other validator called as it is. A value that passes them all would pass Django's too, and
cleaning would give it back as it is. Any other value, and any value that fails here, goes
through Django's own field.clean(), so what is refused is refused with Django's own messages,
in Django's order.
"""

import datetime
from functools import cache

from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.expressions import DatabaseDefault

# The type whose values each to_python() returns as they are (exact types: a datetime is a date
# too, which DateField.to_python() converts; bool is an int, which IntegerField converts).
UNCHANGED = {
    models.CharField.to_python: str,
    models.TextField.to_python: str,
    models.DateTimeField.to_python: datetime.datetime,
    models.DateField.to_python: datetime.date,
    models.IntegerField.to_python: int,
    models.BooleanField.to_python: bool,
}


def clean_fields(obj, exclude=None):
    """What Model.clean_fields(exclude) does to `obj`: the same values kept, the same errors."""
    errors = {}
    for field, passes in checks(type(obj), frozenset(exclude or ())):
        raw_value = getattr(obj, field.attname)
        if passes is not None and passes(raw_value):
            continue
        # From here on, Django's Model.clean_fields() as it is.
        if field.blank and raw_value in field.empty_values:
            continue
        if isinstance(raw_value, DatabaseDefault):
            continue
        try:
            setattr(obj, field.attname, field.clean(raw_value, obj))
        except ValidationError as error:
            errors[field.name] = error.error_list
    if errors:
        raise ValidationError(errors)


@cache
def checks(model, exclude):
    """(field, quick check or None) of each field clean_fields() checks, in Django's order."""
    return tuple(
        (field, quick_check(field))
        for field in model._meta.fields
        if field.name not in exclude and not field.generated
    )


@cache
def concrete(model, exclude):
    """(name, attname) of the model's concrete fields not in `exclude`, in their order."""
    return tuple(
        (field.name, field.attname)
        for field in model._meta.concrete_fields
        if field.name not in exclude
    )


def quick_check(field):
    """value -> True when Django's field.clean(value) would give `value` back and refuse
    nothing; False when it may refuse it or change it. None for a field whose class changes
    how cleaning works (then Django's clean() answers for every value)."""
    kind = type(field)
    if (
        kind.clean is not models.Field.clean
        or kind.validate is not models.Field.validate
        or kind.run_validators is not models.Field.run_validators
        or kind.to_python not in UNCHANGED
    ):
        return None
    exact_type = UNCHANGED[kind.to_python]
    choices = None
    if field.editable and field.choices is not None:
        choices = set()
        for key, label in field.choices:
            if isinstance(label, (list, tuple)):  # a group of choices
                choices.update(inner for inner, _ in label)
            else:
                choices.add(key)
    validators = None  # read when first needed, as Django reads field.validators

    def passes(value):
        nonlocal validators
        # Values of another type, and empty ones (which Django skips or refuses), go to Django.
        if type(value) is not exact_type or value in field.empty_values:
            return False
        if choices is not None and value not in choices:
            return False
        if validators is None:
            validators = [quick_validator(validator) for validator in field.validators]
        for validator in validators:
            try:
                if validator(value) is False:
                    return False
            except ValidationError:
                return False
        return True

    return passes


def quick_validator(validator):
    """A validator as a function that answers False (or raises) when it refuses; the limits of
    Django's own length and range validators compared directly."""
    limit = getattr(validator, "limit_value", None)
    if limit is None or callable(limit):
        return validator
    kind = type(validator)
    if kind is MaxLengthValidator:
        return lambda value: len(value) <= limit
    if kind is MaxValueValidator:
        return lambda value: value <= limit
    if kind is MinValueValidator:
        return lambda value: value >= limit
    return validator
