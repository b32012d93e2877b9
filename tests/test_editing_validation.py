"""Validation in plain words, at the field, and nothing saved when any of it fails."""

import pytest
from django.test import override_settings
from django.urls import reverse

from outages.models import Incident, Source, TimelineEvent
from tests.test_search import admin_form_data
from tests.test_workflow import change_url


def post(client, incident, **changes):
    data = admin_form_data(client.get(change_url(incident)))
    data.update(changes)
    return client.post(change_url(incident), data)


def errors(response):
    return response.content.decode()


def test_milestones_out_of_order_are_refused_at_the_field(admin_client, incident):
    response = post(admin_client, incident, resolved_at_0="2012-12-20", resolved_at_1="00:00:00")

    assert response.status_code == 200
    assert "Resolved at cannot be before started at." in errors(response)


@pytest.mark.parametrize(
    "field, value",
    [("title", "Outage\x07"), ("summary", "Text with \x1b[31m colour codes"),
     ("events-0-description", "A bell\x07 in an event")],
)  # fmt: skip
def test_control_characters_are_refused_at_the_field(admin_client, incident, field, value):
    title, version = incident.title, incident.version
    response = post(admin_client, incident, **{field: value})

    assert response.status_code == 200
    assert "holds the control character U+00" in errors(response)
    incident.refresh_from_db()
    assert (incident.title, incident.version) == (title, version)


def test_a_reference_row_with_a_control_character_is_refused(admin_client, source):
    url = reverse("admin:outages_source_change", args=[source.pk])
    data = admin_form_data(admin_client.get(url))
    data["title"] = "A title\x0c with a form feed"
    response = admin_client.post(url, data)

    assert response.status_code == 200
    assert "holds the control character U+000C at character 8" in errors(response)
    source.refresh_from_db()
    assert "\x0c" not in source.title


def test_a_timeline_time_without_a_zone_is_refused(admin_client, incident):
    response = post(admin_client, incident, **{"events-0-time_as_stated": "12:24 on Monday"})

    assert response.status_code == 200
    assert "This time has no time zone." in errors(response)
    assert TimelineEvent.objects.filter(time_as_stated="12:24 on Monday").count() == 0


@pytest.mark.parametrize(
    "stated", ["12:24 PM PST", "01:00 UTC", "5:02 p.m. PT", "31 December 2012"]
)
def test_times_with_a_zone_or_no_clock_time_are_accepted(admin_client, incident, stated):
    response = post(admin_client, incident, **{"events-0-time_as_stated": stated})

    assert response.status_code == 302


def test_an_impact_citing_a_source_not_on_the_incident_is_refused(admin_client, incident):
    stranger = Source.objects.create(
        title="Unrelated blog", publisher="Someone", url="https://example.org/other"
    )

    response = post(admin_client, incident, **{"impacts-0-source": str(stranger.pk)})

    assert response.status_code == 200
    assert "is not among this incident&#x27;s sources" in errors(response)


def test_removing_a_source_that_rows_still_cite_is_refused(admin_client, incident):
    response = post(admin_client, incident, sources=[])

    assert response.status_code == 200
    assert "is not among this incident&#x27;s sources" in errors(response)


def test_a_duplicate_slug_is_explained(admin_client, make_incidents):
    first, second = make_incidents(2)

    response = post(admin_client, second, slug=first.slug)

    assert "Another incident already uses this slug. Choose another one." in errors(response)


def test_nothing_is_saved_when_one_inline_row_is_invalid(admin_client, incident):
    response = post(
        admin_client,
        incident,
        title="A new title",
        **{"events-0-time_as_stated": "9:41 a.m."},
    )

    assert response.status_code == 200
    assert Incident.objects.get(pk=incident.pk).title == incident.title


@override_settings(AXES_FAILURE_LIMIT=3)
def test_repeated_failed_logins_are_refused_for_a_while(client, admin_user):
    url = reverse("admin:login")
    for _ in range(3):
        client.post(url, {"username": "admin", "password": "wrong"})

    response = client.post(url, {"username": "admin", "password": "password"})

    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()


def test_a_good_login_works(client, admin_user):
    response = client.post(reverse("admin:login"), {"username": "admin", "password": "password"})

    assert response.status_code == 302


def test_session_cookie_is_http_only_and_forms_carry_csrf(client, admin_user):
    response = client.post(reverse("admin:login"), {"username": "admin", "password": "password"})

    assert response.cookies["sessionid"]["httponly"]
    page = client.get(reverse("admin:outages_incident_add"))
    assert "csrfmiddlewaretoken" in page.content.decode()
