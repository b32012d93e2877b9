"""The shape of outages/: one concern per module, arrows pointing one way, libraries used plainly.

These read the source, not the behaviour, so a newcomer's map (README's "Layout") stays true.
"""

import ast
import sys
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[1] / "outages"
LONGEST_MODULE = 500  # lines; past this a reader no longer finds things (ARCHITECTURE.md)

# Documented Django API despite the leading underscore.
PUBLIC_UNDERSCORED = {"_meta", "_default_manager", "_base_manager"}


def modules():
    for path in sorted(APP.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        parts = path.relative_to(APP.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield ".".join(parts), path


MODULES = dict(modules())


def imported(name):
    """The outages modules (and library names) that module `name` imports, as dotted paths."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            # `from outages.web import feeds` imports the module outages.web.feeds
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {target for target in found if target.split(".")[0] in {"outages", "django"}}


def within(target, *packages):
    return any(target == p or target.startswith(p + ".") for p in packages)


# (who, what they must never import, why)
FORBIDDEN = [
    (
        ("outages.models",),
        ("outages.web", "outages.api", "outages.admin", "outages.interchange"),
        "the data does not know its doors",
    ),
    (
        (
            "outages.rendering",
            "outages.text",
            "outages.names",
            "outages.charts",
            "outages.excerpts",
            "outages.apart",
        ),
        ("outages.models", "django.db"),
        "pure functions of text and drawing take plain data",
    ),
    (("outages.interchange",), ("outages.web", "outages.admin"), "files are read without pages"),
    (("outages.web", "outages.api"), ("outages.admin",), "readers' doors never load the admin"),
]


@pytest.mark.parametrize(("who", "never", "why"), FORBIDDEN, ids=[f[2] for f in FORBIDDEN])
def test_dependencies_point_one_way(who, never, why):
    wrong = sorted(
        f"{name} imports {target}"
        for name in MODULES
        if within(name, *who)
        for target in imported(name)
        if within(target, *never)
    )
    assert not wrong, why


def test_only_templates_use_the_template_tags():
    users = sorted(
        name
        for name in MODULES
        if not within(name, "outages.templatetags")
        and any(within(target, "outages.templatetags") for target in imported(name))
    )
    assert not users


def test_view_modules_do_not_import_each_other():
    # The modules web/urls.py routes to; shared helpers live in modules of their own.
    routed = imported("outages.web.urls") - {"outages.page_cache"}
    view_modules = {
        target for target in routed if target in MODULES and MODULES[target].name != "__init__.py"
    }
    crossing = sorted(
        f"{name} imports {target}"
        for name in view_modules
        for target in imported(name)
        if target in view_modules and target != name
    )
    assert not crossing


def test_no_module_shares_a_name_with_the_standard_library():
    clashes = sorted(name for name in MODULES if name.rpartition(".")[2] in sys.stdlib_module_names)
    assert not clashes


def test_the_standard_library_statistics_is_the_one_imported():
    import statistics

    assert Path(statistics.__file__).resolve().parent != APP
    assert hasattr(statistics, "median")


@pytest.mark.parametrize("name", sorted(MODULES))
def test_modules_stay_small(name):
    lines = len(MODULES[name].read_text().splitlines())
    assert lines <= LONGEST_MODULE, f"{name} has {lines} lines: split it by concern"


def test_only_commands_raise_command_error():
    raising = sorted(
        name
        for name, path in MODULES.items()
        if not within(name, "outages.management.commands") and "CommandError" in path.read_text()
    )
    assert not raising


def test_no_private_attributes_of_other_libraries():
    private = []
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and node.module.split(".")[0] != "outages"
            ):
                private += [
                    f"{name}: from {node.module} import {alias.name}"
                    for alias in node.names
                    if alias.name.startswith("_")
                ]
            if (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and node.attr not in PUBLIC_UNDERSCORED
                and not (isinstance(node.value, ast.Name) and node.value.id in {"self", "cls"})
            ):
                private.append(f"{name}:{node.lineno} .{node.attr}")
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if node.value in {"_prefetched_objects_cache", "_result_cache"}:
                    private.append(f"{name}:{node.lineno} {node.value!r}")
    assert not private


def reached(name):
    """Every module `name` imports, directly or through other outages modules."""
    seen, todo = set(), [name]
    while todo:
        for target in imported(todo.pop()):
            if target not in seen:
                seen.add(target)
                if target in MODULES:
                    todo.append(target)
    return seen


@pytest.mark.parametrize(
    "name", [n for n in sorted(MODULES) if within(n, "outages.web", "outages.api")]
)
def test_reader_doors_never_load_admin_code(name):
    admin_code = sorted(
        t for t in reached(name) if within(t, "outages.admin", "django.contrib.admin")
    )
    assert not admin_code
