"""Reading incident documents (YAML or JSON) into plain data, with the line of every value, and
checking them against the published JSON Schema. No models here: importing.py applies them."""

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import jsonschema
import yaml

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "docs" / "incident-format.schema.json"
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_DEPTH = 40


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
    def __init__(self, problems):
        self.problems = problems
        super().__init__("\n".join(str(problem) for problem in problems))


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


@dataclass
class Document:
    name: str
    data: object
    lines: dict  # (id(container), key or index) -> line; empty for JSON

    def line_of(self, path):
        """The line of the value at `path`, or of its nearest ancestor that has one."""
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


def depth(value, limit=MAX_DEPTH):
    stack = [(value, 1)]
    while stack:
        node, level = stack.pop()
        if level > limit:
            return level
        children = (
            node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        )
        stack.extend((child, level + 1) for child in children)
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
    if "\x00" in text:
        return None, [Problem(name, None, "", "contains NUL characters")]
    lines = {}
    try:
        if name.endswith(".json"):
            data = json.loads(text)
        else:
            loader = LineLoader(text)
            loader.lines = lines
            try:
                data = loader.get_single_data()
            finally:
                loader.dispose()
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
    if depth(data):
        return None, [Problem(name, None, "", f"is nested more than {MAX_DEPTH} levels deep")]
    return Document(name, data, lines), []


def schema():
    return json.loads(SCHEMA_PATH.read_text())


def check_schema(document, validator=None, zone_given=False):
    """Every way the document breaks the schema, in plain words, with path and line; then,
    if the shape is right, every time that cannot be read."""
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
    for path, value in times(document.data):
        message = time_problem(value, zone_given)
        if message:
            problems.append(document.problem(path, message))
    return sorted(problems, key=lambda problem: (problem.line or 0, problem.path))


def times(data):
    """(path, value) of every time in a document, wherever its shape allows looking."""
    incidents = data.get("incidents") if isinstance(data, dict) else None
    for i, incident in enumerate(incidents if isinstance(incidents, list) else []):
        if not isinstance(incident, dict):
            continue
        base = ["incidents", i]
        for name in ("started_at", "detected_at", "mitigated_at", "resolved_at"):
            yield base + [name], incident.get(name)
        for key, names in (("timeline", ["at"]), ("customers", ["started_at", "ended_at"])):
            rows = incident.get(key)
            for j, row in enumerate(rows if isinstance(rows, list) else []):
                for name in names:
                    if isinstance(row, dict):
                        yield base + [key, j, name], row.get(name)


def time_problem(value, zone_given):
    if not isinstance(value, str):
        return None  # missing or of the wrong type: the schema says so
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return f"“{value}” is not an ISO 8601 time such as 2012-12-24T12:24:00-08:00"
    if parsed.tzinfo is None and not zone_given:
        return f"“{value}” has no UTC offset; add one or pass --timezone"
    return None


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
