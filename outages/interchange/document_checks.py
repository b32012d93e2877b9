"""Checking a document read by documents.py: against the published JSON Schema (with
jsonschema), for control characters, and its times, every problem in plain words with its
field and line."""

import functools
import json
import re

import jsonschema

from outages.interchange import quick_schema
from outages.interchange.document_times import time_problem, times
from outages.interchange.documents import CONTROL, schema
from outages.models import ActionItem, TimelineEvent

CONTROL_OR_BREAK = re.compile("[\x00-\x1f\x7f-\x9f]")
# Model fields whose every value in a document the schema check settles, by the schema rows
# and property they come from: an enum of choices the field takes, or true/false. The importer
# checks only documents that pass (Importer.run leaves out every incident with a problem
# here), so the models' full_clean() would find nothing more in these, and is not asked to
# (planning.Planning.resolved): for 100,000 timeline events, half of validating them.
# test_import_quick_schema.py checks each against the schema and the model.
SETTLED = {
    TimelineEvent: {
        "kind": ("timeline", "kind"),
        "precision": ("timeline", "precision"),  # or what the time's text allows
        "marks": ("timeline", "marks"),
        "is_key_event": ("timeline", "key_event"),
    },
    ActionItem: {"kind": ("action_items", "kind"), "status": ("action_items", "status")},
}
# Texts of several lines, where tabs and line breaks belong.
TEXT_FIELDS = frozenset(
    {"summary", "impact", "root_cause", "detection", "response", "lessons"}  # Markdown
    | {"description", "note", "claim", "fact"}
)


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


@functools.cache
def validator():
    return jsonschema.Draft202012Validator(schema())


def check_schema(document, zone=None):
    """Every way the document breaks the schema, in plain words, with path and line; then,
    if the shape is right, every time that cannot be read. `zone`: the run's default time zone
    for incidents that give none (--timezone).

    jsonschema names every error, but walks only a document the quick check refuses
    (quick_schema.py says why)."""
    problems = control_problems(document)
    if not quick_schema.passes(document.data):
        problems += schema_problems(document)
    for path, value, incident_zone, precision in times(document.data):
        message = time_problem(value, incident_zone or zone, precision)
        if message:
            problems.append(document.problem(path, message))
    return sorted(problems, key=lambda problem: (problem.line or 0, problem.path))


def schema_problems(document):
    problems = []
    errors = validator().iter_errors(document.data)
    for error in sorted(errors, key=lambda error: list(error.absolute_path)):
        path = list(error.absolute_path)
        if error.validator == "additionalProperties":
            for name in sorted(set(error.instance) - set(error.schema.get("properties", {}))):
                problems.append(
                    document.problem(path + [name], "unknown field (check the spelling)")
                )
        else:
            problems.append(document.problem(path, plain_message(error)))
    return problems


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
