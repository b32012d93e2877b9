"""The incident's change form for real postmortems: times typed and shown in the incident's zone
with UTC beside, clock changes refused in words, no date shortcuts, rows folded to a line each,
and the workflow buttons at the top as well as the bottom."""

import re
import zoneinfo
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from outages import workflow
from outages.models import Incident, TimelineEvent
from tests.test_search import ROW_PREFIXES, admin_form_data
from tests.test_workflow import change_url

LOS_ANGELES = zoneinfo.ZoneInfo("America/Los_Angeles")


def post(client, incident, **changes):
    data = admin_form_data(client.get(change_url(incident)))
    data.update(changes)
    return client.post(change_url(incident), data)


def page(client, incident):
    return client.get(change_url(incident)).content.decode()


def field_errors(response, name):
    """The error messages the form shows at one field (admin's own form, after a failed save)."""
    form = response.context["adminform"].form
    return form.errors.get(name, [])


def row_errors(response, prefix, index, name):
    for inline in response.context["inline_admin_formsets"]:
        if inline.formset.prefix == prefix:
            return inline.formset.forms[index].errors.get(name, [])
    raise AssertionError(f"no inline {prefix}")


# --- Times in the incident's zone --------------------------------------------------------------


def test_a_time_typed_in_pst_is_stored_as_its_utc_instant_and_shown_back_in_pst(
    admin_client, incident
):
    assert incident.time_zone == "America/Los_Angeles"
    typed = datetime(2012, 12, 24, 12, 24)

    response = post(
        admin_client,
        incident,
        started_at_0=f"{typed:%Y-%m-%d}",
        started_at_1=f"{typed:%H:%M}",
        **{"events-0-occurred_at_0": f"{typed:%Y-%m-%d}", "events-0-occurred_at_1": "12:24 PM"},
    )

    assert response.status_code == 302
    expected = typed.replace(tzinfo=LOS_ANGELES).astimezone(UTC)
    incident.refresh_from_db()
    assert incident.started_at == expected
    assert incident.events.get(position=1).occurred_at == expected
    html = page(admin_client, incident)
    started = re.search(r'name="started_at_1" value="([^"]*)"', html)
    assert started.group(1) == f"{typed:%H:%M}"
    assert f"PST · {expected:%H:%M} UTC</span>" in html  # the UTC date is the same day


def test_a_summer_time_is_read_as_daylight_time(admin_client, incident):
    response = post(admin_client, incident, resolved_at_0="2013-06-14", resolved_at_1="09:00")

    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.resolved_at == datetime(2013, 6, 14, 9, tzinfo=LOS_ANGELES)
    assert incident.resolved_at.astimezone(UTC).hour == 16  # PDT is UTC-7
    assert "PDT · 16:00 UTC</span>" in page(admin_client, incident)


def test_a_time_given_in_utc_may_be_typed_as_such(admin_client, incident):
    response = post(admin_client, incident, started_at_0="2012-12-24", started_at_1="20:24 UTC")

    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.started_at == datetime(2012, 12, 24, 20, 24, tzinfo=UTC)


def test_a_time_in_the_hour_clocks_go_back_is_refused_until_the_editor_says_which(
    admin_client, incident
):
    # 4 Nov 2012, 1:30 AM happened twice in Los Angeles: at 08:30 UTC (PDT), then 09:30 (PST).
    version = incident.version
    response = post(admin_client, incident, started_at_0="2012-11-04", started_at_1="01:30")

    assert response.status_code == 200
    [message] = field_errors(response, "started_at")
    assert "1:30 AM on 4 Nov 2012 happened twice in America/Los_Angeles" in message
    assert "01:30 PDT (the first, 08:30 UTC) or 01:30 PST (the second, 09:30 UTC)" in message
    incident.refresh_from_db()
    assert incident.version == version


@pytest.mark.parametrize("said, utc_hour", [("PDT", 8), ("PST", 9), ("pst", 9)])
def test_the_zone_abbreviation_says_which_of_the_two(admin_client, incident, said, utc_hour):
    response = post(admin_client, incident, started_at_0="2012-11-04", started_at_1=f"01:30 {said}")

    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.started_at == datetime(2012, 11, 4, utc_hour, 30, tzinfo=UTC)


def test_a_time_skipped_when_clocks_go_forward_is_refused(admin_client, incident):
    response = post(
        admin_client,
        incident,
        **{"events-0-occurred_at_0": "2012-03-11", "events-0-occurred_at_1": "02:30"},
    )

    assert response.status_code == 200
    [message] = row_errors(response, "events", 0, "occurred_at")
    assert "2:30 AM on 11 Mar 2012 did not happen in America/Los_Angeles" in message
    assert "03:30 PDT" in message
    assert not TimelineEvent.objects.filter(occurred_at__month=3).exists()


@pytest.mark.parametrize(
    "typed, message",
    [("12:24 EST", "“EST” is not what America/Los_Angeles was called at that time (PST)"),
     ("quarter past", "Enter a time such as 12:24"), ("25:00", "Enter a time such as 12:24"),
     ("12:24 +99:00", "is no time we can hold")],
)  # fmt: skip
def test_a_time_that_cannot_be_read_is_refused_at_the_field(admin_client, incident, typed, message):
    response = post(admin_client, incident, started_at_0="2012-12-24", started_at_1=typed)

    assert response.status_code == 200
    assert any(message in error for error in field_errors(response, "started_at"))


def test_a_time_past_the_end_of_the_calendar_is_refused_not_a_crash(admin_client, incident):
    # 23:59 in Los Angeles on the last day Python's dates know is already the next year in UTC.
    response = post(admin_client, incident, started_at_0="9999-12-31", started_at_1="23:59")

    assert response.status_code == 200
    assert "is no time we can hold" in " ".join(field_errors(response, "started_at"))


def test_a_time_stated_twice_is_shown_with_its_abbreviation_and_saves_unchanged(
    admin_client, incident
):
    # Stored at the second 1:30 AM of 4 Nov 2012 (PST), with seconds: the form must write it so
    # that saving the form unchanged keeps the same instant and counts as no change.
    second = datetime(2012, 11, 4, 9, 30, 15, tzinfo=UTC)
    TimelineEvent.objects.filter(incident=incident, position=1).update(occurred_at=second)
    updated_at = Incident.objects.get(pk=incident.pk).updated_at

    form = admin_form_data(admin_client.get(change_url(incident)))
    assert form["events-0-occurred_at_1"] == "01:30:15 PST"
    response = admin_client.post(change_url(incident), form)

    assert response.status_code == 302
    assert incident.events.get(position=1).occurred_at == second
    assert Incident.objects.get(pk=incident.pk).updated_at == updated_at


def test_the_zone_submitted_reads_every_time_of_that_save(admin_client, incident):
    # The editor sets the zone and saves: the same clock times now mean Berlin's, for the
    # incident and its rows alike, so milestones and the events that mark them stay one fact.
    TimelineEvent.objects.filter(incident=incident, position=1).update(
        marks="started", occurred_at=incident.started_at
    )
    before = dict(incident.events.values_list("position", "occurred_at"))
    shift = timedelta(hours=9)  # 12:24 PM PST is 20:24 UTC; 12:24 PM in Berlin (CET) 11:24 UTC

    response = post(admin_client, incident, time_zone="Europe/Berlin")

    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.time_zone == "Europe/Berlin"
    assert incident.started_at == datetime(2012, 12, 24, 11, 24, tzinfo=UTC)
    after = dict(incident.events.values_list("position", "occurred_at"))
    assert after == {position: moment - shift for position, moment in before.items()}
    assert incident.events.get(marks="started").occurred_at == incident.started_at
    notices = [str(m) for m in get_messages(response.wsgi_request) if m.level_tag == "warning"]
    assert any("The time zone is now Europe/Berlin" in notice for notice in notices)


def test_a_zone_that_is_no_zone_refuses_the_save_without_reading_the_times(admin_client, incident):
    started_at = incident.started_at

    response = post(admin_client, incident, time_zone="Mars/Olympus_Mons")

    assert response.status_code == 200
    assert "is not a time zone name" in " ".join(field_errors(response, "time_zone"))
    assert "The time zone above is not valid" in " ".join(field_errors(response, "started_at"))
    incident.refresh_from_db()
    assert (incident.time_zone, incident.started_at) == ("America/Los_Angeles", started_at)


def test_times_of_an_incident_whose_zone_is_unstated_are_kept_as_written(admin_client, incident):
    local = incident.started_at.astimezone(LOS_ANGELES)

    response = post(admin_client, incident, time_zone="unstated")

    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.started_at == local.replace(tzinfo=UTC)  # the clock time as the form had it
    html = page(admin_client, incident)
    assert "as written (zone not stated by the source)" in html
    response = post(admin_client, incident, started_at_1="17:21 UTC")
    assert "leave out the zone after the time" in " ".join(field_errors(response, "started_at"))


def test_a_new_incident_reads_its_times_in_the_zone_chosen_with_them(admin_client, incident):
    data = admin_form_data(admin_client.get(change_url(incident)))
    fresh = {
        key: value
        for key, value in data.items()
        if not key.startswith(tuple(f"{prefix}-" for prefix in ROW_PREFIXES))
    }
    fresh.update(
        title="A new outage",
        slug="a-new-outage",
        loaded_version="",
        time_zone="Asia/Tokyo",
        started_at_0="2021-03-01",
        started_at_1="09:00",
        mitigated_at_0="",
        mitigated_at_1="",
        resolved_at_0="",
        resolved_at_1="",
        **{
            f"{prefix}-{key}": "0"
            for prefix in ROW_PREFIXES
            for key in ["TOTAL_FORMS", "INITIAL_FORMS"]
        },
    )

    response = admin_client.post(reverse("admin:outages_incident_add"), fresh)

    assert response.status_code == 302
    assert Incident.objects.get(slug="a-new-outage").started_at == datetime(
        2021, 3, 1, 0, 0, tzinfo=UTC
    )


# --- No shortcuts, folded rows, workflow buttons twice -----------------------------------------


@pytest.mark.parametrize("url", ["change", "add"])
def test_the_date_and_time_fields_have_no_today_or_now_shortcuts(admin_client, incident, url):
    address = change_url(incident) if url == "change" else reverse("admin:outages_incident_add")
    html = admin_client.get(address).content.decode()

    assert 'name="started_at_0"' in html
    assert "DateTimeShortcuts.js" not in html
    assert "calendar.js" not in html
    assert "vDateField" not in html and "vTimeField" not in html
    assert not re.search(r">\s*(Today|Now)\s*<", html)


def test_each_row_is_folded_to_a_summary_line_with_its_time_in_both_zones(admin_client, incident):
    event = incident.events.get(position=1)
    local = event.occurred_at.astimezone(LOS_ANGELES)
    html = page(admin_client, incident)

    rows = incident.events.count() + incident.impacts.count()
    rows += incident.action_items.count() + incident.corrections.count()
    assert html.count("<details>") == rows  # all folded, none open
    assert html.count('<span class="row-summary">') == rows
    summary = f"{local:%-d %b %Y}, {local:%-I:%M %p} PST · {event.occurred_at:%H:%M} UTC"
    assert f"{summary} · {event.get_kind_display()} · " in html
    correction = incident.corrections.get()
    assert f"Claim: {correction.claim} · Fact: {correction.fact}" in html
    impact = incident.impacts.get()
    assert f"{impact.customer} · {impact.get_level_display()} · " in html


def test_a_row_with_an_error_is_open_after_a_failed_save(admin_client, incident):
    response = post(admin_client, incident, **{"events-1-time_as_stated": "12:24 on Monday"})

    html = response.content.decode()
    assert response.status_code == 200
    # That row, and each folded group's blank row that "Add another" copies (figures, few and
    # each with its picture, are not folded).
    folded = [
        group
        for group in response.context["inline_admin_formsets"]
        if group.opts.template.endswith("folded_stacked.html")
    ]
    assert html.count("<details open>") == 1 + len(folded)
    second_row = html[html.index('id="events-1"') :]
    assert second_row.index("<details open>") < second_row.index("This time has no time zone.")


def test_the_workflow_buttons_are_at_the_top_and_the_bottom(admin_client, incident):
    response = admin_client.get(change_url(incident))
    html = response.content.decode()
    transitions = workflow.available(response.wsgi_request.user, incident)

    assert transitions
    assert html.count('class="submit-row workflow-row"') == 2
    for name, _ in transitions:
        assert html.count(f'name="_transition" value="{name}"') == 2
    # One row each side of the form's fields.
    form = html[html.index('id="incident_form"') :]
    assert form.index("workflow-row") < form.index('name="title"')
    assert form.rindex("workflow-row") > form.index('id="corrections-group"')
