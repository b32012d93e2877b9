"""The drawn timeline: charts/timeline.py and charts/layout.py from plain data, and the incident
page."""

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest

from outages.charts.layout import (
    Bracket,
    Event,
    Impact,
    Timeline,
    extent,
    hang_flags,
    not_affected,
    phases,
    tick_step,
    ticks,
)
from outages.charts.timeline import NARROW, WIDE, Scale, fit_line, mark_labels, timeline_svg
from outages.models import Incident
from outages.templatetags.timeline import timeline_data

SVG = "{http://www.w3.org/2000/svg}"
START = datetime(2012, 12, 24, 20, 24, tzinfo=UTC)
PACIFIC = "America/Los_Angeles"
ELB = "/incidents/aws-elb-us-east-2012-12-24/"


def event(minutes, kind="recovery", key=False, position=1, **fields):
    return Event(
        at=START + timedelta(minutes=minutes),
        kind=kind,
        kind_label=kind.capitalize(),
        anchor=f"event-{position}",
        key=key,
        **fields,
    )


def timeline(**fields):
    fields.setdefault("started_at", START)
    fields.setdefault("resolved_at", START + timedelta(hours=23, minutes=41))
    return Timeline(title="ELB outage", zone=PACIFIC, **fields)


def parse(svg):
    """The drawing as XML: it must be well formed to be parsed at all."""
    return ET.fromstring(str(svg))


def texts(root):
    return [node.text for node in root.iter(f"{SVG}text")]


# --- The time axis -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "span, step",
    [
        (timedelta(minutes=45), timedelta(minutes=5)),
        (timedelta(hours=2), timedelta(minutes=15)),
        (timedelta(hours=4, minutes=25), timedelta(minutes=30)),
        (timedelta(hours=23, minutes=41), timedelta(hours=3)),
        (timedelta(days=3, hours=12), timedelta(hours=12)),
        (timedelta(days=9), timedelta(days=1)),
        (timedelta(days=40), timedelta(days=7)),
    ],
)
def test_tick_steps_suit_minutes_hours_and_days(span, step):
    assert tick_step(span) == step
    assert 5 <= len(ticks(START, START + span)) <= 10


def test_ticks_are_whole_steps_of_the_zones_clock_with_utc_beneath():
    labelled = ticks(START, START + timedelta(hours=23, minutes=41), PACIFIC)

    zone_row = [rows[0] for _, rows in labelled]
    utc_row = [rows[1] for _, rows in labelled]
    assert [clock for clock, _ in zone_row] == [
        "3 PM", "6 PM", "9 PM", "12 AM", "3 AM", "6 AM", "9 AM", "12 PM",
    ]  # fmt: skip
    assert [clock for clock, _ in utc_row] == [
        "23:00", "02:00", "05:00", "08:00", "11:00", "14:00", "17:00", "20:00",
    ]  # fmt: skip
    # Each row names the day where its own day changes: 6 PM and 9 PM PST are still Christmas
    # Eve, though UTC has reached 25 December.
    assert [day for _, day in zone_row] == ["24 Dec", "", "", "25 Dec", "", "", "", ""]
    assert [day for _, day in utc_row] == ["24 Dec", "25 Dec", "", "", "", "", "", ""]
    assert labelled[3][0] == datetime(2012, 12, 25, 8, tzinfo=UTC)  # midnight PST


def test_an_incident_in_utc_or_an_unstated_zone_has_one_row_of_ticks():
    for zone in ("UTC", "unstated"):
        labelled = ticks(START, START + timedelta(hours=23, minutes=41), zone)
        assert {len(rows) for _, rows in labelled} == {1}
        assert labelled[0][1][0] == ("9 PM", "24 Dec")


def test_day_ticks_show_dates_and_the_year_once():
    labelled = ticks(START, START + timedelta(days=9))

    assert labelled[0][1][0] == ("25 Dec", "2012")
    assert ("1 Jan", "2013") in [rows[0] for _, rows in labelled]


def tick_texts(root, y):
    """(x, words) of the axis labels on the line at `y`."""
    return [
        (float(node.get("x")), node.text)
        for node in root.iter(f"{SVG}text")
        if "tick" in node.get("class", "") and float(node.get("y")) == y
    ]


def test_the_drawn_axis_puts_christmas_eve_evening_under_24_december_with_utc_beneath():
    root = parse(timeline_svg(timeline()))

    lines = sorted({float(n.get("y")) for n in root.iter(f"{SVG}text") if "tick" in n.get("class")})
    zone_clock, zone_day, utc_clock, utc_day = (tick_texts(root, y) for y in lines)
    six_pm = next(x for x, words in zone_clock if words == "6 PM")
    days = sorted(zone_day)
    # The last zone day labelled left of 6 PM (02:00 UTC on 25 December) is 24 December.
    assert [words for x, words in days if x <= six_pm][-1] == "24 Dec"
    assert "25 Dec" in [words for x, words in days if x > six_pm]
    assert (six_pm, "02:00") in utc_clock  # UTC beneath the same tick
    assert [words for x, words in sorted(utc_day) if x <= six_pm][-1] == "25 Dec"
    row_names = [n.text for n in root.iter(f"{SVG}text") if n.get("class") == "row-label"]
    assert row_names.index("PST") < row_names.index("UTC")


# --- What is drawn -------------------------------------------------------------------------


def test_each_event_is_one_focusable_mark_linking_to_its_table_row():
    events = tuple(event(60 * n, position=n + 1) for n in range(5))

    root = parse(timeline_svg(timeline(events=events)))

    links = [node.get("href") for node in root.iter(f"{SVG}a")]
    assert links == [f"#event-{n}" for n in range(1, 6)]


def test_marks_differ_in_shape_as_well_as_colour():
    kinds = ["trigger", "detection", "escalation", "mitigation", "recovery", "other"]
    events = tuple(event(60 * n, kind, position=n) for n, kind in enumerate(kinds))

    root = parse(timeline_svg(timeline(events=events)))

    shapes = [
        (mark.get("class"), [child.tag for child in mark if "shape" in child.get("class", "")])
        for mark in root.iter(f"{SVG}a")
    ]
    drawn = {(css.split()[1], tuple(tags)) for css, tags in shapes}
    assert len({tags for _, tags in drawn}) >= 3  # circle, polygon, path
    assert len({css for css, _ in drawn}) == len(kinds)


def test_a_mark_title_gives_utc_the_source_zone_and_the_stated_time():
    trigger = event(0, "trigger", key=True, stated="12:24 PM PST on December 24th", text="Oops.")

    root = parse(timeline_svg(timeline(events=(trigger,))))

    title = next(root.iter(f"{SVG}a")).find(f"{SVG}title").text
    assert "24 Dec 2012, 20:24 UTC" in title
    assert "12:24 PM PST" in title
    assert "“12:24 PM PST on December 24th”" in title
    assert "key event" in title
    assert "Trigger 12:24 PM" in texts(root)  # labelled in the source's zone


def test_all_three_phases_when_every_milestone_is_known():
    data = timeline(
        detected_at=START + timedelta(minutes=30),
        mitigated_at=START + timedelta(hours=4, minutes=38),
    )

    assert [phase.name for phase in phases(data)] == [
        "Undetected",
        "Detected, not yet mitigated",
        "Mitigated, recovering",
    ]
    root = parse(timeline_svg(data))
    bands = [rect.get("class") for rect in root.iter(f"{SVG}rect") if "phase" in rect.get("class")]
    assert bands == ["phase phase-undetected", "phase phase-responding", "phase phase-recovering"]


def test_without_a_detection_time_the_first_phase_runs_until_mitigated_and_says_so():
    data = timeline(mitigated_at=START + timedelta(hours=4, minutes=38))

    assert [(phase.name, phase.start) for phase in phases(data)] == [
        ("Until mitigated (detection time not stated by the provider)", START),
        ("Mitigated, recovering", START + timedelta(hours=4, minutes=38)),
    ]


def test_with_only_a_start_no_phase_is_drawn_and_no_end_is_invented():
    data = timeline(resolved_at=None, events=(event(0, "trigger"), event(90, position=2)))

    root = parse(timeline_svg(data))

    assert phases(data) == []
    assert not [rect for rect in root.iter(f"{SVG}rect") if "phase" in rect.get("class")]
    assert "resolution not stated" in texts(root)
    assert "Resolution time not stated by the provider." in root.find(f"{SVG}desc").text


def test_nothing_is_drawn_without_any_milestone_or_event():
    assert extent(Timeline(title="Empty")) is None
    assert timeline_svg(Timeline(title="Empty")) == ""


def test_without_a_start_the_drawing_begins_at_the_first_known_time():
    later = START + timedelta(hours=2)
    data = Timeline(title="No start", mitigated_at=START, resolved_at=later)

    assert extent(data).start == START
    assert [phase.name for phase in phases(data)] == ["Mitigated, recovering"]


def test_events_long_after_the_span_sit_in_a_later_margin_not_on_the_axis():
    follow_up = event(60 * 24 * 172, "other", position=3)  # the Isthmus post, June 2013
    data = timeline(events=(event(0, "trigger"), event(60 * 23 + 41, position=2), follow_up))

    span = extent(data)
    root = parse(timeline_svg(data))

    assert span.end == START + timedelta(hours=23, minutes=41)
    assert span.later == (follow_up,)
    assert "Later," in texts(root) and "not to scale" in texts(root)
    assert "14 Jun 2013" in texts(root)
    # The axis keeps its hourly ticks: the span is not squashed by the far-off event.
    assert "3 AM" in texts(root) and "11:00" in texts(root)


def test_events_shortly_before_the_start_stay_on_the_axis():
    early = event(-150, "trigger")  # Kinesis: the trigger came 2.5 h before the impact

    span = extent(timeline(events=(early,)))

    assert span.start == early.at
    assert span.earlier == ()


def test_without_a_resolution_the_span_runs_through_events_until_a_long_silence():
    events = tuple(event(60 * 24 * day, position=day) for day in (0, 1, 2, 3, 8))

    span = extent(timeline(resolved_at=None, events=events))

    assert span.end == START + timedelta(days=3)
    assert span.later == (events[-1],)


def test_every_customer_hit_gets_a_row_and_not_affected_ones_none():
    impacts = (
        Impact("Amazon Prime Video", "not-affected", "Not affected", False),
        Impact("Heroku", "outage", "Down", True),
        Impact("Netflix", "outage", "Down", True, started_at=START + timedelta(minutes=6)),
    )
    data = timeline(impacts=impacts)

    root = parse(timeline_svg(data))

    words = texts(root)
    rows = [n.text for n in root.iter(f"{SVG}text") if n.get("class") == "row-label customer"]
    assert rows == ["Heroku", "Netflix"]
    assert "Amazon Prime Video" not in words and "Not affected" not in words
    assert not_affected(data) == "Not affected: Amazon Prime Video"
    assert "Not affected: Amazon Prime Video." in root.find(f"{SVG}desc").text
    bar = next(r for r in root.iter(f"{SVG}rect") if "bar-open" in r.get("class"))
    assert bar.get("class") == "bar-open level-outage"
    assert bar.get("fill") == "url(#tl-fade-end-outage)"
    assert root.find(f".//{SVG}linearGradient[@id='tl-fade-end-outage']") is not None
    assert "Down from about 12:30 PM PST (about 20:30 UTC); end not known" in words
    assert words[words.index("Heroku") + 1] == "Down"  # its level, on its own row
    assert "Times not reported for the customer above." in words


def test_duration_brackets_are_labelled():
    data = timeline(
        brackets=(
            Bracket("23 h 41 min to resolve", START, START + timedelta(hours=23, minutes=41)),
        )
    )

    assert "23 h 41 min to resolve" in texts(parse(timeline_svg(data)))


def test_hostile_text_is_escaped_everywhere():
    hostile = '</svg><script>alert("x")</script>&'
    data = Timeline(
        title=hostile,
        started_at=START,
        resolved_at=START + timedelta(hours=2),
        events=(event(10, "trigger", key=True, stated=hostile, text=hostile),),
        impacts=(Impact(hostile, "outage", hostile, True, started_at=START),),
        brackets=(Bracket(hostile, START, START + timedelta(hours=2)),),
    )

    svg = str(timeline_svg(data))
    root = parse(svg)

    assert "<script" not in svg
    assert "&lt;/svg&gt;&lt;script&gt;" in svg
    assert root.find(f"{SVG}title").text == f"Timeline of {hostile}"
    assert not list(root.iter("script")) and not list(root.iter(f"{SVG}script"))


def test_key_labels_of_coinciding_events_take_separate_rows_without_crossing():
    flags, rows = hang_flags([(200, 100), (203, 100), (600, 80)], 500, 150, 956)

    assert rows == 2
    assert {flags[0][0], flags[1][0]} == {0, 1}
    # The later label takes the upper row, so the earlier one's pole passes left of its text.
    assert flags[1][0] == 0
    assert flags[2] == (0, False)  # right of the middle: the text runs leftward


@pytest.fixture(params=[WIDE, NARROW], ids=["wide", "narrow"])
def frame(request):
    return request.param


def assert_labels_apart(data, frame):
    """Every event has a label, inside the drawing, and no two labels' boxes meet."""
    marks, _, _ = mark_labels(data, Scale(extent(data), frame))
    assert sorted(mark.event.anchor for mark in marks) == sorted(e.anchor for e in data.events)
    assert all(mark.words.startswith(mark.event.kind_label) for mark in marks)
    for mark in marks:
        left, right = mark.box
        assert 0 <= left < right <= frame.width, mark
    for first in marks:
        for second in marks:
            if first is not second and first.row == second.row:
                assert first.box[1] < second.box[0] or second.box[1] < first.box[0], (
                    first,
                    second,
                )
    return marks


def test_every_event_is_labelled_and_no_two_labels_overlap_when_marks_crowd(frame):
    # Ten events within a few minutes, others spread out, and far-off ones in the margins.
    minutes = [0, 0, 1, 2, 3, 5, 6, 8, 9, 10, 300, 302, 700, 1420, -60 * 24 * 30, 60 * 24 * 40]
    kinds = ["trigger", "escalation", "communication", "detection", "mitigation", "recovery"]
    events = tuple(
        event(m, kinds[n % len(kinds)], key=n % 3 == 0, position=n + 1)
        for n, m in enumerate(minutes)
    )

    marks = assert_labels_apart(timeline(events=events), frame)

    words = {mark.event.anchor: mark.words for mark in marks}
    assert words["event-1"] == "Trigger 12:24 PM"  # the clock time in the source's zone
    assert words["event-15"] == "Communication 24 Nov"  # far off: its day, in the zone


def test_every_shipped_incident_labels_every_event_without_overlap(shipped_data, db, frame):
    for incident in Incident.objects.published().in_full():
        data = timeline_data(incident)
        if extent(data) and data.events:
            assert_labels_apart(data, frame)


def test_tick_labels_that_would_meet_end_at_their_tick_or_give_way_to_the_later_day():
    kept = fit_line([(100, "24 Dec", "tick date"), (130, "25 Dec", "tick date")], 50)
    assert [(n.get("text-anchor"), n.text) for n in map(parse, kept)] == [
        ("end", "24 Dec"),
        ("middle", "25 Dec"),
    ]
    crowded = fit_line([(100, "24 Dec", "tick date"), (110, "25 Dec", "tick date")], 50)
    assert [parse(n).text for n in crowded] == ["25 Dec"]
    apart = fit_line([(100, "24 Dec", "tick date"), (200, "25 Dec", "tick date")], 50)
    assert [parse(n).get("text-anchor") for n in apart] == ["middle", "middle"]


def test_the_phone_drawing_is_narrow_with_its_own_ids_and_every_mark(frame):
    events = tuple(event(60 * n, position=n + 1) for n in range(5))

    root = parse(timeline_svg(timeline(events=events), frame))

    assert root.get("viewBox").split()[2] == str(frame.width)
    assert root.get("aria-labelledby") == f"tl-title{frame.suffix}"
    assert root.find(f"{SVG}title").get("id") == f"tl-title{frame.suffix}"
    assert len(list(root.iter(f"{SVG}a"))) == 5


# --- The incident page ---------------------------------------------------------------------


@pytest.fixture
def elb_page(shipped_data, db, client):
    return client.get(ELB).content.decode()


def drawing(html, css="timeline-drawing"):
    """The page's wide drawing, or with css="timeline-drawing narrow" the phone's."""
    found = re.search(
        rf'<svg xmlns="http://www.w3.org/2000/svg" class="{css}".*?</svg>', html, re.S
    )
    assert found, "the page has no drawing"
    return parse(found.group())


def test_elb_page_draws_every_event_phases_customers_and_durations(elb_page):
    root = drawing(elb_page)
    words = texts(root)

    marks = list(root.iter(f"{SVG}a"))
    assert len(marks) == 18
    for mark in marks:  # each mark lands on its row of the timeline table
        assert f'<tr id="{mark.get("href")[1:]}"' in elb_page
    phase_classes = [r.get("class") for r in root.iter(f"{SVG}rect") if "phase" in r.get("class")]
    assert phase_classes == ["phase phase-responding", "phase phase-recovering"]
    assert "Until mitigated" in words  # detected_at is unknown, and the band says so
    netflix = [r for r in root.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    assert any(r.find(f"{SVG}title").text.startswith("Netflix: Down from") for r in netflix)
    assert "Down from about 12:30 PM PST (about 20:30 UTC); end not known" in words
    assert "Heroku" in words and "Amazon Prime Video" not in words
    assert '<p class="not-affected-note">Not affected: Amazon Prime Video.</p>' in elb_page
    assert "23 h 41 min to resolve" in words
    assert "4 h 38 min to mitigate" in words
    # The later margin: its first event fell on 29 December in PST, 30 December in UTC.
    assert "29 Dec 2012" in words and "30 Dec 2012" in words and "to 14 Jun 2013" in words


def test_elb_page_is_accessible_without_seeing_the_drawing(elb_page):
    root = drawing(elb_page)

    assert root.get("aria-labelledby") == "tl-title"
    assert root.get("aria-describedby") == "tl-desc"
    assert (
        "Until mitigated (detection time not stated by the provider): 24 Dec 20:24 – 25 Dec 01:02 "
        "UTC." in root.find(f"{SVG}desc").text
    )
    assert "<summary>Data behind the drawing</summary>" in elb_page
    data = elb_page.split("Data behind")[1]
    customers = data.split("<caption>Customers</caption>")[1].split("</table>")[0]
    assert "Heroku" in customers and "Netflix" in customers
    assert "Amazon Prime Video" not in customers  # as drawn: only in the note
    assert "Until mitigated (detection time not stated by the provider)" in data
    assert "later margin, not to scale" in elb_page
    assert (
        " style="
        not in elb_page.split('<figure class="timeline-figure">')[1].split("</details>")[0]
    )


def test_elb_page_keeps_its_structured_data_and_adds_the_drawing_stylesheet(elb_page):
    head = elb_page.split("</head>")[0]

    assert '<script type="application/ld+json">' in head
    assert '<link rel="stylesheet" href="/static/css/timeline.css">' in head
    assert "23 h 41 min" in elb_page


def test_the_drawing_sits_between_the_gist_and_the_summary(elb_page):
    assert (
        elb_page.index('class="gist-facts"')
        < elb_page.index('id="drawing-heading"')
        < elb_page.index('<h2 id="summary">')
    )


def test_an_incident_with_no_known_time_has_no_drawing_section(client, incident):
    incident.events.all().delete()
    incident.started_at = incident.mitigated_at = incident.resolved_at = None
    incident.save()

    html = client.get(incident.get_absolute_url()).content.decode()

    assert "drawing-heading" not in html
    assert "not known" in html


def test_hostile_event_text_on_the_page_stays_text(client, incident):
    incident.events.update(time_as_stated="</svg><script>alert(1)</script>")

    html = client.get(incident.get_absolute_url()).content.decode()

    drawing(html)  # still well-formed XML
    assert "<script>alert(1)" not in html


def test_customer_rows_are_those_hit_worst_first(shipped_data, db, client):
    incident = Incident.objects.published().in_full().get(slug="aws-s3-us-east-1-2017-02-28")
    hits = incident.impacts.hits().select_related("customer")
    html = client.get(incident.get_absolute_url()).content.decode()

    rows = [
        node.text
        for node in drawing(html).iter(f"{SVG}text")
        if node.get("class") == "row-label customer"
    ]
    assert sorted(rows) == sorted(impact.customer.name for impact in hits)
    down = sorted(i.customer.name for i in hits if i.level == "outage")
    assert rows[: len(down)] == down  # Down first, then Degraded, then Affected


def test_every_shipped_incident_draws_each_of_its_events_as_well_formed_svg(
    shipped_data, db, client
):
    for incident in Incident.objects.published().prefetch_related("events"):
        html = client.get(incident.get_absolute_url()).content.decode()
        if "timeline-drawing" not in html:
            continue  # a milestone known only to the day: not drawn, and the page says why
        for css in ("timeline-drawing", "timeline-drawing narrow"):
            marks = list(drawing(html, css).iter(f"{SVG}a"))
            assert len(marks) == len(incident.events.all()), (incident.slug, css)
        ids = re.findall(r' id="([^"]+)"', html)
        assert len(ids) == len(set(ids)), incident.slug  # the two drawings' ids stay apart
