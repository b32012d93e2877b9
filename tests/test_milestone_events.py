"""Milestones and the timeline are one fact: an event that marks a milestone (marks) has the
milestone's time. The admin and the importer take an empty milestone from its event and refuse
one that says otherwise; load_fixtures refuses a mismatch; one event marks each milestone."""

import io
import json
from datetime import UTC, datetime, timedelta

import pytest
import yaml
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction

from outages.interchange.documents import ImportFailed, read
from outages.interchange.importing import Importer
from outages.interchange.yaml_export import dump, incidents_for_export
from outages.models import Incident, TimelineEvent, derive_milestones, milestone_disagreement
from tests.test_search import admin_form_data
from tests.test_workflow import change_url

MARKED = """\
incidents:
- slug: example-outage
  title: Example Cloud outage
  provider:
    slug: example-cloud
    name: Example Cloud
  time_zone: America/Los_Angeles
  started_at: "2020-01-01T10:00:00-08:00"
{detected}  root_cause_category: configuration
  timeline:
  - at: "2020-01-01T10:00:00-08:00"
    kind: trigger
    marks: started
    description: A configuration push.
  - at: "{detection}"
    kind: detection
    marks: detected
    description: Alarms go off.
  - at: "2020-01-01T12:30:00-08:00"
    kind: recovery
    marks: {third}
    description: Storage is back.
"""


def document(detected="", detection="2020-01-01T10:15:00-08:00", third="resolved"):
    detected = f'  detected_at: "{detected}"\n' if detected else ""
    return MARKED.format(detected=detected, detection=detection, third=third)


def run(text, **options):
    parsed, problems = read("outage.yaml", text.encode())
    assert not problems
    return Importer(**options).run([parsed])


def problems_of(text):
    with pytest.raises(ImportFailed) as failure:
        run(text)
    return [str(problem) for problem in failure.value.problems]


def utc(*args):
    return datetime(*args, tzinfo=UTC)


# --- The rule ---------------------------------------------------------------------------------


def test_the_rule_in_words(incident):
    event_time = incident.started_at + timedelta(hours=1)
    assert milestone_disagreement(incident, "started", incident.started_at) == ""
    assert milestone_disagreement(incident, "", event_time) == ""
    assert milestone_disagreement(incident, "detected", event_time) == (
        "This event marks the detection at 24 Dec 2012 21:24 UTC, but Detected at is empty"
    )
    assert milestone_disagreement(incident, "started", event_time) == (
        "This event marks the start at 24 Dec 2012 21:24 UTC, but Started at says "
        "24 Dec 2012 20:24 UTC"
    )


def test_only_empty_milestones_are_filled_with_the_events_time_and_precision(incident):
    event_time = incident.started_at + timedelta(hours=1)
    marked = [("detected", event_time, "approximate"), ("started", event_time, "hour")]
    filled = derive_milestones(incident, marked)
    assert filled == ["detected_at"]
    assert incident.detected_at == event_time
    assert incident.detected_precision == "approximate"
    assert incident.started_at != event_time
    assert incident.started_precision == "minute"


def test_the_database_lets_one_event_mark_each_milestone(incident):
    first, second = incident.events.order_by("position")
    TimelineEvent.objects.filter(pk=first.pk).update(marks="mitigated")
    TimelineEvent.objects.filter(pk=second.pk).update(marks="")  # blanks do not clash
    with pytest.raises(IntegrityError), transaction.atomic():
        TimelineEvent.objects.filter(pk=second.pk).update(marks="mitigated")


# --- import_incidents ---------------------------------------------------------------------------


def test_an_omitted_milestone_is_taken_from_the_event_that_marks_it(db):
    run(document())

    incident = Incident.objects.get()
    assert incident.detected_at == utc(2020, 1, 1, 18, 15)
    assert incident.resolved_at == utc(2020, 1, 1, 20, 30)
    marks = dict(incident.events.values_list("position", "marks"))
    assert marks == {1: "started", 2: "detected", 3: "resolved"}


def test_a_milestone_given_the_same_time_is_accepted(db):
    run(document(detected="2020-01-01T18:15:00Z"))

    assert Incident.objects.get().detected_at == utc(2020, 1, 1, 18, 15)


def test_a_milestone_that_differs_from_its_event_names_both(db):
    problems = problems_of(document(detected="2020-01-01T10:20:00-08:00"))

    assert problems == [
        "outage.yaml:9 incidents[0].detected_at: 2020-01-01T18:20:00+00:00 differs from "
        "incidents[0].timeline[1].at (2020-01-01T18:15:00+00:00), the event that marks the "
        "detection; they state one fact, so give the same time or leave detected_at out"
    ]
    assert Incident.objects.count() == 0


def test_two_events_may_not_mark_one_milestone(db):
    problems = problems_of(document(third="detected"))

    assert problems == [
        "outage.yaml:21 incidents[0].timeline[2].marks: incidents[0].timeline[1] already marks "
        "the detection; one event states each milestone"
    ]


def test_a_milestone_taken_from_an_event_is_still_checked_for_order(db):
    problems = problems_of(document(detection="2020-01-01T09:00:00-08:00"))

    assert problems == [
        "outage.yaml:2 incidents[0].detected_at: Detected at cannot be before started at"
    ]


def test_marks_must_name_a_milestone(db):
    parsed, _ = read("outage.yaml", document(third="finished").encode())
    with pytest.raises(ImportFailed) as failure:
        Importer().run([parsed])

    assert 'incidents[0].timeline[2].marks: "finished" is not one of: started, detected' in str(
        failure.value
    )


def test_marks_survive_export_and_import(db):
    run(document())
    exported = dump(incidents_for_export())
    events = yaml.safe_load(exported)["incidents"][0]["timeline"]

    assert [event.get("marks") for event in events] == ["started", "detected", "resolved"]

    TimelineEvent.objects.all().delete()
    Incident.objects.all().delete()
    run(exported)
    assert dump(incidents_for_export()) == exported


def test_events_that_mark_nothing_are_exported_as_before(incident):
    (data,) = yaml.safe_load(dump(incidents_for_export()))["incidents"]

    assert all("marks" not in event for event in data["timeline"])


def test_the_api_says_which_milestone_an_event_marks(client, incident):
    TimelineEvent.objects.filter(incident=incident, position=2).update(marks="mitigated")
    Incident.objects.filter(pk=incident.pk).update(
        mitigated_at=incident.started_at + timedelta(hours=2)
    )

    timeline = client.get(f"/api/v1/incidents/{incident.slug}/").json()["timeline"]

    assert [(event["marks"], event["marks_label"]) for event in timeline] == [
        (None, None),
        ("mitigated", "Mitigation"),
    ]


# --- The admin --------------------------------------------------------------------------------


def post(client, incident, **changes):
    data = admin_form_data(client.get(change_url(incident)))
    data.update(changes)
    return client.post(change_url(incident), data)


def test_the_admin_fills_an_empty_milestone_from_its_event(admin_client, incident):
    assert incident.detected_at is None

    response = post(admin_client, incident, **{"events-0-marks": "detected"})

    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.detected_at == incident.started_at + timedelta(hours=1)
    assert incident.events.get(position=1).marks == "detected"


def test_the_admin_refuses_a_milestone_that_says_another_time(admin_client, incident):
    response = post(admin_client, incident, **{"events-0-marks": "mitigated"})

    assert response.status_code == 200
    assert (
        "This event marks the mitigation at 24 Dec 2012 21:24 UTC, but Mitigated at says "
        "25 Dec 2012 00:24 UTC. Make them the same time, or empty that field to take the "
        "event&#x27;s time." in response.content.decode()
    )
    assert not incident.events.exclude(marks="").exists()


def test_the_admin_takes_the_event_time_when_the_editor_empties_the_milestone(
    admin_client, incident
):
    response = post(
        admin_client,
        incident,
        **{"events-1-marks": "mitigated", "mitigated_at_0": "", "mitigated_at_1": ""},
    )

    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.mitigated_at == incident.started_at + timedelta(hours=2)


def test_the_admin_refuses_two_events_marking_one_milestone(admin_client, incident):
    response = post(
        admin_client, incident, **{"events-0-marks": "detected", "events-1-marks": "detected"}
    )

    assert response.status_code == 200
    assert "Another event (position 1) already marks the detection." in response.content.decode()
    incident.refresh_from_db()
    assert incident.detected_at is None


def test_the_admin_refuses_a_filled_milestone_out_of_order(admin_client, incident):
    response = post(
        admin_client,
        incident,
        **{
            "events-0-marks": "detected",
            # 11:00 in Los Angeles, the incident's zone: before its start at 12:24 PM PST.
            "events-0-occurred_at_0": "2012-12-24",
            "events-0-occurred_at_1": "11:00",
        },
    )

    assert response.status_code == 200
    assert "Filled from the timeline, detected at cannot be before started at." in (
        response.content.decode()
    )
    incident.refresh_from_db()
    assert incident.detected_at is None


# --- load_fixtures ----------------------------------------------------------------------------

FIXTURE = [
    {"model": "outages.provider", "fields": {"slug": "example-cloud", "name": "Example"}},
    {
        "model": "outages.incident",
        "fields": {
            "title": "Example outage",
            "slug": "example-outage",
            "provider": ["example-cloud"],
            "started_at": "2012-12-24T20:24:00Z",
            "root_cause_category": "operational-error",
        },
    },
    {
        "model": "outages.timelineevent",
        "fields": {
            "incident": ["example-outage"],
            "position": 1,
            "occurred_at": "2012-12-24T20:30:00Z",
            "kind": "trigger",
            "marks": "started",
            "description": "Something happened.",
        },
    },
]


def test_load_fixtures_refuses_a_milestone_its_event_contradicts(db, tmp_path):
    path = tmp_path / "outage.json"
    path.write_text(json.dumps(FIXTURE))

    with pytest.raises(CommandError) as failure:
        call_command("load_fixtures", str(path), verbosity=0)

    assert (
        'incident ["example-outage"], timeline event 1: This event marks the start at '
        "24 Dec 2012 20:30 UTC, but Started at says 24 Dec 2012 20:24 UTC; set them to the "
        "same time" in str(failure.value)
    )
    assert Incident.objects.count() == 0


def test_load_fixtures_refuses_two_events_marking_one_milestone(db, tmp_path):
    second = json.loads(json.dumps(FIXTURE[2]))
    second["fields"].update(position=2, occurred_at="2012-12-24T20:24:00Z")
    fixture = json.loads(json.dumps(FIXTURE))
    fixture[2]["fields"]["occurred_at"] = "2012-12-24T20:24:00Z"
    path = tmp_path / "outage.json"
    path.write_text(json.dumps([*fixture, second]))

    with pytest.raises(CommandError) as failure:
        call_command("load_fixtures", str(path), verbosity=0)

    assert "Another event of this incident already marks this milestone" in str(failure.value)


def test_load_fixtures_accepts_a_milestone_that_agrees(db, tmp_path):
    fixture = json.loads(json.dumps(FIXTURE))
    fixture[2]["fields"]["occurred_at"] = "2012-12-24T20:24:00Z"
    path = tmp_path / "outage.json"
    path.write_text(json.dumps(fixture))

    call_command("load_fixtures", str(path), verbosity=0, stdout=io.StringIO())

    assert Incident.objects.get().events.get().marks == "started"


def test_a_mark_moved_to_another_event_on_a_second_import(db):
    run(document())
    moved = (
        document()
        .replace("    marks: detected\n", "")
        .replace(
            "    kind: trigger\n    marks: started\n", "    kind: trigger\n    marks: detected\n"
        )
    )
    moved = moved.replace('  started_at: "2020-01-01T10:00:00-08:00"\n', "")

    run(moved)

    incident = Incident.objects.get()
    assert dict(incident.events.values_list("position", "marks")) == {
        1: "detected",
        2: "",
        3: "resolved",
    }
    # Derived only where the document leaves the milestone out: the stored one is replaced by
    # what this document says (a start it leaves out is unknown).
    assert incident.detected_at == utc(2020, 1, 1, 18, 0)


def test_the_admin_moves_a_mark_from_one_event_to_another_in_one_save(admin_client, incident):
    first, second = incident.events.order_by("position")
    TimelineEvent.objects.filter(pk=second.pk).update(marks="detected")
    Incident.objects.filter(pk=incident.pk).update(detected_at=second.occurred_at)

    response = post(
        admin_client,
        incident,
        **{
            "events-0-marks": "detected",
            "events-1-marks": "",
            "detected_at_0": "",
            "detected_at_1": "",
        },
    )

    assert response.status_code == 302, response.content.decode()[-3000:]
    incident.refresh_from_db()
    assert incident.detected_at == first.occurred_at
    assert dict(incident.events.values_list("position", "marks")) == {1: "detected", 2: ""}


def test_the_shipped_fixtures_pass_the_milestone_check_of_load_fixtures(db):
    from glob import glob

    call_command("load_fixtures", *sorted(glob("fixtures/*.json")), verbosity=0)

    assert TimelineEvent.objects.exclude(marks="").count() == 15
