"""Milestones known only to the day (or month, or year), and incidents whose sources state no
zone: shown as known on the page, in the Markdown download, the JSON and the statistics, and
never as if to the minute or in UTC."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from outages import summaries
from outages.models import ZONE_UNSTATED, Incident, Precision, TimelineEvent, validate_time_zone
from outages.web.stack import resolve_times
from outages.web.stats import durations

# 19 Jan 2017 in Los Angeles, stored as its first minute; resolved at midnight PST 22 Jan.
DAY = datetime(2017, 1, 19, 8, 0, tzinfo=UTC)
RESOLVED = datetime(2017, 1, 22, 8, 0, tzinfo=UTC)


@pytest.fixture
def day_only(incident):
    incident.started_at, incident.started_precision = DAY, Precision.DATE
    incident.mitigated_at = None
    incident.resolved_at = RESOLVED
    incident.save()
    return incident


@pytest.fixture
def unstated(incident):
    incident.time_zone = ZONE_UNSTATED
    incident.started_at = datetime(2016, 9, 23, 17, 21, tzinfo=UTC)  # "2016/09/23 17:21"
    incident.mitigated_at = None
    incident.resolved_at = datetime(2016, 9, 23, 19, 2, tzinfo=UTC)
    incident.save()
    incident.events.update(occurred_at=incident.started_at)
    return incident


def test_precision_choices_keep_date_as_the_stored_value_of_a_day():
    assert Precision.DATE == "date"
    assert Precision.DATE.label == "Day"
    assert TimelineEvent.Precision is Precision
    assert [value for value, _ in Precision.choices] == [
        "minute",
        "approximate",
        "hour",
        "date",
        "month",
        "year",
    ]


def test_the_unstated_zone_is_a_valid_time_zone():
    validate_time_zone(ZONE_UNSTATED)
    with pytest.raises(ValidationError):
        validate_time_zone("Mars/Olympus_Mons")


def test_durations_from_a_day_only_start_are_bounds_not_exact(day_only):
    assert day_only.time_to_resolve is None  # never a figure to the minute
    assert day_only.span_bounds("started_at", "resolved_at") == (
        timedelta(days=2),
        timedelta(days=3),
    )
    label, words, _, _ = day_only.durations[2]
    assert (label, words) == ("Time to resolve", "between 2 and 3 days")
    assert day_only.time_to_resolve_words == "between 2 and 3 days"


def test_incident_page_shows_a_day_only_start_as_a_date_with_bounds(client, day_only):
    html = client.get(day_only.get_absolute_url()).content.decode()

    assert '<time datetime="2017-01-19">19 Jan 2017</time>' in html
    assert "19 Jan 2017, 12:00 AM" not in html
    assert "between 2 and 3 days" in html


def test_incident_list_shows_the_start_day_and_bounds(client, day_only):
    html = client.get(reverse("outages:incident_list")).content.decode()

    assert '<time datetime="2017-01-19">19 Jan 2017</time>' in html
    assert "between 2 and 3 days" in html


def test_markdown_and_json_give_the_day_not_a_clock_time(client, day_only):
    markdown = client.get(reverse("outages:incident_markdown", args=[day_only.slug]))
    data = client.get(reverse("outages:api_incident", args=[day_only.slug])).json()

    text = markdown.content.decode()
    assert "| Started at | 2017-01-19 (date only) | 19 Jan 2017 |" in text
    assert "- **Time to resolve:** between 2 and 3 days." in text
    assert data["milestones"]["started_at"] == "2017-01-19"
    assert data["milestone_precisions"]["started_at"] == "date"
    assert data["durations"]["time_to_resolve"] == {
        "seconds": None,
        "at_least_seconds": 2 * 86400,
        "at_most_seconds": 3 * 86400,
        "text": "between 2 and 3 days",
    }


def test_page_says_the_zone_is_not_stated_and_shows_no_utc(client, unstated):
    html = client.get(unstated.get_absolute_url()).content.decode()

    assert "Times are shown as the sources give them" in html
    assert "zone not stated by the source" in html
    assert "Times are shown as the sources stated them (unstated)" not in html
    assert "23 Sep 2016, 5:21 PM (zone not stated by the source)" in html
    assert "17:21 UTC" not in html
    assert "Times on the axis are the sources&#x27; own clock times" in html
    assert "1 h 41 min" in html  # a duration within one source's clock is still known


def test_markdown_feed_and_json_do_not_claim_utc_for_an_unstated_zone(client, unstated):
    markdown = client.get(reverse("outages:incident_markdown", args=[unstated.slug]))
    data = client.get(reverse("outages:api_incident", args=[unstated.slug])).json()
    feed = client.get(reverse("outages:incidents_atom")).content.decode()

    text = markdown.content.decode()
    assert "Times are as the sources wrote them (zone not stated by the source)." in text
    assert "2016-09-23 17:21" not in text
    assert data["milestones"]["started_at"] == "2016-09-23T17:21"
    assert data["time_zone"] == "unstated"
    assert "2016-09-23 17:21 UTC" not in feed


def test_statistics_leave_out_durations_known_only_to_the_day_and_say_so(client, day_only):
    summaries.rebuild()
    chart = durations()

    assert chart["imprecise"] == 1
    assert chart["known"] == 0
    html = client.get(reverse("outages:statistics")).content.decode()
    assert "known only to the day or more coarsely" in html or not chart["known"]


def test_statistics_count_exact_durations_beside_one_left_out(client, make_incidents):
    first, second = make_incidents(2)
    second.started_precision = Precision.DATE
    second.save()
    summaries.rebuild()

    chart = durations()

    assert (chart["known"], chart["imprecise"], chart["total"]) == (1, 1, 2)
    html = client.get(reverse("outages:statistics")).content.decode()
    assert "<strong>Left out</strong>: 1 incident whose start or resolution is known only" in html


def test_my_stack_leaves_out_day_only_durations(day_only):
    assert resolve_times(Incident.objects.all()) == {
        "imprecise": 1,
        "known": 0,
        "total": None,
        "median": None,
    }


def test_admin_form_offers_a_precision_beside_each_milestone(admin_client, incident):
    html = admin_client.get(
        reverse("admin:outages_incident_change", args=[incident.pk])
    ).content.decode()

    for name in ("started", "detected", "mitigated", "resolved"):
        assert f'name="{name}_precision"' in html
