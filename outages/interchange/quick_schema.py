"""A quick yes-or-no check of a document against the incident schema, for the common case of a
valid document; jsonschema (document_checks.py) walks only one it refuses, to name each error.

Measured on the import benchmark's documents (bench/import_doc.py, 3,000 incidents, see
docs/import-speed.md): jsonschema takes 11-19 s per 10,000 incidents, this check 0.5-0.7 s,
while the whole import takes 45-95 s, so jsonschema alone would add a fifth to a third.
tests/test_import_quick_schema.py shows the two agree on every shipped and test document.
"""

import functools
import numbers
import re

import jsonschema

from outages.interchange.documents import schema


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
def compiled():
    try:
        return compile_schema(schema())
    except Unsupported:
        return lambda data: False


def passes(data):
    """Whether `data` is a valid incident document: exactly when jsonschema finds no error."""
    return compiled()(data)
