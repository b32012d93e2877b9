"""Duplicate detection on import: an outage the knowledge base already holds is caught before a
second copy is created, and `same_as` / `not_duplicate_of` say what to do with it."""

import itertools
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from django.core.management import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from outages import duplicates, revisions
from outages.interchange.documents import ImportFailed, read
from outages.interchange.importing import Importer
from outages.models import Incident, Provider, SearchDocument, TimelineEvent
from tests.shipped import load_shipped
from tests.test_import import DOCS, ELB_DOC, run, write
from tests.test_workflow import editor, publisher  # noqa: F401 (fixtures)

ELB = "aws-elb-us-east-2012-12-24"
ELB_START = datetime(2012, 12, 24, 20, 24, tzinfo=UTC)
SHIPPED = sorted(DOCS.glob("*.yaml"))


@pytest.fixture
def shipped(db):
    load_shipped()


def elb_again(**changes):
    """The shipped ELB document as another collection would bring it: another slug, the
    provider under another slug (and so, by its name, the same provider)."""
    data = yaml.safe_load(ELB_DOC.read_text())
    incident = data["incidents"][0]
    incident["slug"] = "netflix-christmas-eve-elb"
    incident["provider"] = {"slug": "amazon-web-services", "name": "Amazon Web Services"}
    incident.update(changes)
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def small(slug="new-outage", **fields):
    incident = {
        "slug": slug,
        "title": "A new outage",
        "provider": "aws",
        "time_zone": "UTC",
        "started_at": "2005-01-01T10:00:00Z",
        "root_cause_category": "other",
        **fields,
    }
    return {key: value for key, value in incident.items() if value is not None}


def importing(*incidents, name="new.yaml", **options):
    text = yaml.safe_dump({"incidents": list(incidents)}, allow_unicode=True, sort_keys=False)
    document, problems = read(name, text.encode())
    assert not problems, problems
    return Importer(**options).run([document])


def problems_of(*incidents, **options):
    with pytest.raises(ImportFailed) as failure:
        importing(*incidents, **options)
    return [str(problem) for problem in failure.value.problems]


# --- Each reason -------------------------------------------------------------------------------


def test_the_shipped_elb_outage_under_another_slug_and_provider_spelling_is_caught(
    shipped, tmp_path
):
    stored = Provider.objects.count(), Incident.objects.count()
    for provider in ["AWS", {"slug": "amazon-web-services", "name": "Amazon Web Services"}]:
        with pytest.raises(CommandError) as error:
            run("import_incidents", write(tmp_path, elb_again(provider=provider), "elb.yaml"))

        message = str(error.value)
        assert "1 problem; nothing was written." in message
        assert f"elb.yaml:2 incidents[0]: likely the same outage as {ELB}: " in message
        assert "shared sources: https://aws.amazon.com/message/680587/" not in message  # sorted
        assert "shared sources: http://" in message
        assert "same provider aws, started 0 h apart, both in service elb and region us-east-1" in (
            message
        )
        assert "similar title “AWS Elastic Load Balancing outage in US-East" in message
        assert f"Add “same_as: {ELB}”" in message and f"“not_duplicate_of: {ELB}”" in message
    assert (Provider.objects.count(), Incident.objects.count()) == stored


def test_a_shared_source_alone_is_a_match(shipped):
    found = problems_of(
        small(provider="heroku", sources=["https://aws.amazon.com/message/680587/"], title="X")
    )

    assert found == [
        f"new.yaml:2 incidents[0]: likely the same outage as {ELB}: shared source "
        "https://aws.amazon.com/message/680587/. Add “same_as: "
        f"{ELB}” to merge it into {ELB}, or “not_duplicate_of: {ELB}” to keep both"
    ]


def test_same_provider_near_start_and_a_shared_region_is_a_match(shipped):
    near = small(started_at="2012-12-26T08:00:00Z", regions=["us-east-1"], title="Streaming down")
    far = small(
        "far", started_at="2012-12-27T08:00:00Z", regions=["us-east-1"], title="Streaming down"
    )
    other_place = small(
        "other-place", started_at="2012-12-24T21:00:00Z", services=["s3"], title="S3 issue"
    )

    assert problems_of(near) == [
        f"new.yaml:2 incidents[0]: likely the same outage as {ELB}: same provider aws, started "
        f"36 h apart, both in region us-east-1. Add “same_as: {ELB}” to merge it into {ELB}, "
        f"or “not_duplicate_of: {ELB}” to keep both"
    ]
    assert importing(far).count("created") == 1  # more than 48 hours later
    assert importing(other_place).count("created") == 1  # nothing in common


def test_a_start_whose_zone_is_not_stated_is_not_compared_across_incidents(shipped):
    # The same near start and shared region as above, but written in no zone: a wall-clock time
    # is not an instant, so the start window (rule b) leaves it out, on either side.
    def near(slug="new-outage", **fields):
        fields = {"started_at": "2012-12-26T08:00:00", "title": "Streaming down", **fields}
        return small(slug, regions=["us-east-1"], **fields)

    assert importing(near(time_zone="unstated")).count("created") == 1

    Incident.objects.filter(slug="new-outage").delete()
    Incident.objects.filter(slug=ELB).update(time_zone="unstated")
    assert importing(near(started_at="2012-12-26T08:00:00Z")).count("created") == 1

    Incident.objects.filter(slug="new-outage").delete()
    first = near("first", time_zone="unstated")
    second = near("second", started_at="2012-12-26T09:00:00Z", title="Other")
    assert importing(first, second).count("created") == 2  # within one run too


def test_a_start_in_no_stated_zone_gives_no_start_to_compare():
    stated = duplicates.Candidate("a", "A", "aws", ELB_START, frozenset(), frozenset(), frozenset())
    unstated = duplicates.Candidate(
        "b", "B", "aws", ELB_START, frozenset(), frozenset(), frozenset(), "unstated"
    )

    assert stated.start == ELB_START
    assert unstated.start is None


def test_a_very_similar_title_of_the_same_provider_is_a_match(shipped):
    title = "AWS Elastic Load Balancing outages in US East (Netflix Christmas Eve 2012)"

    found = problems_of(small(title=title))

    assert len(found) == 1
    assert f"likely the same outage as {ELB}: similar title “AWS Elastic Load" in found[0]
    assert importing(small(title=title, provider="google-cloud")).count("created") == 1


def test_the_shipped_ebs_outages_of_2011_and_2012_do_not_match_by_title():
    first = "AWS EC2, EBS and RDS outage in US East (April 2011)"
    second = "AWS EBS outage in US East (October 2012)"
    words = [duplicates.normalise_name(title) for title in (first, second)]

    assert duplicates.title_similarity(*words) < duplicates.TITLE_SIMILARITY
    assert duplicates.title_key("aws", words[0]) != duplicates.title_key("aws", words[1])


def test_no_two_shipped_incidents_match_each_other(db):
    titles = {}
    for path in SHIPPED:
        document, _ = read(path.name, path.read_bytes())
        for data in document.data["incidents"]:
            titles[data["slug"]] = duplicates.normalise_name(data["title"])
    for (a, first), (b, second) in itertools.combinations(titles.items(), 2):
        assert duplicates.title_similarity(first, second) < duplicates.TITLE_SIMILARITY, (a, b)

    run("import_incidents", *map(str, SHIPPED))  # all in one run: none refused

    assert Incident.objects.count() == len(SHIPPED)


def test_new_incidents_of_one_run_are_compared_with_each_other(db):
    source = {"url": "https://n.example/1", "title": "N", "publisher": "N", "kind": "status"}
    first = small("first", provider={"slug": "nimbus", "name": "Nimbus"}, sources=[source])
    second = small("second", provider="nimbus", title="Other", sources=["https://n.example/1"])

    found = problems_of(first, second)

    assert len(found) == 1
    assert found == [
        "new.yaml:15 incidents[1]: likely the same outage as first (new in this run: new.yaml:2): "
        "shared source https://n.example/1. Add “same_as: first” to merge it into first, or "
        "“not_duplicate_of: first” to keep both"
    ]


def test_the_dry_run_lists_every_match(shipped, tmp_path):
    text = yaml.safe_dump(
        {
            "incidents": [
                small("one", sources=["https://aws.amazon.com/message/680587/"]),
                small("two", title="Amazon S3 outage in US East (February 2017)"),
            ]
        }
    )
    with pytest.raises(CommandError) as error:
        run("import_incidents", "--dry-run", write(tmp_path, text))

    message = str(error.value)
    assert message.startswith("2 problems; nothing was written.")
    assert f"incidents[0]: likely the same outage as {ELB}" in message
    assert "incidents[1]: likely the same outage as aws-s3-us-east-1-2017-02-28" in message


def test_duplicates_are_found_with_a_few_queries_for_the_whole_run(shipped):
    def queries(count):
        incidents = [
            small(
                f"outage-{number}",
                title=f"Outage number {number}",
                started_at=f"19{90 + number}-03-01T10:00:00Z",
                sources=["https://aws.amazon.com/message/11201/"] if number == 0 else None,
                not_duplicate_of="aws-kinesis-us-east-1-2020-11-25" if number == 0 else None,
            )
            for number in range(count)
        ]
        with CaptureQueriesContext(connection) as captured:
            importing(*incidents, dry_run=True)
        return len(captured)

    assert queries(2) == queries(8)


# --- What a document says about a match -----------------------------------------------------


def test_not_duplicate_of_keeps_both(shipped):
    report = importing(
        small(sources=["https://aws.amazon.com/message/680587/"], not_duplicate_of=ELB)
    )

    assert report.count("created") == 1
    assert (
        Incident.objects.filter(sources__url="https://aws.amazon.com/message/680587/").count() == 2
    )


def test_not_duplicate_of_takes_a_list_and_names_only_those(shipped):
    listed = small(
        sources=["https://aws.amazon.com/message/680587/"],
        title="Amazon S3 outage in US East (February 2017)",
        not_duplicate_of=[ELB],
    )

    found = problems_of(listed)

    assert len(found) == 1 and "aws-s3-us-east-1-2017-02-28" in found[0]


def merge_document(**changes):
    """The ELB outage as a foreign collection tells it: one source the knowledge base has, one
    it has not; one event it has, one it has not; Netflix, and a customer it does not list."""
    incident = Incident.objects.get(slug=ELB)
    known_event = incident.events.order_by("position").first()
    document = small(
        "netflix-christmas-eve",
        title="Netflix down on Christmas Eve",
        started_at="2012-12-24T20:24:00Z",
        same_as=ELB,
        sources=[
            "https://aws.amazon.com/message/680587/",
            {
                "url": "https://collection.example/netflix-christmas-eve",
                "title": "Netflix outage write-up",
                "publisher": "A collection",
                "kind": "other",
            },
        ],
        timeline=[
            {
                "at": known_event.occurred_at.isoformat(),
                "kind": known_event.kind,
                "description": known_event.description,
            },
            {
                "at": "2012-12-24T22:00:00Z",
                "kind": "communication",
                "description": "A customer says streaming is down.",
                "source": "https://collection.example/netflix-christmas-eve",
            },
        ],
        customers=[
            {"customer": "netflix", "level": "outage"},
            {"customer": {"slug": "streamy", "name": "Streamy"}, "level": "degraded"},
        ],
    )
    document.update(changes)
    return document


def test_same_as_merges_only_new_sources_events_and_customers(shipped, tmp_path):
    incident = Incident.objects.get(slug=ELB)
    before = {
        "fields": Incident.objects.filter(pk=incident.pk).values("title", "summary", "started_at")[
            0
        ],
        "sources": set(incident.sources.values_list("url", flat=True)),
        "events": list(incident.events.values_list("position", "occurred_at", "description")),
        "customers": set(incident.impacts.values_list("customer__slug", flat=True)),
    }
    last = max(position for position, _, _ in before["events"])
    stored = Incident.objects.count()
    path = write(tmp_path, yaml.safe_dump({"incidents": [merge_document()]}), "collection.yaml")

    output = run("import_incidents", path)

    assert "0 created, 1 updated" in output
    assert Incident.objects.count() == stored
    incident.refresh_from_db()
    assert (
        Incident.objects.filter(pk=incident.pk).values("title", "summary", "started_at")[0]
        == (before["fields"])
    )
    assert set(incident.sources.values_list("url", flat=True)) == before["sources"] | {
        "https://collection.example/netflix-christmas-eve"
    }
    events = list(incident.events.values_list("position", "occurred_at", "description"))
    assert events[: len(before["events"])] == before["events"] or set(before["events"]) <= set(
        events
    )
    assert len(events) == len(before["events"]) + 1
    added = incident.events.get(position=last + 1)
    assert added.description == "A customer says streaming is down."
    assert added.source.url == "https://collection.example/netflix-christmas-eve"
    assert set(incident.impacts.values_list("customer__slug", flat=True)) == before["customers"] | {
        "streamy"
    }
    revision = revisions.versions(incident).first().revision
    assert revision.comment == "Imported from " + path + " (merged)" or revision.comment.endswith(
        "collection.yaml (merged)"
    )
    assert "streaming is down" in SearchDocument.objects.get(incident=incident).timeline

    # Again: nothing new, nothing written.
    assert "1 unchanged" in run("import_incidents", path)
    assert TimelineEvent.objects.filter(incident=incident).count() == len(events)


def test_the_dry_run_of_a_merge_lists_what_it_would_add(shipped, tmp_path):
    path = write(tmp_path, yaml.safe_dump({"incidents": [merge_document()]}), "collection.yaml")

    output = run("import_incidents", "--dry-run", path)

    assert f"collection.yaml: {ELB}: updated" in output
    assert "incident netflix-christmas-eve: merged into it" in output
    assert "source https://collection.example/netflix-christmas-eve: added" in output
    assert "customer streamy: created" in output
    assert "customer netflix" not in output


def test_an_editor_cannot_merge_into_a_published_incident(shipped, editor, publisher):  # noqa: F811
    Incident.objects.update(status=Incident.Status.PUBLISHED)

    found = problems_of(merge_document(), user=editor)

    assert found == [
        f"new.yaml:8 incidents[0].same_as: {ELB} is published; only a publisher may merge into it"
    ]
    assert importing(merge_document(), user=publisher).count("updated") == 1


def test_same_as_must_name_a_stored_incident(shipped):
    found = problems_of(small(same_as="no-such-outage"))

    assert found == [
        "new.yaml:8 incidents[0].same_as: there is no incident “no-such-outage” to merge into"
    ]


def test_same_as_and_not_duplicate_of_are_in_the_documented_schema():
    text = Path("docs/incident-format.md").read_text()
    assert "`same_as`" in text and "`not_duplicate_of`" in text
