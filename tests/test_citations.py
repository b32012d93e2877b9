"""Citations of published versions: read back by a real BibTeX parser, valid CSL-JSON by the
Citation Style Language's own schema, offered on every incident page and in the JSON API, and
downloadable with the day they were fetched as the access date."""

import json
from datetime import UTC, date, datetime
from pathlib import Path

import bibtexparser
import pytest
from bibtexparser.middlewares import LatexDecodingMiddleware
from django.urls import reverse
from django.utils import timezone
from jsonschema import Draft7Validator

from outages.citations import Citation
from outages.models import IncidentVersion
from tests.test_every_write_is_a_revision import admin_save

CSL_SCHEMA = json.loads(
    (Path(__file__).parent / "data" / "csl" / "csl-data.json").read_text(encoding="utf-8")
)
# Every character BibTeX treats specially, and some it does not.
AWKWARD = "Storage & DNS: 50% of {a}_b ~ $5 #1 ^ \\ “quoted” — Zürich"


def parsed_bibtex(text):
    library = bibtexparser.parse_string(text, append_middleware=[LatexDecodingMiddleware()])
    assert not library.failed_blocks
    [entry] = library.entries
    return entry.entry_type, entry.key, {field.key: field.value for field in entry.fields}


def citation(title="An outage"):
    return Citation(
        key="an-outage-v2",
        title=title,
        provider="Example Cloud",
        number=2,
        issued=date(2024, 3, 5),
        url="https://kb.example/incidents/an-outage/v/2/",
    )


@pytest.mark.parametrize("title", ["An outage", AWKWARD])
@pytest.mark.parametrize("accessed", [None, date(2026, 1, 31)])
def test_bibtex_reads_back_through_a_real_parser(title, accessed):
    kind, key, fields = parsed_bibtex(citation(title).as_bibtex(accessed))

    assert (kind, key) == ("misc", "an-outage-v2")
    # Braced to keep its capitals; pylatexenc reads \textasciicircum as the modifier letter.
    assert fields["title"].strip("{}").replace("\u02c6", "^") == title.strip("{}")
    assert fields["url"] == "https://kb.example/incidents/an-outage/v/2/"
    assert (fields["year"], fields["month"], fields["date"]) == ("2024", "3", "2024-03-05")
    assert fields["version"] == "2"
    assert fields.get("urldate") == (accessed.isoformat() if accessed else None)


@pytest.mark.parametrize("title", ["An outage", AWKWARD])
@pytest.mark.parametrize("accessed", [None, date(2026, 1, 31)])
def test_csl_json_is_valid_by_the_official_schema(title, accessed):
    items = json.loads(citation(title).as_csl_json(accessed))

    Draft7Validator(CSL_SCHEMA).validate(items)
    [item] = items
    assert item["title"] == title and item["type"] == "webpage" and item["version"] == "2"
    assert item["issued"] == {"date-parts": [[2024, 3, 5]]}
    assert item.get("accessed") == ({"date-parts": [[2026, 1, 31]]} if accessed else None)


def test_the_schema_refuses_what_is_not_csl_json():
    items = json.loads(citation().as_csl_json())
    items[0]["issued"] = {"day": "5 March 2024"}  # not the date model
    items[0]["published"] = "never a CSL variable"

    assert len(list(Draft7Validator(CSL_SCHEMA).iter_errors(items))) == 2


def test_the_plain_text_names_who_what_where_which_version_and_when():
    line = citation().as_text(date(2026, 1, 31))

    assert line == (
        "Example Cloud incident. “An outage.” postmortems, version 2, 5 Mar 2024. "
        "https://kb.example/incidents/an-outage/v/2/ (accessed 31 Jan 2026)"
    )


# --- On the site ------------------------------------------------------------------------------


@pytest.fixture
def versioned(admin_client, incident):
    """The incident with two published versions."""
    admin_save(admin_client, incident, summary="First.", title=AWKWARD)
    admin_save(admin_client, incident, summary="Second.")
    return incident


def permanent(incident, number):
    return "http://testserver" + reverse("outages:incident_version", args=[incident.slug, number])


def test_the_incident_page_cites_its_current_version(client, versioned):
    html = client.get(versioned.get_absolute_url()).content.decode()

    box = html.split('<section aria-labelledby="cite"', 1)[1].split("</section>", 1)[0]
    assert permanent(versioned, 2) in box
    for extension in ["txt", "bib", "json"]:
        assert (
            reverse("outages:incident_version_citation", args=[versioned.slug, 2, extension]) in box
        )
    assert "@misc{" in box and "&quot;date-parts&quot;" in box


def test_a_version_page_cites_itself(client, versioned):
    html = client.get(reverse("outages:incident_version", args=[versioned.slug, 1])).content
    box = html.decode().split('<section aria-labelledby="cite"', 1)[1]

    assert permanent(versioned, 1) in box and permanent(versioned, 2) not in box


@pytest.mark.parametrize(
    ("extension", "content_type"),
    [
        ("txt", "text/plain; charset=utf-8"),
        ("bib", "application/x-bibtex; charset=utf-8"),
        ("json", "application/vnd.citationstyles.csl+json; charset=utf-8"),
    ],
)
def test_the_downloads_carry_today_as_the_access_date(
    client, versioned, extension, content_type, monkeypatch
):
    now = datetime(2027, 2, 3, 23, 0, tzinfo=UTC)
    monkeypatch.setattr(timezone, "now", lambda: now)
    url = reverse("outages:incident_version_citation", args=[versioned.slug, 1, extension])

    response = client.get(url)

    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert response["Content-Disposition"] == (
        f'attachment; filename="{versioned.slug}-v1.{extension}"'
    )
    # Kept no later than the end of the day (an hour away), so the access date stays true.
    assert response["Cache-Control"] == "public, max-age=3600"
    body = response.content.decode()
    if extension == "bib":
        assert parsed_bibtex(body)[2]["urldate"] == "2027-02-03"
    elif extension == "json":
        items = json.loads(body)
        Draft7Validator(CSL_SCHEMA).validate(items)
        assert items[0]["accessed"] == {"date-parts": [[2027, 2, 3]]}
        assert items[0]["title"] == AWKWARD
    else:
        assert body.endswith("(accessed 3 Feb 2027)\n") and permanent(versioned, 1) in body


def test_the_api_carries_the_citation_of_the_current_version(client, versioned):
    document = client.get(reverse("outages:api_incident", args=[versioned.slug])).json()

    cited = document["citation"]
    assert cited["version"] == 2 and cited["url"] == permanent(versioned, 2)
    Draft7Validator(CSL_SCHEMA).validate([cited["csl"]])
    assert parsed_bibtex(cited["bibtex"])[1] == f"{versioned.slug}-v2"
    assert cited["files"]["bibtex"].endswith("/v/2/cite.bib")
    assert "accessed" not in cited["csl"]  # the document is cached; the files say the day


def test_an_incident_without_versions_has_no_cite_box(client, incident):
    assert not IncidentVersion.objects.exists()  # written around the write paths

    html = client.get(incident.get_absolute_url()).content.decode()
    document = client.get(reverse("outages:api_incident", args=[incident.slug])).json()

    assert 'aria-labelledby="cite"' not in html
    assert document["citation"] is None
