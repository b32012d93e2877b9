from datetime import UTC, datetime

import pytest
from django.urls import reverse

from outages.models import Incident, Provider
from tests.test_search import ROW_PREFIXES


@pytest.mark.parametrize(
    "model",
    ["provider", "service", "region", "customer", "source", "incident"],
)
def test_admin_list_and_add_pages_open_for_staff(admin_client, incident, model):
    assert admin_client.get(reverse(f"admin:outages_{model}_changelist")).status_code == 200
    assert admin_client.get(reverse(f"admin:outages_{model}_add")).status_code == 200


def test_incident_change_form_has_inlines_and_view_on_site(admin_client, incident):
    html = admin_client.get(reverse("admin:outages_incident_change", args=[incident.pk])).content

    for prefix in [b"events-", b"impacts-", b"action_items-", b"corrections-"]:
        assert prefix in html
    assert b"View on site" in html


@pytest.mark.parametrize("query", ["?year=2012", "?year=abc", "?status=draft", "?q=maintenance"])
def test_incident_list_filters_and_search(admin_client, incident, query):
    url = reverse("admin:outages_incident_changelist") + query
    assert admin_client.get(url).status_code == 200


def test_admin_refuses_resolution_before_start_with_a_readable_message(admin_client, incident):
    url = reverse("admin:outages_incident_change", args=[incident.pk])
    response = admin_client.post(
        url,
        {
            "title": incident.title,
            "slug": incident.slug,
            "status": "published",
            "provider": incident.provider.pk,
            "time_zone": "America/Los_Angeles",
            "started_at_0": "2012-12-24",
            "started_at_1": "20:24:00",
            "resolved_at_0": "2012-12-23",
            "resolved_at_1": "20:24:00",
            "root_cause_category": "operational-error",
            **{
                f"{prefix}-{key}": "0"
                for prefix in ROW_PREFIXES
                for key in ["TOTAL_FORMS", "INITIAL_FORMS"]
            },
        },
    )

    assert response.status_code == 200
    assert "Resolved at cannot be before started at." in response.content.decode()
    incident.refresh_from_db()
    assert incident.resolved_at > incident.started_at


def test_readers_are_sent_to_log_in(client, db):
    response = client.get(reverse("admin:outages_incident_changelist"))

    assert response.status_code == 302
    assert Incident.objects.count() == 0


def test_the_when_section_shows_the_milestones_as_readers_see_them(admin_client, db):
    # The fields are in UTC; a day's start in Berlin is the evening before in UTC, so the
    # section also says what readers will read.
    incident = Incident.objects.create(
        title="Day-only outage",
        slug="day-only-outage",
        provider=Provider.objects.create(name="Example", slug="example"),
        time_zone="Europe/Berlin",
        started_at=datetime(2017, 1, 18, 23, 0, tzinfo=UTC),
        started_precision="date",
        root_cause_category="other",
    )
    page = admin_client.get(reverse("admin:outages_incident_change", args=[incident.pk]))

    assert "<div>Started at: 19 Jan 2017</div>" in page.content.decode()
    assert "<div>Resolved at: not known</div>" in page.content.decode()
