"""Times said once and never invented: no drawing to scale of an incident whose start or end is
known only to the day or more coarsely; a coarse start spans its period on the strips; an
incident in UTC says UTC once; a source with no zone is not said to be converted; the far-off
event notice writes the event's time as known, in the incident's zone."""

import re
from datetime import UTC, datetime

import pytest
from django.contrib.messages import get_messages

from outages import text
from outages.charts import timeline as charts
from outages.charts.layout import Timeline, coarse_milestones
from outages.models import ZONE_UNSTATED, Precision, far_off
from tests.test_ranges import DOCUMENT, GOOD, post, run_importer
from tests.test_strips import strip_of

SVG = "{http://www.w3.org/2000/svg}"
DRAWING = 'class="timeline-drawing"'


# --- The drawing ------------------------------------------------------------------------------


@pytest.fixture
def year_only(incident):
    """Started some time in 2015 (stored as 1 Jan, midnight in Los Angeles), resolved to the
    minute."""
    incident.started_at = datetime(2015, 1, 1, 8, 0, tzinfo=UTC)
    incident.started_precision = Precision.YEAR
    incident.detected_at = incident.mitigated_at = None
    incident.resolved_at = datetime(2015, 3, 2, 18, 0, tzinfo=UTC)
    incident.save()
    incident.events.update(occurred_at=incident.resolved_at)
    return incident


@pytest.fixture
def days_only(incident):
    """Started 19 Jan 2017 and resolved 20 Jan 2017, each known only to the day."""
    incident.started_at = datetime(2017, 1, 19, 8, 0, tzinfo=UTC)
    incident.resolved_at = datetime(2017, 1, 20, 8, 0, tzinfo=UTC)
    incident.started_precision = incident.resolved_precision = Precision.DATE
    incident.detected_at = incident.mitigated_at = None
    incident.save()
    incident.events.update(occurred_at=incident.started_at, precision=Precision.DATE)
    return incident


def test_a_year_only_start_is_not_drawn_on_a_clock_axis(client, year_only):
    html = client.get(year_only.get_absolute_url()).content.decode()

    assert DRAWING not in html
    assert not re.search(r">\s*(00:00|1 Jan)\s*<", html)  # no tick, no date on the 1st
    assert "Not drawn: the start is known only to the day or more coarsely" in html
    assert 'id="event-1"' in html  # the timeline table is still there


def test_a_start_and_end_known_to_the_day_are_not_drawn_hour_by_hour(client, days_only):
    html = client.get(days_only.get_absolute_url()).content.decode()

    assert DRAWING not in html
    assert "Not drawn: the start and resolution are known only to the day" in html
    assert "The milestones above and the timeline below give each time" in html
    assert 'id="event-1"' in html


def test_the_drawing_itself_refuses_a_coarse_milestone():
    exact = datetime(2017, 1, 19, 8, 0, tzinfo=UTC)
    timeline = Timeline(
        title="t",
        started_at=exact,
        resolved_at=datetime(2017, 1, 20, 9, 0, tzinfo=UTC),
        precisions=(("resolved_at", "date"),),
    )

    assert coarse_milestones(timeline) == ["resolution"]
    assert charts.timeline_svg(timeline) == ""
    assert charts.timeline_svg(Timeline(title="t", started_at=exact)) != ""


def test_an_incident_known_to_the_minute_is_still_drawn(client, incident):
    assert DRAWING in client.get(incident.get_absolute_url()).content.decode()


# --- The strips -------------------------------------------------------------------------------


def test_a_year_only_start_spans_its_year_on_the_strip_not_1_january(client, year_only):
    html = client.get(year_only.provider.get_absolute_url()).content.decode()
    strip = strip_of(html)

    (mark,) = [c for c in strip.iter(f"{SVG}circle") if "mark" in c.get("class")]
    assert "vague" in mark.get("class")
    (period,) = [line for line in strip.iter(f"{SVG}line") if line.get("class") == "period"]
    start, end = (float(period.get(x).rstrip("%")) for x in ("x1", "x2"))
    middle = float(mark.get("cx").rstrip("%"))
    assert start < middle < end
    assert abs(middle - (start + end) / 2) < 0.5
    assert mark.get("cx") != period.get("x1")  # not on 1 Jan
    tips = [t.text for t in strip.iter(f"{SVG}title")]
    assert f"{year_only.title} (2015)" in tips
    assert "(1 known only to the month or year: a hollow mark across that period)" in html


def test_a_coarse_start_counts_in_its_own_zones_year(client, year_only):
    # 1 Jan 2015, midnight in Tokyo, is still 31 Dec 2014 in UTC.
    year_only.time_zone = "Asia/Tokyo"
    year_only.started_at = datetime(2014, 12, 31, 15, 0, tzinfo=UTC)
    year_only.save()

    strip = strip_of(client.get(year_only.provider.get_absolute_url()).content.decode())

    assert "2015 (1)" in strip.find(f"{SVG}desc").text
    assert "2014" not in strip.find(f"{SVG}desc").text


def test_a_start_with_a_clock_is_still_a_solid_mark(client, incident):
    strip = strip_of(client.get(incident.provider.get_absolute_url()).content.decode())

    marks = [c for c in strip.iter(f"{SVG}circle") if "mark" in c.get("class")]
    assert [m.get("class") for m in marks] == ["mark"]
    assert not [line for line in strip.iter(f"{SVG}line") if line.get("class") == "period"]


# --- UTC said once; an unstated zone not said to be converted ---------------------------------


@pytest.fixture
def in_utc(incident):
    incident.time_zone = "UTC"
    incident.save()
    return incident


def test_an_incident_in_utc_says_utc_once(client, in_utc):
    html = client.get(in_utc.get_absolute_url()).content.decode()

    assert "Times are shown in UTC, as the sources stated them." in html
    assert "(UTC) and in UTC" not in html
    assert '<span class="utc">' not in html  # no second “· 20:24 UTC” beside “8:24 PM UTC”
    assert "When (UTC)" in html
    assert "UTC · UTC" not in html
    assert "to see its time as the source stated it" in html
    assert "to see its time in UTC" not in html


def test_an_incident_in_another_zone_still_shows_both(client, incident):
    html = client.get(incident.get_absolute_url()).content.decode()

    assert "Times are shown as the sources stated them (America/Los_Angeles) and in UTC." in html
    assert "When (America/Los_Angeles · UTC)" in html
    assert '<span class="utc">· 20:24 UTC</span>' in html
    assert "to see its time in UTC and as the source stated it" in html


def test_an_unstated_zone_reads_as_a_sentence_and_claims_no_utc(client, incident):
    incident.time_zone = ZONE_UNSTATED
    incident.save()

    html = client.get(incident.get_absolute_url()).content.decode()

    assert (
        "Times are shown as the sources give them; the source does not state their zone, so "
        "they are not converted to UTC." in html
    )
    assert "the zone not stated by the source, so" not in html
    assert "as written" not in html  # the clock is reformatted (5:21 PM), so not “as written”
    assert "When (as the source gives it, zone not stated by the source)" in html
    assert "to see its time in UTC" not in html


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        ("UTC", "When (UTC)"),
        ("Etc/UTC", "When (UTC)"),
        ("Europe/Berlin", "When (Europe/Berlin · UTC)"),
        (ZONE_UNSTATED, "When (as the source gives it, zone not stated by the source)"),
    ],
)
def test_when_heading(zone, expected):
    assert text.when_heading(zone) == expected


def test_utc_beside_is_left_out_for_utc_itself():
    moment = datetime(2018, 5, 2, 10, 0, tzinfo=UTC)

    assert text.utc_beside(moment, "UTC") is None
    assert text.utc_beside(moment, "Europe/Berlin") == "2 May 2018, 10:00 UTC"


# --- The far-off event notice -----------------------------------------------------------------


def test_far_off_notice_writes_a_day_only_event_as_its_day(admin_client, incident):
    # 14 Jun 2013, known only to the day: typed as midnight in Los Angeles (07:00 UTC).
    response = post(
        admin_client,
        incident,
        **{
            "events-1-occurred_at_0": "2013-06-14",
            "events-1-occurred_at_1": "00:00",
            "events-1-precision": "date",
        },
    )

    assert response.status_code == 302
    notices = [str(m) for m in get_messages(response.wsgi_request) if m.level_tag == "warning"]
    assert len(notices) == 1
    assert notices[0].startswith("Timeline event 2 (Mitigation, 14 Jun 2013): 14 Jun 2013 is ")
    assert not re.search(r"\d\d:\d\d|UTC| h ", notices[0])


def test_far_off_writes_the_day_in_the_incidents_zone(incident):
    incident.time_zone = "Asia/Tokyo"
    # 1 Jan 2021, midnight in Tokyo: 31 Dec 2020 in UTC.
    at = datetime(2020, 12, 31, 15, 0, tzinfo=UTC)

    assert far_off(incident, at, "date").startswith("1 Jan 2021 is ")
    assert far_off(incident, at, "year").startswith("2021 is ")


def test_import_warns_of_a_far_off_day_only_event_as_its_day(db):
    report = run_importer(DOCUMENT.format(**{**GOOD, "event": "2020-01-09"}))

    # 9 Jan 2020, midnight in Los Angeles, is 7 days 11 h after the resolution; but an event
    # known only to the day has no hours to give.
    assert [str(warning) for warning in report.warnings] == [
        "outage.yaml:18 incidents[0].timeline[0].at: 9 Jan 2020 is 7 days after the incident "
        "was resolved, more than the 7 days an event may lie outside it; check the date (a "
        "later follow-up may be right)"
    ]
