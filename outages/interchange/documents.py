"""Reading incident documents (YAML or JSON) into plain data, with the line of every value.
No models here: document_checks.py checks them, importing.py applies them."""

import gc
import json
import re
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml

from outages.text import CONTROL_CHARACTERS

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "docs" / "incident-format.schema.json"
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_DEPTH = 40
# Control characters: C0, DEL and C1. Stored, they break pages, feeds and exports, and
# PostgreSQL refuses NUL outright. Tab and line breaks belong in texts of several lines
# (document_checks.TEXT_FIELDS) and nowhere else.
CONTROL = CONTROL_CHARACTERS


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


MILESTONE_NAMES = ("started_at", "detected_at", "mitigated_at", "resolved_at")


def schema():
    """The published JSON Schema of incident documents."""
    return json.loads(SCHEMA_PATH.read_text())


def precision_key(milestone):
    """The document field of a milestone's precision: started_at -> started_precision."""
    return milestone.replace("_at", "_precision")


# libyaml's parser; PyYAML's own where the C extension is missing.
BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class LineLoader(BaseLoader):
    """Safe YAML that keeps every value's line in `lines` ({(id(container), key or index):
    line}), and reads dates and times as plain strings (the schema and the importer decide what
    a time means, not YAML 1.1's guesses).

    Aliases are refused: nobody needs them to write an incident, and nested aliases can
    expand a small file into billions of values."""

    def __init__(self, stream):
        super().__init__(stream)
        self.lines = {}

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


def load_yaml(text):
    """(data, lines) of a YAML document (see LineLoader). Raises yaml.YAMLError."""
    loader = LineLoader(text)
    try:
        return loader.get_single_data(), loader.lines
    finally:
        loader.dispose()


@contextmanager
def gc_paused():
    """Hold off Python's cycle collector while building millions of objects that all stay
    alive: with it running, reading and importing large files spends much of its time in
    collections that find nothing (docs/import-speed.md)."""
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
    nearly is): json.loads is many times faster than the YAML reader but keeps no lines,
    which are only needed to place a problem. None at all unless both readings give the same
    data."""
    try:
        with gc_paused():
            # Valid JSON has tabs only between tokens, where YAML's flow style wants spaces;
            # other control characters only in strings (read() lets them through, to name
            # them), where YAML wants them escaped.
            text = CONTROL.sub(lambda found: f"\\u{ord(found.group()):04x}", text)
            yaml_data, yaml_lines = load_yaml(text.replace("\t", " "))
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
                data, lines = load_yaml(text)
                too_deep = bool(depth(data))
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
