"""Warnings: what an import reports without refusing. The Importer collects them beside its
problems; the command prints them in the dry run and the real run, and the admin's import page
shows them, with or without problems."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from outages.interchange.importing import Importer
from outages.models import Incident
from tests.test_import import NEW_INCIDENT, run, write

URL = reverse("admin:outages_incident_import")
WARNING = "incidents[0].timeline[1].at: far from the incident's other times"
LINE = NEW_INCIDENT.splitlines().index('  - at: "2020-01-01T12:30:00-08:00"') + 1
BROKEN = NEW_INCIDENT.replace("title: Storage incident", "title: ''")


@pytest.fixture(autouse=True)
def warns(monkeypatch):
    """An Importer that warns about every incident it plans, as checks of other kinds do."""
    plan = Importer.plan

    def warning_plan(self, document, index, data):
        self.warnings.append(
            document.problem(["incidents", index, "timeline", 1, "at"], WARNING.split(": ")[1])
        )
        return plan(self, document, index, data)

    monkeypatch.setattr(Importer, "plan", warning_plan)


@pytest.mark.parametrize("options", [["--dry-run"], []])
def test_the_command_prints_warnings_and_still_imports(db, tmp_path, options):
    output = run("import_incidents", write(tmp_path, NEW_INCIDENT), *options)

    assert "1 warning:\n" in output
    assert f"incident.yaml:{LINE} {WARNING}\n" in output
    assert Incident.objects.count() == (0 if options else 1)


def test_warnings_are_printed_beside_problems(db, tmp_path):
    out = io.StringIO()

    with pytest.raises(CommandError) as error:
        call_command("import_incidents", write(tmp_path, BROKEN), stdout=out)

    assert "sources[0].title: This field cannot be blank" in str(error.value)
    assert f"incident.yaml:{LINE} {WARNING}" in out.getvalue()


@pytest.mark.parametrize("text", [NEW_INCIDENT, BROKEN], ids=["valid", "with problems"])
def test_the_import_page_shows_warnings(admin_client, text):
    document = SimpleUploadedFile("incident.yaml", text.encode())

    response = admin_client.post(URL, {"file": document})

    assert response.context["warnings"] == [f"incident.yaml:{LINE} {WARNING}"]
    assert "1 warning" in response.content.decode()
