"""Syncing a status page: the first sync brings drafts with their provenance, a second changes
nothing, a 304 costs one request, new updates are appended, an edited update is archived and
not written over our timeline, and an outage already in the knowledge base gains the status
page's source and events instead of being duplicated."""

import copy
import json
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from reversion.models import Revision, Version
from werkzeug import Response

from outages.interchange import archive
from outages.models import (
    ArchivedCopy,
    Incident,
    Provider,
    Source,
    StatusPage,
    TimelineEvent,
)
from tests.factories import IncidentFactory, ServiceFactory
from tests.shipped import load_shipped

DATA = Path(__file__).parent / "data" / "status_pages"
PATH = "/api/v2/incidents.json"


def recorded(name):
    return json.loads((DATA / name).read_text())


class Served:
    """A recorded history on the tests' HTTP server, answering If-None-Match with 304 when
    given an ETag; `data` may be changed between syncs."""

    def __init__(self, httpserver, data, path=PATH, etag=""):
        self.data, self.etag, self.requests = data, etag, 0
        httpserver.expect_request(path).respond_with_handler(self.respond)
        self.url = httpserver.url_for(path)

    def respond(self, request):
        self.requests += 1
        headers = {"ETag": self.etag} if self.etag else {}
        if self.etag and request.headers.get("If-None-Match") == self.etag:
            return Response(status=304, headers=headers)
        return Response(json.dumps(self.data), content_type="application/json", headers=headers)


def sync(url, provider="example-cloud", format="statuspage", *more):
    out = StringIO()
    call_command(
        "sync_status_page", "--provider", provider, "--format", format, url, *more, stdout=out
    )
    return out.getvalue()


def counts():
    """What a sync may write, counted: a failed or empty sync leaves all of it as it was."""
    return {
        model.__name__: model.objects.count()
        for model in (Incident, Source, ArchivedCopy, TimelineEvent, Revision)
    }


@pytest.fixture
def page(httpserver, fetch_locally, provider):
    return Served(httpserver, recorded("sync_statuspage.json"))


def synced(incident):
    """The status page's source of a synced incident (the one with archived copies)."""
    return incident.sources.filter(archived_copies__isnull=False).distinct().get()


def test_the_first_sync_creates_drafts_with_their_provenance(page):
    output = sync(page.url)

    assert "3 incidents read; 3 new drafts" in output
    # The components it brings are new services, named for an editor to confirm.
    assert "New, for an editor to confirm: service API, service Dashboard." in output
    incidents = Incident.objects.order_by("started_at")
    assert [incident.status for incident in incidents] == [Incident.Status.DRAFT] * 3
    first = incidents[0]
    assert first.title == "Test incident: elevated API errors"
    assert first.provider.slug == "example-cloud"
    assert first.root_cause_category == Incident.Cause.UNCLASSIFIED
    assert first.provider_impact == "major"
    # Every update is an event with its exact time and the provider's words; the milestones
    # follow from them.
    events = list(first.events.order_by("occurred_at"))
    assert len(events) == 4
    assert "elevated error rates on the test API" in events[0].description
    assert first.started_at.isoformat() == "2026-11-02T10:00:00+00:00"
    assert first.resolved_at.isoformat() == "2026-11-02T12:00:00+00:00"
    assert any(
        "Test postmortem" in getattr(first, name)
        for name in ("summary", "impact", "root_cause", "response")
    )
    source = synced(first)
    assert source.kind == Source.Kind.STATUS
    assert source.note.startswith("Read from localhost on ")
    assert all(event.source_id == source.pk for event in events)
    # Provenance in history too: where the revision came from.
    comment = Version.objects.get_for_object(first).get().revision.comment
    assert comment.startswith("Imported from localhost (fetched ")
    # The whole page and each incident are archived.
    assert ArchivedCopy.objects.filter(url=page.url, source=None).count() == 1
    assert ArchivedCopy.objects.filter(source__isnull=False).count() == 3


def test_incidents_alike_on_one_page_are_kept_apart(page):
    """Two API incidents 20 hours apart look alike to the duplicate rule; they are two
    incidents as the provider counts them."""
    sync(page.url)

    titles = set(Incident.objects.values_list("title", flat=True))
    assert {"Test incident: elevated API errors", "Test incident: elevated API errors again"} <= (
        titles
    )


def test_a_second_sync_with_nothing_new_changes_nothing(page):
    sync(page.url)
    before = counts()

    output = sync(page.url)

    assert counts() == before
    assert "3 incidents read; 0 new drafts, 3 unchanged" in output


def test_a_service_we_hold_is_linked_by_its_key_whatever_the_provider_now_calls_it(page):
    """An editor corrects the name of a service a sync created; the provider writes the
    component in other letters. The next new incident links the service as it is: neither
    difference is a conflict that would refuse every sync from then on."""
    sync(page.url)
    api = Incident.objects.get(title="Test incident: elevated API errors").services.get()
    api.name = "Example API (HTTP)"
    api.save()
    later = copy.deepcopy(page.data["incidents"][-1])
    later.update(id="sync0009", name="Test incident: API errors in a later week")
    later["shortlink"] = later["shortlink"].replace("0001", "0009")
    for update in later["incident_updates"]:
        update["id"] += "-9"
        for key in ("created_at", "display_at", "updated_at"):
            update[key] = update[key].replace("2026-11-0", "2026-11-2")
    for key in ("created_at", "updated_at", "monitoring_at", "resolved_at", "started_at"):
        if later.get(key):
            later[key] = later[key].replace("2026-11-0", "2026-11-2")
    for component in later["components"]:
        component["name"] = "api"
    page.data["incidents"].insert(0, later)

    output = sync(page.url)

    assert "1 new draft" in output
    assert "confirm" not in output  # the service is ours already
    incident = Incident.objects.get(title="Test incident: API errors in a later week")
    assert list(incident.services.all()) == [api]
    api.refresh_from_db()
    assert api.name == "Example API (HTTP)"


def test_a_dry_run_writes_nothing(page):
    before = counts()

    output = sync(page.url, "example-cloud", "statuspage", "--dry-run")

    assert "3 new drafts" in output and "nothing was written" in output
    assert counts() == before


def test_not_modified_costs_one_request_and_writes_only_when_it_was_fetched(
    httpserver, fetch_locally, provider
):
    served = Served(httpserver, recorded("sync_statuspage.json"), etag='"v1"')
    status_page = StatusPage.objects.create(provider=provider, format="statuspage", url=served.url)
    sync(served.url)
    status_page.refresh_from_db()
    assert status_page.etag == '"v1"' and status_page.last_ok
    first_fetch, before, requests = status_page.last_fetched_at, counts(), served.requests

    output = sync(served.url)

    assert served.requests == requests + 1
    assert "not modified since" in output
    assert counts() == before
    status_page.refresh_from_db()
    assert status_page.last_fetched_at > first_fetch
    assert status_page.etag == '"v1"'
    assert Version.objects.get_for_object(status_page).count() == 0


def test_new_updates_are_appended_as_events(page):
    sync(page.url)
    incident = Incident.objects.get(title="Test incident: slow dashboard")
    revisions = Version.objects.get_for_object(incident).count()
    update = copy.deepcopy(page.data["incidents"][1]["incident_updates"][0])
    update.update(
        id="upd0203",
        body="Test update: a follow-up note from the test provider.",
        created_at="2026-11-02T17:00:00.000Z",
        updated_at="2026-11-02T17:00:00.000Z",
        display_at="2026-11-02T17:00:00.000Z",
    )
    page.data["incidents"][1]["incident_updates"].insert(0, update)

    output = sync(page.url)

    assert "1 gained 1 update" in output
    assert "2 unchanged" in output
    events = list(incident.events.order_by("position"))
    assert len(events) == 3
    assert "a follow-up note" in events[-1].description
    assert Version.objects.get_for_object(incident).count() == revisions + 1
    assert ArchivedCopy.objects.filter(source=synced(incident)).count() == 2
    # Adding to the story is no revision of it: readers are told of no drift.
    assert not ArchivedCopy.objects.revisions().exists()


def test_an_edited_update_is_a_new_archived_version_not_a_new_event(page):
    sync(page.url)
    incident = Incident.objects.get(title="Test incident: slow dashboard")
    said = list(incident.events.values_list("description", flat=True))
    page.data["incidents"][1]["incident_updates"][1]["body"] = (
        "Test update: the dashboard is slow to load for some test customers."
    )
    revisions = Revision.objects.count()

    output = sync(page.url)

    assert "1 edited by the provider" in output
    assert list(incident.events.values_list("description", flat=True)) == said
    assert Revision.objects.count() == revisions
    copies = ArchivedCopy.objects.filter(source=synced(incident)).order_by("number")
    assert [(copy.number, copy.revised) for copy in copies] == [(1, False), (2, True)]


def test_the_archived_page_of_an_incident_is_a_series_apart_from_what_a_sync_read(page):
    """archive_sources keeps the provider's incident page (HTML) under the same URL as the
    sync's copies of its data: each series is numbered and compared on its own, so neither
    makes the other look changed, and a sync still tells an edit from an addition."""
    sync(page.url)
    incident = Incident.objects.get(title="Test incident: slow dashboard")
    source = synced(incident)
    archive.store_body(source.url, b"<p>The incident page.</p>", "text/html", datetime.now(UTC))
    before = counts()

    assert "3 unchanged" in sync(page.url)
    assert counts() == before
    page.data["incidents"][1]["incident_updates"][1]["body"] = "Test update: reworded."
    assert "1 edited by the provider" in sync(page.url)
    assert (
        list(incident.events.values_list("description", flat=True))[1] != "Test update: reworded."
    )
    kinds = ArchivedCopy.objects.filter(url=source.url).order_by("kind", "number")
    assert [(copy.kind, copy.number) for copy in kinds] == [("page", 1), ("sync", 1), ("sync", 2)]


def test_updates_held_for_the_next_sync_are_not_hidden_behind_a_304(page, httpserver):
    """When two provider incidents gain updates for one stored incident, the second waits for
    the next sync; that sync must ask in full, not send the ETag that would get a 304."""
    page.etag = '"v1"'
    status_page = StatusPage.objects.create(
        provider=Provider.objects.get(slug="example-cloud"), format="statuspage", url=page.url
    )
    sync(page.url)
    status_page.refresh_from_db()
    assert status_page.etag == '"v1"'
    api = Incident.objects.get(title="Test incident: elevated API errors")
    # An editor cites a second provider incident on it before any sync has read that one.
    second = copy.deepcopy(page.data["incidents"][-1])
    second.update(id="sync0010", shortlink="https://stspg.example.com/sync0010")
    for update in second["incident_updates"]:
        update["id"] += "-10"
    page.data["incidents"].insert(0, second)
    api.sources.add(Source.objects.create(
        url=second["shortlink"], title="Its second entry", publisher="Test", kind="status"
    ))  # fmt: skip
    # …and the first gains an update too: both gain into one incident in one run.
    first = page.data["incidents"][-1]
    update = copy.deepcopy(first["incident_updates"][0])
    update.update(id="late1", body="Test update: a late note.")
    first["incident_updates"].insert(0, update)
    page.etag = '"v2"'  # the server's new version

    output = sync(page.url)

    assert "wait for the next sync" in output
    status_page.refresh_from_db()
    assert status_page.etag == ""


@pytest.fixture
def shipped(db):
    load_shipped()


def test_an_outage_already_known_gains_the_source_and_events_instead_of_a_duplicate(
    httpserver, fetch_locally, shipped
):
    known = Incident.objects.get(slug="gcp-networking-2019-06-02")
    events, sources = known.events.count(), known.sources.count()
    served = Served(httpserver, recorded("sync_gcp_2019.json"), path="/incidents.json")

    output = sync(served.url, "google-cloud", "gcp")

    assert "2 incidents read; 1 new draft, 1 merged into gcp-networking-2019-06-02" in output
    assert "merged into gcp-networking-2019-06-02:" in output  # and why
    known.refresh_from_db()
    assert known.sources.count() == sources + 1
    assert known.events.count() == events + 2
    assert known.title == "Google Cloud networking outage (June 2019)"
    assert Incident.objects.filter(title__startswith="Test incident: networking").count() == 0
    assert Incident.objects.get(title__startswith="Test incident: Cloud Storage").status == (
        Incident.Status.DRAFT
    )

    # And a second sync leaves it as it is.
    before = counts()
    sync(served.url, "google-cloud", "gcp")
    assert counts() == before


def test_an_incident_first_read_going_on_gains_its_resolution(page):
    data = page.data["incidents"][1]
    resolved = data["incident_updates"].pop(0)
    data["status"], data["resolved_at"] = "investigating", None
    sync(page.url)
    incident = Incident.objects.get(title="Test incident: slow dashboard")
    assert incident.resolved_at is None
    data["incident_updates"].insert(0, resolved)
    data["status"], data["resolved_at"] = "resolved", resolved["created_at"]

    output = sync(page.url)

    assert "1 gained 1 update" in output
    incident.refresh_from_db()
    assert incident.resolved_at.isoformat() == "2026-11-02T16:00:00+00:00"
    assert incident.events.get(marks="resolved").description.startswith("Test update: the dash")


def test_a_revised_postmortem_is_an_edit_kept_in_the_archive(page):
    sync(page.url)
    incident = Incident.objects.get(title="Test incident: elevated API errors")
    summary = incident.summary
    page.data["incidents"][2]["postmortem_body"] += " Test revision: a second cause was found."

    output = sync(page.url)

    assert "1 edited by the provider, 2 unchanged" in output
    incident.refresh_from_db()
    assert incident.summary == summary
    assert ArchivedCopy.objects.filter(source=synced(incident)).count() == 2


def test_a_second_sync_with_nothing_new_reads_a_few_rows_however_many_incidents(
    page, django_assert_num_queries
):
    """The incremental rule: unchanged incidents are skipped on their archived digest alone."""
    more = copy.deepcopy(page.data["incidents"][1])
    for number in range(10):
        twin = copy.deepcopy(more)
        twin["id"], twin["shortlink"] = f"more{number}", f"https://stspg.example.com/more{number}"
        twin["name"] = f"Test incident {number}: slow dashboard"
        page.data["incidents"].append(twin)
    sync(page.url)

    # The command's status page by URL (none), the provider, the latest digest of every
    # incident's copy, and the sync's transaction (a savepoint set and released). With no
    # incident changed, the whole page is not even compared with its copy.
    with django_assert_num_queries(5):
        output = sync(page.url)

    assert "13 unchanged" in output


def test_of_several_likely_matches_the_nearest_start_wins_and_the_report_says_so(page, provider):
    dashboard = ServiceFactory(provider=provider, name="Dashboard", slug="dashboard")
    stored = {}
    for name, hour in [("far", 5), ("near", 14)]:
        stored[name] = IncidentFactory(
            title=f"Written by hand: dashboard trouble ({name})",
            slug=f"dashboard-trouble-{name}",
            provider=provider,
            time_zone="UTC",
            started_at=datetime(2026, 11, 2, hour, tzinfo=UTC),
            references=False,
            events=0,
            impacts=0,
            follow_up=False,
        )
        stored[name].services.add(dashboard)

    output = sync(page.url)

    assert "1 merged into dashboard-trouble-near" in output
    assert "(chosen over dashboard-trouble-far)" in output
    assert Incident.objects.filter(title="Test incident: slow dashboard").count() == 0
    assert stored["near"].events.count() == 2
    assert stored["far"].events.count() == 0


def test_an_edited_feed_update_is_an_edit_too_not_a_new_event(provider, tmp_path):
    """A feed's incident is archived as its entries, and read back from them: an update whose
    words changed is the provider's edit, as it is for the JSON formats."""
    recorded_feed = (DATA / "feed-history.atom").read_text()
    history = tmp_path / "history.atom"
    history.write_text(recorded_feed)
    sync(str(history), "example-cloud", "feed")
    events = TimelineEvent.objects.count()
    history.write_text(
        recorded_feed.replace("Test update: a fix is out.", "Test update (revised): a fix is out.")
    )

    output = sync(str(history), "example-cloud", "feed")

    assert "0 new drafts, 1 edited by the provider, 1 unchanged" in output
    assert TimelineEvent.objects.count() == events
    assert ArchivedCopy.objects.filter(number=2, source__isnull=False).count() == 1
