"""outages.text: the one way times and durations are written, at every precision."""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from outages import text

LA = "America/Los_Angeles"
ELB_TRIGGER = datetime(2012, 12, 24, 20, 24, tzinfo=UTC)  # 12:24 PM PST
# 19 Jan 2017, midnight in Los Angeles: how a day-only start is stored.
DAY = datetime(2017, 1, 19, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("precision", "expected"),
    [
        ("minute", "24 Dec 2012, 12:24 PM PST"),
        ("approximate", "24 Dec 2012, about 12:24 PM PST"),
        ("hour", "24 Dec 2012, 12 PM PST"),
        ("date", "24 Dec 2012"),
        ("month", "December 2012"),
        ("year", "2012"),
    ],
)
def test_a_moment_is_written_as_precisely_as_it_is_known(precision, expected):
    assert text.moment_text(ELB_TRIGGER, LA, precision) == expected


def test_a_day_is_the_day_in_the_incidents_zone_not_in_utc():
    tokyo_midnight = datetime(2017, 1, 18, 15, 0, tzinfo=UTC)  # 19 Jan 00:00 in Tokyo

    assert text.moment_text(tokyo_midnight, "Asia/Tokyo", "date") == "19 Jan 2017"
    assert text.machine_text(tokyo_midnight, "Asia/Tokyo", "date") == "2017-01-19"
    assert text.day_text(tokyo_midnight, "Asia/Tokyo", "minute") == "19 Jan 2017"


def test_an_unstated_zone_is_written_as_written_and_never_as_utc():
    written = datetime(2016, 9, 23, 17, 21, tzinfo=UTC)  # stored as written

    assert text.moment_text(written, text.ZONE_UNSTATED) == (
        "23 Sep 2016, 5:21 PM (zone not stated by the source)"
    )
    assert text.utc_text(written, text.ZONE_UNSTATED) is None
    assert text.machine_text(written, text.ZONE_UNSTATED) == "2016-09-23T17:21"
    assert text.document_text(written, text.ZONE_UNSTATED) == "2016-09-23T17:21:00"
    assert text.zone_words(text.ZONE_UNSTATED) == "zone not stated by the source"


def test_utc_is_left_out_where_it_would_be_invented():
    assert text.utc_text(ELB_TRIGGER, LA, "minute", local_date=ELB_TRIGGER.date()) == "20:24 UTC"
    assert text.utc_text(ELB_TRIGGER, LA, "approximate") == "24 Dec 2012, about 20:24 UTC"
    assert text.utc_text(ELB_TRIGGER, LA, "date") is None
    assert text.utc_text(ELB_TRIGGER, LA, "year") is None


def test_machine_and_document_forms_give_the_period_when_only_that_is_known():
    assert text.machine_text(ELB_TRIGGER, LA) == "2012-12-24T20:24:00Z"
    assert text.machine_text(DAY, LA, "month") == "2017-01"
    assert text.machine_text(DAY, LA, "year") == "2017"
    assert text.document_text(ELB_TRIGGER, LA) == "2012-12-24T12:24:00-08:00"
    assert text.document_text(DAY, LA, "date") == "2017-01-19"


def test_durations_between_clock_times_are_exact():
    end = ELB_TRIGGER + timedelta(hours=23, minutes=41)

    assert text.duration_bounds(ELB_TRIGGER, "minute", end, "approximate") == (
        timedelta(hours=23, minutes=41),
        timedelta(hours=23, minutes=41),
    )
    assert text.duration_words(ELB_TRIGGER, "hour", end, "minute") == "23 h 41 min"


def test_a_day_only_start_gives_bounds_in_days():
    end = DAY + timedelta(days=3)  # 22 Jan, midnight in Los Angeles

    assert text.duration_bounds(DAY, "date", end, "date", LA) == (
        timedelta(days=2),
        timedelta(days=4),
    )
    assert text.duration_words(DAY, "date", end, "date", LA) == "between 2 and 4 days"
    assert text.duration_words(DAY, "date", end, "minute", LA) == "between 2 and 3 days"


def test_bounds_that_mix_days_and_hours_keep_the_hours():
    end = DAY + timedelta(days=2, hours=10)

    assert text.duration_words(DAY, "date", end, "minute", LA) == ("between 1 d 10 h and 2 d 10 h")


def test_bounds_too_loose_to_mean_anything_are_left_out():
    same_day = DAY + timedelta(hours=18)
    january = datetime(2017, 1, 1, 8, 0, tzinfo=UTC)
    february = datetime(2017, 2, 1, 8, 0, tzinfo=UTC)

    assert text.duration_words(DAY, "date", same_day, "minute", LA) is None  # 0 to 1 day
    assert text.duration_words(january, "month", february, "month", LA) is None  # 0 to 59 days
    assert text.duration_words(january, "year", january, "year", LA) is None
    assert text.duration_words(None, "minute", DAY, "minute") is None


def test_months_and_years_end_at_the_next_one_in_the_zone():
    assert text.period_end(DAY, "month", LA) == datetime(2017, 2, 1, 8, 0, tzinfo=UTC)
    assert text.period_end(DAY, "year", LA) == datetime(2018, 1, 1, 8, 0, tzinfo=UTC)
    assert text.period_end(DAY, "minute", LA) == DAY


def test_a_duration_in_words():
    assert text.duration_text(timedelta(hours=23, minutes=41)) == "23 h 41 min"
    assert text.duration_text(timedelta(days=3, hours=17)) == "3 d 17 h"
    assert text.duration_text(timedelta(minutes=5)) == "5 min"
    assert text.duration_text(None) == ""


def test_times_at_the_ends_of_the_calendar_are_written_not_a_crash():
    first = datetime(1, 1, 1, tzinfo=UTC)
    last = datetime(9999, 12, 31, 23, 0, tzinfo=UTC)

    assert text.moment_text(first, LA) == "1 Jan 1, 12:00 AM UTC"
    assert text.moment_text(last, "Asia/Tokyo", "year") == "9999"
    assert text.duration_bounds(last, "year", last, "year", LA) is None
    assert text.duration_words(first, "date", last, "date", LA) is None  # no end past 9999
    assert text.duration_words(first, "date", first + timedelta(days=10), "date", LA)


@pytest.mark.parametrize(
    "precision, expected",
    [("minute", "2012-12-24 20:24"), ("approximate", "about 2012-12-24 20:24"),
     ("hour", "2012-12-24 20:00")],
)  # fmt: skip
def test_utc_stamp_writes_the_utc_column_at_the_times_precision(precision, expected):
    assert text.utc_stamp(ELB_TRIGGER, precision) == expected


def test_a_bin_edge_under_ten_minutes_keeps_its_seconds():
    assert text.duration_text(timedelta(seconds=76), seconds=True) == "1 min 16 s"
    assert text.duration_text(timedelta(seconds=45), seconds=True) == "45 s"
    assert text.duration_text(timedelta(minutes=30), seconds=True) == "30 min"
    assert text.duration_text(timedelta(seconds=76)) == "1 min"


@pytest.mark.parametrize(
    ("zone", "precision", "column", "line"),
    [
        (LA, "minute", "2012-12-24 20:24", "2012-12-24 20:24 UTC"),
        (LA, "approximate", "about 2012-12-24 20:24", "about 2012-12-24 20:24 UTC"),
        (LA, "date", "2012-12-24 (date only)", "24 Dec 2012"),
        (LA, "year", "2012 (year only)", "2012"),
        (
            text.ZONE_UNSTATED,
            "minute",
            "not known (zone not stated by the source)",
            "24 Dec 2012, 8:24 PM (zone not stated by the source)",
        ),
    ],
)
def test_utc_columns_and_lines_never_invent_utc(zone, precision, column, line):
    assert text.utc_column(ELB_TRIGGER, zone, precision) == column
    assert text.utc_or_stated(ELB_TRIGGER, zone, precision) == line


def test_a_page_time_says_utc_beside_only_where_it_adds_something():
    assert text.when_said(ELB_TRIGGER, LA) == (
        "2012-12-24T20:24:00Z",
        "24 Dec 2012, 12:24 PM PST",
        "20:24 UTC",
    )
    assert text.when_said(ELB_TRIGGER, "UTC").utc is None
    assert text.when_said(None) is None
    assert text.day_said(DAY, LA, "month") == ("2017-01", "January 2017", None)


def test_site_times_and_days_are_in_utc():
    assert text.calendar_minute(ELB_TRIGGER) == "24 Dec 2012, 20:24 UTC"
    assert text.calendar_day(ELB_TRIGGER.date()) == "24 Dec 2012"


def test_drawn_times_are_utc_unless_the_zone_is_not_stated():
    later = ELB_TRIGGER + timedelta(days=1, hours=2)

    assert text.utc_between(ELB_TRIGGER, ELB_TRIGGER + timedelta(hours=2)) == "20:24–22:24 UTC"
    assert text.utc_between(ELB_TRIGGER, later) == "24 Dec 20:24 – 25 Dec 22:24 UTC"
    assert text.drawn_time(ELB_TRIGGER) == "24 Dec 2012, 20:24 UTC"
    assert text.drawn_time(ELB_TRIGGER, "date") == "24 Dec 2012"
    assert text.axis_zone(text.ZONE_UNSTATED) == "(zone not stated)"


def test_counts_and_lists_in_words():
    assert text.counted(1, "incident") == "1 incident"
    assert text.counted(3, "incident") == "3 incidents"
    assert text.first_few("abcdef", 4) == (list("abcd"), 2)
    assert text.first_few("ab", 4) == (["a", "b"], 0)


def test_what_a_page_of_incidents_carries_in_words():
    aws = SimpleNamespace(name="AWS")
    elb = SimpleNamespace(name="ELB", provider=aws)
    region = SimpleNamespace(code="us-east-1", provider=aws)

    assert text.incidents_of("provider", aws) == "AWS incidents"
    assert text.incidents_of("service", elb) == "AWS ELB incidents"
    assert text.incidents_of("region", region) == "AWS us-east-1 incidents"
    assert text.incidents_of("customer", SimpleNamespace(name="Netflix")) == (
        "Incidents that hit Netflix"
    )
