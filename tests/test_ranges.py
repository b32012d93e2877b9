"""Sane ranges: content dates from 1970 to a year ahead, refused otherwise on every path that
writes content (the admin, import_incidents, load_fixtures), with a plain message at the field;
and a timeline event far outside its incident is a warning, not an error."""

import io
import json
from datetime import UTC, date, datetime, timedelta

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.utils import timezone

from outages.interchange.documents import read
from outages.interchange.importing import Importer
from outages.models import (
    FAR_OFF,
    CustomerImpact,
    Incident,
    Source,
    TimelineEvent,
    far_off,
    validate_content_date,
)
from tests.test_search import admin_form_data
from tests.test_workflow import change_url

START = datetime(2012, 12, 24, 20, 24, tzinfo=UTC)

# Every content date or time, as (model, field).
CONTENT_DATES = [
    (Incident, "started_at"),
    (Incident, "detected_at"),
    (Incident, "mitigated_at"),
    (Incident, "resolved_at"),
    (TimelineEvent, "occurred_at"),
    (CustomerImpact, "started_at"),
    (CustomerImpact, "ended_at"),
    (Source, "published_on"),
]


# --- The rule ----------------------------------------------------------------------------------


def message(value):
    with pytest.raises(ValidationError) as error:
        validate_content_date(value)
    return error.value.messages[0]


def test_dates_before_1970_are_refused_in_plain_words():
    assert message(datetime(1, 3, 12, tzinfo=UTC)) == "12 Mar 0001 is before 1970; check the year."
    assert message(date(1969, 12, 31)) == "31 Dec 1969 is before 1970; check the year."
    assert message(datetime(1969, 12, 31, 23, 59, tzinfo=UTC)).startswith("31 Dec 1969")


def test_dates_more_than_a_year_ahead_are_refused_in_plain_words():
    assert (
        message(datetime(9999, 12, 31, tzinfo=UTC))
        == "31 Dec 9999 is more than a year from now; check the year."
    )
    assert "more than a year" in message(timezone.now() + timedelta(days=400))
    assert "more than a year" in message(timezone.now().date() + timedelta(days=400))


@pytest.mark.parametrize(
    "value",
    [
        datetime(1970, 1, 1, tzinfo=UTC),
        date(1970, 1, 1),
        START,
        datetime(2012, 12, 24, 12, 24, tzinfo=timezone.get_fixed_timezone(-480)),
    ],
)
def test_dates_from_1970_are_accepted(value):
    validate_content_date(value)


def test_dates_up_to_a_year_ahead_are_accepted():
    validate_content_date(timezone.now() + timedelta(days=300))
    validate_content_date(timezone.now().date() + timedelta(days=300))


@pytest.mark.parametrize("model, name", CONTENT_DATES)
def test_every_content_date_runs_the_rule(model, name):
    assert validate_content_date in model._meta.get_field(name).validators


# --- The database's half: nothing before 1970 -----------------------------------------------


@pytest.mark.parametrize("model, name", CONTENT_DATES)
def test_the_database_refuses_a_date_before_1970(incident, model, name):
    early = date(1969, 12, 31) if name == "published_on" else datetime(1969, 12, 31, tzinfo=UTC)
    rows = model.objects.all()
    assert rows.exists()
    with pytest.raises(IntegrityError), transaction.atomic():
        rows.update(**{name: early})


def test_the_database_takes_a_far_future_date_the_rule_refuses(incident):
    # "A year from now" moves, so the upper bound is the validator's alone.
    Incident.objects.filter(pk=incident.pk).update(resolved_at=datetime(9999, 1, 1, tzinfo=UTC))


# --- The admin ------------------------------------------------------------------------------


def post(client, incident, **changes):
    data = admin_form_data(client.get(change_url(incident)))
    data.update(changes)
    return client.post(change_url(incident), data)


@pytest.mark.parametrize(
    "field, day, said",
    [
        ("started_at", "0001-03-12", "12 Mar 0001 is before 1970; check the year."),
        ("resolved_at", "9999-12-31", "31 Dec 9999 is more than a year from now; check the year."),
        ("events-0-occurred_at", "1912-12-24", "24 Dec 1912 is before 1970; check the year."),
        ("impacts-0-ended_at", "2102-12-24", "24 Dec 2102 is more than a year from now"),
    ],
)
def test_the_admin_refuses_a_date_out_of_range_at_the_field(
    admin_client, incident, field, day, said
):
    before = Incident.objects.values().get(pk=incident.pk)
    response = post(admin_client, incident, **{f"{field}_0": day, f"{field}_1": "12:00:00"})

    assert response.status_code == 200
    assert said in response.content.decode()
    assert Incident.objects.values().get(pk=incident.pk) == before


def test_the_admin_refuses_a_source_dated_year_1(admin_client, source):
    from django.urls import reverse

    url = reverse("admin:outages_source_change", args=[source.pk])
    data = admin_form_data(admin_client.get(url))
    data["published_on"] = "0001-01-01"
    response = admin_client.post(url, data)

    assert response.status_code == 200
    assert "1 Jan 0001 is before 1970; check the year." in response.content.decode()


def test_the_admin_refuses_an_impact_that_ends_before_it_starts(admin_client, incident):
    response = post(
        admin_client,
        incident,
        **{
            "impacts-0-started_at_0": "2012-12-24",
            "impacts-0-started_at_1": "22:00:00",
            "impacts-0-ended_at_0": "2012-12-24",
            "impacts-0-ended_at_1": "21:00:00",
        },
    )

    assert "The impact cannot end before it started." in response.content.decode()


def test_the_admin_saves_but_warns_of_a_far_off_event(admin_client, incident):
    response = post(
        admin_client,
        incident,
        # Typed in the incident's zone (Los Angeles): midnight, 07:00 UTC.
        **{"events-1-occurred_at_0": "2013-06-14", "events-1-occurred_at_1": "00:00"},
    )

    assert response.status_code == 302
    notices = [str(m) for m in get_messages(response.wsgi_request) if m.level_tag == "warning"]
    assert len(notices) == 1
    assert notices[0].startswith("Timeline event 2 (Mitigation, 14 Jun 2013, 12:00 AM PDT): ")
    assert "14 Jun 2013 is 170 days after the incident was resolved" in notices[0]
    assert TimelineEvent.objects.filter(occurred_at__year=2013).count() == 1


def test_the_admin_says_nothing_of_events_within_a_week(admin_client, incident):
    response = post(admin_client, incident)

    assert response.status_code == 302
    assert not [m for m in get_messages(response.wsgi_request) if m.level_tag == "warning"]


# --- import_incidents -------------------------------------------------------------------------

DOCUMENT = """\
incidents:
- slug: example-outage
  title: Example Cloud outage
  provider:
    slug: example-cloud
    name: Example Cloud
  time_zone: America/Los_Angeles
  started_at: "{started}"
  resolved_at: "{resolved}"
  root_cause_category: configuration
  sources:
  - url: https://status.example.com/incident/1
    title: Storage incident
    publisher: Example Cloud
    published_on: "{published}"
    kind: official
  timeline:
  - at: "{event}"
    kind: trigger
    description: A configuration push.
  customers:
  - customer:
      slug: someone
      name: Someone
    level: outage
    started_at: "{impact_started}"
    ended_at: "{impact_ended}"
"""
GOOD = {
    "started": "2020-01-01T10:00:00-08:00",
    "resolved": "2020-01-01T12:30:00-08:00",
    "published": "2020-01-03",
    "event": "2020-01-01T10:00:00-08:00",
    "impact_started": "2020-01-01T10:05:00-08:00",
    "impact_ended": "2020-01-01T12:00:00-08:00",
}


def import_document(tmp_path, **values):
    path = tmp_path / "outage.yaml"
    path.write_text(DOCUMENT.format(**{**GOOD, **values}))
    with pytest.raises(CommandError) as failure:
        call_command("import_incidents", str(path), stdout=io.StringIO())
    return str(failure.value)


def test_import_accepts_the_good_document(db, tmp_path):
    path = tmp_path / "outage.yaml"
    path.write_text(DOCUMENT.format(**GOOD))
    call_command("import_incidents", str(path), stdout=io.StringIO())

    assert Incident.objects.get().started_at == datetime(2020, 1, 1, 18, tzinfo=UTC)


def test_import_refuses_year_1_and_year_9999_naming_file_line_and_field(db, tmp_path):
    failure = import_document(
        tmp_path,
        started="0001-01-01T10:00:00Z",
        resolved="9999-12-30T12:30:00Z",
    )
    event = import_document(
        tmp_path,
        event="0001-01-01T00:00:00+05:00",  # year 0 in UTC: out of Python's range
    )

    assert "outage.yaml:8 incidents[0].started_at: 1 Jan 0001 is before 1970; check the year" in (
        failure
    )
    assert (
        "outage.yaml:9 incidents[0].resolved_at: 30 Dec 9999 is more than a year from now; "
        "check the year" in failure
    )
    assert (
        "outage.yaml:18 incidents[0].timeline[0].at: “0001-01-01T00:00:00+05:00” is before "
        "1970; check the year" in event
    )
    assert Incident.objects.count() == 0


def test_import_refuses_year_1_and_year_9999_in_impacts_and_sources(db, tmp_path):
    impacts = import_document(
        tmp_path,
        impact_started="0001-01-01T10:05:00Z",
        impact_ended="9999-12-31T23:00:00-08:00",  # year 10000 in UTC
    )
    source = import_document(tmp_path, published="0001-01-01")

    assert "outage.yaml:26 incidents[0].customers[0].started_at: 1 Jan 0001 is before" in impacts
    assert (
        "outage.yaml:27 incidents[0].customers[0].ended_at: “9999-12-31T23:00:00-08:00” is more "
        "than a year from now; check the year" in impacts
    )
    assert "outage.yaml:15 incidents[0].sources[0].published_on: 1 Jan 0001 is before 1970" in (
        source
    )
    assert Incident.objects.count() == 0


def test_import_reports_an_end_before_its_start_on_the_end(db, tmp_path):
    failure = import_document(tmp_path, resolved="2020-01-01T09:00:00-08:00")
    impact = import_document(tmp_path, impact_ended="2020-01-01T10:00:00-08:00")

    assert "outage.yaml:9 incidents[0].resolved_at: Resolved at cannot be before started at" in (
        failure
    )
    assert (
        "outage.yaml:27 incidents[0].customers[0].ended_at: The impact cannot end before it "
        "started" in impact
    )


def run_importer(text, name="outage.yaml"):
    document, problems = read(name, text.encode())
    assert not problems
    return Importer().run([document])


def test_import_warns_of_a_far_off_event_and_imports_it(db):
    text = DOCUMENT.format(**{**GOOD, "event": "2021-01-01T10:00:00-08:00"})

    report = run_importer(text)

    assert [str(warning) for warning in report.warnings] == [
        "outage.yaml:18 incidents[0].timeline[0].at: 1 Jan 2021 is 365 days after the incident "
        "was resolved, more than the 7 days an event may lie outside it; check the date (a "
        "later follow-up may be right)"
    ]
    assert TimelineEvent.objects.get().occurred_at.year == 2021


def test_import_of_events_within_a_week_has_no_warning(db):
    text = DOCUMENT.format(**{**GOOD, "event": "2019-12-26T10:00:00-08:00"})

    assert run_importer(text).warnings == []


# --- load_fixtures ----------------------------------------------------------------------------

PROVIDER = {"model": "outages.provider", "fields": {"slug": "example-cloud", "name": "Example"}}
INCIDENT = {
    "model": "outages.incident",
    "fields": {
        "title": "Example outage",
        "slug": "example-outage",
        "provider": ["example-cloud"],
        "started_at": "0001-01-01T00:00:00Z",
        "resolved_at": "9999-12-31T00:00:00Z",
        "root_cause_category": "operational-error",
    },
}
EVENT = {
    "model": "outages.timelineevent",
    "fields": {
        "incident": ["example-outage"],
        "position": 1,
        "occurred_at": "0001-01-01T00:00:00Z",
        "kind": "trigger",
        "description": "Something happened.",
    },
}


def test_load_fixtures_refuses_year_1_and_year_9999(db, tmp_path):
    path = tmp_path / "outage.json"
    path.write_text(json.dumps([PROVIDER, INCIDENT, EVENT]))

    with pytest.raises(CommandError) as failure:
        call_command("load_fixtures", str(path), verbosity=0)

    where = f'{path} object 2 (outages.incident ["example-outage"])'
    assert f"{where}: started_at: 1 Jan 0001 is before 1970; check the year." in str(failure.value)
    assert f"{where}: resolved_at: 31 Dec 9999 is more than a year from now; check the year." in (
        str(failure.value)
    )
    assert f"{path} object 3" in str(failure.value)
    assert Incident.objects.count() == 0


# --- The far-off rule -------------------------------------------------------------------------


def test_far_off_is_measured_from_the_start_and_the_resolution(incident):
    week = FAR_OFF
    assert far_off(incident, incident.started_at - week) == ""
    assert far_off(incident, incident.resolved_at + week) == ""
    assert "8 days before the incident started" in far_off(
        incident, incident.started_at - week - timedelta(days=1)
    )
    assert "after the incident was resolved" in far_off(
        incident, incident.resolved_at + week + timedelta(minutes=1)
    )


def test_far_off_gives_the_hours_just_past_the_week(incident):
    later = incident.resolved_at + FAR_OFF + timedelta(hours=11)

    assert far_off(incident, later).split(" after")[0].endswith("is 7 days 11 h")


def test_far_off_without_a_resolution_counts_from_the_last_known_time(incident):
    incident.resolved_at = None
    later = incident.mitigated_at + FAR_OFF + timedelta(days=1)
    assert "8 days after the incident's last known time" in far_off(incident, later)


def test_far_off_says_nothing_when_no_time_is_known(incident):
    for name in ["started_at", "mitigated_at", "resolved_at"]:
        setattr(incident, name, None)
    assert far_off(incident, datetime(1990, 1, 1, tzinfo=UTC)) == ""


def test_far_off_copes_with_dates_at_the_edge_of_the_calendar(incident):
    incident.started_at = datetime(1, 1, 1, tzinfo=UTC)
    incident.resolved_at = datetime(9999, 12, 31, tzinfo=UTC)
    assert far_off(incident, START) == ""
