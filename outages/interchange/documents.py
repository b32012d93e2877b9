"""Reading incident documents (YAML or JSON) into plain data, with the line of every value, and
checking them against the published JSON Schema. No models here: importing.py applies them."""

import functools
import gc
import json
import numbers
import re
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import jsonschema
import yaml

from outages.text import CONTROL_CHARACTERS, ZONE_UNSTATED

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "docs" / "incident-format.schema.json"
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_DEPTH = 40
# Control characters: C0, DEL and C1. Stored, they break pages, feeds and exports, and
# PostgreSQL refuses NUL outright. Tab and line breaks belong in texts of several lines
# (TEXT_FIELDS) and nowhere else.
CONTROL = CONTROL_CHARACTERS
CONTROL_OR_BREAK = re.compile("[\x00-\x1f\x7f-\x9f]")
TEXT_FIELDS = frozenset(
    {"summary", "impact", "root_cause", "detection", "response", "lessons"}  # Markdown
    | {"description", "note", "claim", "fact"}
)


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    path: str
    message: str

    def __str__(self):
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where} {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ImportFailed(Exception):
    def __init__(self, problems, warnings=()):
        self.problems = problems
        self.warnings = list(warnings)  # found too, reported beside the problems
        super().__init__("\n".join(str(problem) for problem in problems))


def base_name(name):
    """A file's name without its folders, as history and the public change log show it: the
    path an import was read from (or an upload's temporary file) is the server's business."""
    return re.split(r"[/\\]", name)[-1]


def path_text(path):
    """incidents[0].timeline[3].at from ("incidents", 0, "timeline", 3, "at")."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


# libyaml's parser when PyYAML has it (its wheels do): many times faster on large imports.
BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class LineLoader(BaseLoader):
    """Safe YAML that keeps every value's line, and reads dates and times as plain strings
    (the schema and the importer decide what a time means, not YAML 1.1's guesses).

    Aliases are refused: nobody needs them to write an incident, and nested aliases can
    expand a small file into billions of values."""

    def construct_object(self, node, deep=False):
        # The same node met again is an alias (*name); refuse it before it multiplies.
        if node in self.constructed_objects or node in self.recursive_objects:
            raise yaml.constructor.ConstructorError(
                None, None, "aliases (*name) are not allowed", node.start_mark
            )
        return super().construct_object(node, deep)


LineLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in BaseLoader.yaml_implicit_resolvers.items()
}


def _mapping(loader, node):
    loader.flatten_mapping(node)
    pairs = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str):
            raise yaml.constructor.ConstructorError(
                None, None, "keys must be words", key_node.start_mark
            )
        if key in pairs:
            raise yaml.constructor.ConstructorError(
                None, None, f"“{key}” appears twice here", key_node.start_mark
            )
        pairs[key] = loader.construct_object(value_node, deep=True)
        loader.lines[(id(pairs), key)] = value_node.start_mark.line + 1
    return pairs


def _sequence(loader, node):
    items = [loader.construct_object(child, deep=True) for child in node.value]
    for index, child in enumerate(node.value):
        loader.lines[(id(items), index)] = child.start_mark.line + 1
    return items


LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _sequence)

STR_TAG = "tag:yaml.org,2002:str"
MAP_TAG = yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG
SEQ_TAG = yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG
MERGE_TAGS = {"tag:yaml.org,2002:merge", "tag:yaml.org,2002:value"}
SCALAR_CONSTRUCTORS = {
    "tag:yaml.org,2002:null": BaseLoader.construct_yaml_null,
    "tag:yaml.org,2002:bool": BaseLoader.construct_yaml_bool,
    "tag:yaml.org,2002:int": BaseLoader.construct_yaml_int,
    "tag:yaml.org,2002:float": BaseLoader.construct_yaml_float,
}


class Unusual(Exception):
    """A tag or merge key (<<) the quick builder leaves to PyYAML's own constructor."""


def build(loader, root, lines):
    """The data of a composed YAML document, as LineLoader would construct it, several times
    faster: one plain recursive walk over the nodes instead of PyYAML's constructor machinery.
    Handles maps, lists, text, numbers, true/false and null; raises Unusual for anything else.
    Returns (data, whether it is nested more than MAX_DEPTH levels deep).
    """
    seen = set()  # ids of the nodes met; meeting one again means an alias
    too_deep = False

    def alias(node):
        return yaml.constructor.ConstructorError(
            None, None, "aliases (*name) are not allowed", node.start_mark
        )

    def value(node, level):
        nonlocal too_deep
        if id(node) in seen:
            raise alias(node)
        seen.add(id(node))
        if level > MAX_DEPTH:
            too_deep = True
        tag = node.tag
        if tag == STR_TAG:
            return node.value
        if tag == MAP_TAG:
            pairs = {}
            for key_node, value_node in node.value:
                if key_node.tag == STR_TAG and id(key_node) not in seen:
                    seen.add(id(key_node))
                    key = key_node.value
                elif key_node.tag in MERGE_TAGS:
                    raise Unusual
                else:
                    key = value(key_node, level + 1)
                    if not isinstance(key, str):
                        raise yaml.constructor.ConstructorError(
                            None, None, "keys must be words", key_node.start_mark
                        )
                if key in pairs:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"“{key}” appears twice here", key_node.start_mark
                    )
                pairs[key] = value(value_node, level + 1)
                lines[(id(pairs), key)] = value_node.start_mark.line + 1
            return pairs
        if tag == SEQ_TAG:
            items = []
            for index, child in enumerate(node.value):
                items.append(value(child, level + 1))
                lines[(id(items), index)] = child.start_mark.line + 1
            return items
        constructor = SCALAR_CONSTRUCTORS.get(tag)
        if constructor is None or not isinstance(node, yaml.ScalarNode):
            raise Unusual
        return constructor(loader, node)

    data = value(root, 1)
    return data, too_deep


def load_yaml(text):
    """(data, lines, whether it is nested too deeply) of a YAML document. Raises
    yaml.YAMLError."""
    loader = LineLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}, False
        lines = {}
        try:
            data, too_deep = build(loader, node, lines)
        except Unusual:
            loader.lines = lines = {}
            data = loader.construct_document(node)
            too_deep = bool(depth(data))
        return data, lines, too_deep
    finally:
        loader.dispose()


@contextmanager
def gc_paused():
    """Hold off Python's cycle collector while building millions of objects that all stay
    alive: with it running, reading and importing large files spends much of its time in
    collections that find nothing (composing a 10 MB YAML file: 2.0 s instead of 0.6 s)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass
class Document:
    name: str
    data: object
    lines: dict | None  # (id(container), key or index) -> line; for JSON, None until needed
    text: str = ""  # JSON only, to find the lines when a problem needs one
    stand_in: str | None = None  # YAML: what replaced raw control characters (control_problems)

    def line_of(self, path):
        """The line of the value at `path`, or of its nearest ancestor that has one."""
        if self.lines is None:
            self.lines = json_lines(self.text, self.data)
        node, line = self.data, None
        for part in path:
            line = self.lines.get((id(node), part), line)
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                break
        return line

    def problem(self, path, message):
        return Problem(self.name, self.line_of(path), path_text(path), message)

    @property
    def base_name(self):
        return base_name(self.name)


def json_lines(text, data):
    """The lines of a JSON document's values, found by reading it again as YAML (which JSON
    nearly is): json.loads is twenty times faster than the YAML reader but keeps no lines,
    which are only needed to place a problem. None at all unless both readings give the same
    data."""
    try:
        with gc_paused():
            # Valid JSON has tabs only between tokens, where YAML's flow style wants spaces;
            # other control characters only in strings (read() lets them through, to name
            # them), where YAML wants them escaped.
            text = CONTROL.sub(lambda found: f"\\u{ord(found.group()):04x}", text)
            yaml_data, yaml_lines, _ = load_yaml(text.replace("\t", " "))
    except (yaml.YAMLError, RecursionError):
        return {}
    if yaml_data != data:
        return {}
    lines = {}
    stack = [(data, yaml_data)] if isinstance(data, dict | list) else []
    while stack:
        node, twin = stack.pop()
        keys = node if isinstance(node, dict) else range(len(node))
        for key in keys:
            if (id(twin), key) in yaml_lines:
                lines[(id(node), key)] = yaml_lines[(id(twin), key)]
            if isinstance(node[key], dict | list):
                stack.append((node[key], twin[key]))
    return lines


def depth(value, limit=MAX_DEPTH):
    """Non-zero if `value` is nested more than `limit` levels deep (a value inside a list or
    mapping is one level deeper than it)."""
    stack = [(value, 1)]
    while stack:
        node, level = stack.pop()
        if level > limit:
            return level
        children = (
            node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        )
        for child in children:
            if isinstance(child, dict | list):
                stack.append((child, level + 1))
            elif level >= limit:
                return level + 1
    return 0


def read(name, raw):
    """Parse one file's bytes. Returns (Document, []) or (None, [problems])."""
    if len(raw) > MAX_FILE_BYTES:
        return None, [Problem(name, None, "", f"is larger than {MAX_FILE_BYTES // 2**20} MB")]
    try:
        text = raw.decode("utf-8-sig")  # a byte-order mark is harmless; drop it
    except UnicodeDecodeError as error:
        return None, [
            Problem(name, None, "", f"is not UTF-8 text (byte {error.start} cannot be read)")
        ]
    stand_in = None
    try:
        with gc_paused():
            if name.endswith(".json"):
                # Control characters inside strings are let through, to be refused with their
                # field by check_schema (control_problems).
                data, lines = json.loads(text, strict=False, object_pairs_hook=unique_keys), None
                too_deep = bool(depth(data))
            else:
                # YAML's reader refuses them with a line only; a stand-in lets check_schema
                # name the field instead.
                text, stand_in = stand_in_for_controls(text)
                data, lines, too_deep = load_yaml(text)
    except DuplicateKey as error:
        line = duplicate_line(text, error.key)
        return None, [Problem(name, line, "", f"is not valid JSON: “{error.key}” appears twice")]
    except json.JSONDecodeError as error:
        return None, [Problem(name, error.lineno, "", f"is not valid JSON: {error.msg}")]
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
        reason = getattr(error, "problem", None) or str(error)
        return None, [
            Problem(name, mark.line + 1 if mark else None, "", f"is not valid YAML: {reason}")
        ]
    except RecursionError:
        return None, [Problem(name, None, "", "is nested too deeply to read")]
    if too_deep:
        return None, [Problem(name, None, "", f"is nested more than {MAX_DEPTH} levels deep")]
    return Document(name, data, lines, text if lines is None else "", stand_in), []


class DuplicateKey(ValueError):
    def __init__(self, key):
        self.key = key
        super().__init__(key)


def unique_keys(pairs):
    """A JSON object as a dict, refusing a key given twice (json.loads keeps the last)."""
    mapping = dict(pairs)
    if len(mapping) != len(pairs):
        seen = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKey(key)
            seen.add(key)
    return mapping


def duplicate_line(text, key):
    """The line of a key given twice in a JSON document, found by reading it as YAML (whose
    reader here refuses it with a line), or None."""
    try:
        with gc_paused():
            load_yaml(text.replace("\t", " "))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        return mark.line + 1 if mark else None
    except RecursionError:
        return None
    return None


def stand_in_for_controls(text):
    """(text, stand-in): the text with every control character but tab and line breaks
    replaced by a private-use character it does not contain, or (text, None) when it has none."""
    if not CONTROL.search(text):
        return text, None
    stand_in = next(chr(code) for code in range(0xF0000, 0xF1000) if chr(code) not in text)
    return CONTROL.sub(stand_in, text), stand_in


def control_problems(document):
    """Every value or key holding a control character, named by its field. Tabs and line
    breaks are fine in texts of several lines (TEXT_FIELDS) only."""
    problems = []
    stand_in = document.stand_in
    stack = [(document.data, [], None)]
    while stack:
        node, path, field_name = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if CONTROL_OR_BREAK.search(key) or (stand_in and stand_in in key):
                    problems.append(
                        document.problem(path, f"a key {control_message(key, stand_in)}")
                    )
                if isinstance(value, str):
                    wrong = CONTROL if key in TEXT_FIELDS else CONTROL_OR_BREAK
                    if wrong.search(value) or (stand_in and stand_in in value):
                        problems.append(
                            document.problem(path + [key], control_message(value, stand_in))
                        )
                elif isinstance(value, dict | list):
                    stack.append((value, path + [key], key))
        elif isinstance(node, list):
            wrong = CONTROL if field_name in TEXT_FIELDS else CONTROL_OR_BREAK
            for index, value in enumerate(node):
                if isinstance(value, str):
                    if wrong.search(value) or (stand_in and stand_in in value):
                        problems.append(
                            document.problem(path + [index], control_message(value, stand_in))
                        )
                elif isinstance(value, dict | list):
                    stack.append((value, path + [index], field_name))
    return problems


def control_message(value, stand_in):
    found = CONTROL_OR_BREAK.search(value)
    if found is None:  # only raw ones, which the stand-in replaced
        return "contains a control character, which is not allowed; remove it"
    character = found.group()
    if character in "\t\n\r":
        return "contains a tab or line break; this field takes one line"
    named = " (NUL)" if character == "\x00" else ""
    return f"contains the control character U+{ord(character):04X}{named}; remove it"


def schema():
    return json.loads(SCHEMA_PATH.read_text())


def check_schema(document, validator=None, zone=None):
    """Every way the document breaks the schema, in plain words, with path and line; then,
    if the shape is right, every time that cannot be read. `zone`: the run's default time zone
    for incidents that give none (--timezone).

    A document the quick check passes has no schema errors; only one it fails is walked by
    jsonschema, which names every error but takes ten times as long."""
    problems = control_problems(document)
    if validator is not None or not quick_check()(document.data):
        problems += schema_problems(document, validator)
    for path, value, incident_zone, precision in times(document.data):
        message = time_problem(value, incident_zone or zone, precision)
        if message:
            problems.append(document.problem(path, message))
    return sorted(problems, key=lambda problem: (problem.line or 0, problem.path))


def schema_problems(document, validator=None):
    validator = validator or jsonschema.Draft202012Validator(schema())
    problems = []
    for error in sorted(validator.iter_errors(document.data), key=lambda e: list(e.absolute_path)):
        path = list(error.absolute_path)
        if error.validator == "additionalProperties":
            for name in sorted(set(error.instance) - set(error.schema.get("properties", {}))):
                problems.append(
                    document.problem(path + [name], "unknown field (check the spelling)")
                )
        else:
            problems.append(document.problem(path, plain_message(error)))
    return problems


class Unsupported(Exception):
    """The schema uses a keyword the quick check does not know; jsonschema checks alone."""


# JSON Schema's simple types as jsonschema's Draft 2020-12 type checker sees them.
TYPE_TESTS = {
    "string": lambda value: isinstance(value, str),
    "object": lambda value: isinstance(value, dict),
    "array": lambda value: isinstance(value, list),
    "boolean": lambda value: isinstance(value, bool),
    "null": lambda value: value is None,
    "integer": lambda value: jsonschema.Draft202012Validator.TYPE_CHECKER.is_type(value, "integer"),
    "number": lambda value: isinstance(value, numbers.Number) and not isinstance(value, bool),
}
ANNOTATIONS = {"$schema", "$id", "$defs", "$comment", "title", "description", "examples"}


def compile_schema(root):
    """A function that says whether a value is valid against `root`: exactly when jsonschema
    would find no error, for the keywords the incident schema uses (Unsupported for others)."""
    definitions = {}

    def reference(ref):
        prefix = "#/$defs/"
        if not ref.startswith(prefix) or "/" in ref[len(prefix) :]:
            raise Unsupported(ref)
        name = ref[len(prefix) :]
        if name not in definitions:
            definitions[name] = None  # compiled below; a recursive schema finds it by then
            definitions[name] = compile_node(root["$defs"][name])
        return lambda value: definitions[name](value)

    def compile_node(node):
        if node is True or node == {}:
            return lambda value: True
        if node is False:
            return lambda value: False
        unknown = set(node) - ANNOTATIONS - set(KEYWORDS)
        if unknown or node.get("additionalProperties", False) is not False:
            raise Unsupported(", ".join(sorted(map(str, unknown))) or "additionalProperties")
        tests = [
            KEYWORDS[key](node[key], node, compile_node, reference)
            for key in node
            if key in KEYWORDS
        ]
        tests = [test for test in tests if test is not None]
        return functools.reduce(both, tests) if tests else lambda value: True

    return compile_node(root)


def both(first, second):
    return lambda value: first(value) and second(value)


def either(first, second):
    return lambda value: first(value) or second(value)


def _type(wanted, node, compile_node, reference):
    names = [wanted] if isinstance(wanted, str) else wanted
    if not names or not set(names) <= set(TYPE_TESTS):
        raise Unsupported(f"type {wanted}")
    return functools.reduce(either, [TYPE_TESTS[name] for name in names])


def _string_values(values):
    if not all(isinstance(value, str) for value in values):
        raise Unsupported("enum or const other than text")
    return frozenset(values)


def _enum(values, node, compile_node, reference):
    allowed = _string_values(values)
    return lambda value: isinstance(value, str) and value in allowed


def _const(constant, node, compile_node, reference):
    allowed = _string_values([constant])
    return lambda value: isinstance(value, str) and value in allowed


def _max_length(limit, node, compile_node, reference):
    return lambda value: not isinstance(value, str) or len(value) <= limit


def _pattern(pattern, node, compile_node, reference):
    search = re.compile(pattern).search
    return lambda value: not isinstance(value, str) or search(value) is not None


def _minimum(limit, node, compile_node, reference):
    number = TYPE_TESTS["number"]
    return lambda value: not number(value) or value >= limit


def _maximum(limit, node, compile_node, reference):
    number = TYPE_TESTS["number"]
    return lambda value: not number(value) or value <= limit


def _min_items(limit, node, compile_node, reference):
    return lambda value: not isinstance(value, list) or len(value) >= limit


def _items(items, node, compile_node, reference):
    test = compile_node(items)
    return lambda value: not isinstance(value, list) or all(test(item) for item in value)


def _properties(properties, node, compile_node, reference):
    tests = {name: compile_node(subschema) for name, subschema in properties.items()}
    closed = node.get("additionalProperties", True) is False

    def check(value):
        if not isinstance(value, dict):
            return True
        for name, item in value.items():
            test = tests.get(name)
            if test is None:
                if closed:
                    return False
            elif not test(item):
                return False
        return True

    return check


def _additional_properties(allowed, node, compile_node, reference):
    if "properties" in node:
        return None  # checked with the properties
    return lambda value: not isinstance(value, dict) or not value


def _required(names, node, compile_node, reference):
    return lambda value: not isinstance(value, dict) or all(name in value for name in names)


def _any_of(subschemas, node, compile_node, reference):
    if not subschemas:
        raise Unsupported("anyOf []")
    return functools.reduce(either, [compile_node(subschema) for subschema in subschemas])


def _ref(ref, node, compile_node, reference):
    return reference(ref)


KEYWORDS = {
    "type": _type,
    "enum": _enum,
    "const": _const,
    "maxLength": _max_length,
    "pattern": _pattern,
    "minimum": _minimum,
    "maximum": _maximum,
    "minItems": _min_items,
    "items": _items,
    "properties": _properties,
    "additionalProperties": _additional_properties,
    "required": _required,
    "anyOf": _any_of,
    "$ref": _ref,
}


@functools.cache
def quick_check():
    try:
        return compile_schema(schema())
    except Unsupported:
        return lambda data: False


MILESTONE_NAMES = ("started_at", "detected_at", "mitigated_at", "resolved_at")


def precision_key(milestone):
    """The document field of a milestone's precision: started_at -> started_precision."""
    return milestone.replace("_at", "_precision")


def times(data):
    """(path, value, the incident's time_zone or None, the precision given for it or None) of
    every time in a document, wherever its shape allows looking."""
    incidents = data.get("incidents") if isinstance(data, dict) else None
    for i, incident in enumerate(incidents if isinstance(incidents, list) else []):
        if not isinstance(incident, dict):
            continue
        base = ["incidents", i]
        zone = incident.get("time_zone")
        zone = zone if isinstance(zone, str) and zone else None
        for name in MILESTONE_NAMES:
            yield base + [name], incident.get(name), zone, given(incident, precision_key(name))
        for key, names in (("timeline", ["at"]), ("customers", ["started_at", "ended_at"])):
            rows = incident.get(key)
            for j, row in enumerate(rows if isinstance(rows, list) else []):
                for name in names:
                    if isinstance(row, dict):
                        precision = given(row, "precision") if key == "timeline" else CLOCK_NEEDED
                        yield base + [key, j, name], row.get(name), zone, precision


# Stands for the precision of a customer impact's times, which have no precision field and so
# must be written with a clock time.
CLOCK_NEEDED = "clock"


def given(mapping, key):
    value = mapping.get(key)
    return value if isinstance(value, str) else None


# --- Times as documents write them ------------------------------------------------------------

# How fine each precision is; a time's text allows a precision no finer than its own.
FINENESS = {"year": 0, "month": 1, "date": 2, "hour": 3, "approximate": 4, "minute": 4}
PERIOD_FORMS = [
    (re.compile(r"^(\d{4})$"), "year"),
    (re.compile(r"^(\d{4})-(\d{2})$"), "month"),
    (re.compile(r"^(\d{4})[-/](\d{2})[-/](\d{2})$"), "date"),
]
CLOCK_FORM = re.compile(r"^(\d{4})[-/](\d{2})[-/](\d{2})([T ]\d{2}:\d{2}.*)$")
TIME_EXAMPLES = (
    "2012-12-24T12:24:00-08:00, 2016-09-23T17:21, 2016-09-23 17:21, 2016/09/23 17:21, "
    "2017-01-19, 2017-01 or 2017"
)


@dataclass(frozen=True)
class Written:
    """A time as a document writes it: naive unless the text has an offset, and the finest
    precision its text allows (a period, or "minute" for a clock time)."""

    value: datetime
    precision: str


def read_time(value):
    """The Written form of a document's time text, or None if it is not a time."""
    for pattern, precision in PERIOD_FORMS:
        match = pattern.match(value)
        if match:
            parts = [int(part) for part in match.groups()] + [1] * (3 - len(match.groups()))
            try:
                return Written(datetime(*parts), precision)
            except ValueError:
                return None
    match = CLOCK_FORM.match(value)
    if not match:
        return None
    year, month, day, rest = match.groups()
    try:
        return Written(datetime.fromisoformat(f"{year}-{month}-{day}{rest}"), "minute")
    except ValueError:
        return None


def time_problem(value, zone, precision=None):
    """What is wrong with one time of a document, or None. `zone`: the incident's time_zone,
    else the run's default, else None; `precision`: the one given for the time, if any."""
    if not isinstance(value, str):
        return None  # missing or of the wrong type: the schema says so
    written = read_time(value)
    if written is None:
        return f"“{value}” is not a time such as {TIME_EXAMPLES}"
    if precision == CLOCK_NEEDED and written.precision != "minute":
        return f"“{value}” gives no clock time, which a customer's start and end need"
    if precision in FINENESS and FINENESS[precision] > FINENESS[written.precision]:
        return (
            f"“{value}” is known only to the {PERIOD_NAMES[written.precision]}, "
            f"so its precision cannot be “{precision}”"
        )
    if written.value.tzinfo is None and zone is None:
        return (
            f"“{value}” has no UTC offset and the incident gives no time_zone: add time_zone "
            f"(an IANA name, or “{ZONE_UNSTATED}” when the source states none), add an offset, "
            "or give the run a default zone (--timezone, or the import page's time zone)"
        )
    if written.value.tzinfo is not None and zone == ZONE_UNSTATED:
        return (
            f"“{value}” has a UTC offset, but the incident's time_zone says the source states "
            "no zone; write the time as the source did, without an offset, or give the zone"
        )
    return None


PERIOD_NAMES = {"year": "year", "month": "month", "date": "day", "minute": "minute"}


def plain_message(error):
    if error.validator == "required":
        return f"is missing “{error.message.split(chr(39))[1]}”"
    if error.validator == "enum":
        options = ", ".join(str(option) for option in error.validator_value)
        return f"{json.dumps(error.instance)[:80]} is not one of: {options}"
    if error.validator == "maxLength":
        return f"is {len(error.instance):,} characters long; at most {error.validator_value:,} fit"
    if error.validator == "type":
        wanted = error.validator_value
        wanted = [wanted] if isinstance(wanted, str) else wanted
        words = " or ".join(SCHEMA_TYPES.get(name, name) for name in wanted)
        return f"should be {words}, not {type_name(error.instance)}"
    if error.validator == "anyOf":
        return f"{json.dumps(error.instance)[:80]} is neither a slug nor a complete description"
    if error.validator == "pattern":
        return f"{json.dumps(error.instance)[:80]} is not in the expected form"
    return error.message[:200]


SCHEMA_TYPES = {
    "string": "text",
    "object": "a mapping",
    "array": "a list",
    "integer": "a whole number",
    "boolean": "true or false",
    "null": "empty",
}


def type_name(value):
    return {
        dict: "a mapping",
        list: "a list",
        str: "text",
        bool: "true/false",
        type(None): "empty",
    }.get(type(value), "a number" if isinstance(value, int | float) else type(value).__name__)
