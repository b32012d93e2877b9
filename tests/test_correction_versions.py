"""A correction may cite the archived version of the claiming source that made the claim: in the
model (a copy of claimed_by, never of another URL), in the admin (only copies of the incident's
sources offered), in documents (claimed_in_version) and in exports."""

from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError
from django.urls import reverse

from outages.interchange import archive
from outages.interchange.markdown_export import postmortem
from outages.models import Correction, Incident, Source
from tests.factories import SourceFactory
from tests.test_import import NEW_INCIDENT, run, write
from tests.test_search import admin_form_data

WHEN = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
CLAIMING = "https://status.example.com/incident/1"


def keep(url, *bodies):
    """Archived versions of `url`, one per body (JSON, so each differs)."""
    return [archive.store_body(url, body.encode(), "application/json", WHEN) for body in bodies]


# --- The model ---------------------------------------------------------------------------------


@pytest.fixture
def correction(incident):
    return incident.corrections.get()  # claimed and settled by the test source


def test_a_copy_of_the_claiming_source_may_be_cited(correction, source):
    correction.claimed_in = keep(source.url, '{"v": 1}')[0]

    correction.full_clean()


def test_a_copy_of_another_url_is_refused_at_its_field(correction):
    other = keep("https://status.example.com/other", '{"v": 1}')[0]
    correction.claimed_in = other

    with pytest.raises(ValidationError) as error:
        correction.full_clean()

    assert error.value.message_dict == {
        "claimed_in": [
            "Version 1 is a copy of https://status.example.com/other, not of the source that "
            "made the claim (https://example.com/summary)."
        ]
    }


def test_a_cited_version_needs_the_claiming_source(correction, source):
    correction.claimed_in = keep(source.url, '{"v": 1}')[0]
    correction.claimed_by = None

    with pytest.raises(ValidationError) as error:
        correction.full_clean()

    assert list(error.value.message_dict) == ["claimed_in"]
    assert "choose that source under “claimed by” too" in error.value.messages[0]


# --- The admin ---------------------------------------------------------------------------------


def change_page(client, incident):
    return reverse("admin:outages_incident_change", args=[incident.pk])


def test_the_admin_offers_only_copies_of_the_incident_s_sources(admin_client, incident, source):
    ours = keep(source.url, '{"v": 1}', '{"v": 2}')
    keep("https://status.example.com/not-cited", '{"v": 1}')

    page = admin_client.get(change_page(admin_client, incident))

    formset = next(
        inline.formset
        for inline in page.context["inline_admin_formsets"]
        if inline.formset.model is Correction
    )
    offered = [value for value, _ in formset.forms[0].fields["claimed_in"].choices if value]
    assert offered == [copy.pk for copy in ours]
    assert "https://example.com/summary (version 2, 2026-12-01 09:30 UTC)" in (
        page.content.decode()
    )


def test_an_editor_cites_a_version_in_the_admin(admin_client, incident, source):
    second = keep(source.url, '{"v": 1}', '{"v": 2}')[1]
    page = admin_client.get(change_page(admin_client, incident))
    data = admin_form_data(page)
    data["corrections-0-claimed_in"] = str(second.pk)

    response = admin_client.post(change_page(admin_client, incident), data)

    assert response.status_code == 302, response.context["errors"]
    assert incident.corrections.get().claimed_in == second


def test_the_admin_refuses_a_version_of_a_source_the_incident_does_not_list(admin_client, incident):
    elsewhere = keep("https://status.example.com/not-cited", '{"v": 1}')[0]
    page = admin_client.get(change_page(admin_client, incident))
    data = admin_form_data(page)
    data["corrections-0-claimed_in"] = str(elsewhere.pk)

    response = admin_client.post(change_page(admin_client, incident), data)

    assert response.status_code == 200
    assert incident.corrections.get().claimed_in is None
    assert "Select a valid choice" in response.content.decode()


def test_the_admin_refuses_a_version_of_another_of_the_incident_s_sources(
    admin_client, incident, source
):
    settling = SourceFactory(url="https://status.example.com/settling")
    incident.sources.add(settling)
    theirs = keep(settling.url, '{"v": 1}')[0]
    page = admin_client.get(change_page(admin_client, incident))
    data = admin_form_data(page)
    data["corrections-0-claimed_in"] = str(theirs.pk)

    response = admin_client.post(change_page(admin_client, incident), data)

    assert response.status_code == 200
    assert "not of the source that made the claim" in response.content.decode()
    assert incident.corrections.get().claimed_in is None


# --- Documents -------------------------------------------------------------------------------

CORRECTED = NEW_INCIDENT + (
    "  corrections:\n"
    "  - claim: A test network fault.\n"
    "    fact: A test configuration push.\n"
    f"    claimed_by: {CLAIMING}\n"
    "    claimed_in_version: 2\n"
)

UNVERSIONED = CORRECTED.replace("    claimed_in_version: 2\n", "")


def test_a_document_cites_a_version_by_its_number(db, tmp_path):
    keep(CLAIMING, '{"v": 1}', '{"v": 2}', '{"v": 3}')

    run("import_incidents", write(tmp_path, CORRECTED))

    copy = Correction.objects.get().claimed_in
    assert (copy.url, copy.number) == (CLAIMING, 2)


def test_importing_it_again_changes_nothing(db, tmp_path):
    keep(CLAIMING, '{"v": 1}', '{"v": 2}')
    path = write(tmp_path, CORRECTED)
    run("import_incidents", path)

    assert "1 unchanged" in run("import_incidents", path)


def test_dropping_the_version_from_the_document_clears_it(db, tmp_path):
    keep(CLAIMING, '{"v": 1}', '{"v": 2}')
    run("import_incidents", write(tmp_path, CORRECTED))

    output = run("import_incidents", write(tmp_path, UNVERSIONED))

    assert "1 updated" in output
    assert Correction.objects.get().claimed_in is None


@pytest.mark.parametrize(
    ("held", "message"),
    [
        (0, f"the archive holds no version 2 of {CLAIMING} (it holds none yet)"),
        (1, f"the archive holds no version 2 of {CLAIMING} (it holds version 1)"),
    ],
)
def test_a_version_the_archive_does_not_hold_is_a_problem(db, tmp_path, held, message):
    keep(CLAIMING, *['{"v": 1}'][:held])

    with pytest.raises(CommandError) as error:
        run("import_incidents", write(tmp_path, CORRECTED))

    assert f"incidents[0].corrections[0].claimed_in_version: {message}" in str(error.value)
    assert not Incident.objects.exists()


def test_a_version_without_the_claiming_source_is_a_problem(db, tmp_path):
    keep(CLAIMING, '{"v": 1}', '{"v": 2}')
    document = CORRECTED.replace(f"    claimed_by: {CLAIMING}\n", "")

    with pytest.raises(CommandError) as error:
        run("import_incidents", write(tmp_path, document))

    assert (
        "corrections[0].claimed_in_version: names a version of the claiming source; give "
        "claimed_by too"
    ) in str(error.value)


@pytest.mark.parametrize("number", [0, "two", 1.5])
def test_the_schema_takes_only_a_version_number(db, tmp_path, number):
    document = CORRECTED.replace("claimed_in_version: 2", f"claimed_in_version: {number}")

    with pytest.raises(CommandError) as error:
        run("import_incidents", write(tmp_path, document))

    assert "claimed_in_version" in str(error.value)


def test_the_export_writes_the_version_and_imports_back_the_same(db, tmp_path):
    keep(CLAIMING, '{"v": 1}', '{"v": 2}')
    run("import_incidents", write(tmp_path, CORRECTED))

    exported = run("export_incidents", "--all")

    assert f"    claimed_by: {CLAIMING}\n    claimed_in_version: 2\n" in exported
    assert "1 unchanged" in run("import_incidents", write(tmp_path, exported, "back.yaml"))


def test_the_export_leaves_the_field_out_where_unset(db, tmp_path):
    run("import_incidents", write(tmp_path, UNVERSIONED))

    assert "claimed_in_version" not in run("export_incidents", "--all")


def test_the_markdown_postmortem_names_the_version(db, tmp_path):
    keep(CLAIMING, '{"v": 1}', '{"v": 2}')
    run("import_incidents", write(tmp_path, CORRECTED))
    incident = Incident.objects.in_full().get()

    markdown = postmortem(incident, lambda path: f"https://example.com{path}")

    assert (
        "**Claimed** by Example Cloud [1] (archived version 2, 1 Dec 2026): A test network fault."
    ) in markdown
    assert Source.objects.count() == 1
