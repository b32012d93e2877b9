"""Loading the shipped JSON fixtures safely: only this app's content, validated, all or nothing.

`loaddata` writes whatever a fixture names (a superuser, a permission, any row by its number)
and runs no model validation. `load_fixtures()` is the path `make setup` uses instead. It saves
objects the way loaddata does (a raw save, so the pre_save receiver still renders Markdown;
natural keys, so a second load updates rows in place), but first it

- refuses any model outside ALLOWED_MODELS, explicit primary keys and numeric references,
- runs `full_clean()` on every object before it is written,
- keeps going after a problem, so one run reports every problem in every file, and
- writes nothing at all unless every object of every file is good (one transaction).
"""

import datetime
import json
from collections import Counter
from dataclasses import dataclass, field

from django.apps import apps
from django.core import serializers
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.management.base import CommandError
from django.db import DatabaseError, transaction
from django.utils import timezone

# Named one by one rather than "every outages model", so that a model added later (a log, a
# cache like SearchDocument) stays out of fixtures until someone decides it belongs.
ALLOWED_MODELS = frozenset(
    {
        "outages.provider",
        "outages.service",
        "outages.region",
        "outages.customer",
        "outages.alias",
        "outages.source",
        "outages.incident",
        "outages.timelineevent",
        "outages.customerimpact",
        "outages.actionitem",
        "outages.correction",
    }
)
ALLOWED_TEXT = (
    "fixtures may hold only providers, services, regions, customers, sources, incidents and "
    "their rows"
)
_EXAMPLE = '["aws", "elb"]'
# Where a missing row was looked for: a required reference can only name a row that exists
# before the object is saved; an optional one (and a list) may name a row later in the set.
EARLIER = "earlier in these fixtures"
ANYWHERE = "in these fixtures"


@dataclass
class LoadSummary:
    files: int = 0
    objects: Counter = field(default_factory=Counter)  # model label -> objects saved

    @property
    def total(self):
        return sum(self.objects.values())


class Unresolved(Exception):
    """A natural-key reference that names no row."""


def load_fixtures(paths):
    """Validate and save every object of the JSON fixture files `paths`, in order, atomically.

    Returns a LoadSummary. Raises CommandError listing every problem found, with file, object
    and field, and then the database is exactly as it was.
    """
    if not paths:
        raise CommandError("Name at least one fixture file.")
    summary = LoadSummary()
    problems = []
    with transaction.atomic():
        deferred = []
        for path in paths:
            objects = _read(str(path), problems)
            if objects is None:
                continue
            summary.files += 1
            for index, raw in enumerate(objects, start=1):
                where = f"{path} object {index}"
                saved = _load_object(where, raw, problems, deferred)
                if saved:
                    summary.objects[saved] += 1
        # As loaddata does: references to rows that came later in the set (allowed only where
        # the field may be empty meanwhile) are filled in once everything else is saved.
        for where, obj in deferred:
            _save_deferred(where, obj, problems)
        if problems:
            # Raising inside atomic() rolls back every object already saved.
            count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
            raise CommandError(
                f"Fixtures not loaded, nothing was written ({count}):\n"
                + "\n".join(f"  {problem}" for problem in problems)
            )
    return summary


def _read(path, problems):
    """The list of raw objects in one file, or None after recording why there is none."""
    try:
        with open(path, "rb") as file:
            data = file.read()
    except OSError as error:
        problems.append(f"{path}: cannot be read ({error.strerror})")
        return None
    try:
        text = data.decode("utf-8-sig")  # a byte-order mark is harmless; drop it
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        problems.append(
            f"{path}: is not UTF-8 text (line {line}: byte {error.start} cannot be read)"
        )
        return None
    if not text.strip():
        problems.append(f"{path}: is empty; expected a JSON list of objects")
        return None
    try:
        objects = json.loads(text)
    except json.JSONDecodeError as error:
        problems.append(
            f"{path}: is not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})"
        )
        return None
    except RecursionError:
        problems.append(f"{path}: is nested too deeply to read")
        return None
    if not isinstance(objects, list):
        problems.append(f"{path}: expected a JSON list of objects, found {_kind(objects)}")
        return None
    if not objects:
        problems.append(f"{path}: holds no objects")
        return None
    return objects


def _load_object(where, raw, problems, deferred):
    """Check, deserialise, validate and save one raw object. Returns its model label if saved."""
    model, errors = _check_shape(raw)
    if errors:
        problems.extend(f"{where}: {error}" for error in errors)
        return None
    try:
        # One object at a time (the "python" deserializer is what the "json" one runs after
        # json.loads), so one unreadable object does not hide the problems of the rest.
        (obj,) = serializers.deserialize("python", [raw], handle_forward_references=True)
    except Exception as error:  # whatever fails here, the data is at fault: report, go on
        problems.append(f"{where}: {_reference_problem(model, raw['fields']) or error}")
        return None
    if obj.object.pk is not None:
        # Explicit pks are refused, so the deserializer found this row by its natural key. Mark
        # it as an existing row, or the unique checks of full_clean() find the row itself and
        # call it a duplicate.
        obj.object._state.adding = False

    # A reference the deserializer could not resolve yet is "deferred". loaddata can only save
    # it later if the field may be empty meanwhile; a required one is simply missing.
    errors = [
        f"{deferred_field.name}: {_missing(deferred_field.related_model, value)}"
        for deferred_field, value in obj.deferred_fields.items()
        if not (deferred_field.many_to_many or deferred_field.null)
    ]
    errors += _validate(obj.object, exclude={f.name for f in obj.deferred_fields})
    if not errors:
        errors += _save(obj)
    if errors:
        _report(problems, where, obj.object, errors)
        return None
    if obj.deferred_fields:
        deferred.append((where, obj))
    return model._meta.label_lower


def _check_shape(raw):
    """(model, problems) for the parts of one raw object that need no database."""
    if not isinstance(raw, dict):
        return None, [f'expected an object with "model" and "fields", found {_kind(raw)}']
    label = raw.get("model")
    if label is None:
        return None, ['has no "model"']
    label = str(label).lower()
    if label not in ALLOWED_MODELS:
        return None, [f"{label} is not allowed here; {ALLOWED_TEXT}"]
    model = apps.get_model(label)
    errors = []
    if "pk" in raw:
        errors.append('has a "pk": use natural keys; a pk could overwrite an unrelated row')
    fields = raw.get("fields")
    if not isinstance(fields, dict):
        return model, errors + ['has no "fields" object']

    known = {f.name: f for f in [*model._meta.concrete_fields, *model._meta.many_to_many]}
    for name, value in fields.items():
        model_field = known.get(name)
        if model_field is None:
            errors.append(f"{name}: {label} has no such field")
        elif model_field.primary_key:
            errors.append(f"{name}: use natural keys; a pk could overwrite an unrelated row")
        elif model_field.many_to_many:
            if not isinstance(value, list) or not all(isinstance(key, list) for key in value):
                errors.append(f"{name}: give a list of natural keys, each a list like {_EXAMPLE}")
        elif model_field.is_relation:
            # A number would name a row by its id, which differs from one database to the next.
            if value is not None and not isinstance(value, list):
                errors.append(f"{name}: give a natural key, a list like {_EXAMPLE}")
        else:
            errors.extend(f"{name}: {message}" for message in _value_problems(model_field, value))
    return model, errors


def _value_problems(model_field, value):
    """Checked here, field by field, because the deserializer's own message names no field."""
    try:
        value = model_field.to_python(value)
    except ValidationError as error:
        return error.messages
    # Django would store a naive time as UTC with only a warning; a fixture should say.
    if isinstance(value, datetime.datetime) and timezone.is_naive(value):
        return [f"give the time with its UTC offset, e.g. {value.isoformat()}Z"]
    return []


def _validate(instance, exclude=None):
    try:
        instance.full_clean(exclude=exclude)
    except ValidationError as error:
        # "field: message" lines; messages about no one field (a constraint) stand alone.
        return [
            message if name == NON_FIELD_ERRORS else f"{name}: {message}"
            for name, messages in error.message_dict.items()
            for message in messages
        ]
    return []


def _save(obj):
    """A raw save like loaddata's, in a savepoint so that a database error is reported and the
    transaction stays usable (PostgreSQL refuses every query after an error otherwise)."""
    try:
        with transaction.atomic():
            obj.save()
    # psycopg raises ValueError for NUL characters, which no validator catches in a TextField.
    except (DatabaseError, ValueError) as error:
        return [f"the database refused it: {error}"]
    return []


def _save_deferred(where, obj, problems):
    """Fill in the references that were deferred, validate again, and save (as loaddata's
    save_deferred_fields does, but with a clear message for a reference that names no row)."""
    obj.m2m_data = {}
    errors = []
    for deferred_field, value in obj.deferred_fields.items():
        try:
            if deferred_field.many_to_many:
                related = deferred_field.related_model
                obj.m2m_data[deferred_field.name] = [
                    _lookup(related, key, ANYWHERE) for key in value
                ]
            else:
                pk = _lookup(deferred_field.related_model, value, ANYWHERE)
                setattr(obj.object, deferred_field.attname, pk)
        except Unresolved as error:
            errors.append(f"{deferred_field.name}: {error}")
    errors = errors or _validate(obj.object) or _save(obj)
    if errors:
        _report(problems, where, obj.object, errors)


def _report(problems, where, instance, errors):
    """Add the errors of one object, named by its model and natural key as well as its place:
    the key finds it faster than a number. Worked out only here, as it may cost a query."""
    try:
        where = f"{where} ({instance._meta.label_lower} {_key_text(instance.natural_key())})"
    except Exception:  # the key only helps the reader; the place alone will do
        where = f"{where} ({instance._meta.label_lower})"
    problems.extend(f"{where}: {error}" for error in errors)


def _lookup(model, key, place=EARLIER):
    """The primary key of the `model` row whose natural key is `key`."""
    try:
        return model._default_manager.get_by_natural_key(*key).pk
    except model.DoesNotExist:
        raise Unresolved(_missing(model, key, place)) from None
    except (TypeError, ValueError, ValidationError):
        raise Unresolved(
            f"{_key_text(key)} is not a natural key of {model._meta.label_lower}"
        ) from None


def _missing(model, key, place=EARLIER):
    return f"there is no {model._meta.label_lower} {_key_text(key)} in the database or {place}"


def _reference_problem(model, fields):
    """Name the reference that stopped the deserializer, when one did.

    The natural key of a service or a timeline event includes its provider or incident, so a
    reference to a missing one fails before the object exists; Django's message names neither
    the field nor the key.
    """
    for name, value in fields.items():
        model_field = model._meta.get_field(name)
        if not model_field.is_relation or value is None:
            continue
        keys = value if model_field.many_to_many else [value]
        for key in keys:
            try:
                _lookup(model_field.related_model, key)
            except Unresolved as error:
                return f"{name}: {error}"
    return None


def _key_text(key):
    return json.dumps(list(key) if isinstance(key, tuple | list) else key, ensure_ascii=False)


def _kind(value):
    return {
        dict: "an object",
        list: "a list",
        str: "a string",
        bool: "true or false",
        type(None): "null",
    }.get(type(value), "a number")
