"""Control characters and keys given twice in an import document are refused with the field and
line named, by the command and by the admin's import page (never a 500), on every engine."""

import json

import pytest
import yaml
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError
from django.urls import reverse

from outages.models import Incident
from tests.test_import import NEW_INCIDENT, counts, run, write

URL = reverse("admin:outages_incident_import")
TITLE_LINE = NEW_INCIDENT.splitlines().index("  title: Example Cloud outage") + 1


def as_json(text):
    return json.dumps(yaml.safe_load(text), indent=1)


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        (
            "escaped-nul.yaml",
            NEW_INCIDENT.replace("title: Example Cloud outage", 'title: "Example\\0 outage"'),
            f":{TITLE_LINE} incidents[0].title: contains the control character U+0000 (NUL)",
        ),
        (
            "raw-control.yaml",
            NEW_INCIDENT.replace("title: Example Cloud outage", "title: Example\x07 outage"),
            f":{TITLE_LINE} incidents[0].title: contains a control character",
        ),
        (
            "raw-nul.yaml",
            NEW_INCIDENT.replace("title: Example Cloud outage", "title: Example\x00 outage"),
            f":{TITLE_LINE} incidents[0].title: contains a control character",
        ),
        (
            "line-break.yaml",
            NEW_INCIDENT.replace("title: Example Cloud outage", 'title: "Example\\nCloud"'),
            f":{TITLE_LINE} incidents[0].title: contains a tab or line break; this field takes",
        ),
        (
            "escaped-nul.json",
            as_json(NEW_INCIDENT).replace("Storage is back.", "Storage\\u0000 is back."),
            "incidents[0].timeline[1].description: contains the control character U+0000 (NUL)",
        ),
        (
            "raw-control.json",
            as_json(NEW_INCIDENT).replace("Storage is back.", "Storage\x1b is back."),
            "incidents[0].timeline[1].description: contains the control character U+001B",
        ),
        (
            "nul-in-a-name.json",
            as_json(NEW_INCIDENT).replace('"example-shop"', '"example-\\u0000shop"'),
            "incidents[0].customers[0].customer.slug: contains the control character U+0000",
        ),
        (
            "duplicate-key.json",
            as_json(NEW_INCIDENT).replace(
                '"title": "Example Cloud outage",',
                '"title": "Example Cloud outage",\n  "title": "Another",',
            ),
            "is not valid JSON: “title” appears twice",
        ),
        (
            "duplicate-key.yaml",
            NEW_INCIDENT.replace(
                "  title: Example Cloud outage\n",
                "  title: Example Cloud outage\n  title: Another\n",
            ),
            f":{TITLE_LINE + 1}: is not valid YAML: “title” appears twice here",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) and "." in value[:30] else "",
)
def test_bad_characters_and_duplicate_keys_are_refused_with_the_place(
    db, tmp_path, name, content, expected
):
    path = write(tmp_path, content, name)
    before = counts()

    with pytest.raises(CommandError) as error:
        run("import_incidents", path)

    assert (
        f"{name}{expected}" in str(error.value)
        if expected[0] == ":"
        else expected in str(error.value)
    )
    assert f"{name}:" in str(error.value)  # with its line
    assert counts() == before


def test_the_line_of_a_duplicate_json_key_is_named(db, tmp_path):
    text = as_json(NEW_INCIDENT).replace(
        '"title": "Example Cloud outage",', '"title": "Example Cloud outage",\n  "title": "x",'
    )
    line = text.splitlines().index('  "title": "x",') + 1

    with pytest.raises(CommandError) as error:
        run("import_incidents", write(tmp_path, text, "twice.json"))

    assert f"twice.json:{line}: is not valid JSON: “title” appears twice" in str(error.value)


def test_tabs_and_line_breaks_are_fine_in_markdown(db, tmp_path):
    text = NEW_INCIDENT.replace(
        "summary: A configuration push took **storage** down.",
        'summary: "A configuration push\\r\\n\\n\\tsecond paragraph"',
    )

    run("import_incidents", write(tmp_path, text))

    assert "\tsecond paragraph" in Incident.objects.get().summary


@pytest.mark.parametrize("suffix", ["yaml", "json"])
def test_the_import_page_refuses_a_nul_without_an_error_page(admin_client, suffix):
    if suffix == "json":
        content = as_json(NEW_INCIDENT).replace("Storage is back.", "Storage\\u0000 is back.")
    else:
        content = NEW_INCIDENT.replace("Storage is back.", "Storage\x00 is back.")
    document = SimpleUploadedFile(f"nul.{suffix}", content.encode())

    response = admin_client.post(URL, {"file": document})

    assert response.status_code == 200
    html = response.content.decode()
    assert "nothing was written" in html
    assert "incidents[0].timeline[1].description: contains" in html
    assert Incident.objects.count() == 0
