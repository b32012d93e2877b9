"""Provider incidents as incident documents (docs/status-pages.md, "Mapping"): valid under the
schema, importable (a dry run on every recorded incident), with the milestones, kinds, sections
and provenance the mapping promises."""

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from outages.interchange import markdown_export, yaml_export
from outages.interchange.document_checks import check_schema
from outages.interchange.documents import ImportFailed, read
from outages.interchange.importing import Importer
from outages.interchange.status_pages import ProviderIncident, Update, parse
from outages.interchange.status_pages.documents import (
    TEXT_LIMIT,
    canonical_json,
    incident_slug,
    to_document,
)
from outages.models import Incident, Provider
from tests.shipped import load_shipped

DATA = Path(__file__).parent / "data" / "status_pages"
FETCHED = datetime(2026, 12, 5, 0, 10, tzinfo=UTC)
API = "https://status.example.com/api/v2/incidents.json"
GOOGLE = "https://status.cloud.google.com/incidents.json"
# (file, format, provider slug, provider name, page URL)
RECORDINGS = [
    ("statuspage-incidents.json", "statuspage", "example-cloud", "Example Cloud", API),
    ("statuspage-incidents-edited.json", "statuspage", "example-cloud", "Example Cloud", API),
    ("gcp-incidents.json", "gcp", "google-cloud", "Google Cloud", GOOGLE),
    ("feed-history.atom", "feed", "example-cloud", "Example Cloud", "https://status.example.com"),
    ("feed-rss.xml", "feed", "example-cloud", "Example Cloud", "https://status.example.com/rss"),
]


def incidents_of(name, format, url):
    return {one.id: one for one in parse(format, (DATA / name).read_bytes(), url=url)}


def mapped(incident, provider="example-cloud", name="Example Cloud", page=API, **options):
    return to_document(
        incident,
        provider=provider,
        provider_name=name,
        fetched_at=FETCHED,
        page_url=page,
        **options,
    )


def made(**fields):
    """A provider incident written out in a test."""
    return ProviderIncident(
        **{"id": "t", "url": "https://status.example.com/t", "impact": "", "created_at": FETCHED}
        | fields
    )


def as_document(*incidents, name="sync.json"):
    document, problems = read(name, json.dumps({"incidents": list(incidents)}).encode())
    assert not problems, problems
    return document


def statuspage(ident, file="statuspage-incidents.json"):
    return incidents_of(file, "statuspage", API)[ident]


@pytest.fixture
def providers(provider):
    return provider, Provider.objects.create(slug="google-cloud", name="Google Cloud")


def every_mapped():
    for file, format, slug, name, page in RECORDINGS:
        for incident in parse(format, (DATA / file).read_bytes(), url=page):
            yield file, mapped(incident, slug, name, page)


# --- Valid and importable ----------------------------------------------------------------------


@pytest.mark.parametrize(("file", "data"), list(every_mapped()), ids=lambda value: str(value)[:40])
def test_every_recorded_incident_maps_to_a_valid_document(file, data):
    assert check_schema(as_document(data)) == []


@pytest.mark.django_db
def test_every_recorded_incident_imports_in_a_dry_run(providers):
    for file, format, slug, name, page in RECORDINGS:
        documents = [
            as_document(mapped(one, slug, name, page), name=f"{file}-{number}.json")
            for number, one in enumerate(parse(format, (DATA / file).read_bytes(), url=page))
        ]
        report = Importer(dry_run=True).run(documents)

        assert report.count("created") == len(documents), file
    assert not Incident.objects.exists()


@pytest.mark.django_db
def test_an_import_keeps_the_providers_rating_and_its_words(providers, client):
    incident = statuspage("tst0004postmortem")

    Importer(publish=True).run([as_document(mapped(incident))])

    stored = Incident.objects.get(slug=incident_slug("example-cloud", incident))
    assert stored.provider_impact == "major"
    assert stored.root_cause_category == Incident.Cause.UNCLASSIFIED
    assert stored.started_at == datetime(2026, 11, 1, 9, 45, tzinfo=UTC)
    assert stored.mitigated_at == datetime(2026, 11, 1, 11, 0, tzinfo=UTC)
    assert stored.resolved_at == datetime(2026, 11, 1, 11, 30, tzinfo=UTC)
    assert "<blockquote>" in stored.impact_html
    page = client.get(stored.get_absolute_url()).content.decode()
    assert "Provider&#x27;s rating" in page or "Provider's rating" in page
    assert "<dd>major</dd>" in page
    exported = yaml_export.dump(yaml_export.incidents_for_export(Incident.objects.all()))
    assert "provider_impact: major\n" in exported
    full = Incident.objects.in_full().get(pk=stored.pk)
    assert "- **Provider's rating:** major" in markdown_export.postmortem(full, str)
    # And back: the exported document imports unchanged.
    again, problems = read("export.yaml", exported.encode())
    assert not problems
    assert Importer().run([again]).count("unchanged") == 1


# --- The shipped Google Cloud incident of June 2019 -------------------------------------------


@pytest.fixture
def shipped_gcp(db):
    load_shipped("fixtures/reference.json", "fixtures/gcp-networking-2019-06-02.json")


def test_the_recorded_june_2019_incident_is_recognised_and_merges(shipped_gcp):
    network = incidents_of("gcp-incidents.json", "gcp", GOOGLE)["TestNet2019Jun02"]
    data = mapped(network, "google-cloud", "Google Cloud", GOOGLE)

    with pytest.raises(ImportFailed) as failure:
        Importer(dry_run=True).run([as_document(data)])

    message = "\n".join(str(problem) for problem in failure.value.problems)
    assert "likely the same outage as gcp-networking-2019-06-02" in message
    merged = mapped(
        network, "google-cloud", "Google Cloud", GOOGLE, same_as="gcp-networking-2019-06-02"
    )
    report = Importer(dry_run=True).run([as_document(merged)])
    assert [(one.slug, one.action) for one in report.incidents] == [
        ("gcp-networking-2019-06-02", "updated")
    ]
    rows = dict(report.incidents[0].rows)
    assert rows[f"source {network.url}"] == "added"


# --- Milestones, kinds and texts ---------------------------------------------------------------


def test_update_statuses_become_event_kinds_and_milestones():
    data = mapped(statuspage("tst0004postmortem"))

    assert [(e["kind"], e.get("marks")) for e in data["timeline"]] == [
        ("detection", None),
        ("escalation", None),
        ("mitigation", "mitigated"),
        ("recovery", "resolved"),
    ]
    # The provider's own start, earlier than its first update, is the start.
    assert data["started_at"] == "2026-11-01T09:45:00+00:00"
    assert data["timeline"][0]["at"] == "2026-11-01T10:02:00+00:00"
    assert {e["source"] for e in data["timeline"]} == {"https://stspg.example.com/t0004"}
    assert data["provider_impact"] == "major"
    assert data["time_zone"] == "UTC"
    assert data["root_cause_category"] == "unclassified"
    assert data["services"] == [
        {"slug": "example-api", "name": "Example API"},
        {"slug": "example-console", "name": "Example Console"},
    ]


def test_the_first_update_marks_the_start_and_maintenance_starts_when_work_begins():
    unresolved = mapped(statuspage("tst0001unresolved"))
    maintenance = mapped(statuspage("tst0002maint"))

    assert [e.get("marks") for e in unresolved["timeline"]] == ["started", None]
    assert "resolved_at" not in unresolved and "started_at" not in unresolved
    assert [(e["kind"], e.get("marks")) for e in maintenance["timeline"]] == [
        ("communication", None),
        ("other", "started"),
        ("mitigation", "mitigated"),
        ("recovery", "resolved"),
    ]


def test_google_begin_and_end_are_the_start_and_resolution():
    network = incidents_of("gcp-incidents.json", "gcp", GOOGLE)["TestNet2019Jun02"]

    data = mapped(network, "google-cloud", "Google Cloud", GOOGLE)

    assert data["started_at"] == "2019-06-02T19:00:00+00:00"
    assert data["resolved_at"] == "2019-06-02T23:00:00+00:00"
    assert not any("marks" in event for event in data["timeline"])
    assert data["regions"] == [
        {"code": "us-east1", "name": "South Carolina"},
        {"code": "us-east4", "name": "Northern Virginia"},
    ]
    assert data["provider_impact"] == "high"
    third = data["timeline"][2]
    assert third["as_stated"] == "2019-06-02 23:00 UTC, the time the status page shows"
    # Google writes Markdown: kept as it is.
    assert data["timeline"][0]["description"] == (
        "Recorded test text: we are investigating test network congestion.\n\nMore to follow."
    )
    # The incident report is an event that says so; its text is in the sections, not the row.
    report = data["timeline"][-1]
    assert report["kind"] == "communication"
    assert report["description"].startswith("*The provider published its incident report")
    assert "this report is written for the status-page tests" in data["summary"]
    assert not any("Incident Report" in event["description"] for event in data["timeline"])


def test_plain_text_keeps_its_line_breaks_as_markdown():
    data = mapped(statuspage("tst0003pmupdate"))

    first = data["timeline"][0]
    assert first["description"] == "Test update: sign-in is slow.\\\nWe are looking into it."
    assert first["as_stated"] == "2026-11-05 13:55 UTC, the time the status page shows"


def test_a_text_longer_than_the_format_allows_is_cut_with_a_note():
    incident = statuspage("tst0001unresolved")
    incident.updates[0] = replace(incident.updates[0], text="word " * 20_000)

    data = mapped(incident)

    description = data["timeline"][0]["description"]
    assert len(description) <= TEXT_LIMIT
    assert description.endswith("the full text is in the archived copy of this status page.*")
    assert check_schema(as_document(data)) == []


# --- Sections ----------------------------------------------------------------------------------

WORDS = (
    "*The provider's own words, from its status page (fetched 5 Dec 2026); not yet summarised "
    "by an editor.*\n\n"
)


def test_a_postmortem_is_split_into_sections_by_its_headings():
    data = mapped(statuspage("tst0004postmortem"))

    assert data["summary"] == WORDS + "> Test postmortem opening paragraph, before any heading."
    assert data["impact"] == WORDS + "> Test impact: API calls failed for 90 minutes."
    # An unknown heading stays in the section above.
    assert data["root_cause"] == WORDS + (
        "> A test configuration change removed a route.\n>\n> ### Test appendix\n>\n"
        "> An unknown heading stays with the section above."
    )
    assert data["detection"] == WORDS + "> A test alarm fired."
    assert data["response"] == WORDS + "> The test change was rolled back."
    assert data["lessons"] == WORDS + "> Test changes are now checked first."


def test_a_postmortem_update_and_a_google_report_become_sections():
    from_update = mapped(statuspage("tst0003pmupdate"))
    network = incidents_of("gcp-incidents.json", "gcp", GOOGLE)["TestNet2019Jun02"]
    report = mapped(network, "google-cloud", "Google Cloud", GOOGLE)

    assert from_update["summary"] == WORDS + "> Test postmortem: sign-in was slow for an hour."
    assert from_update["root_cause"] == WORDS + "> A test cache was emptied by a test job."
    assert from_update["lessons"] == WORDS + "> The test job now keeps the cache warm."
    assert set(report) >= {"summary", "impact", "root_cause", "lessons"}
    assert report["lessons"].endswith("before it acts.")


def test_without_a_postmortem_the_summary_says_where_it_came_from():
    data = mapped(statuspage("tst0001unresolved"))

    assert data["summary"] == (
        "This incident was synced from the status page at status.example.com and awaits an "
        "editor: no postmortem has been published there yet.\n\n*The provider's own words, from "
        "its latest update (fetched 5 Dec 2026):*\n\n> Test update: the cause is identified in "
        "the test queue's storage layer."
    )
    assert "impact" not in data


def test_the_source_says_where_and_when_it_was_read():
    data = mapped(statuspage("tst0004postmortem"))

    assert data["sources"] == [
        {
            "url": "https://stspg.example.com/t0004",
            "title": "Example Cloud status page: Test incident: API outage in the test region",
            "publisher": "Example Cloud",
            "kind": "status",
            "published_on": "2026-11-01",
            "note": "Read from status.example.com on 5 Dec 2026 by a status-page sync.",
        }
    ]
    assert mapped(statuspage("tst0004postmortem"), source_known=True)["sources"] == [
        "https://stspg.example.com/t0004"
    ]


# --- Syncing again -----------------------------------------------------------------------------


def test_new_updates_merge_into_a_stored_incident_without_restating_milestones():
    edited = statuspage("tst0001unresolved", "statuspage-incidents-edited.json")

    data = mapped(
        edited, updates=edited.updates[-1:], same_as="stored-slug", not_duplicate_of=["other"]
    )

    assert data["same_as"] == "stored-slug"
    assert data["not_duplicate_of"] == ["other"]
    assert [e["description"] for e in data["timeline"]] == [
        "Test update: a fix is deployed and we are monitoring."
    ]
    assert not any("marks" in e for e in data["timeline"])
    assert "started_at" not in data and "resolved_at" not in data
    assert check_schema(as_document(data)) == []


def test_slugs_are_stable_short_and_unique_per_provider_id():
    incident = statuspage("tst0004postmortem")
    slug = incident_slug("example-cloud", incident)

    assert slug == incident_slug("example-cloud", statuspage("tst0004postmortem"))
    assert slug.startswith("example-cloud-2026-11-01-test-incident-api-outage-in-the-test-region-")
    assert incident_slug("example-cloud", replace(incident, id="other")) != slug
    long = made(title="Word " * 80)
    assert len(incident_slug("p" * 120, long)) <= 100
    assert len(incident_slug("example-cloud", long)) == 100


def test_canonical_json_is_the_providers_data_with_sorted_keys():
    incident = statuspage("tst0004postmortem")

    body = canonical_json(incident)

    assert json.loads(body) == incident.raw
    assert body == canonical_json(statuspage("tst0004postmortem"))
    keys = json.loads(body, object_pairs_hook=lambda pairs: [key for key, _ in pairs])
    assert keys == sorted(keys)


def test_an_update_without_text_still_has_a_description():
    incident = made(
        title="Test",
        updates=[Update(id="u", status="investigating", text="  ", at=FETCHED)],
    )

    data = mapped(incident)

    assert data["timeline"][0]["description"] == "*The provider posted this update without text.*"
    assert check_schema(as_document(data)) == []


def test_control_characters_and_line_breaks_never_reach_one_line_fields():
    incident = made(
        title="Test\nincident\x07 title",
        impact="minor",
        components=("API", "Api", "Queue\x00"),
        locations=("zone 1",),
        location_names={"zone 1": "Test\tzone"},
        updates=[Update(id="u", status="resolved", text="Test\x0b text\nhere", at=FETCHED)],
    )

    data = mapped(incident)

    assert data["title"] == "Test incident title"
    assert data["services"] == [{"slug": "api", "name": "API"}, {"slug": "queue", "name": "Queue"}]
    assert data["regions"] == [{"code": "zone-1", "name": "Test zone"}]
    assert data["timeline"][0]["description"] == "Test text\\\nhere"
    assert check_schema(as_document(data)) == []
