"""Reading JSON fixture files: the checks that need no database.

Each file must be UTF-8 JSON, a list of objects, with no key repeated inside one JSON object
(a JSON reader would silently keep the last). Each object must name a model of this app's content
and give its fields with values of the right JSON type: text in quotes, whole numbers, true or
false, times as text with their UTC offset, references as natural keys. No text may hold a
control character other than tab and line breaks. Every problem is returned as a line naming the
file, the object, its model and natural key, and the field; fixtures_loading does the rest.
"""

import datetime
import json
import math
from dataclasses import dataclass, field

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import models
from django.db.backends.base.operations import BaseDatabaseOperations
from django.utils import timezone

from outages.names import normalise_name
from outages.text import CONTROL_CHARACTERS

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
        "outages.actionitemstate",
        "outages.promiselink",
        "outages.incidentrelation",
    }
)
ALLOWED_TEXT = (
    "fixtures may hold only providers, services, regions, customers, sources, incidents and "
    "their rows (relations between incidents included)"
)
# The fields that make up each model's natural_key(), in its order; a reference contributes the
# natural key of the row it names. (A test holds this to the models' own natural_key().)
NATURAL_KEYS = {
    "outages.provider": ["slug"],
    "outages.service": ["provider", "slug"],
    "outages.region": ["provider", "code"],
    "outages.customer": ["slug"],
    "outages.source": ["url"],
    "outages.incident": ["slug"],
    "outages.timelineevent": ["incident", "position"],
    "outages.customerimpact": ["incident", "customer"],
    "outages.actionitem": ["incident", "position"],
    "outages.correction": ["incident", "position"],
    "outages.actionitemstate": ["incident", "position"],
    "outages.promiselink": ["incident", "position"],
    # The other end is named by its slug: a stored incident, or one loaded earlier in the run.
    "outages.incidentrelation": ["incident", "other", "kind"],
    # An alias is named by its owner (whichever of provider, service, region or customer is
    # given) and its name as compared (models.Alias.natural_key); the name must be given.
    "outages.alias": ["name"],
}
ALIAS_OWNERS = ["provider", "service", "region", "customer"]
_EXAMPLE = '["aws", "elb"]'
# What a database cannot store or a feed cannot carry, and what no editor types on purpose:
# control characters other than tab, line feed and carriage return, lone surrogates, U+FFFE/F.
NOT_TEXT = CONTROL_CHARACTERS
# Ranges every engine stores (SQLite would take any 64-bit number where PostgreSQL refuses).
INTEGER_RANGES = BaseDatabaseOperations.integer_field_ranges


class Written(float):
    """A JSON number with a fraction or an exponent, remembering how the file wrote it, so that
    a message can quote `1e400` rather than the `inf` Python makes of it."""

    def __new__(cls, text):
        number = super().__new__(cls, text)
        number.text = text
        return number


@dataclass
class Entry:
    """One object of a fixture file, checked: its model, raw fields and natural key."""

    path: str
    index: int
    model: type
    fields: dict  # as in the file
    key: tuple | None  # None when the fields do not give it
    values: dict = field(default_factory=dict)  # plain (not reference) fields, as Python values

    @property
    def label(self):
        return self.model._meta.label_lower

    @property
    def where(self):
        return f"{self.path} object {self.index}"

    @property
    def name(self):
        """Where the object is and which row it names: the key finds it faster than a number."""
        key = "" if self.key is None else f" {key_text(self.key)}"
        return f"{self.where} ({self.label}{key})"


def read(path, problems):
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
    repeated = []
    try:
        objects = json.loads(
            text,
            object_pairs_hook=lambda pairs: _mapping(pairs, repeated),
            parse_float=Written,
            parse_constant=Written,  # NaN and Infinity, which JSON itself does not allow
        )
    except json.JSONDecodeError as error:
        problems.append(
            f"{path}: is not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})"
        )
        return None
    except ValueError as error:  # an integer of more than 4,300 digits
        problems.append(f"{path}: cannot be read: {error}")
        return None
    except RecursionError:
        problems.append(f"{path}: is nested too deeply to read")
        return None
    if repeated:
        try:
            located = _repeated_keys(text)
        except RecursionError:  # the pure-Python reader nests deeper than json's own
            located = [(key, None) for key in repeated]
        for key, line in located:
            problems.append(
                f"{path}: {f'line {line}: ' if line else ''}the key "
                f"{printable(json.dumps(key, ensure_ascii=False))} appears twice in one object; "
                "a JSON reader would keep only the last, so give it once"
            )
        return None
    if not isinstance(objects, list):
        problems.append(f"{path}: expected a JSON list of objects, found {kind(objects)}")
        return None
    if not objects:
        problems.append(f"{path}: holds no objects")
        return None
    return objects


def _mapping(pairs, repeated):
    mapping = {}
    for key, value in pairs:
        if key in mapping:
            repeated.append(key)
        mapping[key] = value
    return mapping


def _repeated_keys(text):
    """(key, line) of each key given twice in one object of `text`, which is valid JSON.

    json's object_pairs_hook sees keys but not where they are, so this reads the text again
    with the pure-Python scanner and its own object parser, which knows each key's position.
    """
    found = []

    def skip(text, at):
        return json.decoder.WHITESPACE.match(text, at).end()

    def parse_object(text_and_end, strict, scan_once, *args, **kwargs):
        text, at = text_and_end
        seen = set()
        at = skip(text, at)
        while text[at] != "}":
            key, after = json.decoder.scanstring(text, at + 1, strict)
            if key in seen:
                found.append((key, text.count("\n", 0, at) + 1))
            seen.add(key)
            _, at = scan_once(text, skip(text, skip(text, after) + 1))  # past the colon
            at = skip(text, at)
            if text[at] == ",":
                at = skip(text, at + 1)
        return {}, at + 1

    decoder = json.JSONDecoder()
    decoder.parse_object = parse_object
    decoder.scan_once = json.scanner.py_make_scanner(decoder)
    decoder.decode(text)
    return found


def check(path, index, raw, problems):
    """The Entry for one raw object, or None after recording its problems."""
    where = f"{path} object {index}"
    if not isinstance(raw, dict):
        problems.append(f'{where}: expected an object with "model" and "fields", found {kind(raw)}')
        return None
    label = raw.get("model")
    if label is None:
        problems.append(f'{where}: has no "model"')
        return None
    label = printable(str(label).lower())
    if label not in ALLOWED_MODELS:
        problems.append(f"{where}: {label} is not allowed here; {ALLOWED_TEXT}")
        return None
    model = apps.get_model(label)
    errors = []
    if "pk" in raw:
        errors.append('has a "pk": use natural keys; a pk could overwrite an unrelated row')
    errors += [
        f'"{printable(name)}" is not part of a fixture object, which has "model" and "fields"'
        for name in raw
        if name not in {"model", "fields", "pk"}
    ]
    fields = raw.get("fields")
    if not isinstance(fields, dict):
        problems.extend(f"{where}: {error}" for error in errors + ['has no "fields" object'])
        return None

    entry = Entry(path, index, model, fields, natural_key_of(model, fields))
    known = {f.name: f for f in [*model._meta.concrete_fields, *model._meta.many_to_many]}
    for name, value in fields.items():
        model_field = known.get(name)
        if model_field is None:
            errors.append(f"{printable(name)}: {label} has no such field")
            continue
        problem = _text_problem(value)
        if problem:
            errors.append(f"{name}: {problem}")
        elif model_field.primary_key:
            errors.append(f"{name}: use natural keys; a pk could overwrite an unrelated row")
        elif model_field.many_to_many:
            if not isinstance(value, list) or any(_key_problem(key) for key in value):
                errors.append(f"{name}: give a list of natural keys, each a list like {_EXAMPLE}")
        elif model_field.is_relation:
            # A number would name a row by its id, which differs from one database to the next.
            if value is not None and _key_problem(value):
                errors.append(f"{name}: give a natural key, a list like {_EXAMPLE}")
        else:
            try:
                entry.values[name] = _python_value(model_field, value)
            except ValidationError as error:
                errors.extend(f"{name}: {message}" for message in error.messages)
    errors += [
        f"{name}: missing; it is part of the natural key that names the row"
        for name in NATURAL_KEYS[label]
        if name not in fields
    ]
    if errors:
        problems.extend(f"{entry.name}: {error}" for error in errors)
        return None
    return entry


def natural_key_of(model, fields):
    """The natural key the fields give, as a tuple, or None if they do not give all of it."""
    if model._meta.label_lower == "outages.alias":
        return _alias_key(fields)
    key = []
    for name in NATURAL_KEYS[model._meta.label_lower]:
        value = fields.get(name)
        if value is None:
            return None
        if model._meta.get_field(name).is_relation:
            if _key_problem(value):
                return None
            key.extend(value)
        else:
            key.append(value)
    return tuple(key)


def _alias_key(fields):
    """(kind, owner's natural key, normalised name), as Alias.natural_key() gives it; None when
    the owner is not one natural key or the name is not text (full_clean then says why)."""
    owners = [(kind, fields[kind]) for kind in ALIAS_OWNERS if fields.get(kind) is not None]
    name = fields.get("name")
    if len(owners) != 1 or _key_problem(owners[0][1]) or not isinstance(name, str):
        return None
    kind, owner = owners[0]
    return (kind, tuple(owner), normalise_name(name))


def _key_problem(value):
    """Why `value` is not a natural key (a list of text and whole numbers), or None."""
    if not isinstance(value, list) or not value:
        return "not a list"
    if not all(isinstance(part, str | int) and not isinstance(part, bool) for part in value):
        return "holds something other than text and whole numbers"
    return None


def _python_value(model_field, value):
    """The Python value of a plain field, refusing JSON of the wrong type rather than letting
    Django turn it into something (True into 1, 1.5 into 1, an object into its text)."""
    if value is not None:
        if isinstance(model_field, models.BooleanField):
            if not isinstance(value, bool):
                raise ValidationError(f"give true or false, not {as_written(value)}")
        elif isinstance(model_field, models.IntegerField):
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValidationError(f"give a whole number, not {as_written(value)}")
            low, high = INTEGER_RANGES.get(model_field.get_internal_type(), (None, None))
            if low is not None and not low <= value <= high:
                raise ValidationError(
                    f"{as_written(value)} is out of range; give one from {low} to {high}"
                )
        elif isinstance(model_field, models.DateTimeField):
            if not isinstance(value, str):
                raise ValidationError(
                    f'give a time in quotes with its UTC offset, e.g. "2012-12-24T20:24:00Z", '
                    f"not {as_written(value)}"
                )
        elif isinstance(model_field, models.DateField):
            if not isinstance(value, str):
                raise ValidationError(
                    f'give a date in quotes, e.g. "2012-12-24", not {as_written(value)}'
                )
        elif isinstance(model_field, models.CharField | models.TextField):
            if not isinstance(value, str):
                raise ValidationError(f"give text in quotes, not {as_written(value)}")
        elif isinstance(value, Written) and not math.isfinite(value):
            raise ValidationError(f"{value.text} is not a number this field can hold")
    try:
        value = model_field.to_python(value)
    except (TypeError, ValueError, OverflowError) as error:  # a field type not checked above
        raise ValidationError(str(error)) from None
    if isinstance(value, datetime.datetime):
        # Django would store a naive time as UTC with only a warning; a fixture should say.
        if timezone.is_naive(value):
            raise ValidationError(f"give the time with its UTC offset, e.g. {value.isoformat()}Z")
        try:
            value.astimezone(datetime.UTC)  # as every engine stores it
        except OverflowError:
            raise ValidationError(
                f"{value.isoformat()} is outside the calendar once given in UTC"
            ) from None
    return value


def _text_problem(value):
    """Why some text in `value` cannot be stored, naming the character and where it is.

    Refused rather than removed, even where removing it would be harmless: the file is the
    record, and a row that silently differed from its file would show as changed on every
    `--update` and would no longer round-trip through dumpdata.
    """
    for text in _texts(value):
        found = NOT_TEXT.search(text)
        if found:
            code = ord(found.group())
            if 0xD800 <= code <= 0xDFFF:
                what = "half of a surrogate pair, not a character on its own"
            elif code in (0xFFFE, 0xFFFF):
                what = "a noncharacter"
            else:
                what = "a control character"
            return (
                f"holds U+{code:04X}, {what}, at character {found.start() + 1}; take it out "
                "of the file (only tab and line breaks are allowed; nothing is removed for you)"
            )
    return None


def _texts(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _texts(item)


def key_text(key):
    """A natural key as a file writes it, e.g. ["aws", "elb"]."""
    parts = key if isinstance(key, tuple | list) else [key]
    return "[" + ", ".join(_part_text(part) for part in parts) + "]"


def _part_text(part):
    if isinstance(part, list | dict):
        return printable(json.dumps(part, ensure_ascii=False))
    return as_written(part)


def printable(text):
    """Text from a file, safe to print in a message: control characters escaped."""
    return NOT_TEXT.sub(lambda found: f"\\u{ord(found.group()):04x}", text)


def as_written(value):
    """A JSON value as the file wrote it (a scalar) or what kind of value it is."""
    if isinstance(value, Written):
        return value.text
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, str):
        return printable(json.dumps(value, ensure_ascii=False))
    if isinstance(value, int):
        digits = str(value)
        return digits if len(digits) <= 30 else f"{digits[:12]}… ({len(digits)} digits)"
    return kind(value)


def kind(value):
    return {
        dict: "an object",
        list: "a list",
        str: "a string",
        bool: "true or false",
        type(None): "null",
    }.get(type(value), "a number")
