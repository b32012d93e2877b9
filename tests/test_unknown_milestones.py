"""A milestone the provider does not state says so, on the page, in the Markdown download and in
the JSON API, and points at the timeline's nearest event instead of saying "unknown"; the time to
resolve becomes a lower bound from the last recovery step. Nothing is invented: only times
already in the timeline are shown."""

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest

from outages import text
from outages.models import Incident, Provider, Source, TimelineEvent

ELB = "aws-elb-us-east-2012-12-24"
EBS = "aws-ebs-us-east-2011-04-21"
NOT_STATED = "not stated by Amazon Web Services"
ELB_DETECTED = (
    f"{NOT_STATED} · first detection in the timeline: 24 Dec 2012, 5:00 PM PST, according to "
    "Heroku Status"
)
EBS_DETECTED = (
    f"{NOT_STATED} · first detection in the timeline: 21 Apr 2011, 1:15 AM PDT, according to "
    "Heroku Status"
)
EBS_RESOLVED = (
    f"{NOT_STATED} · last recovery step in the timeline: 24 Apr 2011, 12:30 PM PDT, according "
    "to Amazon Web Services"
)
EBS_AT_LEAST = "at least 3 d 11 h (to the last recovery step in the timeline)"


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def facts_text(html):
    """The milestones and durations of an incident page as plain text, one per line."""
    facts = html.split('<section aria-labelledby="milestones" class="facts">')[1]
    facts = facts.split("</section>")[0]
    lines = re.sub(r"<[^>]+>", "", facts.replace("</dt>", ": ").replace("<small", "\n<small"))
    return [" ".join(line.split()) for line in unescape(lines).splitlines() if line.strip()]


# --- The shipped incidents: page, Markdown, JSON ---------------------------------------------


@pytest.fixture
def shipped(shipped_data, db):
    return shipped_data


def test_elb_page_points_at_herokus_detection_instead_of_unknown(client, shipped):
    html = client.get(f"/incidents/{ELB}/").content.decode()

    assert (
        '<dt>Detected at</dt><dd><span class="unknown">not stated by Amazon Web Services</span>'
        ' · <a href="#event-6">first detection in the timeline</a>: '
        '<time datetime="2012-12-25T01:00:00Z">24 Dec 2012, 5:00 PM PST</time>, according to '
        "Heroku Status</dd>"
    ) in html
    assert f"Detected at: {ELB_DETECTED}" in facts_text(html)
    assert '<span class="unknown">unknown</span>' not in html
    # Others noticing says nothing of when AWS did: no time to detect is made from it.
    assert "Time to detect: not known" in facts_text(html)
    assert "Detection time not stated by the provider." in html  # the drawing's data


def test_ebs_2011_page_points_at_detection_and_recovery_and_bounds_the_time_to_resolve(
    client, shipped
):
    html = client.get(f"/incidents/{EBS}/").content.decode()
    lines = facts_text(html)

    assert f"Detected at: {EBS_DETECTED}" in lines
    assert f"Resolved at: {EBS_RESOLVED}" in lines
    assert f"Time to resolve: {EBS_AT_LEAST}" in lines
    assert f'<strong class="figure">{EBS_AT_LEAST}</strong>' in html
    assert '<a href="#event-15">last recovery step in the timeline</a>' in html
    assert '<tr id="event-15" class="kind-recovery key-event">' in html
    assert "not known</span>" in html  # the time to detect stays not known
    assert '<span class="unknown">unknown</span>' not in html


def test_elb_markdown_says_who_did_not_state_the_detection(client, shipped):
    document = client.get(f"/incidents/{ELB}/postmortem.md").content.decode()

    assert (
        f"| Detected at | {NOT_STATED} · first detection in the timeline: 2012-12-25 01:00 | "
        f"{ELB_DETECTED} |"
    ) in document
    assert "| Resolved at | 2012-12-25 20:05 | 25 Dec 2012, 12:05 PM PST |" in document
    assert "- **Time to detect:** not known. From the trigger" in document
    assert "- **Time to resolve:** 23 h 41 min. From the trigger" in document


def test_ebs_2011_markdown_gives_the_last_recovery_step_and_a_lower_bound(client, shipped):
    document = client.get(f"/incidents/{EBS}/postmortem.md").content.decode()

    assert (
        f"| Detected at | {NOT_STATED} · first detection in the timeline: 2011-04-21 08:15 | "
        f"{EBS_DETECTED} |"
    ) in document
    assert (
        f"| Resolved at | {NOT_STATED} · last recovery step in the timeline: 2011-04-24 19:30 | "
        f"{EBS_RESOLVED} |"
    ) in document
    assert f"- **Time to resolve:** {EBS_AT_LEAST}. From the trigger" in document
    assert "not known |" not in document


def test_elb_json_keeps_null_milestones_and_adds_the_words(client, shipped):
    data = client.get(f"/api/v1/incidents/{ELB}/").json()

    assert data["milestones"]["detected_at"] is None  # unchanged: nothing is invented
    assert data["milestone_notes"] == {
        "started_at": None,
        "detected_at": ELB_DETECTED,
        "mitigated_at": None,
        "resolved_at": None,
    }
    assert data["duration_notes"] == {
        "time_to_detect": None,
        "time_to_mitigate": None,
        "time_to_resolve": None,  # known: 23 h 41 min
    }


def test_ebs_2011_json_gives_the_words_and_the_lower_bound(client, shipped):
    data = client.get(f"/api/v1/incidents/{EBS}/").json()

    assert data["milestones"]["resolved_at"] is None
    assert data["durations"]["time_to_resolve"] is None
    assert data["milestone_notes"] == {
        "started_at": None,
        "detected_at": EBS_DETECTED,
        "mitigated_at": None,
        "resolved_at": EBS_RESOLVED,
    }
    assert data["duration_notes"] == {
        "time_to_detect": None,
        "time_to_mitigate": None,
        "time_to_resolve": EBS_AT_LEAST,
    }


def test_an_incident_whose_timeline_has_no_such_event_says_only_not_stated(client, shipped):
    data = client.get("/api/v1/incidents/aws-ebs-us-east-2012-10-22/").json()

    assert data["milestone_notes"] == {
        "started_at": None,
        "detected_at": NOT_STATED,
        "mitigated_at": None if data["milestones"]["mitigated_at"] else NOT_STATED,
        "resolved_at": NOT_STATED,
    }
    assert data["duration_notes"]["time_to_resolve"] is None


# --- The rule, on made-up rows -----------------------------------------------------------------

START = utc(2012, 12, 24, 20, 24)  # 12:24 PM PST


def made_up(**fields):
    """An unsaved incident in Pacific time: started, nothing else stated."""
    values = {
        "provider": Provider(name="Example Cloud", slug="example-cloud"),
        "time_zone": "America/Los_Angeles",
        "started_at": START,
        **fields,
    }
    return Incident(**values)


def event(position, at, kind, precision="minute", publisher=None):
    source = Source(publisher=publisher) if publisher else None
    return TimelineEvent(
        position=position, occurred_at=at, kind=kind, precision=precision, source=source
    )


def facts(incident, events):
    return {fact.name: fact for fact in incident.milestone_facts(events)}


def at_least(incident, events):
    return {label: words for label, *_, words in incident.duration_facts(events)}


def test_without_an_event_of_its_kind_a_milestone_is_plainly_not_stated():
    incident = made_up()
    events = [event(1, START, "trigger"), event(2, START + timedelta(hours=1), "communication")]

    found = facts(incident, events)

    assert found["detected_at"].words == "not stated by Example Cloud"
    assert found["detected_at"].pointer is None
    assert found["resolved_at"].words == "not stated by Example Cloud"
    assert found["started_at"].words == ""  # stated
    assert at_least(incident, events) == {
        "Time to detect": "",
        "Time to mitigate": "",
        "Time to resolve": "",
    }


def test_the_first_detection_event_is_pointed_at_and_gives_no_duration():
    incident = made_up()
    events = [
        event(3, utc(2012, 12, 25, 2, 0), "detection", publisher="Another Customer"),
        event(2, utc(2012, 12, 25, 1, 0), "detection", publisher="Heroku Status"),
    ]

    found = facts(incident, events)["detected_at"]

    assert found.words == (
        "not stated by Example Cloud · first detection in the timeline: 24 Dec 2012, 5:00 PM PST, "
        "according to Heroku Status"
    )
    assert found.pointer.event.position == 2
    assert found.pointer.machine == "2012-12-25T01:00:00Z"
    assert at_least(incident, events)["Time to detect"] == ""  # the provider may have been first


def test_the_last_recovery_step_gives_an_at_least_time_to_resolve():
    incident = made_up()
    events = [
        event(2, utc(2012, 12, 25, 10, 45), "recovery"),
        event(3, utc(2012, 12, 26, 4, 30), "recovery"),  # 8:30 PM PST, 25 Dec
        event(4, utc(2012, 12, 25, 12, 0), "mitigation", "approximate", "Example Cloud"),
    ]

    found = facts(incident, events)

    assert found["resolved_at"].words == (
        "not stated by Example Cloud · last recovery step in the timeline: 25 Dec 2012, 8:30 PM PST"
    )
    assert found["mitigated_at"].words == (
        "not stated by Example Cloud · first mitigation step in the timeline: 25 Dec 2012, about "
        "4:00 AM PST, according to Example Cloud"
    )
    assert at_least(incident, events)["Time to resolve"] == (
        "at least 1 d 8 h (to the last recovery step in the timeline)"
    )
    # A stated resolution is shown as it is: no pointer, no lower bound.
    resolved = made_up(resolved_at=utc(2012, 12, 26, 6, 0))
    assert facts(resolved, events)["resolved_at"].pointer is None
    assert at_least(resolved, events)["Time to resolve"] == ""


def test_a_step_known_only_to_the_day_is_written_as_that_day_and_counted_in_whole_days():
    incident = made_up()
    events = [event(5, utc(2012, 12, 27, 8, 0), "recovery", "date")]  # 27 Dec, Pacific

    found = facts(incident, events)

    assert found["resolved_at"].words == (
        "not stated by Example Cloud · last recovery step in the timeline: 27 Dec 2012"
    )
    assert found["resolved_at"].pointer.machine == "2012-12-27"
    # 24 Dec 12:24 PM to the start of 27 Dec is 2 d 11 h 36 min: at least two whole days.
    assert at_least(incident, events)["Time to resolve"] == (
        "at least 2 days (to the last recovery step in the timeline)"
    )


def test_a_step_in_no_stated_zone_is_written_as_written():
    incident = made_up(time_zone="unstated", started_at=utc(2016, 9, 23, 17, 21))
    events = [event(1, utc(2016, 9, 23, 19, 0), "recovery")]

    assert facts(incident, events)["resolved_at"].words == (
        "not stated by Example Cloud · last recovery step in the timeline: 23 Sep 2016, 7:00 PM "
        "(zone not stated by the source)"
    )
    assert at_least(incident, events)["Time to resolve"] == (
        "at least 1 h 39 min (to the last recovery step in the timeline)"
    )


def test_no_lower_bound_without_a_start_or_from_a_step_before_it():
    steps = [event(1, START - timedelta(hours=2), "recovery")]

    assert at_least(made_up(), steps)["Time to resolve"] == ""
    assert at_least(made_up(started_at=None), steps)["Time to resolve"] == ""
    assert facts(made_up(started_at=None), steps)["resolved_at"].pointer.event is steps[0]


def test_lower_bounds_in_words():
    assert text.at_least_text(timedelta(days=3, hours=11, minutes=43)) == "at least 3 d 11 h"
    assert text.at_least_text(timedelta(days=1, hours=2), exact=False) == "at least 1 day"
    assert text.at_least_text(timedelta(hours=20), exact=False) is None
    assert text.at_least_text(timedelta(0)) is None
    assert text.at_least_text(None) is None
